//! Property tests: base32 and key-URI round trips, and code parsing.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_oath::{
    ActivationCode, Algorithm, CodeError, Digits, KeyUri, OtpKind, ResetCode, Secret, Serial,
    UnlockCode, base32,
};
use proptest::prelude::*;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn kind() -> impl Strategy<Value = OtpKind> {
    prop_oneof![
        (1u64..=3600).prop_map(|period| OtpKind::Totp { period }),
        any::<u64>().prop_map(|counter| OtpKind::Hotp { counter }),
    ]
}

/// Names as people (or fuzzers) write them: any text without control
/// characters, colons and spaces included, but not blank.
fn label_text() -> impl Strategy<Value = String> {
    "[^\\p{C}]{1,24}".prop_filter("not blank", |s| !s.trim().is_empty())
}

/// Replaces digit `index` of `digits` with a different digit.
fn typo(digits: &str, index: usize, shift: u8) -> String {
    let mut bytes = digits.as_bytes().to_vec();
    bytes[index] = b'0' + (bytes[index] - b'0' + shift) % 10;
    String::from_utf8(bytes).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 1..80)) {
        let encoded = base32::encode(&bytes);
        let decoded = base32::decode(&encoded).unwrap();
        prop_assert_eq!(decoded.as_slice(), bytes.as_slice());
        let lower = base32::decode(&encoded.to_lowercase()).unwrap();
        prop_assert_eq!(lower.as_slice(), bytes.as_slice());
        let spaced: String = encoded.chars().enumerate()
            .flat_map(|(i, c)| if i > 0 && i % 4 == 0 { vec![' ', c] } else { vec![c] })
            .collect();
        let from_spaced = base32::decode(&spaced).unwrap();
        prop_assert_eq!(from_spaced.as_slice(), bytes.as_slice());
    }

    #[test]
    fn key_uris_round_trip(
        secret in proptest::collection::vec(any::<u8>(), 10..64),
        account in label_text(),
        issuer in proptest::option::of(label_text()),
        algorithm in algorithm(),
        digits in 6u8..=10,
        kind in kind(),
    ) {
        let uri = KeyUri { kind, account, issuer, secret: Secret::from_bytes(secret), algorithm, digits: Digits::new(digits).unwrap() };
        let text = uri.to_uri();
        prop_assert_eq!(KeyUri::parse(&text).unwrap(), uri);
    }

    #[test]
    fn codes_round_trip_through_their_grouped_forms(seed in any::<u64>()) {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let serial = Serial::generate_with(&mut rng);
        prop_assert_eq!(serial.to_string().parse::<Serial>().unwrap(), serial.clone());
        let reset = ResetCode::generate_with(&mut rng);
        prop_assert_eq!(reset.grouped().parse::<ResetCode>().unwrap(), reset.clone());
        prop_assert_eq!(reset.spaced().parse::<ResetCode>().unwrap(), reset);
        let activation = ActivationCode::generate_with(&mut rng);
        prop_assert_eq!(activation.grouped().parse::<ActivationCode>().unwrap(), activation);
    }

    #[test]
    fn any_single_digit_typo_is_refused(seed in any::<u64>(), index in 0usize..16, shift in 1u8..10) {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let serial = Serial::generate_with(&mut rng);
        prop_assert_eq!(typo(serial.digits(), index % 10, shift).parse::<Serial>(), Err(CodeError::CheckDigit));
        let reset = ResetCode::generate_with(&mut rng);
        prop_assert_eq!(typo(reset.digits(), index % 12, shift).parse::<ResetCode>(), Err(CodeError::CheckDigit));
        let unlock = UnlockCode::generate_with(&mut rng);
        prop_assert_eq!(typo(unlock.digits(), index, shift).parse::<UnlockCode>(), Err(CodeError::CheckDigit));
        let activation = ActivationCode::generate_with(&mut rng);
        prop_assert_eq!(typo(activation.digits(), index, shift).parse::<ActivationCode>(), Err(CodeError::CheckDigit));
    }

    #[test]
    fn arbitrary_text_never_panics_the_parsers(text in "\\PC{0,40}") {
        let _ = text.parse::<Serial>();
        let _ = text.parse::<UnlockCode>();
        let _ = KeyUri::parse(&text);
        let _ = base32::decode(&text);
    }
}
