//! PINs: what a person may choose, and what they type to open a token.

use zeroize::Zeroizing;

/// The policy a new PIN must meet. The server sets it at activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PinPolicy {
    /// Wrong PINs in a row that lock the token.
    pub max_failures: u32,
    /// The fewest digits a PIN may have.
    pub min_length: usize,
}

impl Default for PinPolicy {
    fn default() -> Self {
        PinPolicy {
            max_failures: 5,
            min_length: 6,
        }
    }
}

/// The most digits a PIN may have.
pub const MAX_PIN_LENGTH: usize = 64;

/// PINs people choose most often that are neither one digit repeated nor a
/// straight run (those are refused by rule).
const COMMON_PINS: &[&str] = &[
    "121212",
    "112233",
    "123123",
    "123321",
    "654123",
    "159753",
    "147258",
    "258369",
    "789456",
    "101010",
    "131313",
    "696969",
    "111222",
    "222333",
    "520520",
    "147852",
    "159357",
    "753951",
    "102030",
    "100200",
    "007007",
    "012012",
    "696696",
    "112211",
    "121314",
    "131415",
    "123654",
    "321654",
    "000123",
    "999888",
    "11223344",
    "12341234",
    "12121212",
    "19901990",
    "20002000",
    "13579135",
    "24682468",
    "147258369",
    "123123123",
    "789456123",
];

/// Why a new PIN was refused. Each message says what to choose instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinPolicyError {
    /// Not all digits.
    #[error("a PIN has digits only")]
    NotDigits,
    /// Fewer digits than the policy asks for.
    #[error("a PIN needs at least {0} digits")]
    TooShort(usize),
    /// More than [`MAX_PIN_LENGTH`] digits.
    #[error("a PIN has at most {MAX_PIN_LENGTH} digits")]
    TooLong,
    /// One digit repeated, such as 111111.
    #[error("a PIN made of one digit repeated is too easy to guess")]
    Repeated,
    /// A straight run, such as 123456 or 987654.
    #[error("a PIN that counts up or down is too easy to guess")]
    StraightRun,
    /// On the list of commonly chosen PINs.
    #[error("that PIN is one of the most commonly chosen; choose a less predictable one")]
    Common,
    /// The two entries differ.
    #[error("the two PINs you typed differ")]
    Mismatch,
}

/// A PIN as typed to open a token. Redacted in `Debug`, wiped on drop.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Takes what was typed, without surrounding white space. Any text is
    /// accepted: a PIN that breaks today's policy may still be the PIN a
    /// token was made with.
    pub fn entered(text: &str) -> Self {
        Pin(Zeroizing::new(text.trim().to_owned()))
    }

    /// A new PIN, checked against `policy` and against the common-PIN rules.
    pub fn choose(text: &str, again: &str, policy: &PinPolicy) -> Result<Self, PinPolicyError> {
        let pin = text.trim();
        if pin != again.trim() {
            return Err(PinPolicyError::Mismatch);
        }
        check_policy(pin, policy)?;
        Ok(Pin(Zeroizing::new(pin.to_owned())))
    }

    /// The PIN's bytes, for the key derivation.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Checks a candidate PIN against the policy (SECURITY.md S17).
pub fn check_policy(pin: &str, policy: &PinPolicy) -> Result<(), PinPolicyError> {
    if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinPolicyError::NotDigits);
    }
    if pin.len() < policy.min_length.max(6) {
        return Err(PinPolicyError::TooShort(policy.min_length.max(6)));
    }
    if pin.len() > MAX_PIN_LENGTH {
        return Err(PinPolicyError::TooLong);
    }
    let bytes = pin.as_bytes();
    if bytes.iter().all(|b| *b == bytes[0]) {
        return Err(PinPolicyError::Repeated);
    }
    let steps: Vec<i8> = bytes
        .windows(2)
        .map(|w| (w[1] as i8 - w[0] as i8).rem_euclid(10))
        .collect();
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == 9) {
        return Err(PinPolicyError::StraightRun);
    }
    if COMMON_PINS.contains(&pin) {
        return Err(PinPolicyError::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s17_trivial_pins_are_refused() {
        let policy = PinPolicy::default();
        let refused = [
            ("123456", PinPolicyError::StraightRun),
            ("111111", PinPolicyError::Repeated),
            ("987654", PinPolicyError::StraightRun),
            ("890123", PinPolicyError::StraightRun),
            ("12345", PinPolicyError::TooShort(6)),
            ("12a456", PinPolicyError::NotDigits),
            ("", PinPolicyError::NotDigits),
            ("121212", PinPolicyError::Common),
            ("159753", PinPolicyError::Common),
        ];
        for (pin, error) in refused {
            assert_eq!(check_policy(pin, &policy), Err(error), "{pin}");
        }
        assert_eq!(
            check_policy(&"3".repeat(65).replacen('3', "4", 1), &policy),
            Err(PinPolicyError::TooLong)
        );
        assert!(check_policy("204817", &policy).is_ok());
        assert_eq!(
            check_policy(
                "2048173",
                &PinPolicy {
                    min_length: 8,
                    ..policy
                }
            ),
            Err(PinPolicyError::TooShort(8))
        );
    }

    #[test]
    fn the_two_entries_must_match() {
        let policy = PinPolicy::default();
        assert_eq!(
            Pin::choose("204817", "204818", &policy).unwrap_err(),
            PinPolicyError::Mismatch
        );
        assert!(Pin::choose("204817", " 204817\n", &policy).is_ok());
    }

    #[test]
    fn pins_are_redacted() {
        assert_eq!(format!("{:?}", Pin::entered("204817")), "Pin(<redacted>)");
    }
}
