//! RFC 6030's own examples as known-answer tests: every figure that carries
//! a key, decoded to the secret the RFC states ("12345678901234567890",
//! hex 3132333435363738393031323334353637383930; Figure 2's is "1234"), with
//! the RFC's pre-shared key (Figure 6) and password (Figure 7).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_pskc::{
    Algorithm, DecodeError, Decoded, KeyPackage, Options, OtpHash, PackageError, Password,
    PreSharedKey, Unlock, ValueError, decode,
};

const RFC_SECRET: &[u8] = b"12345678901234567890";
/// RFC 6030 §6.1's pre-shared key, Figure 6.
const FIGURE_6_KEY: &str = "12345678901234567890123456789012";
/// RFC 6030 §6.2's password, Figure 7.
const FIGURE_7_PASSWORD: &str = "qwerty";

fn figure(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/rfc6030/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn decode_all(name: &str, unlock: &Unlock) -> Decoded {
    decode(&figure(name), unlock, &Options::default())
        .unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn only_key(decoded: Decoded) -> KeyPackage {
    assert!(decoded.skipped.is_empty());
    let [key]: [KeyPackage; 1] = decoded.keys.try_into().expect("one key package");
    key
}

fn psk() -> Unlock {
    Unlock::PreSharedKey(PreSharedKey::from_hex(FIGURE_6_KEY).unwrap())
}

fn password(text: &str) -> Unlock {
    Unlock::Password(Password::new(text))
}

#[test]
fn figure_2_basic_container() {
    let key = only_key(decode_all("figure2.xml", &Unlock::Nothing));
    assert_eq!(key.secret.expose(), b"1234");
    assert_eq!(key.key_id.as_deref(), Some("12345678"));
    assert_eq!(key.serial, None);
    assert_eq!(key.serial_or_key_id(), Some("12345678"));
    assert_eq!(key.issuer.as_deref(), Some("Issuer-A"));
    assert_eq!(key.algorithm, Algorithm::Hotp);
    assert_eq!(key.digits, None);
    assert_eq!(key.counter, None);
}

#[test]
fn figure_3_plain_hotp_key() {
    let key = only_key(decode_all("figure3.xml", &Unlock::Nothing));
    assert_eq!(key.secret.expose(), RFC_SECRET);
    assert_eq!(key.serial.as_deref(), Some("987654321"));
    assert_eq!(key.serial_or_key_id(), Some("987654321"));
    assert_eq!(key.manufacturer.as_deref(), Some("Manufacturer"));
    assert_eq!(key.issuer.as_deref(), Some("Issuer"));
    assert_eq!(key.algorithm, Algorithm::Hotp);
    assert_eq!(key.hash, OtpHash::Sha1);
    assert_eq!(key.digits, Some(8));
    assert_eq!(key.counter, Some(0));
    assert_eq!(key.position, 1);
}

#[test]
fn pin_policy_example_reads_the_hotp_key_and_not_the_pin() {
    // RFC 6030 §5's example: an HOTP key and, in a second package, the PIN
    // that protects it on the device (algorithm urn:…:pskc:pin).
    let all_or_nothing = decode(
        &figure("pin-policy.xml"),
        &Unlock::Nothing,
        &Options::default(),
    );
    match all_or_nothing {
        Err(DecodeError::Package {
            position: 2,
            serial,
            reason: PackageError::UnsupportedAlgorithm { algorithm },
        }) => {
            assert_eq!(serial.as_deref(), Some("987654321"));
            assert_eq!(algorithm, "urn:ietf:params:xml:ns:keyprov:pskc:pin");
        }
        other => panic!("expected the PIN package refused, got {other:?}"),
    }

    let lenient = Options {
        skip_invalid: true,
        ..Options::default()
    };
    let decoded = decode(&figure("pin-policy.xml"), &Unlock::Nothing, &lenient).unwrap();
    assert_eq!(decoded.keys.len(), 1);
    assert_eq!(decoded.keys[0].secret.expose(), RFC_SECRET);
    assert_eq!(decoded.keys[0].key_id.as_deref(), Some("12345678"));
    assert_eq!(decoded.skipped.len(), 1);
    assert_eq!(decoded.skipped[0].position, 2);
    assert!(matches!(
        decoded.skipped[0].reason,
        PackageError::UnsupportedAlgorithm { .. }
    ));
}

#[test]
fn figure_6_pre_shared_key_aes_128_cbc() {
    let key = only_key(decode_all("figure6.xml", &psk()));
    assert_eq!(key.secret.expose(), RFC_SECRET);
    assert_eq!(
        hex::encode(key.secret.expose()),
        "3132333435363738393031323334353637383930"
    );
    assert_eq!(key.serial.as_deref(), Some("987654321"));
    assert_eq!(key.key_id.as_deref(), Some("12345678"));
    assert_eq!(key.digits, Some(8));
    assert_eq!(key.counter, Some(0));
}

#[test]
fn figure_7_pbkdf2_password() {
    let key = only_key(decode_all("figure7.xml", &password(FIGURE_7_PASSWORD)));
    assert_eq!(key.secret.expose(), RFC_SECRET);
    assert_eq!(key.serial.as_deref(), Some("987654321"));
    assert_eq!(key.manufacturer.as_deref(), Some("TokenVendorAcme"));
    assert_eq!(key.issuer.as_deref(), Some("Example-Issuer"));
    assert_eq!(key.key_id.as_deref(), Some("123456"));
    assert_eq!(key.digits, Some(8));
}

#[test]
fn figure_7_wrong_password_is_refused_clearly() {
    let error = decode(
        &figure("figure7.xml"),
        &password("qwertz"),
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(error, DecodeError::WrongKey { given: "password" });
    assert_eq!(
        error.to_string(),
        "the password does not open this file: it is wrong, or the file was altered"
    );
}

#[test]
fn figure_7_without_a_password_or_with_a_key_asks_for_the_password() {
    let file = figure("figure7.xml");
    let options = Options::default();
    assert_eq!(
        decode(&file, &Unlock::Nothing, &options).unwrap_err(),
        DecodeError::PasswordRequired
    );
    assert_eq!(
        decode(&file, &psk(), &options).unwrap_err(),
        DecodeError::PasswordRequired
    );
}

#[test]
fn figure_6_without_the_key_or_with_a_password_asks_for_the_key() {
    let file = figure("figure6.xml");
    let options = Options::default();
    assert_eq!(
        decode(&file, &Unlock::Nothing, &options).unwrap_err(),
        DecodeError::PreSharedKeyRequired
    );
    assert_eq!(
        decode(&file, &password(FIGURE_7_PASSWORD), &options).unwrap_err(),
        DecodeError::PreSharedKeyRequired
    );
}

#[test]
fn figure_6_wrong_key_is_refused() {
    let wrong =
        Unlock::PreSharedKey(PreSharedKey::from_hex("12345678901234567890123456789013").unwrap());
    let error = decode(&figure("figure6.xml"), &wrong, &Options::default()).unwrap_err();
    assert_eq!(
        error,
        DecodeError::WrongKey {
            given: "pre-shared key"
        }
    );
}

#[test]
fn figure_6_with_a_key_of_another_size_names_the_sizes() {
    let long = Unlock::PreSharedKey(PreSharedKey::new(vec![0x12; 32]).unwrap());
    let error = decode(&figure("figure6.xml"), &long, &Options::default()).unwrap_err();
    assert_eq!(
        error,
        DecodeError::MacKey(ValueError::KeyLength {
            algorithm: "AES-128-CBC",
            expected: 16,
            actual: 32
        })
    );
}

#[test]
fn figure_8_asymmetric_encryption_is_refused() {
    let error = decode(
        &figure("figure8.xml"),
        &Unlock::Nothing,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        DecodeError::UnsupportedKeyTransport {
            kind: "X509Data".into()
        }
    );
}

#[test]
fn figure_9_signed_container_reads_its_key() {
    // The signature is not checked (see the crate's documentation); the key
    // is read as in the clear.
    let key = only_key(decode_all("figure9.xml", &Unlock::Nothing));
    assert_eq!(key.secret.expose(), RFC_SECRET);
    assert_eq!(key.serial.as_deref(), Some("0755225266"));
    assert_eq!(key.digits, Some(6));
    assert_eq!(key.counter, Some(0));
}

#[test]
fn figure_10_bulk_provisioning() {
    let decoded = decode_all("figure10.xml", &Unlock::Nothing);
    assert!(decoded.skipped.is_empty());
    let serials: Vec<_> = decoded
        .keys
        .iter()
        .map(|key| key.serial.as_deref())
        .collect();
    assert_eq!(
        serials,
        [
            Some("654321"),
            Some("123456"),
            Some("9999999"),
            Some("9999999")
        ]
    );
    let ids: Vec<_> = decoded
        .keys
        .iter()
        .map(|key| key.key_id.as_deref())
        .collect();
    assert_eq!(ids, [Some("1"), Some("2"), Some("3"), Some("4")]);
    for (index, key) in decoded.keys.iter().enumerate() {
        assert_eq!(key.position, index + 1);
        assert_eq!(key.secret.expose(), RFC_SECRET);
        assert_eq!(key.digits, Some(8));
    }
}
