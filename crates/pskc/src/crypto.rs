//! The algorithms RFC 6030 §6 names, by their XML identifiers: AES-CBC
//! (XML Encryption §5.2.2), AES key wrap (RFC 3394, and RFC 5649 with
//! padding), HMAC value MACs (RFC 6030 §6.1.1) and PBKDF2 (RFC 6030 §6.2,
//! PKCS #5 v2.0).

use aes::cipher::{BlockModeDecrypt, KeyInit, KeyIvInit, array::Array};
use aes_kw::InnerInit;
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

use crate::error::ValueError;

/// `EncryptionMethod` algorithms this reader can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encryption {
    /// AES in CBC mode, the IV in front of the ciphertext, XML Encryption
    /// padding. No integrity of its own: a `ValueMAC` is required.
    Cbc { key_len: usize },
    /// AES key wrap, RFC 3394: integrity from its check value.
    KeyWrap { key_len: usize },
    /// AES key wrap with padding, RFC 5649: integrity from its check value.
    KeyWrapPadded { key_len: usize },
}

impl Encryption {
    /// The algorithm an XML Encryption URI names, or `None` for one this
    /// reader does not open (Triple DES, RSA, …).
    pub fn from_uri(uri: &str) -> Option<Encryption> {
        Some(match uri.trim() {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Encryption::Cbc { key_len: 16 },
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Encryption::Cbc { key_len: 24 },
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Encryption::Cbc { key_len: 32 },
            "http://www.w3.org/2001/04/xmlenc#kw-aes128" => Encryption::KeyWrap { key_len: 16 },
            "http://www.w3.org/2001/04/xmlenc#kw-aes192" => Encryption::KeyWrap { key_len: 24 },
            "http://www.w3.org/2001/04/xmlenc#kw-aes256" => Encryption::KeyWrap { key_len: 32 },
            "http://www.w3.org/2009/xmlenc11#kw-aes-128-pad" => {
                Encryption::KeyWrapPadded { key_len: 16 }
            }
            "http://www.w3.org/2009/xmlenc11#kw-aes-192-pad" => {
                Encryption::KeyWrapPadded { key_len: 24 }
            }
            "http://www.w3.org/2009/xmlenc11#kw-aes-256-pad" => {
                Encryption::KeyWrapPadded { key_len: 32 }
            }
            _ => return None,
        })
    }

    /// Whether the algorithm checks integrity itself; if not, RFC 6030
    /// §6.1.1 requires a `ValueMAC`.
    pub fn has_integrity(self) -> bool {
        !matches!(self, Encryption::Cbc { .. })
    }

    pub fn key_len(self) -> usize {
        match self {
            Encryption::Cbc { key_len }
            | Encryption::KeyWrap { key_len }
            | Encryption::KeyWrapPadded { key_len } => key_len,
        }
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Encryption::Cbc { key_len: 16 } => "AES-128-CBC",
            Encryption::Cbc { key_len: 24 } => "AES-192-CBC",
            Encryption::Cbc { .. } => "AES-256-CBC",
            Encryption::KeyWrap { key_len: 16 } => "AES-128 key wrap",
            Encryption::KeyWrap { key_len: 24 } => "AES-192 key wrap",
            Encryption::KeyWrap { .. } => "AES-256 key wrap",
            Encryption::KeyWrapPadded { key_len: 16 } => "AES-128 key wrap with padding",
            Encryption::KeyWrapPadded { key_len: 24 } => "AES-192 key wrap with padding",
            Encryption::KeyWrapPadded { .. } => "AES-256 key wrap with padding",
        }
    }

    /// Opens `data` (a `CipherValue`'s bytes) with `key`.
    pub fn decrypt(self, key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, ValueError> {
        if key.len() != self.key_len() {
            return Err(ValueError::KeyLength {
                algorithm: self.name(),
                expected: self.key_len(),
                actual: key.len(),
            });
        }
        match self {
            Encryption::Cbc { key_len: 16 } => cbc_decrypt::<aes::Aes128>(key, data),
            Encryption::Cbc { key_len: 24 } => cbc_decrypt::<aes::Aes192>(key, data),
            Encryption::Cbc { .. } => cbc_decrypt::<aes::Aes256>(key, data),
            Encryption::KeyWrap { key_len: 16 } => kw_unwrap::<aes::Aes128>(key, data, false),
            Encryption::KeyWrap { key_len: 24 } => kw_unwrap::<aes::Aes192>(key, data, false),
            Encryption::KeyWrap { .. } => kw_unwrap::<aes::Aes256>(key, data, false),
            Encryption::KeyWrapPadded { key_len: 16 } => kw_unwrap::<aes::Aes128>(key, data, true),
            Encryption::KeyWrapPadded { key_len: 24 } => kw_unwrap::<aes::Aes192>(key, data, true),
            Encryption::KeyWrapPadded { .. } => kw_unwrap::<aes::Aes256>(key, data, true),
        }
    }
}

