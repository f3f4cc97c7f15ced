//! The phone app's "Add from a key URI" (issue 20): an `otpauth://` token
//! from anywhere becomes a record of the same shape `latchkey-token import
//! URI` makes (no serial, no server, no unlock slots, the seed under the PIN
//! and under a recovery code shown once). RFC 6238's and RFC 4226's test
//! seed as URIs: the app's codes equal oathtool's and the RFC's; the record
//! opens in `latchkey-token`; bad URIs and weak PINs are refused with
//! latchkey-oath's messages and nothing is added; the recovery code opens
//! the token and is replaced; and the app's reader gives latchkey-oath's
//! answer, field for field or word for word, for a table of URIs.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::phone::*;
use common::*;
use latchkey_token::TokenRecord;
use latchkey_token::oath::{KeyUri, OtpKind};
use latchkey_token::record::{CODE_CHECK_BITS, PIN_CHECK_BITS};
use serde_json::{Value, json};

/// RFC 6238's (and RFC 4226's) test seed, "12345678901234567890", in base32.
const RFC_SEED: &[u8] = b"12345678901234567890";
const RFC_SEED_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SECOND_PIN: &str = "731950";

fn value_of(browser: &Browser, id: &str) -> String {
    browser
        .execute(
            "return document.getElementById(arguments[0]).value;",
            json!([id]),
        )
        .as_str()
        .unwrap()
        .to_owned()
}

fn token_count(browser: &Browser) -> usize {
    browser.find_all("li.token").len()
}

/// Types `uri` and the PINs on the key-URI screen and submits; waits until
/// the app refuses it (the status says why) or shows the new token's code.
fn add_key_uri(browser: &Browser, uri: &str, pin: &str) -> Result<String, String> {
    browser.click("#add-key-uri");
    wait_visible(browser, "view-key-uri", 10);
    browser.type_into("#key-uri", uri);
    browser.type_into("#key-uri-pin", pin);
    browser.type_into("#key-uri-pin-again", pin);
    browser.click("#key-uri-submit");
    assert!(
        browser.wait_until(
            "return document.getElementById('key-uri-status').dataset.state === 'error'
                 || (!document.getElementById('view-code').hidden
                     && !!document.getElementById('otp').dataset.code);",
            60
        ),
        "the key URI was neither refused nor added: {}",
        browser.text("main")
    );
    if visible(browser, "view-code") {
        Ok(shown_code(browser))
    } else {
        Err(browser.text("#key-uri-status"))
    }
}

/// Back to the list from the key-URI screen.
fn cancel(browser: &Browser) {
    browser.click("#view-key-uri button.back");
    wait_visible(browser, "view-list", 10);
}

