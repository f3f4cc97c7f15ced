//! What the reader refuses, and how it says so: altered, missing or
//! mismatched MACs, wrong keys, truncated and garbage input, DTDs and
//! entities, files past the limits, key packages it cannot use. A refused
//! file gives no keys at all unless the caller asked to skip the invalid
//! ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_pskc::{
    DecodeError, Decoded, Limits, Options, PackageError, Password, PreSharedKey, Unlock,
    ValueError, XmlError, decode,
};
use proptest::prelude::*;

fn figure(name: &str) -> String {
    let path = format!("{}/tests/data/rfc6030/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn psk() -> Unlock {
    Unlock::PreSharedKey(PreSharedKey::from_hex("12345678901234567890123456789012").unwrap())
}

fn qwerty() -> Unlock {
    Unlock::Password(Password::new("qwerty"))
}

fn read(text: &str, unlock: &Unlock) -> Result<Decoded, DecodeError> {
    decode(text.as_bytes(), unlock, &Options::default())
}

/// `text` with `from` replaced by `to`, which must occur.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the file");
    text.replacen(from, to, 1)
}

/// Figure 6 with its key package twice, the second with `from` made `to`.
fn figure_6_twice(from: &str, to: &str) -> String {
    let text = figure("figure6.xml");
    let start = text.find("    <KeyPackage>").unwrap();
    let end = text.find("</KeyContainer>").unwrap();
    let package = &text[start..end];
    let second = edit(package, from, to).replacen("987654321", "987654322", 1);
    format!("{}{second}{}", &text[..end], &text[end..])
}

const FIGURE_6_SECRET_CIPHER: &str =
    "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv";
const FIGURE_6_MAC: &str = "Su+NvtQfmvfJzF6bmQiJqoLRExc=";

#[test]
fn the_two_package_fixture_reads_when_unaltered() {
    let decoded = read(&figure_6_twice("Issuer", "Issuer"), &psk()).unwrap();
    assert_eq!(decoded.keys.len(), 2);
    assert_eq!(decoded.keys[1].serial.as_deref(), Some("987654322"));
}

#[test]
fn an_altered_mac_fails_the_file_at_its_package() {
    let text = figure_6_twice(FIGURE_6_MAC, "Tu+NvtQfmvfJzF6bmQiJqoLRExc=");
    assert_eq!(
        read(&text, &psk()).unwrap_err(),
        DecodeError::Package {
            position: 2,
            serial: Some("987654322".into()),
            reason: PackageError::Value {
                field: "Secret",
                error: ValueError::MacMismatch
            }
        }
    );
}

#[test]
fn an_altered_cipher_value_is_caught_by_the_mac_before_decrypting() {
    // A byte of the last block changed: decrypted first, it would fail its
    // padding or give a wrong secret; the MAC check comes first.
    let altered = FIGURE_6_SECRET_CIPHER.replacen("qIUqGv", "qIUqGw", 1);
    let text = figure_6_twice(FIGURE_6_SECRET_CIPHER, &altered);
    assert!(matches!(
        read(&text, &psk()).unwrap_err(),
        DecodeError::Package {
            position: 2,
            reason: PackageError::Value {
                field: "Secret",
                error: ValueError::MacMismatch
            },
            ..
        }
    ));
}

#[test]
fn a_single_package_with_an_altered_mac_is_refused_as_not_opening() {
    let text = edit(
        &figure("figure6.xml"),
        FIGURE_6_MAC,
        "Su+NvtQfmvfJzF6bmQiJqoLRExs=",
    );
    let error = read(&text, &psk()).unwrap_err();
    assert_eq!(
        error,
        DecodeError::WrongKey {
            given: "pre-shared key"
        }
    );
    assert!(error.to_string().contains("altered"), "{error}");
}

#[test]
fn a_truncated_mac_does_not_match() {
    let text = figure_6_twice(FIGURE_6_MAC, "Su+NvtQfmvfJzF6bmQiJqg==");
    assert!(matches!(
        read(&text, &psk()).unwrap_err(),
        DecodeError::Package {
            reason: PackageError::Value {
                error: ValueError::MacMismatch,
                ..
            },
            ..
        }
    ));
}

#[test]
fn a_missing_mac_on_aes_cbc_is_refused() {
    let text = edit(
        &figure("figure6.xml"),
        &format!("<ValueMAC>{FIGURE_6_MAC}\n                    </ValueMAC>"),
        "",
    );
    let error = read(&text, &psk()).unwrap_err();
    assert_eq!(
        error,
        DecodeError::Package {
            position: 1,
            serial: Some("987654321".into()),
            reason: PackageError::Value {
                field: "Secret",
                error: ValueError::MissingMac
            }
        }
    );
    assert_eq!(
        error.to_string(),
        "key package 1 (counting from 1), serial \"987654321\": its Secret: it is encrypted with \
         AES-CBC, which has no integrity check, and carries no ValueMAC"
    );
}

