//! `latchkey admin rotate-master-key`, on both backends: a node given the
//! new and the previous key serves before the rotation; the rotation is
//! killed (-9) part-way and run again, which finishes it; a third run finds
//! every value under the new key; a node with the new key alone accepts the
//! imported tokens' codes, and the audit chain, with a row per batch,
//! verifies.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use latchkey_oath::{KeyUri, Totp};
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(a_rotation_killed_part_way_is_finished_by_running_it_again);

const USERS: usize = 1500;
const NEW_MASTER_KEY: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";

fn uri(i: usize) -> String {
    let seed: Vec<u8> = (0..20u8)
        .map(|b| b.wrapping_mul(13).wrapping_add(i as u8))
        .collect();
    format!(
        "otpauth://totp/Rotation:user{i}?secret={}&algorithm=SHA1&digits=6&period=30",
        data_encoding::BASE32_NOPAD.encode(&seed)
    )
}

fn totp(i: usize) -> Totp {
    KeyUri::parse(&uri(i)).unwrap().totp().unwrap().unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `latchkey admin …` on `db` with the new key and, when `rotating`, the
/// test's usual key as the previous one.
fn admin_command(db: &Database, rotating: bool, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("admin")
        .arg("--data-dir")
        .arg(db.dir.path())
        .args(["--database", &db.url])
        .args(args)
        .env("LATCHKEY_MASTER_KEY", NEW_MASTER_KEY)
        .stdin(Stdio::null());
    if rotating {
        command.env("LATCHKEY_PREVIOUS_MASTER_KEY", MASTER_KEY);
    }
    command
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

fn authenticate(server: &Server, key: &str, user: usize) -> serde_json::Value {
    let body =
        json!({ "username": format!("user{user}"), "otp": totp(user).generate(now()) }).to_string();
    server.post("/api/v1/authenticate", Some(key), &body).body["result"].clone()
}

/// The numbers in "N re-sealed in this run, M already were".
fn counts(out: &Output) -> (u64, u64) {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|line| line.starts_with("Every sealed value"))
        .unwrap_or_else(|| panic!("the rotation's last line: {text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

fn a_rotation_killed_part_way_is_finished_by_running_it_again(postgres: bool) {
    let db = Database::new(postgres);
    let path = db.dir.path().join("import.jsonl");
    let lines: String = (0..USERS)
        .map(|i| {
            format!(
                "{}\n",
                json!({ "username": format!("user{i}"), "otpauth_uri": uri(i) })
            )
        })
        .collect();
    std::fs::write(&path, lines).unwrap();
    let out = db.admin(&["import", path.to_str().unwrap()], "");
    assert!(out.status.success(), "import: {}", stderr(&out));
    // A soft token (a sealed unlock secret too) and a RADIUS client secret.
    db.add_user("alice");
    db.admin_json(&["token", "issue", "alice"]);
    let out = db.admin(
        &[
            "radius-client",
            "add",
            "vpn",
            "--address",
            "192.0.2.10",
            "--secret-stdin",
        ],
        "a-radius-secret-for-the-test\n",
    );
    assert!(out.status.success(), "radius-client add: {}", stderr(&out));
    // An OIDC client's secret and an OIDC signing key.
    let out = db.admin(
        &[
            "oidc-client",
            "add",
            "wiki",
            "--redirect-uri",
            "https://wiki.example/callback",
        ],
        "",
    );
    assert!(out.status.success(), "oidc-client add: {}", stderr(&out));
    let out = db.admin(&["oidc-key", "rotate"], "");
    assert!(out.status.success(), "oidc-key rotate: {}", stderr(&out));
    // An unassigned hardware token's seed (RFC 6030 §6's plain key,
    // `12345678901234567890`, HOTP with 8 digits).
    let pskc = db.dir.path().join("tokens.pskc");
    std::fs::write(&pskc, PLAIN_PSKC).unwrap();
    let out = db.admin(&["import", "--format", "pskc", pskc.to_str().unwrap()], "");
    assert!(out.status.success(), "PSKC import: {}", stderr(&out));
    let key = db.api_key("app", "authenticate");
    // Tokens, the RADIUS client, the OIDC client and key, the stock token.
    let values = USERS as u64 + 1 + 1 + 2 + 1;

    // Before the rotation, a node with both keys opens the old seeds.
    {
        let both = db.serve_with(&[
            ("LATCHKEY_MASTER_KEY", NEW_MASTER_KEY),
            ("LATCHKEY_PREVIOUS_MASTER_KEY", MASTER_KEY),
        ]);
        assert_eq!(authenticate(&both, &key, 0), "accept");
    }

    // Killed after its third batch.
    let mut rotation = admin_command(&db, true, &["rotate-master-key", "--batch-size", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(rotation.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        progress.read_line(&mut line).unwrap();
        assert!(line.starts_with("re-sealed 5 tokens"), "{line:?}");
    }
    rotation.kill().unwrap();
    let status = rotation.wait().unwrap();
    assert!(!status.success(), "killed before the end");

    let resumed = run(admin_command(&db, true, &["rotate-master-key"]));
    assert!(resumed.status.success(), "resumed: {}", stderr(&resumed));
    let (now_resealed, already) = counts(&resumed);
    assert!(
        already >= 15 && now_resealed > 0,
        "part of the work was done before the kill: {now_resealed} now, {already} before"
    );
    // At least these; a node's start may add a signing key of its own.
    let all = now_resealed + already;
    assert!(all >= values, "{all} values, at least {values}");

    let again = run(admin_command(&db, true, &["rotate-master-key"]));
    assert!(again.status.success(), "again: {}", stderr(&again));
    assert_eq!(
        counts(&again),
        (0, all),
        "every value opens under the new key alone"
    );

    // The new key alone: the seeds open, the chain verifies.
    let out = run(admin_command(&db, false, &["audit", "verify"]));
    assert!(out.status.success(), "audit verify: {}", stderr(&out));
    let out = run(admin_command(
        &db,
        false,
        &["audit", "list", "--limit", "100000", "--json"],
    ));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rotations = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == "master_key.rotate")
        .count();
    assert!(
        rotations >= 3 + 2,
        "a row per batch and per run: {rotations}"
    );
    let node = db.serve_with(&[("LATCHKEY_MASTER_KEY", NEW_MASTER_KEY)]);
    for user in [1, 700, USERS - 1] {
        assert_eq!(authenticate(&node, &key, user), "accept", "user{user}");
    }
    // The stock token's seed opens under the new key once it is handed out.
    db.add_user("dana");
    let out = run(admin_command(
        &db,
        false,
        &["token", "assign", "987654321", "dana"],
    ));
    assert!(out.status.success(), "token assign: {}", stderr(&out));
    let body = json!({ "username": "dana", "otp": "84755224" }).to_string();
    let result = node.post("/api/v1/authenticate", Some(&key), &body).body["result"].clone();
    assert_eq!(result, "accept", "RFC 4226's counter-0 code, 8 digits");
    drop(node);

    // Without a previous key there is nothing to rotate from.
    let out = run(admin_command(&db, false, &["rotate-master-key"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no previous master key"),
        "{}",
        stderr(&out)
    );
}

/// RFC 6030 §6 (figure 2): one HOTP key in the clear.
const PLAIN_PSKC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo>
      <Manufacturer>Manufacturer</Manufacturer>
      <SerialNo>987654321</SerialNo>
    </DeviceInfo>
    <CryptoModuleInfo>
      <Id>CM_ID_001</Id>
    </CryptoModuleInfo>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <Issuer>Issuer-A</Issuer>
      <AlgorithmParameters>
        <ResponseFormat Length="8" Encoding="DECIMAL"/>
      </AlgorithmParameters>
      <Data>
        <Secret>
          <PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue>
        </Secret>
        <Counter>
          <PlainValue>0</PlainValue>
        </Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>
"#;
