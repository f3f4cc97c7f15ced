//! Key material that never reaches `Debug` and is wiped when dropped: the
//! tokens' secrets, the file's password and its pre-shared key.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A token's shared secret (its seed), as the file carries it.
///
/// Any length above zero is accepted here, since RFC 6030's own examples
/// carry 4-byte secrets; the minimum for enrolment is the importer's policy.
/// `Debug` shows only the length; the bytes are zeroized on drop; equality
/// is constant-time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

impl Secret {
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret holds no bytes (never true for a decoded key).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// The password a file's encryption key is derived from (RFC 6030 §6.2).
///
/// `Debug` shows nothing of it; it is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(Vec<u8>);

impl Password {
    /// A password of these bytes (PBKDF2 takes octets; a typed password is
    /// its UTF-8).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Password {
        Password(bytes.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a pre-shared key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PreSharedKeyError {
    /// Not 16, 24 or 32 bytes: no AES key.
    #[error("a pre-shared key is an AES key of 16, 24 or 32 bytes, not {0}")]
    Length(usize),
    /// The text is not hexadecimal.
    #[error("the pre-shared key is not hexadecimal")]
    NotHex,
}

/// The AES key a file's values are encrypted with, shared with the vendor
/// out of band (RFC 6030 §6.1).
///
/// `Debug` shows only the length; it is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PreSharedKey(Vec<u8>);

impl PreSharedKey {
    /// A key of these bytes: 16, 24 or 32 of them (AES-128, -192, -256).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<PreSharedKey, PreSharedKeyError> {
        let bytes = bytes.into();
        match bytes.len() {
            16 | 24 | 32 => Ok(PreSharedKey(bytes)),
            other => {
                let mut bytes = bytes;
                bytes.zeroize();
                Err(PreSharedKeyError::Length(other))
            }
        }
    }

    /// A key written in hexadecimal (either case; white space around it
    /// ignored), as vendors send it and RFC 6030 §6.1 writes it.
    pub fn from_hex(text: &str) -> Result<PreSharedKey, PreSharedKeyError> {
        let text = zeroize::Zeroizing::new(text.trim().to_ascii_lowercase());
        let bytes = data_encoding::HEXLOWER
            .decode(text.as_bytes())
            .map_err(|_| PreSharedKeyError::NotHex)?;
        PreSharedKey::new(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PreSharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PreSharedKey(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_bytes() {
        let secret = Secret::from_vec(b"12345678901234567890".to_vec());
        assert_eq!(format!("{secret:?}"), "Secret(<20 bytes redacted>)");
        assert_eq!(
            format!("{:?}", Password::new("qwerty")),
            "Password(<redacted>)"
        );
        let key = PreSharedKey::from_hex("12345678901234567890123456789012").unwrap();
        assert_eq!(format!("{key:?}"), "PreSharedKey(<16 bytes redacted>)");
    }

    #[test]
    fn pre_shared_key_is_an_aes_key() {
        assert_eq!(
            PreSharedKey::new(vec![0; 15]).unwrap_err(),
            PreSharedKeyError::Length(15)
        );
        assert_eq!(
            PreSharedKey::from_hex("zz").unwrap_err(),
            PreSharedKeyError::NotHex
        );
        assert!(
            PreSharedKey::from_hex(" 00112233445566778899AABBCCDDEEFF0011223344556677\n").is_ok()
        );
    }
}
