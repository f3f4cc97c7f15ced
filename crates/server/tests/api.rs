//! The server end to end over HTTP and its admin CLI, each scenario on a
//! fresh SQLite file and on a fresh PostgreSQL database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    the_soft_token_journey_activate_authenticate_replay_lock_reset,
    s04_thirty_two_concurrent_requests_with_one_otp_accept_once,
    a_generic_app_token_from_otpauth_uri_agrees_with_oathtool,
    help_desk_unlock_code_opens_the_locked_soft_token,
    audit_verify_names_an_edited_or_deleted_row,
    bad_input_gets_a_clear_4xx_and_changes_nothing,
    s43_an_authenticate_key_cannot_administer,
    s40_a_fresh_install_has_no_accounts,
    the_cli_and_the_api_show_users_tokens_and_keys_alike,
);

/// A user with a soft token activated by the real `latchkey-token`.
fn user_with_soft_token(db: &Database, server: &Server, name: &str) -> (SoftToken, String) {
    db.add_user(name);
    let issued = db.admin_json(&["token", "issue", name, "--kind", "latchkey"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let code = issued["activation_code"].as_str().unwrap();
    assert!(
        issued.get("otpauth_uri").is_none(),
        "soft tokens get no key URI"
    );
    let token = SoftToken::new();
    let out = token.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            &serial,
            "--activation-code",
            code,
        ],
        &[PIN, PIN],
    );
    assert!(out.status.success(), "activate: {}", stderr(&out));
    (token, serial)
}

fn the_soft_token_journey_activate_authenticate_replay_lock_reset(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let (token, serial) = user_with_soft_token(&db, &server, "alice");
    let otp = token.otp();
    assert_eq!(otp.len(), 8);
    assert_eq!(server.authenticate(&key, "alice", &otp), "accept");
    assert_eq!(
        server.authenticate(&key, "alice", &otp),
        "reject",
        "the same OTP again"
    );
    let wrong = if otp == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    assert_eq!(server.authenticate(&key, "alice", wrong), "reject");
    // The activation code is spent.
    let out = token.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            &serial,
            "--activation-code",
            "1234567890123452",
        ],
        &[PIN, PIN],
    );
    assert!(!out.status.success());

    // A second user: ten failures lock the token, then a valid OTP is refused too.
    let (token, serial) = user_with_soft_token(&db, &server, "bob");
    for _ in 0..10 {
        assert_eq!(server.authenticate(&key, "bob", "12345678"), "reject");
    }
    let shown = db.admin_json(&["token", "show", &serial]);
    assert_eq!(shown["locked"], true);
    assert!(
        shown.get("sealed_seed").is_none() && !shown.to_string().contains("seed"),
        "S03: no seed in admin views"
    );
    let valid = token.otp();
    assert_eq!(
        server.authenticate(&key, "bob", &valid),
        "reject",
        "S12: locked"
    );
    let out = db.admin(&["token", "reset", &serial], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        server.authenticate(&key, "bob", &valid),
        "accept",
        "the reset cleared the lock"
    );
    // The same answer for an unknown user (S39).
    assert_eq!(server.authenticate(&key, "nobody", &valid), "reject");
}

fn s04_thirty_two_concurrent_requests_with_one_otp_accept_once(postgres: bool) {
    let db = Database::new(postgres);
    let first = db.serve();
    // On PostgreSQL, two nodes share the database and race each other.
    let second = if postgres { Some(db.serve()) } else { None };
    let key = db.api_key("vpn", "authenticate");
    let (token, _) = user_with_soft_token(&db, &first, "carol");
    let otp = token.otp();
    let nodes: Vec<&Server> = std::iter::once(&first).chain(second.as_ref()).collect();
    let accepted = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let node = nodes[i % nodes.len()];
                let (key, otp) = (&key, &otp);
                scope.spawn(move || node.authenticate(key, "carol", otp))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|r| r == "accept")
            .count()
    });
    assert_eq!(
        accepted, 1,
        "exactly one of 32 concurrent requests is accepted"
    );
}

fn a_generic_app_token_from_otpauth_uri_agrees_with_oathtool(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    db.add_user("dave");
    let issued = db.admin_json(&["token", "issue", "dave", "--kind", "totp"]);
    let uri = issued["otpauth_uri"]
        .as_str()
        .expect("a key URI for generic apps");
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        uri.contains("algorithm=SHA1") && uri.contains("digits=6") && uri.contains("period=30"),
        "{uri}"
    );
    let out = Command::new("oathtool")
        .args(["--totp", "--base32", secret])
        .output()
        .expect("oathtool must be installed (Debian package oathtool; .ci/run installs it)");
    assert!(out.status.success());
    let otp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(server.authenticate(&key, "dave", &otp), "accept");
}

