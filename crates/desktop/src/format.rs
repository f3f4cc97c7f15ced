//! Text shown to people: grouped codes and what the PIN policy asks for.

use latchkey_token::PinPolicy;
use zeroize::Zeroizing;

/// A one-time password grouped for reading: as few groups of at most four
/// as it takes, the longer groups last (`123 456`, `123 4567`, `1234 5678`,
/// `123 456 789`). Zeroized on drop, like the code it groups.
pub fn group_otp(code: &str) -> Zeroizing<String> {
    // Codes are ASCII digits, so byte offsets are character offsets.
    let len = code.len();
    let groups = len.div_ceil(4).max(1);
    let (base, longer) = (len / groups, len % groups);
    let mut out = Zeroizing::new(String::with_capacity(len + groups));
    let mut start = 0;
    for index in 0..groups {
        let end = (start + base + usize::from(index >= groups - longer)).min(len);
        if index > 0 {
            out.push(' ');
        }
        out.push_str(code.get(start..end).unwrap_or_default());
        start = end;
    }
    out
}

/// What a new PIN must be, in one sentence, for when a PIN is refused.
pub fn policy_explanation(policy: &PinPolicy) -> String {
    format!(
        "A PIN has at least {} digits (digits only), and may not repeat one digit \
         (such as 111111), count up or down (such as 123456 or 987654), or be one of \
         the most commonly chosen PINs.",
        policy.min_length.max(6)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_for_reading() {
        assert_eq!(group_otp("123456").as_str(), "123 456");
        assert_eq!(group_otp("12345678").as_str(), "1234 5678");
        assert_eq!(group_otp("1234567").as_str(), "123 4567");
        assert_eq!(group_otp("123456789").as_str(), "123 456 789");
        assert_eq!(group_otp("1234567890").as_str(), "123 456 7890");
    }

    #[test]
    fn the_policy_names_its_minimum() {
        let policy = PinPolicy {
            max_failures: 5,
            min_length: 8,
        };
        assert!(policy_explanation(&policy).contains("at least 8 digits"));
        assert!(policy_explanation(&PinPolicy::default()).contains("at least 6 digits"));
    }
}
