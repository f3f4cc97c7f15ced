//! The admin console's token actions that came with hardware tokens, over
//! HTTP on an in-process node and both backends: an unassigned token from
//! a PSKC file (made by Debian pskc-utils' `csv2pskc`) is found in the
//! stock and handed to a user — active at once, audited, mailed, and its
//! RFC 4226 codes accepted — and an HOTP token that ran ahead is brought
//! back in step with two consecutive codes (RFC 4226 §7.4), while two
//! codes that are not consecutive move nothing.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::console::*;
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
    an_unassigned_token_is_handed_out_from_the_console_audited_and_mailed,
    an_hotp_token_is_resynced_from_the_console_with_two_consecutive_codes,
);

/// RFC 4226 Appendix D: the secret "12345678901234567890" and its HOTP
/// values for counters 0 to 9.
const RFC_SECRET_HEX: &str = "3132333435363738393031323334353637383930";
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

/// Audit rows with `action`.
fn audited(db: &Database, action: &str) -> Vec<serde_json::Value> {
    audit_rows(db)
        .into_iter()
        .filter(|r| r["action"] == action)
        .collect()
}

fn an_unassigned_token_is_handed_out_from_the_console_audited_and_mailed(postgres: bool) {
    let db = Database::new(postgres);
    let csv = format!(
        "serial,secret,algorithm,response_length,counter\n\
         FT-0001,{RFC_SECRET_HEX},urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0\n\
         FT-0002,3132333435363738393031323334353637383931,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0\n"
    );
    csv2pskc(db.dir.path(), "stock", &csv, &[]);
    let file = db.dir.path().join("stock.pskcxml");
    let out = db.admin(&["import", "--format", "pskc", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.admin(
        &[
            "user",
            "add",
            "ines",
            "--email",
            "ines@example.org",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let server = db.spawn_app();
    let key = db.api_key("vpn", "authenticate");
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");

    // The tokens page links the stock; the stock lists both, and a
    // search by the vendor's serial finds the one.
    let tokens = visitor.get("/admin/tokens");
    assert!(
        tokens.body.contains("Unassigned hardware tokens: 2"),
        "{}",
        tokens.body
    );
    let listed = visitor.get("/admin/tokens?unassigned=yes");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body.contains("<td>FT-0001</td>") && listed.body.contains("<td>FT-0002</td>"));
    let found = visitor.get("/admin/tokens?unassigned=yes&serial=ft-0002");
    assert!(found.body.contains("<td>FT-0002</td>"), "{}", found.body);
    assert!(!found.body.contains("<td>FT-0001</td>"));
    let serial = stock(&db)
        .iter()
        .find(|t| t["vendor_serial"] == "FT-0001")
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_serial = visitor.get(&format!("/admin/tokens?unassigned=yes&serial={serial}"));
    assert!(
        by_serial.body.contains("<td>FT-0001</td>"),
        "{}",
        by_serial.body
    );

    // Refusals change nothing: no field, no such user, no such token.
    let rows_before = audit_rows(&db).len();
    let empty = visitor.post(
        "/admin/tokens/assign",
        &[("serial", "FT-0001"), ("user", " ")],
    );
    assert_eq!(empty.status, 422, "{}", empty.body);
    let nobody = visitor.post(
        "/admin/tokens/assign",
        &[("serial", "FT-0001"), ("user", "nobody")],
    );
    assert_eq!(nobody.status, 404, "{}", nobody.body);
    let unknown = visitor.post(
        "/admin/tokens/assign",
        &[("serial", "FT-9999"), ("user", "ines")],
    );
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(stock(&db).len(), 2);
    assert!(tokens_of(&db, "ines").is_empty());
    assert_eq!(audit_rows(&db).len(), rows_before);

    // By the vendor's serial: ines's now, active, audited and mailed.
    let assigned = visitor.post(
        "/admin/tokens/assign",
        &[("serial", "FT-0001"), ("user", "ines")],
    );
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    let said = text_of(&assigned, "done").unwrap();
    assert!(said.contains("is assigned to ines and active"), "{said}");
    let hers = tokens_of(&db, "ines");
    assert_eq!(hers.len(), 1, "{hers:?}");
    assert_eq!(hers[0]["serial"], serial.as_str());
    assert_eq!(hers[0]["kind"], "hotp");
    assert_eq!(hers[0]["state"], "active");
    let left = stock(&db);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["vendor_serial"], "FT-0002");
    let rows = audited(&db, "token.assign");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["actor"], "root");
    assert_eq!(rows[0]["subject"], serial.as_str());
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .contains("user=ines vendor_serial=FT-0001"),
        "{}",
        rows[0]
    );
    let grouped: latchkey_core::oath::Serial = serial.parse().unwrap();
    assert!(
        server.mail().wait_until(Duration::from_secs(10), |mail| {
            mail.to == "ines@example.org" && mail.body.contains(&grouped.grouped())
        }),
        "ines is told: {:?}",
        server.mail().sent()
    );
    // Its codes are RFC 4226's, from counter 0.
    assert_eq!(server.authenticate(&key, "ines", RFC_CODES[0]), "accept");
    assert_eq!(server.authenticate(&key, "ines", RFC_CODES[1]), "accept");

    // Handed out once: a second assign finds it no longer in the stock.
    let twice = visitor.post(
        "/admin/tokens/assign",
        &[("serial", &serial), ("user", "root")],
    );
    assert_eq!(twice.status, 404, "{}", twice.body);
    assert_eq!(tokens_of(&db, "root").len(), 1);
}

