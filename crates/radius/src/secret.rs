//! The shared secret and unhidden passwords: bytes that never reach `Debug`.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// The secret a client and the server share (RFC 2865 §3), the key of every
/// authenticator and of the password hiding.
///
/// Its `Debug` shows only the length, and it is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret(Vec<u8>);

/// Why a shared secret was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// RFC 2865 §3: "The secret MUST NOT be empty (length 0) since this
    /// would allow packets to be trivially forged."
    #[error("the shared secret is empty")]
    Empty,
}

impl SharedSecret {
    /// A shared secret of these bytes; empty is refused (RFC 2865 §3).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<SharedSecret, SecretError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(SharedSecret(bytes))
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedSecret(<{} bytes redacted>)", self.0.len())
    }
}

/// A User-Password in the clear, as [`unhide_password`](crate::unhide_password)
/// gives it: the padding NULs removed (RFC 2865 §5.2).
///
/// Its `Debug` shows only the length, and it is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(Vec<u8>);

impl Password {
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Password {
        Password(bytes)
    }

    /// The password's bytes (RFC 2865 does not say which character set; most
    /// devices send UTF-8).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(
            SharedSecret::new(Vec::new()).err(),
            Some(SecretError::Empty)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let secret = SharedSecret::new("xyzzy5461").unwrap();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "SharedSecret(<9 bytes redacted>)");
        assert!(!shown.contains("xyzzy"));
        let password = Password::from_vec(b"arctangent".to_vec());
        let shown = format!("{password:?}");
        assert_eq!(shown, "Password(<10 bytes redacted>)");
        assert!(!shown.contains("arctan"));
    }
}
