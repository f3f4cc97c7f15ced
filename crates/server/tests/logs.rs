//! S42: nothing secret in the logs. A node runs with debug logging through
//! a whole journey; its log is then searched for every secret it handled.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

#[test]
fn s42_no_password_otp_code_or_key_reaches_the_log() {
    let db = Database::new(false);
    let log_path = db.dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database", &db.url])
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("latchkey listening on ")
        .unwrap()
        .to_owned();

    let key = db.api_key("vpn", "authenticate");
    db.add_user("ivan");
    let issued = db.admin_json(&["token", "issue", "ivan"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let activation = issued["activation_code"].as_str().unwrap().to_owned();
    let token = SoftToken::new();
    let out = token.run(
        &[
            "activate",
            "--server",
            &url,
            "--serial",
            &serial,
            "--activation-code",
            &activation,
        ],
        &[PIN, PIN],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let otp = token.otp();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let wrong_password = "a wrong but long password";
    let mut request_ids = Vec::new();
    for (password, otp) in [
        (PASSWORD, otp.as_str()),
        (wrong_password, "87654321"),
        (PASSWORD, otp.as_str()),
    ] {
        let body =
            serde_json::json!({"username": "ivan", "password": password, "otp": otp}).to_string();
        let response = agent
            .post(&format!("{url}/api/v1/authenticate"))
            .header("Authorization", &format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        request_ids.push(id);
    }
    let reset = latchkey_core::oath::ResetCode::generate();
    let unlock = db.admin_json(&["token", "unlock-code", &serial, reset.digits()])["unlock_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let _ = child.kill();
    let _ = child.wait();

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("serving"), "the log was captured: {text}");
    // Every request is logged inside a span with its own id and its route
    // (the pattern, not the path).
    request_ids.dedup();
    let plain = without_colours(&text);
    assert_eq!(request_ids.len(), 3, "one id per request: {request_ids:?}");
    for id in &request_ids {
        let line = plain
            .lines()
            .find(|line| line.contains(&format!("request{{id={id} ")) && line.contains("answered"))
            .unwrap_or_else(|| panic!("no line for request {id}: {plain}"));
        assert!(line.contains("route=/api/v1/authenticate"), "{line}");
    }
    let activation_grouped: String = activation.clone();
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", wrong_password),
        ("OTP", otp.as_str()),
        ("activation code", activation_grouped.as_str()),
        ("API key", key.as_str()),
        ("unlock code", unlock.as_str()),
        ("master key", MASTER_KEY),
        ("PIN", PIN),
    ] {
        assert!(!text.contains(secret), "the log holds the {what}");
    }
}

/// The log without its terminal colour codes (`ESC [ … m`).
fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
