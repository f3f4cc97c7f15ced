//! Fuzzes the PSKC reader, `latchkey_pskc::decode`, with what an
//! administrator might be handed as a token vendor's seed file: any bytes.
//! RFC 6030's figures (`crates/pskc/tests/data/rfc6030`) make good seeds.
//!
//! Decoding must never panic, with nothing, the RFC's pre-shared key or its
//! password to unlock (PBKDF2 capped low, so that runs stay fast), and the
//! two modes must agree:
//!
//! - all or nothing and skip-invalid fail alike on a problem with the file
//!   as a whole;
//! - when all or nothing reads the file, skip-invalid reads the same keys
//!   and skips none;
//! - when all or nothing fails at a package, skip-invalid skips that one
//!   first, for the same reason;
//! - every key read has a secret, 6 to 10 digits if any, a time step that
//!   is not zero, and positions that rise through the file.
#![no_main]

use latchkey_pskc::{
    DecodeError, Limits, Options, Password, PreSharedKey, Unlock, decode,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_pbkdf2_iterations: 2_000,
        ..Limits::default()
    };
    let strict = Options {
        limits,
        skip_invalid: false,
    };
    let lenient = Options {
        limits,
        skip_invalid: true,
    };
    let unlocks = [
        Unlock::Nothing,
        Unlock::PreSharedKey(
            PreSharedKey::from_hex("12345678901234567890123456789012").expect("an AES key"),
        ),
        Unlock::Password(Password::new("qwerty")),
    ];
    for unlock in &unlocks {
        let all_or_nothing = decode(data, unlock, &strict);
        let skipping = decode(data, unlock, &lenient);
        match (&all_or_nothing, &skipping) {
            (Ok(all), Ok(skipped)) => {
                assert!(all.skipped.is_empty());
                assert!(skipped.skipped.is_empty(), "skipped what all or nothing read");
                assert_eq!(all.keys, skipped.keys);
            }
            (
                Err(DecodeError::Package {
                    position, reason, ..
                }),
                Ok(skipped),
            ) => {
                let first = skipped.skipped.first().expect("the failing package skipped");
                assert_eq!(first.position, *position);
                assert_eq!(&first.reason, reason);
            }
            (Err(strict_error), Err(lenient_error)) => {
                assert!(
                    !matches!(strict_error, DecodeError::Package { .. }),
                    "a package error failed the skipping read too"
                );
                assert_eq!(strict_error, lenient_error);
            }
            (strict_result, lenient_result) => {
                panic!("the modes disagree: {strict_result:?} / {lenient_result:?}")
            }
        }
        if let Ok(decoded) = skipping {
            let mut last = 0;
            let mut positions: Vec<usize> = decoded.keys.iter().map(|key| key.position).collect();
            positions.extend(decoded.skipped.iter().map(|skipped| skipped.position));
            positions.sort_unstable();
            for position in positions {
                assert!(position > last, "positions repeat or start at zero");
                last = position;
            }
            for key in &decoded.keys {
                assert!(!key.secret.is_empty());
                assert!(key.digits.is_none_or(|digits| (6..=10).contains(&digits)));
                assert_ne!(key.time_interval, Some(0));
            }
        }
    }
});