const BLOCK: usize = 16;

/// AES-CBC with the IV as the first block (XML Encryption §5.2.2). The
/// padding is XML Encryption's (§5.2): the last octet counts the padding
/// octets, whose other values are arbitrary, so only that octet is checked.
fn cbc_decrypt<C>(key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, ValueError>
where
    C: aes::cipher::BlockCipherDecrypt<BlockSize = aes::cipher::consts::U16> + KeyInit,
{
    if data.len() < 2 * BLOCK || !data.len().is_multiple_of(BLOCK) {
        return Err(ValueError::CipherLength { length: data.len() });
    }
    let (iv, ciphertext) = data.split_at(BLOCK);
    let mut decryptor =
        cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| ValueError::KeyLength {
            algorithm: "AES-CBC",
            expected: C::key_size(),
            actual: key.len(),
        })?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let (blocks, rest) = Array::slice_as_chunks_mut(buffer.as_mut_slice());
    debug_assert!(rest.is_empty(), "the length is a multiple of the block");
    decryptor.decrypt_blocks(blocks);
    let padding = usize::from(buffer[buffer.len() - 1]);
    if padding == 0 || padding > BLOCK {
        return Err(ValueError::DoesNotDecrypt);
    }
    let length = buffer.len() - padding;
    buffer.truncate(length);
    Ok(buffer)
}

/// The check value RFC 3394 §2.2.3.1 puts in front of the key data.
const RFC_3394_IV: [u8; 8] = [0xa6; 8];

/// AES key unwrap: RFC 3394 for `kw-aes*`, RFC 5649 for `kw-aes-*-pad`.
///
/// python-pskc writes `kw-aes*` values the RFC 3394 way when they are whole
/// 64-bit blocks and the RFC 5649 way (padded) when not, and a single block
/// as one AES block under RFC 3394's check value; so `kw-aes*` values are
/// opened by whichever of these checks out. Each carries a 64-bit check
/// value, so trying two costs one bit of forgery resistance at most.
fn kw_unwrap<C>(key: &[u8], data: &[u8], padded: bool) -> Result<Zeroizing<Vec<u8>>, ValueError>
where
    C: aes::cipher::BlockCipherDecrypt<BlockSize = aes::cipher::consts::U16> + KeyInit + Clone,
{
    if data.len() < 2 * aes_kw::IV_LEN || !data.len().is_multiple_of(aes_kw::IV_LEN) {
        return Err(ValueError::CipherLength { length: data.len() });
    }
    let cipher = C::new_from_slice(key).map_err(|_| ValueError::KeyLength {
        algorithm: "AES key wrap",
        expected: C::key_size(),
        actual: key.len(),
    })?;
    let mut buffer = Zeroizing::new(vec![0u8; data.len() - aes_kw::IV_LEN]);
    if !padded {
        if data.len() == BLOCK {
            let mut block = Array::from(
                <[u8; BLOCK]>::try_from(data)
                    .map_err(|_| ValueError::CipherLength { length: data.len() })?,
            );
            cipher.decrypt_block(&mut block);
            if block[..aes_kw::IV_LEN] == RFC_3394_IV {
                buffer.copy_from_slice(&block[aes_kw::IV_LEN..]);
                zeroize::Zeroize::zeroize(block.as_mut_slice());
                return Ok(buffer);
            }
            zeroize::Zeroize::zeroize(block.as_mut_slice());
        } else if let Ok(unwrapped) =
            aes_kw::AesKw::inner_init(cipher.clone()).unwrap_key(data, &mut buffer)
        {
            let length = unwrapped.len();
            buffer.truncate(length);
            return Ok(buffer);
        }
    }
    let length = aes_kw::AesKwp::inner_init(cipher)
        .unwrap_key(data, &mut buffer)
        .map_err(|_| ValueError::DoesNotDecrypt)?
        .len();
    buffer.truncate(length);
    Ok(buffer)
}