#[test]
fn a_value_mac_without_a_mac_method_is_refused() {
    let text = figure("figure6.xml");
    let start = text.find("    <MACMethod").unwrap();
    let end = text.find("</MACMethod>").unwrap() + "</MACMethod>".len();
    let text = format!("{}{}", &text[..start], &text[end..]);
    assert!(matches!(
        read(&text, &psk()).unwrap_err(),
        DecodeError::Package {
            reason: PackageError::Value {
                error: ValueError::MissingMacKey,
                ..
            },
            ..
        }
    ));
}

#[test]
fn unsupported_algorithms_are_named() {
    let md5 = edit(
        &figure("figure6.xml"),
        "xmldsig#hmac-sha1",
        "xmldsig-more#hmac-md5",
    );
    assert_eq!(
        read(&md5, &psk()).unwrap_err(),
        DecodeError::UnsupportedMac {
            algorithm: "http://www.w3.org/2000/09/xmldsig-more#hmac-md5".into()
        }
    );
    let des = edit(
        &figure("figure6.xml"),
        "xmlenc#aes128-cbc",
        "xmlenc#tripledes-cbc",
    );
    assert_eq!(
        read(&des, &psk()).unwrap_err(),
        DecodeError::MacKey(ValueError::UnsupportedEncryption {
            algorithm: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc".into()
        })
    );
    let scrypt = edit(
        &figure("figure7.xml"),
        "pkcs-5v2-0#pbkdf2",
        "pkcs-5v2-0#scrypt",
    );
    assert!(matches!(
        read(&scrypt, &qwerty()).unwrap_err(),
        DecodeError::UnsupportedKeyDerivation { .. }
    ));
}

#[test]
fn a_truncated_file_is_refused_at_every_length() {
    for name in ["figure6.xml", "figure7.xml", "figure10.xml"] {
        let text = figure(name);
        let end = text.rfind("</").unwrap();
        for cut in (0..end).step_by(3) {
            let unlock = if name == "figure7.xml" {
                qwerty()
            } else {
                psk()
            };
            let result = decode(&text.as_bytes()[..cut], &unlock, &Options::default());
            assert!(result.is_err(), "{name} cut at {cut} was read: {result:?}");
        }
    }
    assert_eq!(
        read(&figure("figure7.xml")[..900], &qwerty()).unwrap_err(),
        DecodeError::Xml(XmlError::Truncated)
    );
}

#[test]
fn garbage_is_refused() {
    let options = Options::default();
    for garbage in [
        &b""[..],
        b"   \n",
        b"hello",
        b"{\"KeyContainer\": []}",
        b"\xff\xfe<\x00K\x00",
        b"<KeyContainer",
        b"<KeyContainer Version=\"1.0\"><KeyPackage></KeyContainer>",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    ] {
        let result = decode(garbage, &Unlock::Nothing, &options);
        assert!(result.is_err(), "{garbage:?} was read: {result:?}");
    }
    assert_eq!(
        decode(b"\xff\xfe<\x00K\x00", &Unlock::Nothing, &options).unwrap_err(),
        DecodeError::NotUtf8
    );
    assert_eq!(
        read("<html><body/></html>", &Unlock::Nothing).unwrap_err(),
        DecodeError::NotKeyContainer {
            root: "html".into()
        }
    );
}

#[test]
fn a_document_type_declaration_is_refused() {
    let xxe = edit(
        &figure("figure3.xml"),
        "<KeyContainer",
        "<!DOCTYPE KeyContainer [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<KeyContainer",
    );
    let xxe = edit(&xxe, "<Issuer>Issuer</Issuer>", "<Issuer>&xxe;</Issuer>");
    let error = read(&xxe, &Unlock::Nothing).unwrap_err();
    assert_eq!(error, DecodeError::Xml(XmlError::DocumentType));
    assert!(error.to_string().contains("DOCTYPE"), "{error}");

    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n{}]>\n\
         <KeyContainer Version=\"1.0\"><KeyPackage><Key Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:hotp\">\
         <Issuer>&lol9;</Issuer><Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret></Data></Key>\
         </KeyPackage></KeyContainer>",
        (1..10)
            .map(|n| {
                let previous = if n == 1 {
                    "lol".to_owned()
                } else {
                    format!("lol{}", n - 1)
                };
                format!(
                    "<!ENTITY lol{n} \"{}\">\n",
                    format!("&{previous};").repeat(10)
                )
            })
            .collect::<String>()
    );
    assert_eq!(
        read(&laughs, &Unlock::Nothing).unwrap_err(),
        DecodeError::Xml(XmlError::DocumentType)
    );
}

