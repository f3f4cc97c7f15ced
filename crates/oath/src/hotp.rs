//! HOTP, RFC 4226: an HMAC over a moving counter, dynamically truncated.

use std::ops::RangeInclusive;

use hmac::{Hmac, KeyInit, Mac};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::Secret;

/// The HMAC hash function. RFC 4226 defines HOTP with SHA-1; RFC 6238 §1.2
/// allows SHA-256 and SHA-512 for TOTP, and Latchkey allows them for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226 §5.2), the default of generic authenticator apps.
    #[default]
    Sha1,
    /// HMAC-SHA-256 (RFC 6238 §1.2), Latchkey soft tokens' default.
    Sha256,
    /// HMAC-SHA-512 (RFC 6238 §1.2).
    Sha512,
}

impl Algorithm {
    /// The name key URIs use: `SHA1`, `SHA256`, `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = ParamError;

    /// Accepts `SHA1`, `SHA256`, `SHA512`, in any case, with or without a dash.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(ParamError::UnknownAlgorithm),
        }
    }
}

/// The number of decimal digits in a one-time password: 6 to 10.
///
/// RFC 4226 §5.3 requires at least 6 digits (R4); the 31-bit truncated value
/// has at most 10 decimal digits, so more would add only leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(u8);

impl Digits {
    /// The fewest digits allowed (RFC 4226 §5.3, R4).
    pub const MIN: u8 = 6;
    /// The most digits allowed.
    pub const MAX: u8 = 10;
    /// Six digits, generic authenticator apps' default.
    pub const SIX: Digits = Digits(6);
    /// Eight digits, Latchkey soft tokens' default.
    pub const EIGHT: Digits = Digits(8);

    /// Validates a digit count.
    pub fn new(count: u8) -> Result<Self, ParamError> {
        if (Self::MIN..=Self::MAX).contains(&count) {
            Ok(Digits(count))
        } else {
            Err(ParamError::Digits(count))
        }
    }

    /// The digit count.
    pub fn get(self) -> u8 {
        self.0
    }

    fn modulus(self) -> u64 {
        10u64.pow(u32::from(self.0))
    }
}

/// A parameter outside what the RFCs (or Latchkey) allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// Fewer than 6 or more than 10 digits.
    #[error("a one-time password has 6 to 10 digits, not {0}")]
    Digits(u8),
    /// A hash name other than SHA1, SHA256 or SHA512.
    #[error("the algorithm must be SHA1, SHA256 or SHA512")]
    UnknownAlgorithm,
    /// An empty shared secret.
    #[error("the shared secret is empty")]
    EmptySecret,
    /// A TOTP time step of zero seconds.
    #[error("the time step must be at least one second")]
    ZeroStep,
}

/// Why a typed one-time password was refused before any HMAC was computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpFormatError {
    /// Nothing was typed.
    #[error("enter the one-time password")]
    Empty,
    /// Something other than the digits 0–9 (spaces are allowed and skipped).
    #[error("a one-time password has digits only")]
    NotDigits,
    /// Too few or too many digits.
    #[error("a one-time password has {expected} digits")]
    WrongLength {
        /// How many digits this token's passwords have.
        expected: u8,
    },
}

/// An HOTP generator and verifier for one shared secret (RFC 4226).
#[derive(Clone)]
pub struct Hotp {
    secret: Secret,
    keyed: KeyedMac,
    algorithm: Algorithm,
    digits: Digits,
}

impl std::fmt::Debug for Hotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotp")
            .field("secret", &self.secret)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

