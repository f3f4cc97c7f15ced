//! Decimal codes people type, each ending in a Luhn check digit so that a
//! typo is caught before anything is spent.

use rand::{CryptoRng, RngExt};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Why typed text is not a valid code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing but separators was typed.
    #[error("enter the {expected}-digit code")]
    Empty {
        /// How many digits the code has.
        expected: usize,
    },
    /// A character other than a digit, a space or a dash.
    #[error("the code has digits only (spaces and dashes are fine)")]
    InvalidCharacter,
    /// Too few or too many digits.
    #[error("the code has {expected} digits, but {found} were entered")]
    WrongLength {
        /// How many digits the code has.
        expected: usize,
        /// How many were typed.
        found: usize,
    },
    /// The check digit does not match: a digit was mistyped or two were swapped.
    #[error(
        "the code has a typo (its check digit does not match): check each digit and type it again"
    )]
    CheckDigit,
}

/// The Luhn check digit (ISO/IEC 7812-1 Annex B) for a string of ASCII digits.
/// It catches every single-digit error and most swaps of neighbours.
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Whether `digits` (ASCII digits only, check digit last) passes the Luhn check.
pub fn luhn_is_valid(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    match bytes.split_last() {
        Some((last, payload)) if bytes.iter().all(u8::is_ascii_digit) => {
            luhn_check_digit(payload) == last - b'0'
        }
        _ => false,
    }
}

/// Reads typed text into exactly `N` ASCII digits, skipping spaces and
/// dashes, and checks the Luhn digit.
fn parse_digits<const N: usize>(text: &str) -> Result<[u8; N], CodeError> {
    let mut digits = [0u8; N];
    let mut found = 0usize;
    for ch in text.chars() {
        match ch {
            ' ' | '-' | '\t' => continue,
            '0'..='9' => {
                if found < N {
                    digits[found] = ch as u8;
                }
                found += 1;
            }
            _ => {
                digits.zeroize();
                return Err(CodeError::InvalidCharacter);
            }
        }
    }
    let result = match found {
        0 => Err(CodeError::Empty { expected: N }),
        n if n != N => Err(CodeError::WrongLength {
            expected: N,
            found: n,
        }),
        _ if luhn_check_digit(&digits[..N - 1]) != digits[N - 1] - b'0' => {
            Err(CodeError::CheckDigit)
        }
        _ => return Ok(digits),
    };
    digits.zeroize();
    result
}

fn random_digits<const N: usize>(rng: &mut impl CryptoRng) -> [u8; N] {
    let mut digits = [0u8; N];
    for slot in &mut digits[..N - 1] {
        *slot = b'0' + rng.random_range(0..10u8);
    }
    digits[N - 1] = b'0' + luhn_check_digit(&digits[..N - 1]);
    digits
}

fn grouped(digits: &[u8], group: usize, separator: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / group);
    for (index, chunk) in digits.chunks(group).enumerate() {
        if index > 0 {
            out.push(separator);
        }
        out.extend(chunk.iter().map(|b| char::from(*b)));
    }
    out
}

macro_rules! luhn_code {
    ($(#[$doc:meta])* $name:ident, $len:literal, $group:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name([u8; $len]);

        impl $name {
            /// How many digits the code has, its check digit included.
            pub const LEN: usize = $len;
            /// How many digits are shown together in the grouped form.
            pub const GROUP: usize = $group;

            /// A new code with random digits from the operating system's CSPRNG.
            pub fn generate() -> Self {
                Self::generate_with(&mut rand::rng())
            }

            /// A new code with random digits from the given CSPRNG.
            pub fn generate_with(rng: &mut impl CryptoRng) -> Self {
                $name(random_digits(rng))
            }

            /// The digits alone, check digit last.
            pub fn digits(&self) -> &str {
                std::str::from_utf8(&self.0).expect("codes hold ASCII digits")
            }

            /// The digits grouped for reading aloud, separated by dashes.
            pub fn grouped(&self) -> String {
                grouped(&self.0, $group, '-')
            }

            /// The digits grouped and separated by spaces.
            pub fn spaced(&self) -> String {
                grouped(&self.0, $group, ' ')
            }

            #[allow(dead_code)]
            pub(crate) fn from_payload(payload: &str) -> Self {
                let mut digits = [0u8; $len];
                digits[..$len - 1].copy_from_slice(payload.as_bytes());
                digits[$len - 1] = b'0' + luhn_check_digit(&digits[..$len - 1]);
                $name(digits)
            }
        }

        impl std::str::FromStr for $name {
            type Err = CodeError;

            /// Parses what a person typed: digits, with spaces and dashes
            /// anywhere; the Luhn check digit must match.
            fn from_str(text: &str) -> Result<Self, CodeError> {
                parse_digits(text).map($name)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = CodeError;

            fn try_from(text: &str) -> Result<Self, CodeError> {
                text.parse()
            }
        }
    };
}

macro_rules! secret_code {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }

        impl PartialEq for $name {
            /// Constant-time: how much of a guess was right must not show.
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }
    };
}

