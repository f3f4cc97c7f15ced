//! Fuzzes the server-side parsers of untrusted text: user names (typed at
//! sign-in, sent by relying applications), security-question answers (their
//! normalisation), and import lines (a JSON object with a user name, an
//! `otpauth://` key URI, a serial and a password hash).
//!
//! None may panic, and what each accepts must be consistent:
//!
//! - a user name is 1–64 characters of letters, digits and `._-@`, already
//!   in its normal form (parsing it again gives the same name);
//! - a normalised answer is words of letters and digits separated by single
//!   spaces;
//! - an accepted import line has a user name as above, a 10-digit serial
//!   that passes the Luhn check, codes of 6 or more digits and a seed of at
//!   least 128 bits, sealed with the serial in its associated data.
#![no_main]

use latchkey_core::import::{ImportRequest, prepare_account};
use latchkey_core::oath::luhn_is_valid;
use latchkey_core::{CipherError, SecretCipher, Username, normalise_answer};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

/// Seals by prefixing the associated data: enough to check what was sealed
/// with what, with no cryptography to slow the fuzzer.
struct PlainCipher;

impl SecretCipher for PlainCipher {
    fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
        [aad.as_bytes(), b"\0", plaintext].concat()
    }
    fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        sealed
            .strip_prefix(aad.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"\0"))
            .map(|plain| Zeroizing::new(plain.to_vec()))
            .ok_or(CipherError)
    }
    fn keyed_hash(&self, _purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut out = [0; 32];
        for (i, b) in data.iter().enumerate() {
            out[i % 32] ^= b;
        }
        out
    }
}

fn check_username(text: &str) {
    if let Ok(name) = text.parse::<Username>() {
        let name = name.as_str();
        let count = name.chars().count();
        assert!((1..=64).contains(&count), "{name:?} has {count} characters");
        assert!(
            name.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')),
            "{name:?} has a character names may not have"
        );
        let again: Username = name.parse().expect("a normal name parses again");
        assert_eq!(again.as_str(), name, "a normal name is its own normal form");
    }
}

fn check_answer(text: &str) {
    let answer = normalise_answer(text);
    assert_eq!(
        answer,
        answer.split_whitespace().collect::<Vec<_>>().join(" "),
        "single spaces between words, none around them"
    );
    assert!(
        answer.chars().all(|c| c == ' ' || c.is_alphanumeric()),
        "{answer:?} keeps a character that is neither a letter nor a digit"
    );
}

fn check_import_line(text: &str) {
    let Ok(serde_json::Value::Object(line)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return;
    };
    let field = |name: &str| line.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let request = ImportRequest {
        username: field("username").unwrap_or_default(),
        email: field("email"),
        password_hash: field("password_hash"),
        otpauth_uri: field("otpauth_uri").unwrap_or_default(),
        serial: field("serial"),
    };
    if let Ok(account) = prepare_account(&PlainCipher, request, 1_700_000_000) {
        check_username(account.user.username.as_str());
        let serial = &account.token.serial;
        assert_eq!(serial.len(), 10, "serial {serial:?}");
        assert!(luhn_is_valid(serial), "serial {serial:?} fails the Luhn check");
        assert!(account.token.otp.digits.get() >= 6);
        let seed = PlainCipher
            .open(&format!("token:{serial}:seed"), &account.token.sealed_seed)
            .expect("the seed is sealed with its serial");
        assert!(seed.len() >= 16, "a {}-byte seed", seed.len());
        if let Some(hash) = &account.user.password_hash {
            assert!(hash.starts_with("$argon2id$"));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_username(text);
        check_answer(text);
        check_import_line(text);
    }
});
