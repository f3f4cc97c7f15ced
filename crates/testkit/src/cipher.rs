//! A trivial authenticated cipher for tests.

use latchkey_core::{CipherError, SecretCipher};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;

/// A reversible cipher that still authenticates, for tests only: **not
/// secure**. It XORs the plaintext with a SHA-256 keystream over the key,
/// a random nonce, the associated data and a block counter, and appends a
/// SHA-256 tag over the key, nonce, associated data and plaintext (compared
/// in plain, not constant, time). So a row sealed for one `aad` does not
/// open for another, and a flipped byte or another key is refused with
/// [`CipherError`], as the real master-key cipher refuses them.
#[derive(Clone)]
pub struct TestCipher {
    key: [u8; 32],
}

impl std::fmt::Debug for TestCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCipher").finish_non_exhaustive()
    }
}

impl Default for TestCipher {
    /// The cipher with the fixed test key (`[42; 32]`).
    fn default() -> Self {
        TestCipher::new([42; 32])
    }
}

impl TestCipher {
    /// A cipher with this key.
    pub fn new(key: [u8; 32]) -> Self {
        TestCipher { key }
    }

    /// SHA-256 over the key, a domain label and each part, length-prefixed.
    fn keyed(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(label);
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    fn xor_stream(&self, nonce: &[u8], aad: &str, data: &mut [u8]) {
        for (block, chunk) in data.chunks_mut(32).enumerate() {
            let counter = (block as u64).to_be_bytes();
            let stream = self.keyed(b"stream", &[nonce, aad.as_bytes(), &counter]);
            for (byte, key) in chunk.iter_mut().zip(stream) {
                *byte ^= key;
            }
        }
    }

    fn tag(&self, nonce: &[u8], aad: &str, plaintext: &[u8]) -> [u8; 32] {
        self.keyed(b"tag", &[nonce, aad.as_bytes(), plaintext])
    }
}

impl SecretCipher for TestCipher {
    fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let mut body = plaintext.to_vec();
        self.xor_stream(&nonce, aad, &mut body);
        let tag = self.tag(&nonce, aad, plaintext);
        [&nonce[..], &body, &tag].concat()
    }

    fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CipherError);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plaintext = Zeroizing::new(body.to_vec());
        self.xor_stream(nonce, aad, &mut plaintext);
        if self.tag(nonce, aad, &plaintext)[..] != *tag {
            return Err(CipherError);
        }
        Ok(plaintext)
    }

    fn keyed_hash(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.keyed(b"keyed-hash", &[purpose.as_bytes(), data])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_for_its_aad_only() {
        let cipher = TestCipher::default();
        let sealed = cipher.seal("token:1:seed", b"a seed longer than one block of 32 bytes");
        assert_eq!(
            &cipher.open("token:1:seed", &sealed).unwrap()[..],
            b"a seed longer than one block of 32 bytes"
        );
        assert_eq!(cipher.open("token:2:seed", &sealed), Err(CipherError));
        assert_eq!(
            TestCipher::new([7; 32]).open("token:1:seed", &sealed),
            Err(CipherError),
            "another key"
        );
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN] ^= 1;
        assert_eq!(cipher.open("token:1:seed", &flipped), Err(CipherError));
        assert_eq!(cipher.open("token:1:seed", &sealed[..10]), Err(CipherError));
    }

    #[test]
    fn keyed_hashes_depend_on_purpose_data_and_key() {
        let cipher = TestCipher::default();
        let a = cipher.keyed_hash("activation", b"1234");
        assert_eq!(a, cipher.keyed_hash("activation", b"1234"));
        assert_ne!(a, cipher.keyed_hash("session", b"1234"));
        assert_ne!(a, cipher.keyed_hash("activation", b"1235"));
        assert_ne!(
            a,
            TestCipher::new([1; 32]).keyed_hash("activation", b"1234")
        );
    }
}