luhn_code!(
    /// A token's serial number: 10 digits, shown in groups of five
    /// (`12345-67897`). Not a secret.
    Serial, 10, 5
);

luhn_code!(
    /// A single-use activation code: 16 digits, shown in groups of four.
    ActivationCode, 16, 4
);

luhn_code!(
    /// A soft token's PIN Reset Code: 12 digits, shown in groups of four
    /// (`1234-5678-9012`). One per unlock slot.
    ResetCode, 12, 4
);

luhn_code!(
    /// An unlock code: 16 digits, shown in groups of four; derived by
    /// [`crate::unlock_code`], it opens a locked soft token once.
    UnlockCode, 16, 4
);

secret_code!(ActivationCode);
secret_code!(ResetCode);
secret_code!(UnlockCode);

impl std::fmt::Debug for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Serial({})", self.digits())
    }
}

impl std::fmt::Display for Serial {
    /// The grouped form, `12345-67897`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl PartialEq for Serial {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Serial {}

impl std::hash::Hash for Serial {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialOrd for Serial {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Serial {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_type() {
        let serial: Serial = "12345-67897".parse().unwrap();
        assert_eq!(serial.digits(), "1234567897");
        assert_eq!(serial.to_string(), "12345-67897");
        let reset: ResetCode = " 1234 5678-9015 ".parse().unwrap();
        assert_eq!(reset.grouped(), "1234-5678-9015");
        assert_eq!(reset.spaced(), "1234 5678 9015");
    }

    #[test]
    fn s11_bad_codes_get_a_clear_error() {
        assert_eq!("".parse::<Serial>(), Err(CodeError::Empty { expected: 10 }));
        assert_eq!(
            " - ".parse::<ResetCode>(),
            Err(CodeError::Empty { expected: 12 })
        );
        assert_eq!(
            "123456789".parse::<Serial>(),
            Err(CodeError::WrongLength {
                expected: 10,
                found: 9
            })
        );
        assert_eq!(
            "12345678970".parse::<Serial>(),
            Err(CodeError::WrongLength {
                expected: 10,
                found: 11
            })
        );
        assert_eq!("1234567890".parse::<Serial>(), Err(CodeError::CheckDigit));
        assert_eq!(
            "12345x7897".parse::<Serial>(),
            Err(CodeError::InvalidCharacter)
        );
        assert_eq!(
            "١٢٣٤٥٦٧٨٩٧".parse::<Serial>(),
            Err(CodeError::InvalidCharacter)
        );
    }

    #[test]
    fn secret_codes_are_redacted_in_debug() {
        let reset: ResetCode = "123456789015".parse().unwrap();
        assert_eq!(format!("{reset:?}"), "ResetCode(<redacted>)");
        let activation = ActivationCode::generate();
        assert!(!format!("{activation:?}").contains(activation.digits()));
    }

    #[test]
    fn generated_codes_are_valid_and_differ() {
        let a = ActivationCode::generate();
        assert!(luhn_is_valid(a.digits()));
        assert_eq!(a.digits().len(), 16);
        assert_ne!(a, ActivationCode::generate());
        assert_eq!(a.grouped().len(), 19);
        assert_eq!(Serial::generate().grouped().len(), 11);
    }
}