fn help_desk_unlock_code_opens_the_locked_soft_token(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let (token, serial) = user_with_soft_token(&db, &server, "erin");
    token.lock_with_wrong_pins();
    let locked = token.code(PIN);
    assert_eq!(
        locked.status.code(),
        Some(4),
        "locked after five wrong PINs"
    );
    let message = stderr(&locked);
    let reset = message
        .lines()
        .find_map(|l| l.strip_prefix("PIN Reset Code: "))
        .expect("the reset code is shown")
        .trim()
        .to_owned();
    // The help desk reads the reset code and issues the unlock code.
    let unlock = db.admin_json(&["token", "unlock-code", &serial, &reset])["unlock_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = token.run(&["unlock"], &[&unlock, "583920", "583920"]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));
    let otp = token.run(&["code"], &["583920"]);
    assert!(otp.status.success());
    let otp = String::from_utf8(otp.stdout).unwrap().trim().to_owned();
    assert_eq!(server.authenticate(&key, "erin", &otp), "accept");
    // Issuance is audited (S22).
    let audit = db.admin_json(&["audit", "list", "--limit", "1000"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "unlock.issue"
                && r["subject"] == serial
                && r["outcome"] == "success")
    );
}

fn audit_verify_names_an_edited_or_deleted_row(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let (token, _) = user_with_soft_token(&db, &server, "fred");
    assert_eq!(server.authenticate(&key, "fred", &token.otp()), "accept");
    drop(server);
    let out = db.admin(&["audit", "verify"], "");
    assert!(
        out.status.success(),
        "an intact log verifies: {}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));
    execute_sql(&db.url, "UPDATE audit SET outcome = 'failure' WHERE id = 3");
    let out = db.admin(&["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("row 3 was altered"),
        "{}",
        stderr(&out)
    );
    execute_sql(&db.url, "UPDATE audit SET outcome = 'success' WHERE id = 3");
    assert!(
        db.admin(&["audit", "verify"], "").status.success(),
        "restored"
    );
    execute_sql(&db.url, "DELETE FROM audit WHERE id = 4");
    let out = db.admin(&["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("row 5 does not follow row 3"),
        "{}",
        stderr(&out)
    );
}

fn bad_input_gets_a_clear_4xx_and_changes_nothing(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let (token, serial) = user_with_soft_token(&db, &server, "gina");
    let audit_before = db
        .admin_json(&["audit", "list", "--limit", "100000"])
        .as_array()
        .unwrap()
        .len();
    let cases: Vec<(&str, Option<&str>, String, u16)> = vec![
        ("/api/v1/authenticate", Some(&key), "{not json".into(), 400),
        (
            "/api/v1/authenticate",
            Some(&key),
            json!({"username": "gina"}).to_string(),
            422,
        ),
        (
            "/api/v1/authenticate",
            Some(&key),
            json!({"username": 5, "otp": "1"}).to_string(),
            422,
        ),
        (
            "/api/v1/authenticate",
            Some(&key),
            format!(
                "{{\"username\": \"gina\", \"otp\": \"{}\"}}",
                // Over the 64 KiB limit, yet small enough to be written
                // whole before the server answers and closes (a larger
                // body can meet a closed socket mid-write).
                "1".repeat(70_000)
            ),
            413,
        ),
        (
            "/api/v1/authenticate",
            None,
            json!({"username": "gina", "otp": "12345678"}).to_string(),
            401,
        ),
        (
            "/api/v1/authenticate",
            Some("lk_000000000000_wrong"),
            json!({"username": "gina", "otp": "12345678"}).to_string(),
            401,
        ),
        (
            "/api/v1/tokens/activate",
            None,
            json!({"serial": "12345", "activation_code": "1"}).to_string(),
            400,
        ),
        (
            "/api/v1/tokens/activate",
            None,
            json!({"serial": "0000000018", "activation_code": "1234567890123452"}).to_string(),
            403,
        ),
        (
            "/api/v1/tokens/refresh",
            None,
            json!({"serial": serial, "otp": "x"}).to_string(),
            403,
        ),
        (
            "/api/v1/users",
            Some(&key),
            json!({"username": "mallory"}).to_string(),
            403,
        ),
    ];
    for (path, key, body, status) in cases {
        let response = server.post(path, key, &body);
        assert_eq!(
            response.status, status,
            "{path} {body:.80}: {:?}",
            response.body
        );
        let message = response.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("a JSON error for {path}: {:?}", response.body));
        assert!(!message.is_empty());
    }
    // Nothing changed: the token still works and no user was added.
    assert_eq!(server.authenticate(&key, "gina", &token.otp()), "accept");
    let users = db.admin_json(&["user", "list"]);
    assert_eq!(users.as_array().unwrap().len(), 1);
    let audit_after = db
        .admin_json(&["audit", "list", "--limit", "100000"])
        .as_array()
        .unwrap()
        .len();
    assert!(
        audit_after > audit_before,
        "refusals are audited, and the accept too"
    );
    // The unknown serial and the wrong activation code answer alike.
    let unknown = server.post(
        "/api/v1/tokens/activate",
        None,
        &json!({"serial": "0000000018", "activation_code": "1234567890123452"}).to_string(),
    );
    assert_eq!(unknown.status, 403);
}

fn s43_an_authenticate_key_cannot_administer(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let auth_key = db.api_key("vpn", "authenticate");
    let admin_key = db.api_key("ops", "admin");
    assert_eq!(server.get("/api/v1/users", Some(&auth_key)).status, 403);
    let created = server.post(
        "/api/v1/users",
        Some(&admin_key),
        &json!({"username": "hank", "password": PASSWORD}).to_string(),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let issued = server.post(
        "/api/v1/tokens",
        Some(&admin_key),
        &json!({"username": "hank", "kind": "totp"}).to_string(),
    );
    assert_eq!(issued.status, 201);
    assert!(
        issued.body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let keys = server.get("/api/v1/apikeys", Some(&admin_key));
    assert!(
        !keys.body.to_string().contains(&auth_key),
        "keys are never shown again"
    );
    let out = db.admin(&["apikey", "revoke", "vpn"], "");
    assert!(out.status.success());
    let response = server.post(
        "/api/v1/authenticate",
        Some(&auth_key),
        &json!({"username": "hank", "otp": "123456"}).to_string(),
    );
    assert_eq!(response.status, 401, "a revoked key is refused");
    let verify = server.get("/api/v1/audit/verify", Some(&admin_key));
    assert_eq!(verify.body["intact"], true);
    let openapi = server.get("/api/v1/openapi.json", None);
    // Every route of the JSON API (http/api.rs's `routes`).
    for path in [
        "/api/v1/openapi.json",
        "/api/v1/tokens/activate",
        "/api/v1/tokens/refresh",
        "/api/v1/authenticate",
        "/api/v1/users",
        "/api/v1/users/{username}/answers",
        "/api/v1/tokens",
        "/api/v1/tokens/{serial}",
        "/api/v1/tokens/{serial}/{action}",
        "/api/v1/apikeys",
        "/api/v1/apikeys/{name}",
        "/api/v1/questions",
        "/api/v1/questions/{id}",
        "/api/v1/audit",
        "/api/v1/audit/verify",
    ] {
        assert!(
            openapi.body["paths"].get(path).is_some(),
            "{path} in the OpenAPI document"
        );
    }
}

fn s40_a_fresh_install_has_no_accounts(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    assert_eq!(db.admin_json(&["user", "list"]), json!([]));
    assert_eq!(db.admin_json(&["apikey", "list"]), json!([]));
    assert_eq!(server.get("/healthz", None).status, 200);
    assert_eq!(server.get("/readyz", None).status, 200);
}

/// `latchkey admin … --json` and the JSON API show the same rows the same
/// way: one view of each, not one per edge.
fn the_cli_and_the_api_show_users_tokens_and_keys_alike(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    db.add_user("nina");
    db.admin_json(&["token", "issue", "nina", "--kind", "totp"]);
    let key = db.api_key("console", "admin");
    for (cli, api) in [
        (&["user", "list"][..], "/api/v1/users"),
        (&["token", "list"][..], "/api/v1/tokens"),
        (&["apikey", "list"][..], "/api/v1/apikeys"),
    ] {
        let answer = server.get(api, Some(&key));
        assert_eq!(answer.status, 200, "{api}: {:?}", answer.body);
        assert_eq!(db.admin_json(cli), answer.body, "{cli:?} and {api}");
    }
    let users = db.admin_json(&["user", "list"]);
    assert!(users[0]["created_at"].is_i64(), "{users}");
    // One token: both name its owner (UX-REVIEW F8: `token show` said null).
    let tokens = db.admin_json(&["token", "list"]);
    let serial = tokens[0]["serial"].as_str().unwrap();
    let shown = db.admin_json(&["token", "show", serial]);
    assert_eq!(shown["user"], "nina", "{shown}");
    let answer = server.get(&format!("/api/v1/tokens/{serial}"), Some(&key));
    assert_eq!(answer.body, shown);

    // For people: a header, the serial grouped, times in UTC ISO 8601.
    let text = |args: &[&str]| String::from_utf8(db.admin(args, "").stdout).unwrap();
    let grouped = format!("{}-{}", &serial[..5], &serial[5..]);
    let list = text(&["token", "list"]);
    assert!(list.starts_with("Serial"), "{list}");
    assert!(list.contains(&grouped) && list.contains("nina"), "{list}");
    let show = text(&["token", "show", serial]);
    assert!(show.contains(&format!("Serial: {grouped}")), "{show}");
    assert!(show.contains("User: nina"), "{show}");
    let audit = text(&["audit", "list"]);
    let mut lines = audit.lines();
    assert!(lines.next().unwrap().starts_with("Row"), "{audit}");
    let first = lines.next().unwrap();
    let time = first.split_whitespace().nth(1).unwrap();
    assert!(
        time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "an ISO 8601 time: {first}"
    );
}
