//! Fields beyond the RFC's figures: the algorithm suite, TOTP parameters,
//! the draft-era algorithm identifiers, a byte-order mark, prefixes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_pskc::{Algorithm, KeyPackage, Options, OtpHash, Unlock, decode};

/// A container of one key package with this `Key` algorithm and inner XML.
fn container(algorithm: &str, inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<p:KeyContainer xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0">
  <p:KeyPackage>
    <p:Key Id="K1" Algorithm="{algorithm}">{inner}</p:Key>
  </p:KeyPackage>
</p:KeyContainer>"#
    )
}

fn only(text: &str) -> KeyPackage {
    let mut decoded = decode(text.as_bytes(), &Unlock::Nothing, &Options::default()).unwrap();
    assert_eq!(decoded.keys.len(), 1);
    decoded.keys.remove(0)
}

const SECRET: &str =
    "<p:Secret><p:PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</p:PlainValue></p:Secret>";

#[test]
fn totp_parameters_are_read() {
    let key = only(&container(
        "urn:ietf:params:xml:ns:keyprov:pskc:totp",
        &format!(
            "<p:AlgorithmParameters><p:Suite>HMAC-SHA256</p:Suite>\
             <p:ResponseFormat Length=\"6\" Encoding=\"DECIMAL\"/></p:AlgorithmParameters>\
             <p:Data>{SECRET}<p:Time><p:PlainValue>0</p:PlainValue></p:Time>\
             <p:TimeInterval><p:PlainValue>30</p:PlainValue></p:TimeInterval>\
             <p:TimeDrift><p:PlainValue>-4</p:PlainValue></p:TimeDrift></p:Data>"
        ),
    ));
    assert_eq!(key.algorithm, Algorithm::Totp);
    assert_eq!(key.hash, OtpHash::Sha256);
    assert_eq!(key.digits, Some(6));
    assert_eq!(key.time, Some(0));
    assert_eq!(key.time_interval, Some(30));
    assert_eq!(key.time_drift, Some(-4));
    assert_eq!(key.counter, None);
    assert_eq!(key.serial_or_key_id(), Some("K1"));
}

#[test]
fn suites_and_draft_identifiers_are_read() {
    for (suite, hash) in [
        ("HMAC-SHA1", OtpHash::Sha1),
        ("hmac-sha512", OtpHash::Sha512),
        ("SHA256", OtpHash::Sha256),
    ] {
        let inner = format!(
            "<p:AlgorithmParameters><p:Suite>{suite}</p:Suite></p:AlgorithmParameters><p:Data>{SECRET}</p:Data>"
        );
        let key = only(&container(
            "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
            &inner,
        ));
        assert_eq!(key.hash, hash, "{suite}");
    }
    for (uri, algorithm) in [
        ("http://www.ietf.org/keyprov/pskc#hotp", Algorithm::Hotp),
        ("http://www.ietf.org/keyprov/pskc#totp", Algorithm::Totp),
    ] {
        let key = only(&container(uri, &format!("<p:Data>{SECRET}</p:Data>")));
        assert_eq!(key.algorithm, algorithm, "{uri}");
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = format!(
        "\u{feff}{}",
        container(
            "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
            &format!("<p:Data>{SECRET}</p:Data>")
        )
    );
    assert_eq!(only(&text).secret.expose(), b"12345678901234567890");
}