#[test]
fn an_undeclared_entity_is_refused() {
    let text = edit(
        &figure("figure3.xml"),
        "<Issuer>Issuer</Issuer>",
        "<Issuer>&xxe;</Issuer>",
    );
    assert_eq!(
        read(&text, &Unlock::Nothing).unwrap_err(),
        DecodeError::Xml(XmlError::Entity { name: "xxe".into() })
    );
    // The five XML entities and character references are text.
    let text = edit(
        &figure("figure3.xml"),
        "<Issuer>Issuer</Issuer>",
        "<Issuer>A&amp;B &#x263A;</Issuer>",
    );
    let decoded = read(&text, &Unlock::Nothing).unwrap();
    assert_eq!(decoded.keys[0].issuer.as_deref(), Some("A&B \u{263a}"));
}

#[test]
fn limits_are_enforced_before_the_work() {
    let figure10 = figure("figure10.xml");
    let small = Options {
        limits: Limits {
            max_bytes: 1000,
            ..Limits::default()
        },
        ..Options::default()
    };
    assert_eq!(
        decode(figure10.as_bytes(), &Unlock::Nothing, &small).unwrap_err(),
        DecodeError::TooLarge {
            size: figure10.len(),
            limit: 1000
        }
    );
    let few = Options {
        limits: Limits {
            max_key_packages: 3,
            ..Limits::default()
        },
        ..Options::default()
    };
    assert_eq!(
        decode(figure10.as_bytes(), &Unlock::Nothing, &few).unwrap_err(),
        DecodeError::TooManyKeyPackages { limit: 3 }
    );
    let cheap = Options {
        limits: Limits {
            max_pbkdf2_iterations: 999,
            ..Limits::default()
        },
        ..Options::default()
    };
    assert_eq!(
        decode(figure("figure7.xml").as_bytes(), &qwerty(), &cheap).unwrap_err(),
        DecodeError::TooManyIterations {
            iterations: 1000,
            limit: 999
        }
    );
    let costly = edit(
        &figure("figure7.xml"),
        "<IterationCount>1000<",
        "<IterationCount>4000000000<",
    );
    assert_eq!(
        read(&costly, &qwerty()).unwrap_err(),
        DecodeError::TooManyIterations {
            iterations: 4_000_000_000,
            limit: Limits::default().max_pbkdf2_iterations
        }
    );
}

#[test]
fn key_derivation_parameters_are_checked() {
    let zero = edit(
        &figure("figure7.xml"),
        "<IterationCount>1000<",
        "<IterationCount>0<",
    );
    assert!(matches!(
        read(&zero, &qwerty()).unwrap_err(),
        DecodeError::KeyDerivationParameters { .. }
    ));
    let long = edit(&figure("figure7.xml"), "<KeyLength>16<", "<KeyLength>64<");
    assert!(matches!(
        read(&long, &qwerty()).unwrap_err(),
        DecodeError::KeyDerivationParameters { .. }
    ));
}

#[test]
fn the_container_itself_is_checked() {
    let version = edit(&figure("figure3.xml"), "Version=\"1.0\"", "Version=\"2.0\"");
    assert_eq!(
        read(&version, &Unlock::Nothing).unwrap_err(),
        DecodeError::UnsupportedVersion {
            version: "2.0".into()
        }
    );
    assert_eq!(
        read(
            "<KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\" Version=\"1.0\"/>",
            &Unlock::Nothing
        )
        .unwrap_err(),
        DecodeError::NoKeyPackages
    );
}

