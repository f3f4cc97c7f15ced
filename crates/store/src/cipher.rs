//! The master key and the AEAD that seals secrets at rest.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use latchkey_core::{CipherError, SecretCipher};
use rand::Rng;
use sha2::Sha256;
use zeroize::Zeroizing;

const VERSION: u8 = 1;

/// Why the master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The key file could not be read or created.
    #[error("cannot use the master key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key is not 64 hex digits.
    #[error("the master key must be 64 hex digits (32 bytes)")]
    Malformed,
}

/// XChaCha20-Poly1305 under the master key; the row's identity is the
/// associated data, so a sealed value moved to another row does not open.
pub struct MasterKeyCipher {
    aead: XChaCha20Poly1305,
    mac_key: Zeroizing<[u8; 32]>,
    /// During a master-key rotation, the key being replaced: values not yet
    /// re-sealed still open under it. Nothing is sealed or hashed under it.
    previous: Option<Box<MasterKeyCipher>>,
}

impl std::fmt::Debug for MasterKeyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKeyCipher(<redacted>)")
    }
}

impl MasterKeyCipher {
    /// A cipher for a 32-byte master key.
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    pub fn new(key: &[u8; 32]) -> Self {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key length");
        mac.update(b"latchkey-keyed-hash-v1");
        let mut mac_key = Zeroizing::new([0u8; 32]);
        mac_key.copy_from_slice(&mac.finalize().into_bytes());
        let mut enc = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key length");
        enc.update(b"latchkey-seal-v1");
        let mut enc_key = Zeroizing::new([0u8; 32]);
        enc_key.copy_from_slice(&enc.finalize().into_bytes());
        let aead = XChaCha20Poly1305::new_from_slice(enc_key.as_ref()).expect("a 32-byte key");
        MasterKeyCipher {
            aead,
            mac_key,
            previous: None,
        }
    }

    /// This cipher, opening what `previous` sealed too: for the nodes and
    /// the admin CLI while a rotation from `previous` to this key runs.
    pub fn with_previous(mut self, previous: MasterKeyCipher) -> Self {
        self.previous = Some(Box::new(previous));
        self
    }

    /// Whether a previous key is given (a rotation is under way).
    pub fn has_previous(&self) -> bool {
        self.previous.is_some()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = Zeroizing::new(
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(text.trim().as_bytes())
                .map_err(|_| MasterKeyError::Malformed)?,
        );
        let key: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::Malformed)?;
        Ok(Self::new(key))
    }

    /// Reads the key file, or creates it (mode 0600) with a random key.
    pub fn load_or_create(path: &Path) -> Result<Self, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&Zeroizing::new(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new([0u8; 32]);
                rand::rng().fill_bytes(key.as_mut());
                let text = Zeroizing::new(data_encoding::HEXLOWER.encode(key.as_ref()));
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(Self::new(&key))
            }
            Err(e) => Err(io(e)),
        }
    }
}

impl SecretCipher for MasterKeyCipher {
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail");
        let mut out = Vec::with_capacity(1 + 24 + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        match (self.open_own(aad, sealed), &self.previous) {
            (Err(CipherError), Some(previous)) => previous.open(aad, sealed),
            (opened, _) => opened,
        }
    }

    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn keyed_hash(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.mac_key.as_ref())
            .expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

impl MasterKeyCipher {
    /// Opens what this key (not the previous one) sealed.
    fn open_own(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        if sealed.len() < 1 + 24 + 16 || sealed[0] != VERSION {
            return Err(CipherError);
        }
        let (nonce, body) = sealed[1..].split_at(24);
        self.aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CipherError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_row_identity() {
        let cipher = MasterKeyCipher::new(&[7; 32]);
        let sealed = cipher.seal("token:1:seed", b"seed bytes");
        assert_eq!(
            cipher.open("token:1:seed", &sealed).unwrap().as_slice(),
            b"seed bytes"
        );
        assert_eq!(cipher.open("token:2:seed", &sealed), Err(CipherError));
        assert_eq!(
            MasterKeyCipher::new(&[8; 32]).open("token:1:seed", &sealed),
            Err(CipherError)
        );
        assert!(!sealed.windows(10).any(|w| w == b"seed bytes"));
    }

    #[test]
    fn during_a_rotation_values_of_either_key_open_and_new_ones_are_sealed_under_the_new() {
        let old = MasterKeyCipher::new(&[7; 32]);
        let under_old = old.seal("token:1:seed", b"old seed");
        let rotating = MasterKeyCipher::new(&[8; 32]).with_previous(MasterKeyCipher::new(&[7; 32]));
        assert_eq!(
            rotating
                .open("token:1:seed", &under_old)
                .unwrap()
                .as_slice(),
            b"old seed"
        );
        let under_new = rotating.seal("token:2:seed", b"new seed");
        assert_eq!(old.open("token:2:seed", &under_new), Err(CipherError));
        assert_eq!(
            MasterKeyCipher::new(&[8; 32])
                .open("token:2:seed", &under_new)
                .unwrap()
                .as_slice(),
            b"new seed"
        );
        assert_eq!(
            rotating.keyed_hash("activation", b"1"),
            MasterKeyCipher::new(&[8; 32]).keyed_hash("activation", b"1")
        );
    }
}