/// A user `hank` with the RFC's HOTP token from counter 0, and its serial.
fn hank(db: &Database) -> String {
    let line = json!({
        "username": "hank",
        "otpauth_uri": format!("otpauth://hotp/Latchkey:hank?secret={RFC_SECRET_BASE32}&counter=0"),
    });
    let path = db.dir.path().join("import.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = db.admin(&["import", path.to_str().unwrap()], "");
    assert!(out.status.success(), "import: {}", stderr(&out));
    tokens_of(db, "hank")[0]["serial"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn an_hotp_token_is_resynced_from_the_console_with_two_consecutive_codes(postgres: bool) {
    let db = Database::new(postgres);
    let serial = hank(&db);
    let server = db.spawn_app();
    let key = db.api_key("vpn", "authenticate");
    let accepted = |otp: &str| {
        let body = json!({ "username": "hank", "otp": otp }).to_string();
        let response = server.post("/api/v1/authenticate", Some(&key), &body);
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["result"] == "accept"
    };
    // Counter 0 is used: c = 1 is the next code's counter.
    assert!(accepted(RFC_CODES[0]));
    let c = 1;
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let page = visitor.get("/admin/users/hank");
    let resync = format!("/admin/tokens/{serial}/resync");
    assert!(
        page.body.contains(&format!("action=\"{resync}\"")),
        "hank's HOTP token has the resync form: {}",
        page.body
    );

    // Pressed 20 times away from the server: past its look-ahead.
    assert!(!accepted(&code_at(c + 22)));
    // c+20 and c+22 are not consecutive: nothing moves.
    let refused = visitor.post(
        &resync,
        &[("otp1", &code_at(c + 20)), ("otp2", &code_at(c + 22))],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("not consecutive codes"),
        "{}",
        refused.body
    );
    // c+20 and c+21 are: the next code is c+22's.
    let done = visitor.post(
        &resync,
        &[("otp1", &code_at(c + 20)), ("otp2", &code_at(c + 21))],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    let said = text_of(&done, "done").unwrap();
    assert!(
        said.contains(&format!("next code is number {}", c + 22)),
        "{said}"
    );
    assert!(!accepted(&code_at(c + 21)), "a resync code is spent");
    assert!(accepted(&code_at(c + 22)));
    let outcomes: Vec<(String, String)> = audited(&db, "token.resync")
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("root".to_owned(), "failure".to_owned()),
            ("root".to_owned(), "success".to_owned())
        ]
    );

    // A TOTP token has no counter to move: no form, and a refusal.
    db.add_user("tina");
    let totp = db.admin_json(&["token", "issue", "tina", "--kind", "totp"]);
    let totp_serial = totp["serial"].as_str().unwrap();
    let page = visitor.get("/admin/users/tina");
    assert!(!page.body.contains("/resync\""), "{}", page.body);
    let refused = visitor.post(
        &format!("/admin/tokens/{totp_serial}/resync"),
        &[("otp1", RFC_CODES[2]), ("otp2", RFC_CODES[3])],
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
}