#[test]
fn unusable_key_packages_are_named() {
    let figure3 = figure("figure3.xml");
    let cases = [
        (
            "Length=\"8\"",
            "Length=\"4\"",
            "its response length \"4\" is not 6 to 10 digits",
        ),
        (
            "Encoding=\"DECIMAL\"",
            "Encoding=\"ALPHANUMERIC\"",
            "its response encoding \"ALPHANUMERIC\" is not DECIMAL",
        ),
        (
            "Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:hotp\"",
            "Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1:HOTP-SHA1-6:QN08\"",
            "its algorithm \"urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1:HOTP-SHA1-6:QN08\" is not HOTP or TOTP",
        ),
        (
            "<PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
            "<PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA",
            "its Secret: it is not valid base64",
        ),
        (
            "<PlainValue>0</PlainValue>",
            "<PlainValue>-1</PlainValue>",
            "its Counter: \"-1\" is not a number in range",
        ),
        (
            "<Counter>",
            "<TimeInterval><PlainValue>0</PlainValue></TimeInterval><Counter>",
            "its time interval is zero",
        ),
        (
            "<AlgorithmParameters>",
            "<AlgorithmParameters><Suite>HMAC-MD5</Suite>",
            "its algorithm suite \"HMAC-MD5\" is not HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512",
        ),
    ];
    for (from, to, message) in cases {
        let text = edit(&figure3, from, to);
        let error = read(&text, &Unlock::Nothing).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("key package 1 (counting from 1), serial \"987654321\": {message}"),
            "{from} -> {to}"
        );
    }
    let no_secret = edit(
        &edit(&figure3, "<Secret>", "<Seed>"),
        "</Secret>",
        "</Seed>",
    );
    assert!(matches!(
        read(&no_secret, &Unlock::Nothing).unwrap_err(),
        DecodeError::Package {
            reason: PackageError::MissingSecret,
            ..
        }
    ));
    let no_key = "<KeyContainer Version=\"1.0\"><KeyPackage><DeviceInfo><SerialNo>7</SerialNo></DeviceInfo></KeyPackage></KeyContainer>";
    assert!(matches!(
        read(no_key, &Unlock::Nothing).unwrap_err(),
        DecodeError::Package {
            reason: PackageError::MissingKey,
            ..
        }
    ));
}

#[test]
fn skip_invalid_returns_the_good_packages_and_why_the_others_failed() {
    // Figure 10's third package given a broken secret.
    let text = figure("figure10.xml");
    let third = text
        .match_indices("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=")
        .nth(2)
        .unwrap()
        .0;
    let mut text = text.clone();
    text.replace_range(third..third + 4, "M!!!");
    assert_eq!(
        read(&text, &Unlock::Nothing).unwrap_err(),
        DecodeError::Package {
            position: 3,
            serial: Some("9999999".into()),
            reason: PackageError::Value {
                field: "Secret",
                error: ValueError::Base64
            }
        }
    );
    let lenient = Options {
        skip_invalid: true,
        ..Options::default()
    };
    let decoded = decode(text.as_bytes(), &Unlock::Nothing, &lenient).unwrap();
    let positions: Vec<_> = decoded.keys.iter().map(|key| key.position).collect();
    assert_eq!(positions, [1, 2, 4]);
    assert_eq!(decoded.skipped.len(), 1);
    assert_eq!(decoded.skipped[0].position, 3);
    assert_eq!(
        decoded.skipped[0].reason,
        PackageError::Value {
            field: "Secret",
            error: ValueError::Base64
        }
    );
}

#[test]
fn skip_invalid_does_not_hide_a_wrong_key() {
    let lenient = Options {
        skip_invalid: true,
        ..Options::default()
    };
    let wrong = Unlock::Password(Password::new("qwerty "));
    assert_eq!(
        decode(figure("figure7.xml").as_bytes(), &wrong, &lenient).unwrap_err(),
        DecodeError::WrongKey { given: "password" }
    );
}

#[test]
fn debug_output_shows_no_secret() {
    let decoded = read(&figure("figure6.xml"), &psk()).unwrap();
    let debug = format!("{decoded:?} {:?} {:?}", psk(), qwerty());
    for secret in [
        "12345678901234567890",
        "3132333435363738393031323334353637383930",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA",
        "qwerty",
        "49, 50, 51",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("Secret(<20 bytes redacted>)"), "{debug}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any one byte of an encrypted figure changed: never a panic, and never
    /// a secret other than the RFC's.
    #[test]
    fn one_changed_byte_never_gives_another_secret(index in 0usize..2400, byte in any::<u8>()) {
        for (name, unlock) in [("figure6.xml", psk()), ("figure7.xml", qwerty())] {
            let mut bytes = figure(name).into_bytes();
            let index = index % bytes.len();
            bytes[index] = byte;
            if let Ok(decoded) = decode(&bytes, &unlock, &Options::default()) {
                for key in &decoded.keys {
                    prop_assert_eq!(key.secret.expose(), b"12345678901234567890");
                }
            }
        }
    }

    /// Arbitrary bytes: never a panic.
    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, &Unlock::Nothing, &Options::default());
        let _ = decode(&bytes, &psk(), &Options::default());
    }
}