fn current_id(browser: &Browser) -> String {
    browser
        .execute(
            "return document.getElementById('export').dataset.id;",
            json!([]),
        )
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_key_uri_becomes_a_token_with_oathtools_codes_and_a_recovery_code() {
    token_binary();
    let db = Database::new(false);
    let server = db.serve();
    let mut browser = Browser::start_phone("phone-app/key-uri");
    browser.goto(&format!("{}/app/", server.url));
    wait_ready(&browser);

    // Refused, with latchkey-oath's words, and nothing added.
    for (uri, pin, says) in [
        (
            "https://example.org/not-a-key".to_owned(),
            PIN,
            "the URI must start with otpauth://",
        ),
        (
            format!("otpauth://totp/?secret={RFC_SEED_BASE32}"),
            PIN,
            "the URI has no account name in its label",
        ),
        (
            "otpauth://totp/Example:alice?secret=GEZ1".to_owned(),
            PIN,
            "the URI's secret is not valid base32",
        ),
        (
            format!("otpauth://totp/A:alice?secret={RFC_SEED_BASE32}&issuer=B"),
            PIN,
            "the URI's label and issuer parameter name different issuers",
        ),
        (
            format!("otpauth://totp/Example:alice?secret={RFC_SEED_BASE32}&digits=5"),
            PIN,
            "the URI's digits must be a number from 6 to 10",
        ),
        (
            format!("otpauth://totp/Example:alice?secret={RFC_SEED_BASE32}"),
            "123456",
            "counts up",
        ),
    ] {
        let refused = add_key_uri(&browser, &uri, pin).expect_err(&uri);
        assert!(refused.contains(says), "{uri}: {refused:?}");
        assert!(
            !refused.contains(RFC_SEED_BASE32),
            "the secret is not echoed"
        );
        cancel(&browser);
        assert_eq!(token_count(&browser), 0, "{uri} added nothing");
    }

    // RFC 6238's seed, SHA-1, 8 digits, 30 seconds: the app's code is oathtool's.
    let uri = format!(
        "otpauth://totp/RFC%206238:alice@example.org?secret={RFC_SEED_BASE32}&issuer=RFC%206238&digits=8"
    );
    browser.click("#add-key-uri");
    wait_visible(&browser, "view-key-uri", 10);
    browser.type_into("#key-uri", &uri);
    browser.screenshot("key-uri");
    assert_fits_a_phone(&browser, "key URI");
    cancel(&browser);
    add_key_uri(&browser, &uri, PIN).expect("the URI is added");
    assert_eq!(value_of(&browser, "key-uri"), "", "the URI leaves the page");
    let (code, step) = code_and_step(&browser);
    assert_eq!(code, oathtool_totp(RFC_SEED, step, "sha1", 8));
    let recovery = digits(&browser.text("#recovery-code"));
    assert_eq!(recovery.len(), 16, "a recovery code is shown");
    assert!(
        recovery.parse::<latchkey_token::oath::UnlockCode>().is_ok(),
        "shaped like an unlock code, check digit and all: {recovery}"
    );
    browser.screenshot("key-uri-code");
    assert_fits_a_phone(&browser, "imported code");

    // The record is latchkey-token's import: no serial, no server, no slots.
    let id = current_id(&browser);
    let exported = export_from_app(&browser, &id);
    let record = TokenRecord::from_json(exported.as_bytes()).expect("latchkey-token reads it");
    assert!(record.id.starts_with("imported-"), "{}", record.id);
    assert_eq!(record.serial, None);
    assert_eq!(record.server, None);
    assert_eq!(record.label, "alice@example.org");
    assert_eq!(record.issuer.as_deref(), Some("RFC 6238"));
    assert!(record.slots.is_empty());
    assert_eq!(record.policy.max_failures, 5);
    let under_pin = record
        .pin
        .open(&record.kdf, PIN.as_bytes(), PIN_CHECK_BITS)
        .unwrap();
    assert_eq!(under_pin.expose(), RFC_SEED);
    let under_recovery = record
        .recovery
        .as_ref()
        .expect("a recovery entry")
        .open(&record.kdf, recovery.as_bytes(), CODE_CHECK_BITS)
        .unwrap();
    assert_eq!(under_recovery.expose(), RFC_SEED);
    assert!(
        !exported.contains(&recovery) && !exported.contains(RFC_SEED_BASE32),
        "neither the recovery code nor the secret is stored"
    );
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("imported.json");
    std::fs::write(&file, &exported).unwrap();
    let cli = SoftToken::new();
    let out = cli.run(&["import-vault", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "import-vault: {}", stderr(&out));
    assert_eq!(
        code_in_step(&cli, step),
        code,
        "latchkey-token shows the same code"
    );

    // Listed as imported; "Forgot PIN?" takes the recovery code, which opens
    // it for a new PIN and is then replaced by a new one.
    browser.click("#code-done");
    wait_visible(&browser, "view-list", 10);
    let item = browser.text(&format!("li.token[data-id='{id}']"));
    assert!(
        item.contains("RFC 6238: alice@example.org") && item.contains("imported"),
        "{item}"
    );
    open_token(&browser, &server, &id);
    browser.click("#forgot-pin");
    wait_visible(&browser, "view-locked", 10);
    assert!(!visible(&browser, "reset-block"), "no PIN Reset Code here");
    assert_eq!(browser.text("#unlock-label"), "Recovery code");
    browser.type_into("#unlock-code", &recovery);
    browser.click("#unlock-submit");
    wait_visible(&browser, "view-new-pin", 60);
    browser.type_into("#choose-pin", SECOND_PIN);
    browser.type_into("#choose-pin-again", SECOND_PIN);
    browser.click("#new-pin-submit");
    wait_visible(&browser, "view-code", 60);
    let said = browser.text("#app-message");
    let fresh = digits(said.split("The new one is").nth(1).unwrap_or_default());
    assert_eq!(fresh.len(), 16, "a new recovery code: {said}");
    assert_ne!(fresh, recovery);
    let after = TokenRecord::from_json(export_from_app(&browser, &id).as_bytes()).unwrap();
    let mask = after.recovery.as_ref().unwrap();
    assert!(
        mask.open(&after.kdf, recovery.as_bytes(), CODE_CHECK_BITS)
            .is_none(),
        "the old recovery code is spent"
    );
    assert!(
        mask.open(&after.kdf, fresh.as_bytes(), CODE_CHECK_BITS)
            .is_some()
    );
    assert!(
        after
            .pin
            .open(&after.kdf, SECOND_PIN.as_bytes(), PIN_CHECK_BITS)
            .is_some()
    );
}

#[test]
fn an_hotp_key_uri_counts_as_rfc_4226_says() {
    let db = Database::new(false);
    let server = db.serve();
    let browser = Browser::start_phone("phone-app/key-uri-hotp");
    browser.goto(&format!("{}/app/", server.url));
    wait_ready(&browser);
    let uri = format!("otpauth://hotp/Example:bob?secret={RFC_SEED_BASE32}&counter=0");
    // RFC 4226, Appendix D: counter 0 gives 755224, counter 1 gives 287082.
    assert_eq!(add_key_uri(&browser, &uri, PIN).unwrap(), "755224");
    let id = current_id(&browser);
    open_token(&browser, &server, &id);
    assert_eq!(try_pin(&browser, PIN), Outcome::Code("287082".into()));
    let record = TokenRecord::from_json(export_from_app(&browser, &id).as_bytes()).unwrap();
    assert!(matches!(
        record.otp,
        latchkey_token::record::OtpParams::Hotp { counter: 2, .. }
    ));
}

/// Key URIs from issuers' habits and from every malformed part
/// latchkey-oath knows.
const URIS: &[&str] = &[
    "otpauth://totp/Example%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example%20Co&algorithm=SHA256&digits=8&period=60",
    "otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/a+b?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/.?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/..?secret=JBSWY3DPEHPK3PXP",
    "otpauth://TOTP/Example%3Aalice?secret=jbsw-y3dp ehpk3pxp&algorithm=sha-512",
    "otpauth://totp/:a:b?secret=MY======",
    "otpauth://totp/Big%3ACorp:carol?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/Example:%20%20dave?secret=JBSWY3DPEHPK3PXP&issuer=Example",
    "otpauth://totp/Example:erin?secret=JBSWY3DPEHPK3PXP&issuer=",
    "otpauth://totp/caf%C3%A9%FF?secret=JBSWY3DPEHPK3PXP&image=https://x/y.png",
    "otpauth://hotp/Example:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=42",
    "not a uri",
    "https://x/y?secret=JBSWY3DPEHPK3PXP",
    "otpauth://motp/a?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/Example:%20?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/a",
    "otpauth://totp/a?secret=",
    "otpauth://totp/a?secret=JBSWY3D1",
    "otpauth://totp/a?secret=J",
    "otpauth://totp/a?secret=MY=A",
    "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
    "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5",
    "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=x",
    "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0",
    "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP",
    "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=-1",
    "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=B",
];

/// latchkey-oath's reading of `uri`, in the shape the page reports.
fn rust_reading(uri: &str) -> Value {
    match KeyUri::parse(uri) {
        Ok(key) => {
            let (kind, period, counter) = match key.kind {
                OtpKind::Totp { period } => ("totp", Some(period), None),
                OtpKind::Hotp { counter } => ("hotp", None, Some(counter)),
            };
            let hex: String = key
                .secret
                .expose()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            json!({"ok": {
                "kind": kind, "account": key.account, "issuer": key.issuer,
                "secret": hex, "algorithm": key.algorithm.name(),
                "digits": key.digits.get(), "period": period, "counter": counter,
            }})
        }
        Err(error) => json!({"error": error.to_string()}),
    }
}

#[test]
fn the_app_reads_key_uris_as_latchkey_oath_does() {
    let db = Database::new(false);
    let server = db.serve();
    let browser = Browser::start_phone("phone-app/key-uri-table");
    browser.goto(&format!("{}/app/known-answers.html", server.url));
    browser.script_timeout(20_000);
    let readings = browser.execute_async(
        "const [uris, done] = arguments;
         import('./js/keyuri.js').then((m) => done(uris.map((uri) => {
           try {
             const k = m.parseKeyUri(uri);
             const hex = Array.from(k.secret, (b) => b.toString(16).padStart(2, '0')).join('');
             return { ok: { kind: k.kind, account: k.account, issuer: k.issuer, secret: hex,
                            algorithm: k.algorithm, digits: k.digits,
                            period: k.period ?? null, counter: k.counter ?? null } };
           } catch (e) {
             return e instanceof m.KeyUriError ? { error: e.message } : { crashed: String(e) };
           }
         })), (e) => done([String(e)]));",
        json!([URIS]),
    );
    let readings = readings.as_array().expect("the page reads every URI");
    assert_eq!(readings.len(), URIS.len(), "{readings:?}");
    for (uri, reading) in URIS.iter().zip(readings) {
        assert_eq!(reading, &rust_reading(uri), "{uri}");
    }
    assert!(
        readings.iter().filter(|r| r.get("ok").is_some()).count() >= 10,
        "the table has enough good URIs to mean something"
    );
}
