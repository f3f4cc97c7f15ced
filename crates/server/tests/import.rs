//! `latchkey admin import`: accounts with known TOTP seeds from JSON lines,
//! on a fresh SQLite file and on a fresh PostgreSQL database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::PasswordHasher as _;
use common::*;
use latchkey_oath::{KeyUri, Serial, Totp, luhn_check_digit};
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    imported_totp_seeds_sign_in_and_each_batch_is_one_audited_transaction,
    a_batch_with_a_taken_user_name_is_refused_whole,
);

/// A seed of 20 bytes that differs per account.
fn seed(i: usize) -> Vec<u8> {
    (0..20u8)
        .map(|b| b.wrapping_mul(7).wrapping_add(i as u8))
        .collect()
}

fn uri(i: usize) -> String {
    format!(
        "otpauth://totp/Bench:user{i:03}?secret={}&algorithm=SHA1&digits=6&period=30",
        data_encoding::BASE32_NOPAD.encode(&seed(i))
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn totp(i: usize) -> Totp {
    KeyUri::parse(&uri(i)).unwrap().totp().unwrap().unwrap()
}

/// Writes `lines` to a file in the test's folder and imports it.
fn import(db: &Database, lines: &[serde_json::Value], batch: &str) -> std::process::Output {
    let path = db.dir.path().join("import.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    db.admin(
        &[
            "import",
            path.to_str().unwrap(),
            "--batch-size",
            batch,
            "--json",
        ],
        "",
    )
}

fn imported_totp_seeds_sign_in_and_each_batch_is_one_audited_transaction(postgres: bool) {
    let db = Database::new(postgres);
    // A cheap Argon2id hash keeps the test fast; its parameters travel with it.
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let hash = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let lines: Vec<_> = (0..25)
        .map(|i| {
            let mut line = json!({ "username": format!("user{i:03}"), "otpauth_uri": uri(i) });
            if i % 2 == 0 {
                // Given serials for some, random ones for the rest.
                line["serial"] = json!(given_serial(i));
            }
            if i < 5 {
                line["password_hash"] = json!(hash);
            }
            line
        })
        .collect();
    let out = import(&db, &lines, "10");
    assert!(out.status.success(), "import: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 25);

    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    for i in [0, 7, 24] {
        let otp = totp(i).generate(now());
        let body = json!({ "username": format!("user{i:03}"), "otp": otp }).to_string();
        let response = server.post("/api/v1/authenticate", Some(&key), &body);
        assert_eq!(response.body["result"], "accept", "user{i:03}");
    }
    // Password and OTP, with the imported hash.
    assert_eq!(
        server.authenticate(&key, "user003", &totp(3).generate(now())),
        "accept"
    );
    let shown = db.admin_json(&["user", "show", "user004"]);
    assert_eq!(shown["tokens"][0]["kind"], "totp");
    assert_eq!(
        db.admin_json(&["token", "show", &given_serial(0)])["kind"],
        "totp",
        "a given serial is kept"
    );
    drop(server);

    let audit = db.admin_json(&["audit", "list", "--limit", "1000"]);
    let imports: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "user.import")
        .collect();
    assert_eq!(imports.len(), 3, "25 lines in batches of 10: three rows");
    assert!(
        imports[2]["detail"]
            .as_str()
            .unwrap()
            .contains("5 users with a token each, lines 21-25"),
        "{}",
        imports[2]
    );
    assert!(db.admin(&["audit", "verify"], "").status.success());
    if !postgres {
        // S03: the seeds are sealed, the file holds none of them.
        let file = std::fs::read(db.dir.path().join("latchkey.db")).unwrap();
        for i in 0..25 {
            assert!(
                !file.windows(20).any(|w| w == seed(i).as_slice()),
                "seed {i} in clear"
            );
        }
    }
}

fn a_batch_with_a_taken_user_name_is_refused_whole(postgres: bool) {
    let db = Database::new(postgres);
    db.add_user("user002");
    let lines: Vec<_> = (0..4)
        .map(|i| json!({ "username": format!("user{i:03}"), "otpauth_uri": uri(i) }))
        .collect();
    let out = import(&db, &lines, "2");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lines 3-4 were not imported"),
        "{}",
        stderr(&out)
    );
    let users = db.admin_json(&["user", "list"]);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["user000", "user001", "user002"],
        "the first batch is in, nothing of the second"
    );
    assert!(db.admin(&["audit", "verify"], "").status.success());
    // A malformed line is named, and nothing is imported past it.
    let out = import(
        &db,
        &[json!({ "username": "user009", "otpauth_uri": "otpauth://totp/x?secret=AAAA" })],
        "10",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
}

/// A valid serial made from `i`: nine digits and the Luhn check digit.
fn given_serial(i: usize) -> String {
    let payload = format!("{:09}", 500 + i);
    let serial: Serial = format!("{payload}{}", luhn_check_digit(payload.as_bytes()))
        .parse()
        .unwrap();
    serial.digits().to_owned()
}