/// `MACMethod` and PBKDF2 `PRF` algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacAlgorithm {
    /// HMAC-SHA1, RFC 6030's default (§6.1.1) and PBKDF2's (PKCS #5 v2.0).
    HmacSha1,
    /// HMAC-SHA256.
    HmacSha256,
}

impl MacAlgorithm {
    /// The algorithm an XML Signature URI names.
    pub fn from_uri(uri: &str) -> Option<MacAlgorithm> {
        match uri.trim() {
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1" => Some(MacAlgorithm::HmacSha1),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256" => Some(MacAlgorithm::HmacSha256),
            _ => None,
        }
    }

    /// Checks `tag` over `data` in constant time (hmac's `verify_slice`).
    pub fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            MacAlgorithm::HmacSha1 => verify::<Hmac<sha1::Sha1>>(key, data, tag),
            MacAlgorithm::HmacSha256 => verify::<Hmac<sha2::Sha256>>(key, data, tag),
        }
    }

    /// PBKDF2 with this HMAC as the pseudo-random function.
    pub fn pbkdf2(self, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
        match self {
            MacAlgorithm::HmacSha1 => {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out);
            }
            MacAlgorithm::HmacSha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out);
            }
        }
    }
}

fn verify<M: Mac + KeyInit>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_unwrap_matches_rfc_3394_section_4_1() {
        // RFC 3394 §4.1: 128 bits of key data wrapped with a 128-bit KEK.
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F").unwrap();
        let wrapped = hex::decode("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5").unwrap();
        let data = Encryption::KeyWrap { key_len: 16 }
            .decrypt(&kek, &wrapped)
            .unwrap();
        assert_eq!(
            hex::encode_upper(&*data),
            "00112233445566778899AABBCCDDEEFF"
        );
        let mut altered = wrapped.clone();
        altered[5] ^= 1;
        assert_eq!(
            Encryption::KeyWrap { key_len: 16 }
                .decrypt(&kek, &altered)
                .unwrap_err(),
            ValueError::DoesNotDecrypt
        );
    }

    #[test]
    fn key_unwrap_with_padding_matches_rfc_5649_section_6() {
        // RFC 5649 §6: 20 octets of key data wrapped with a 192-bit KEK.
        let kek = hex::decode("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8").unwrap();
        let wrapped =
            hex::decode("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")
                .unwrap();
        let data = Encryption::KeyWrapPadded { key_len: 24 }
            .decrypt(&kek, &wrapped)
            .unwrap();
        assert_eq!(
            hex::encode(&*data),
            "c37b7e6492584340bed12207808941155068f738"
        );
    }

    #[test]
    fn wrong_key_length_is_named() {
        let error = Encryption::Cbc { key_len: 32 }
            .decrypt(&[0; 16], &[0; 32])
            .unwrap_err();
        assert_eq!(
            error,
            ValueError::KeyLength {
                algorithm: "AES-256-CBC",
                expected: 32,
                actual: 16
            }
        );
    }

    #[test]
    fn pbkdf2_matches_rfc_6070() {
        // RFC 6070 §2, the 4096-iteration case.
        let mut out = [0u8; 20];
        MacAlgorithm::HmacSha1.pbkdf2(b"password", b"salt", 4096, &mut out);
        assert_eq!(hex::encode(out), "4b007901b765489abead49d926f721d065a429c1");
    }
}