/// An HMAC keyed once, when the generator is made, so that each counter
/// costs only its two message compressions: cloning the keyed state skips
/// the two key-pad compressions. (Its state is wiped on drop, like the key.)
#[derive(Clone)]
enum KeyedMac {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

impl KeyedMac {
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail.
        const ANY_LENGTH: &str = "HMAC takes keys of any length";
        match algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(Hmac::new_from_slice(key).expect(ANY_LENGTH)),
            Algorithm::Sha256 => KeyedMac::Sha256(Hmac::new_from_slice(key).expect(ANY_LENGTH)),
            Algorithm::Sha512 => KeyedMac::Sha512(Hmac::new_from_slice(key).expect(ANY_LENGTH)),
        }
    }

    /// HOTP(K, C) before the decimal reduction: RFC 4226 §5.3 steps 1 and 2
    /// (HMAC over the 8-byte big-endian counter, then dynamic truncation).
    fn truncated(&self, counter: u64) -> u32 {
        let message = counter.to_be_bytes();
        match self {
            KeyedMac::Sha1(mac) => dynamic_truncation(finish(mac, &message).as_ref()),
            KeyedMac::Sha256(mac) => dynamic_truncation(finish(mac, &message).as_ref()),
            KeyedMac::Sha512(mac) => dynamic_truncation(finish(mac, &message).as_ref()),
        }
    }
}

fn finish<M: Mac + Clone>(keyed: &M, message: &[u8]) -> impl AsRef<[u8]> + use<M> {
    let mut mac = keyed.clone();
    mac.update(message);
    mac.finalize().into_bytes()
}

/// RFC 4226 §5.3 "DT": the low 4 bits of the last byte choose an offset; the
/// 31 bits read there are the result. RFC 6238 §1.2 applies it unchanged to
/// SHA-256 and SHA-512 outputs. `mac` must be at least 20 bytes long, as
/// every HMAC output HOTP uses is.
pub fn dynamic_truncation(mac: &[u8]) -> u32 {
    let bytes = mac;
    let offset = usize::from(bytes[bytes.len() - 1] & 0x0f);
    let word = [
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ];
    u32::from_be_bytes(word) & 0x7fff_ffff
}

