//! Secret bytes that never reach `Debug` and are wiped when dropped.

use rand::Rng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The shortest shared secret Latchkey generates: RFC 4226 §4, requirement
/// R6, asks for at least 128 bits.
pub const MIN_SECRET_LEN: usize = 16;

/// A shared OTP secret (the token's seed).
///
/// Its `Debug` output is `Secret(<redacted>)` and its bytes are zeroized on
/// drop. Equality is constant-time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the given key bytes. Any length is accepted here so that keys
    /// from other systems can be imported; policy on the minimum belongs to
    /// the caller that enrols (see [`MIN_SECRET_LEN`]).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// Generates `len` bytes from the operating system's CSPRNG (through a
    /// reseeding ChaCha generator). RFC 4226 §4 R6/R7: the secret must be at
    /// least 128 bits and random; a shorter `len` is raised to
    /// [`MIN_SECRET_LEN`].
    pub fn generate(len: usize) -> Self {
        let mut bytes = vec![0u8; len.max(MIN_SECRET_LEN)];
        rand::rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// Decodes an RFC 4648 base32 string (see [`crate::base32::decode`]).
    pub fn from_base32(text: &str) -> Result<Self, crate::base32::Base32Error> {
        crate::base32::decode(text).map(|bytes| Secret(bytes.to_vec()))
    }

    /// Encodes as unpadded upper-case base32, the form key URIs carry.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::base32::encode(&self.0))
    }

    /// The raw key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

/// A token's unlock secret: 32 random bytes the server keeps and the soft
/// token holds only while it makes its unlock slots at activation.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct UnlockSecret([u8; 32]);

impl UnlockSecret {
    /// The length in bytes.
    pub const LEN: usize = 32;

    /// Wraps the given 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        UnlockSecret(bytes)
    }

    /// Wraps a slice, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(UnlockSecret)
    }

    /// 32 bytes from the CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        UnlockSecret(bytes)
    }

    /// The raw bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for UnlockSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnlockSecret(<redacted>)")
    }
}

impl PartialEq for UnlockSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for UnlockSecret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from_bytes(b"very-secret-bytes".to_vec());
        let shown = format!("{secret:?}");
        assert_eq!(shown, "Secret(<redacted>)");
        let unlock = UnlockSecret::from_bytes([7; 32]);
        assert_eq!(format!("{unlock:?}"), "UnlockSecret(<redacted>)");
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = Secret::generate(1);
        let b = Secret::generate(20);
        assert_eq!(a.len(), MIN_SECRET_LEN);
        assert_eq!(b.len(), 20);
        assert_ne!(Secret::generate(20), b);
    }
}
