//! The unlock-code derivation against every row of `vectors/unlock-code.json`
//! (copied to `tests/data`), and the Luhn rows of the same file.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_oath::{ResetCode, Serial, UnlockCode, UnlockSecret, luhn_is_valid, unlock_code};
use serde_json::Value;

fn file() -> Value {
    serde_json::from_str(include_str!("data/unlock-code.json")).expect("the vector file parses")
}

#[test]
fn s21_every_unlock_vector_matches() {
    let json = file();
    let rows = json["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    for row in rows {
        let secret = hex::decode(row["unlock_secret_hex"].as_str().unwrap()).unwrap();
        let secret = UnlockSecret::from_slice(&secret).unwrap();
        let serial: Serial = row["serial"].as_str().unwrap().parse().unwrap();
        let reset: ResetCode = row["reset_code"].as_str().unwrap().parse().unwrap();
        let expected: UnlockCode = row["unlock_code"].as_str().unwrap().parse().unwrap();
        let derived = unlock_code(&secret, &serial, &reset);
        assert_eq!(derived.digits(), expected.digits(), "serial {serial}");
        assert_eq!(derived, expected);
    }
}

#[test]
fn s21_unlock_codes_are_bound_to_token_and_reset_code() {
    let json = file();
    let row = &json["vectors"][0];
    let secret =
        UnlockSecret::from_slice(&hex::decode(row["unlock_secret_hex"].as_str().unwrap()).unwrap())
            .unwrap();
    let serial: Serial = "1234567897".parse().unwrap();
    let other_serial: Serial = "0000000018".parse().unwrap();
    let reset: ResetCode = "123456789015".parse().unwrap();
    let other_reset: ResetCode = "999999999991".parse().unwrap();
    let code = unlock_code(&secret, &serial, &reset);
    assert_ne!(code, unlock_code(&secret, &other_serial, &reset));
    assert_ne!(code, unlock_code(&secret, &serial, &other_reset));
    assert_ne!(
        code,
        unlock_code(&UnlockSecret::from_bytes([0xff; 32]), &serial, &reset)
    );
}

#[test]
fn luhn_rows() {
    let json = file();
    for valid in json["luhn"]["valid"].as_array().unwrap() {
        assert!(luhn_is_valid(valid.as_str().unwrap()), "{valid}");
    }
    for invalid in json["luhn"]["invalid"].as_array().unwrap() {
        assert!(!luhn_is_valid(invalid.as_str().unwrap()), "{invalid}");
    }
    assert!(!luhn_is_valid(""));
    assert!(!luhn_is_valid("12a4"));
}