impl Hotp {
    /// A generator for `secret`. RFC 4226 §4 R6 asks for a secret of at
    /// least 128 bits; enrolment enforces that, while this accepts any
    /// non-empty key so that existing tokens can be imported.
    pub fn new(secret: Secret, algorithm: Algorithm, digits: Digits) -> Result<Self, ParamError> {
        if secret.is_empty() {
            return Err(ParamError::EmptySecret);
        }
        let keyed = KeyedMac::new(algorithm, secret.expose());
        Ok(Hotp {
            secret,
            keyed,
            algorithm,
            digits,
        })
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The number of digits.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The shared secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The numeric value of HOTP(K, C): RFC 4226 §5.3 step 3, `Snum mod 10^Digit`.
    pub fn value(&self, counter: u64) -> u64 {
        u64::from(self.keyed.truncated(counter)) % self.digits.modulus()
    }

    /// HOTP(K, C) as the zero-padded decimal string people read (RFC 4226 §5.3).
    pub fn generate(&self, counter: u64) -> String {
        format!(
            "{:0width$}",
            self.value(counter),
            width = usize::from(self.digits.get())
        )
    }

    /// Parses what a person typed into the number it stands for. Spaces are
    /// skipped; anything else that is not an ASCII digit is refused, and the
    /// digit count must be this token's (RFC 4226 §7.2 compares the value a
    /// token shows, so a length mismatch can never match).
    pub fn parse_code(&self, code: &str) -> Result<u64, OtpFormatError> {
        let mut value: u64 = 0;
        let mut count: usize = 0;
        for ch in code.chars().filter(|c| *c != ' ') {
            let digit = ch
                .to_digit(10)
                .filter(|_| ch.is_ascii_digit())
                .ok_or(OtpFormatError::NotDigits)?;
            count += 1;
            if count > usize::from(Digits::MAX) {
                return Err(OtpFormatError::WrongLength {
                    expected: self.digits.get(),
                });
            }
            value = value * 10 + u64::from(digit);
        }
        match count {
            0 => Err(OtpFormatError::Empty),
            n if n == usize::from(self.digits.get()) => Ok(value),
            _ => Err(OtpFormatError::WrongLength {
                expected: self.digits.get(),
            }),
        }
    }

    /// Checks `code` against every counter in `counters` and returns the
    /// lowest one that matches (RFC 4226 §7.2). Every counter in the range is
    /// computed and compared in constant time, so the time taken does not
    /// tell which one matched. The cost grows with the range: callers bound it.
    pub fn verify_range(
        &self,
        code: &str,
        counters: RangeInclusive<u64>,
    ) -> Result<Option<u64>, OtpFormatError> {
        let given = self.parse_code(code)?;
        let keyed = &self.keyed;
        let modulus = self.digits.modulus();
        let mut found = Choice::from(0);
        let mut matched = 0u64;
        for counter in counters {
            let candidate = u64::from(keyed.truncated(counter)) % modulus;
            let equal = candidate.ct_eq(&given);
            matched.conditional_assign(&counter, equal & !found);
            found |= equal;
        }
        Ok(bool::from(found).then_some(matched))
    }

    /// Like [`Hotp::verify_range`], but stops at the first counter that
    /// matches. Each comparison is still constant-time and a code that
    /// matches nothing costs the whole range, so the time taken tells only
    /// where a code matched once it did — which its sender knew already, and
    /// which the answer (accepted, or refused as a replay) tells anyway. A
    /// server checking the next expected counter pays one HMAC, not one per
    /// counter of the look-ahead.
    pub fn find_counter(
        &self,
        code: &str,
        counters: RangeInclusive<u64>,
    ) -> Result<Option<u64>, OtpFormatError> {
        let given = self.parse_code(code)?;
        let modulus = self.digits.modulus();
        Ok(counters.into_iter().find(|&counter| {
            let candidate = u64::from(self.keyed.truncated(counter)) % modulus;
            bool::from(candidate.ct_eq(&given))
        }))
    }

    /// RFC 4226 §7.2 with the look-ahead of §7.4: checks counters
    /// `counter ..= counter + look_ahead` and returns the one that matched.
    /// The caller then stores `matched + 1` as the next counter (§7.2: the
    /// counter moves only on success).
    pub fn verify(
        &self,
        code: &str,
        counter: u64,
        look_ahead: u64,
    ) -> Result<Option<u64>, OtpFormatError> {
        self.verify_range(code, counter..=counter.saturating_add(look_ahead))
    }

    /// Resynchronisation, RFC 4226 §7.4: finds a counter `c` within
    /// `counter ..= counter + window` where `first` matches `c` and `second`
    /// matches `c + 1`, and returns `c + 2`, the next counter to expect.
    pub fn resync(
        &self,
        first: &str,
        second: &str,
        counter: u64,
        window: u64,
    ) -> Result<Option<u64>, OtpFormatError> {
        let first = self.parse_code(first)?;
        let second = self.parse_code(second)?;
        let keyed = &self.keyed;
        let modulus = self.digits.modulus();
        let value = |c: u64| u64::from(keyed.truncated(c)) % modulus;
        let mut found = Choice::from(0);
        let mut next = 0u64;
        let last = counter.saturating_add(window);
        let mut previous = value(counter);
        for c in counter..last {
            let current = value(c + 1);
            let pair = previous.ct_eq(&first) & current.ct_eq(&second);
            next.conditional_assign(&(c + 2), pair & !found);
            found |= pair;
            previous = current;
        }
        Ok(bool::from(found).then_some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_hotp() -> Hotp {
        Hotp::new(
            Secret::from_bytes(b"12345678901234567890".to_vec()),
            Algorithm::Sha1,
            Digits::SIX,
        )
        .unwrap()
    }

    #[test]
    fn digits_outside_six_to_ten_are_refused() {
        assert_eq!(Digits::new(5), Err(ParamError::Digits(5)));
        assert_eq!(Digits::new(11), Err(ParamError::Digits(11)));
        assert!(Digits::new(6).is_ok() && Digits::new(10).is_ok());
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(
            Hotp::new(Secret::from_bytes(Vec::new()), Algorithm::Sha1, Digits::SIX).unwrap_err(),
            ParamError::EmptySecret
        );
    }

    #[test]
    fn s11_malformed_codes_refused_cleanly() {
        let hotp = rfc_hotp();
        assert_eq!(hotp.verify("", 0, 0), Err(OtpFormatError::Empty));
        assert_eq!(hotp.verify("   ", 0, 0), Err(OtpFormatError::Empty));
        assert_eq!(
            hotp.verify("75522", 0, 0),
            Err(OtpFormatError::WrongLength { expected: 6 })
        );
        assert_eq!(
            hotp.verify("7552244", 0, 0),
            Err(OtpFormatError::WrongLength { expected: 6 })
        );
        assert_eq!(
            hotp.verify(&"7".repeat(5000), 0, 0),
            Err(OtpFormatError::WrongLength { expected: 6 })
        );
        assert_eq!(hotp.verify("75522a", 0, 0), Err(OtpFormatError::NotDigits));
        assert_eq!(hotp.verify("-55224", 0, 0), Err(OtpFormatError::NotDigits));
        // Arabic-Indic and full-width digits are digits to Unicode, not to us.
        assert_eq!(hotp.verify("٧٥٥٢٢٤", 0, 0), Err(OtpFormatError::NotDigits));
        assert_eq!(
            hotp.verify("７５５２２４", 0, 0),
            Err(OtpFormatError::NotDigits)
        );
        assert_eq!(hotp.verify("755 224", 0, 0), Ok(Some(0)));
    }

    #[test]
    fn s06_verify_reports_which_counter_matched() {
        let hotp = rfc_hotp();
        // RFC 4226 App. D: counter 3 is 969429.
        assert_eq!(hotp.verify("969429", 0, 10), Ok(Some(3)));
        assert_eq!(hotp.verify("969429", 4, 10), Ok(None));
        assert_eq!(hotp.verify("969429", 0, 2), Ok(None));
    }

    #[test]
    fn find_counter_agrees_with_verify_range_on_the_rfc_table() {
        let hotp = rfc_hotp();
        // RFC 4226 App. D, counters 0 to 9.
        let table = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in table.iter().enumerate() {
            let counter = counter as u64;
            assert_eq!(hotp.find_counter(code, 0..=9), Ok(Some(counter)));
            assert_eq!(
                hotp.find_counter(code, counter..=counter),
                Ok(Some(counter))
            );
            assert_eq!(
                hotp.find_counter(code, 0..=9),
                hotp.verify_range(code, 0..=9)
            );
        }
        assert_eq!(hotp.find_counter("969429", 4..=20), Ok(None));
        assert_eq!(hotp.find_counter("000000", 0..=9), Ok(None));
        assert_eq!(
            hotp.find_counter("96942", 0..=9),
            Err(OtpFormatError::WrongLength { expected: 6 })
        );
    }

    #[test]
    fn s07_resync_needs_two_consecutive_codes() {
        let hotp = rfc_hotp();
        let c8 = hotp.generate(8);
        let c9 = hotp.generate(9);
        let c10 = hotp.generate(10);
        assert_eq!(hotp.resync(&c8, &c9, 0, 20), Ok(Some(10)));
        assert_eq!(hotp.resync(&c8, &c10, 0, 20), Ok(None));
        // Outside the window: 8 and 9 are not both within 0..=8.
        assert_eq!(hotp.resync(&c8, &c9, 0, 8), Ok(None));
        assert_eq!(hotp.resync(&c8, &c9, 0, 9), Ok(Some(10)));
    }

    #[test]
    fn counters_near_the_top_do_not_overflow() {
        let hotp = rfc_hotp();
        let top = hotp.generate(u64::MAX);
        assert_eq!(hotp.verify(&top, u64::MAX - 1, 10), Ok(Some(u64::MAX)));
        assert!(hotp.resync(&top, &top, u64::MAX, 10).is_ok());
    }

    #[test]
    fn ten_digits_keep_the_leading_zero() {
        let hotp = Hotp::new(
            Secret::from_bytes(b"12345678901234567890".to_vec()),
            Algorithm::Sha1,
            Digits::new(10).unwrap(),
        )
        .unwrap();
        // RFC 4226 App. D, counter 0: truncated value 1284755224 (10 digits).
        assert_eq!(hotp.generate(0), "1284755224");
        // Counter 2: truncated value 137359152, so ten digits need a leading zero.
        assert_eq!(hotp.generate(2), "0137359152");
    }
}
