//! RFC 4648 §6 base32, as OTP secrets are written.
//!
//! Decoding is forgiving about what people paste: case is ignored, spaces
//! and dashes are skipped and `=` padding is optional. Encoding writes
//! upper case without padding, the form key URIs carry.

use data_encoding::{BASE32_NOPAD, Encoding, Specification};
use std::sync::OnceLock;

/// Why a base32 string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base32Error {
    /// Nothing but separators was given.
    #[error("the secret is empty")]
    Empty,
    /// A character outside the RFC 4648 §6 alphabet.
    #[error("the secret contains a character that is not base32 (A–Z, 2–7)")]
    InvalidCharacter,
    /// A length no base32 encoding can have (RFC 4648 §6: 1, 3 or 6 trailing symbols).
    #[error("the secret has a length no base32 encoding can have")]
    InvalidLength,
}

#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
fn lenient() -> &'static Encoding {
    static LENIENT: OnceLock<Encoding> = OnceLock::new();
    LENIENT.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        spec.translate.from.push_str("abcdefghijklmnopqrstuvwxyz");
        spec.translate.to.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        spec.ignore.push_str(" -\t");
        // Some issuers leave stray bits in the last symbol; RFC 4648 §3.5
        // lets a decoder accept them.
        spec.check_trailing_bits = false;
        spec.encoding().expect("a valid base32 specification")
    })
}

/// Decodes RFC 4648 §6 base32, ignoring case, spaces, dashes and padding.
pub fn decode(text: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Base32Error> {
    let trimmed = text.trim_end_matches(|c: char| c == '=' || c.is_whitespace());
    if trimmed.chars().all(|c| c == ' ' || c == '-' || c == '\t') {
        return Err(Base32Error::Empty);
    }
    if trimmed.contains('=') {
        return Err(Base32Error::InvalidCharacter);
    }
    lenient()
        .decode(trimmed.as_bytes())
        .map(zeroize::Zeroizing::new)
        .map_err(|error| match error.kind {
            data_encoding::DecodeKind::Length => Base32Error::InvalidLength,
            _ => Base32Error::InvalidCharacter,
        })
}

/// Encodes as upper-case RFC 4648 §6 base32 without padding.
pub fn encode(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 test vectors.
    #[test]
    fn rfc4648_section10_vectors() {
        let table = [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ];
        for (plain, encoded) in table {
            assert_eq!(encode(plain.as_bytes()), encoded.trim_end_matches('='));
            if !plain.is_empty() {
                assert_eq!(decode(encoded).unwrap().as_slice(), plain.as_bytes());
            }
        }
    }

    #[test]
    fn decoding_forgives_what_people_paste() {
        let expected = b"12345678901234567890";
        for text in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq",
        ] {
            assert_eq!(decode(text).unwrap().as_slice(), expected, "{text}");
        }
    }

    #[test]
    fn bad_base32_is_refused_with_a_reason() {
        assert_eq!(decode(""), Err(Base32Error::Empty));
        assert_eq!(decode("  "), Err(Base32Error::Empty));
        assert_eq!(decode("GEZ1"), Err(Base32Error::InvalidCharacter));
        assert_eq!(decode("MY=A"), Err(Base32Error::InvalidCharacter));
        assert_eq!(decode("M"), Err(Base32Error::InvalidLength));
    }
}
