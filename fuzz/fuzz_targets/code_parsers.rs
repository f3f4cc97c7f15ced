//! Fuzzes the parsers for what people type or paste: the Luhn-checked codes
//! (`Serial`, `ActivationCode`, `ResetCode`, `UnlockCode`), `otpauth://` key
//! URIs, base32 secrets and the PIN policy check.
//!
//! Every parser gets the same text (the input, when it is UTF-8). None may
//! panic, and whatever one accepts must be consistent:
//!
//! - a code has exactly `LEN` ASCII digits, which are the digits typed, pass
//!   the Luhn check, and its `grouped()` and `spaced()` forms parse back to
//!   the same code;
//! - a key URI formatted with `to_uri()` parses back to an equal `KeyUri`;
//! - decoded base32 re-encodes to text that decodes to the same bytes;
//! - a PIN the policy accepts is all digits, within the length bounds.
#![no_main]

use latchkey_oath::{
    ActivationCode, KeyUri, ResetCode, Serial, UnlockCode, base32, luhn_is_valid,
};
use latchkey_token::pin::{MAX_PIN_LENGTH, PinPolicy, check_policy};
use libfuzzer_sys::fuzz_target;

/// Parses `text` as the code type `$ty` and checks what it accepts.
macro_rules! check_code {
    ($ty:ty, $text:expr) => {{
        let text: &str = $text;
        if let Ok(code) = text.parse::<$ty>() {
            let name = stringify!($ty);
            let digits = code.digits();
            assert_eq!(digits.len(), <$ty>::LEN, "{name}: wrong digit count");
            assert!(
                digits.bytes().all(|b| b.is_ascii_digit()),
                "{name}: non-digit in {digits:?}"
            );
            assert!(luhn_is_valid(digits), "{name}: Luhn check fails on {digits:?}");
            let typed: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(digits, typed, "{name}: digits differ from those typed");

            let grouped = code.grouped();
            let groups = <$ty>::LEN.div_ceil(<$ty>::GROUP);
            assert_eq!(
                grouped.len(),
                <$ty>::LEN + groups - 1,
                "{name}: grouped form {grouped:?} has the wrong length"
            );
            let reparsed: $ty = grouped
                .parse()
                .unwrap_or_else(|e| panic!("{name}: grouped form {grouped:?} does not parse: {e}"));
            assert!(reparsed == code, "{name}: grouped form parses to another code");
            assert_eq!(reparsed.digits(), digits);

            let spaced = code.spaced();
            let reparsed: $ty = spaced
                .parse()
                .unwrap_or_else(|e| panic!("{name}: spaced form {spaced:?} does not parse: {e}"));
            assert!(reparsed == code, "{name}: spaced form parses to another code");

            let bare: $ty = digits
                .parse()
                .unwrap_or_else(|e| panic!("{name}: bare digits {digits:?} do not parse: {e}"));
            assert!(bare == code, "{name}: bare digits parse to another code");
        }
    }};
}

fn check_key_uri(text: &str) {
    let Ok(uri) = KeyUri::parse(text) else {
        return;
    };
    let formatted = uri.to_uri();
    let reparsed = match KeyUri::parse(&formatted) {
        Ok(reparsed) => reparsed,
        Err(e) => panic!(
            "KeyUri: to_uri() output does not parse: {e:?}\n  input:     {text:?}\n  parsed:    {uri:?}\n  formatted: {:?}",
            formatted.as_str()
        ),
    };
    assert!(
        reparsed == uri,
        "KeyUri: round trip changes the key\n  input:     {text:?}\n  parsed:    {uri:?}\n  formatted: {:?}\n  reparsed:  {reparsed:?}",
        formatted.as_str()
    );
    assert_eq!(
        reparsed.to_uri().as_str(),
        formatted.as_str(),
        "KeyUri: to_uri() is not a fixed point"
    );
}

fn check_base32(text: &str) {
    let Ok(bytes) = base32::decode(text) else {
        return;
    };
    let encoded = base32::encode(&bytes);
    if bytes.is_empty() {
        return;
    }
    match base32::decode(&encoded) {
        Ok(again) => assert_eq!(
            again.as_slice(),
            bytes.as_slice(),
            "base32: re-encoded {encoded:?} decodes to other bytes"
        ),
        Err(e) => panic!("base32: re-encoded {encoded:?} does not decode: {e:?}"),
    }
}

fn check_pin(text: &str, policy: &PinPolicy) {
    if check_policy(text, policy).is_ok() {
        assert!(text.bytes().all(|b| b.is_ascii_digit()), "PIN: accepted non-digits");
        assert!(
            text.len() >= policy.min_length.max(6) && text.len() <= MAX_PIN_LENGTH,
            "PIN: accepted a PIN of length {} under min_length {}",
            text.len(),
            policy.min_length
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    check_code!(Serial, text);
    check_code!(ActivationCode, text);
    check_code!(ResetCode, text);
    check_code!(UnlockCode, text);

    check_key_uri(text);
    check_base32(text);

    check_pin(text, &PinPolicy::default());
    // A policy from the server can ask for any length; let the first byte
    // pick one, and check the rest of the text against it.
    if let Some((&first, _)) = data.split_first() {
        let policy = PinPolicy {
            max_failures: 5,
            min_length: usize::from(first),
        };
        check_pin(text, &policy);
        check_pin(text.get(1..).unwrap_or(""), &policy);
    }
});
