//! HOTP resynchronisation (RFC 4226 §7.4; DESIGN: `latchkey admin token
//! resync SERIAL OTP1 OTP2` and the JSON API), with RFC 4226 Appendix D's
//! own codes where they reach, on both backends.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use latchkey_core::oath::{Algorithm, Digits, Hotp, Secret};
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    two_consecutive_codes_bring_a_token_that_ran_ahead_back_in_step,
    what_resync_refuses_changes_nothing,
);

/// RFC 4226 Appendix D: the secret "12345678901234567890" and its HOTP
/// values for counters 0 to 9.
const RFC_SECRET_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_CODES: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

/// The RFC token's code at a counter past Appendix D's table.
fn code_at(counter: u64) -> String {
    let hotp = Hotp::new(
        Secret::from_bytes(b"12345678901234567890".to_vec()),
        Algorithm::Sha1,
        Digits::new(6).unwrap(),
    )
    .unwrap();
    hotp.generate(counter)
}

/// A user `hank` with the RFC's HOTP token (no password: OTP-only, as
/// imported accounts may be), its serial, a started node and an
/// authenticate key.
fn setup(postgres: bool) -> (Database, Server, String, String) {
    let db = Database::new(postgres);
    let line = json!({
        "username": "hank",
        "otpauth_uri": format!("otpauth://hotp/Latchkey:hank?secret={RFC_SECRET_BASE32}&counter=0"),
    });
    let path = db.dir.path().join("import.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = db.admin(&["import", path.to_str().unwrap(), "--json"], "");
    assert!(out.status.success(), "import: {}", stderr(&out));
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let serial = db.admin_json(&["token", "list"])[0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    (db, server, serial, key)
}

fn accepted(server: &Server, key: &str, otp: &str) -> bool {
    let body = json!({ "username": "hank", "otp": otp }).to_string();
    let response = server.post("/api/v1/authenticate", Some(key), &body);
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body["result"] == "accept"
}

fn resync_events(db: &Database) -> Vec<String> {
    let rows = db.admin_json(&["audit", "list", "--limit", "10000"]);
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "token.resync")
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect()
}

fn two_consecutive_codes_bring_a_token_that_ran_ahead_back_in_step(postgres: bool) {
    let (db, server, serial, key) = setup(postgres);
    let admin = db.api_key("console", "admin");

    // The CLI, with the RFC's codes for counters 3 and 4: the next code
    // is counter 5's, and 4's is spent.
    let out = db.admin(
        &["token", "resync", &serial, RFC_CODES[3], RFC_CODES[4]],
        "",
    );
    assert!(out.status.success(), "resync: {}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("next code is number 5"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !accepted(&server, &key, RFC_CODES[4]),
        "a resync code is spent"
    );
    assert!(accepted(&server, &key, RFC_CODES[5]));

    // Pressed 60 times away from the server: past the look-ahead, so the
    // next code is refused, until the JSON API resynchronises at 60 and 61.
    assert!(!accepted(&server, &key, &code_at(62)));
    let body = json!({ "otp1": code_at(60), "otp2": code_at(61) }).to_string();
    let response = server.post(
        &format!("/api/v1/tokens/{serial}/resync"),
        Some(&admin),
        &body,
    );
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["done"], "resync");
    assert!(accepted(&server, &key, &code_at(62)));
    // The failed sign-ins above counted; the resync cleared them.
    let token = db.admin_json(&["token", "show", &serial]);
    assert_eq!(token["failures"], 0, "{token}");
    assert_eq!(resync_events(&db), ["success", "success"]);
}

fn what_resync_refuses_changes_nothing(postgres: bool) {
    let (db, server, serial, key) = setup(postgres);
    let admin = db.api_key("console", "admin");
    let resync = |otp1: &str, otp2: &str| {
        server.post(
            &format!("/api/v1/tokens/{serial}/resync"),
            Some(&admin),
            &json!({ "otp1": otp1, "otp2": otp2 }).to_string(),
        )
    };

    // Not consecutive; in the wrong order; past the 100-counter window.
    for (otp1, otp2) in [
        (code_at(40), code_at(42)),
        (code_at(41), code_at(40)),
        (code_at(150), code_at(151)),
    ] {
        let response = resync(&otp1, &otp2);
        assert_eq!(response.status, 400, "{otp1} {otp2}: {:?}", response.body);
        assert!(
            response.body["error"]
                .as_str()
                .unwrap()
                .contains("not consecutive codes"),
            "{:?}",
            response.body
        );
    }
    // A missing code is a malformed request.
    let response = server.post(
        &format!("/api/v1/tokens/{serial}/resync"),
        Some(&admin),
        &json!({ "otp1": RFC_CODES[0] }).to_string(),
    );
    assert_eq!(response.status, 400, "{:?}", response.body);
    // Nothing moved: the RFC's first code is still the next one.
    assert!(accepted(&server, &key, RFC_CODES[0]));
    assert_eq!(resync_events(&db), ["failure", "failure", "failure"]);

    // Only HOTP tokens have a counter to move; an authenticate key may not.
    db.add_user("tina");
    let totp = db.admin_json(&["token", "issue", "tina", "--kind", "totp"]);
    let response = server.post(
        &format!("/api/v1/tokens/{}/resync", totp["serial"].as_str().unwrap()),
        Some(&admin),
        &json!({ "otp1": RFC_CODES[0], "otp2": RFC_CODES[1] }).to_string(),
    );
    assert_eq!(response.status, 409, "{:?}", response.body);
    let response = server.post(
        &format!("/api/v1/tokens/{serial}/resync"),
        Some(&key),
        &json!({ "otp1": RFC_CODES[1], "otp2": RFC_CODES[2] }).to_string(),
    );
    assert_eq!(response.status, 403, "{:?}", response.body);
    assert!(accepted(&server, &key, RFC_CODES[1]));
}
