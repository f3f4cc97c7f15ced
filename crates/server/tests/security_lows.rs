//! The black-box review's M2 and its lows (SECURITY-REVIEW.md), each
//! replayed against a real `latchkey serve` over HTTP: one test per
//! finding, named after it and carrying its SECURITY.md number.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{Account, Visitor};
use common::*;

/// A node behind a proxy at 127.0.0.1, so each visitor's
/// `X-Forwarded-For` is its address (DESIGN.md, "Deployment"). In the test's
/// process, on a clock that stands still: a wait, once set, lasts as long
/// as the test, so nothing hangs on how fast the requests go.
fn serve_behind_proxy(db: &Database) -> Server {
    db.spawn_app_with(|config| config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()])
}

/// A visitor whose address is `address`.
fn visitor_at(server: &Server, address: &str) -> Visitor {
    let mut visitor = Visitor::new(&server.url);
    visitor.forwarded_for = Some(address.to_owned());
    visitor
}

/// One password attempt for `user`: the status of `POST /login`.
fn try_password(visitor: &mut Visitor, user: &str, password: &str) -> u16 {
    visitor
        .post("/login", &[("username", user), ("password", password)])
        .status
}

/// The whole sign-in, password then OTP: whether it reached a full session.
fn signs_in(visitor: &mut Visitor, account: &mut Account) -> bool {
    let page = visitor.post(
        "/login",
        &[("username", account.name.as_str()), ("password", PASSWORD)],
    );
    if page.status != 303 {
        return false;
    }
    let otp = account.next_otp();
    let page = visitor.post("/login/otp", &[("otp", &otp)]);
    page.status == 303 && page.location() != Some("/login/otp")
}

const DEVICE_COOKIE: &str = "latchkey_device";

/// S47 (M2): the review's attack — a stranger sends wrong passwords for the
/// victim without pause while the owner signs in now and then — no longer
/// keeps the owner out. The stranger's address waits on its own count; the
/// owner from another address gets in every time. When strangers at many
/// addresses make the whole account wait, a browser that completed a
/// sign-in before (its signed known-device cookie) still gets in, while a
/// new browser, a cookie of another account, or a forged one do not. The
/// API does the same per the client address the application forwards.
#[test]
fn m2_s47_a_flood_of_wrong_passwords_does_not_stop_the_owner() {
    for postgres in [false, true] {
        let db = Database::new(postgres);
        let server = serve_behind_proxy(&db);
        let mut alice = Account::new(&db, "alice");
        let mut bob = Account::new(&db, "bob");

        // The owner signed in once before from her browser, which keeps
        // the known-device cookie; bob did so from his.
        let mut owners_browser = visitor_at(&server, "198.51.100.10");
        assert!(signs_in(&mut owners_browser, &mut alice));
        let device = owners_browser.cookies.get(DEVICE_COOKIE).cloned();
        let device = device.expect("a complete sign-in sets the known-device cookie");
        let mut bobs_browser = visitor_at(&server, "198.51.100.99");
        assert!(signs_in(&mut bobs_browser, &mut bob));
        let bobs_device = bobs_browser.cookies.get(DEVICE_COOKIE).cloned().unwrap();

        // One stranger floods; the owner, from elsewhere and with a new
        // browser, signs in between the waves, every time.
        let mut stranger = visitor_at(&server, "203.0.113.66");
        for wave in 0..3 {
            for _ in 0..12 {
                assert_eq!(try_password(&mut stranger, "alice", "wrong guess"), 401);
            }
            assert_eq!(
                try_password(&mut stranger, "alice", PASSWORD),
                401,
                "the flooding address waits: even the right password is refused from it"
            );
            assert_eq!(
                query_i64(
                    &db.url,
                    "SELECT password_failures FROM users WHERE username = 'alice'"
                ),
                5,
                "one address adds only its free failures to the account's count"
            );
            let mut owner = visitor_at(&server, "198.51.100.20");
            assert!(
                signs_in(&mut owner, &mut alice),
                "wave {wave}: the owner gets in from her own address during the flood"
            );
        }

        // Strangers at many addresses: the whole account waits.
        for host in 1..=10 {
            let mut stranger = visitor_at(&server, &format!("203.0.113.{host}"));
            for _ in 0..6 {
                assert_eq!(try_password(&mut stranger, "alice", "wrong guess"), 401);
            }
        }
        assert!(
            query_i64(
                &db.url,
                "SELECT password_blocked_until FROM users WHERE username = 'alice'"
            ) > 0,
            "failures from many addresses make the account wait"
        );
        let mut new_browser = visitor_at(&server, "198.51.100.30");
        assert_eq!(
            try_password(&mut new_browser, "alice", PASSWORD),
            401,
            "a browser that never signed in waits with the account"
        );
        let mut with_bobs_cookie = visitor_at(&server, "198.51.100.31");
        with_bobs_cookie
            .cookies
            .insert(DEVICE_COOKIE.into(), bobs_device.clone());
        assert_eq!(
            try_password(&mut with_bobs_cookie, "alice", PASSWORD),
            401,
            "another account's known-device cookie is no pass for this one"
        );
        let mut forged = visitor_at(&server, "198.51.100.32");
        let (claim, _) = device.rsplit_once('.').unwrap();
        forged.cookies.insert(
            DEVICE_COOKIE.into(),
            format!("{claim}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        );
        assert_eq!(
            try_password(&mut forged, "alice", PASSWORD),
            401,
            "a forged cookie is no pass"
        );
        let mut returning = visitor_at(&server, "198.51.100.33");
        returning.cookies.insert(DEVICE_COOKIE.into(), device);
        assert!(
            signs_in(&mut returning, &mut alice),
            "the owner's known browser passes the account's wait"
        );
        let denied = query_i64(
            &db.url,
            "SELECT COUNT(*) FROM audit WHERE action = 'password.verify' AND outcome = 'denied' \
             AND detail LIKE '%(this address)' AND source = '203.0.113.66'",
        );
        assert!(denied >= 3, "the stranger's waits are audited: {denied}");

        // The API: a relying application forwards each user's address.
        let key = db.api_key("app", "authenticate");
        let mut carol = Account::new(&db, "carol");
        let attempt = |client: &str, password: &str, otp: &str| {
            let body = serde_json::json!({
                "username": "carol",
                "password": password,
                "otp": otp,
                "client_address": client,
            });
            server.post("/api/v1/authenticate", Some(&key), &body.to_string())
        };
        for _ in 0..30 {
            let answer = attempt("203.0.113.66", "wrong guess", "000000");
            assert_eq!(answer.status, 200);
            assert_eq!(answer.body["result"], "reject");
        }
        let otp = carol.next_otp();
        let answer = attempt("198.51.100.40", PASSWORD, &otp);
        assert_eq!(
            answer.body["result"], "accept",
            "the owner behind the same application gets in: {:?}",
            answer.body
        );
        let bad = attempt("not an address", PASSWORD, "000000");
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        assert!(
            bad.body["error"]
                .as_str()
                .unwrap()
                .contains("client_address")
        );
    }
}

/// S52 (L1): the review's writers of audit rows without an account — a
/// password-reset request, a failed activation — are limited per client
/// address: past the limit the answer is 429 and no row is written;
/// another address is unaffected.
#[test]
fn l1_s52_unauthenticated_writes_that_add_audit_rows_are_limited_per_address() {
    let db = Database::new(false);
    let server = serve_behind_proxy(&db);
    let rows = |action: &str| {
        query_i64(
            &db.url,
            &format!("SELECT COUNT(*) FROM audit WHERE action LIKE '{action}%'"),
        )
    };

    let mut flooder = visitor_at(&server, "203.0.113.5");
    for _ in 0..20 {
        let page = flooder.post("/password/forgot", &[("username", "nobody")]);
        assert_eq!(page.status, 200);
    }
    let page = flooder.post("/password/forgot", &[("username", "nobody")]);
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Wait ten minutes"));
    let mut neighbour = visitor_at(&server, "198.51.100.5");
    let page = neighbour.post("/password/forgot", &[("username", "nobody")]);
    assert_eq!(page.status, 200, "another address is not limited");

    let attempt = || {
        let body =
            serde_json::json!({ "serial": "1234567897", "activation_code": "1234567890123452" });
        server.post("/api/v1/tokens/activate", None, &body.to_string())
    };
    for _ in 0..30 {
        let answer = attempt();
        assert!(
            [400, 403].contains(&answer.status),
            "refused: {:?}",
            answer.body
        );
    }
    let before = rows("token.activate");
    assert!(before >= 30, "each failure was audited: {before}");
    let answer = attempt();
    assert_eq!(answer.status, 429, "{:?}", answer.body);
    assert!(answer.body["error"].as_str().unwrap().contains("too many"));
    assert_eq!(rows("token.activate"), before, "no row past the limit");
}

/// S54, S56 (L5, L9) at the edge: the API refuses a confusable name and
/// the review's address with 400 and a message, adds nothing, and reads a
/// fullwidth name as the plain one.
#[test]
fn l5_l9_s54_s56_the_api_refuses_confusable_names_and_bad_addresses() {
    let db = Database::new(false);
    let server = db.serve();
    let key = db.api_key("ops", "admin");
    let add = |body: serde_json::Value| server.post("/api/v1/users", Some(&key), &body.to_string());
    assert_eq!(add(serde_json::json!({ "username": "alice" })).status, 201);
    let answer = add(serde_json::json!({ "username": "ａｌｉｃｅ" }));
    assert_eq!(
        answer.status, 409,
        "fullwidth alice is alice: {:?}",
        answer.body
    );
    let answer = add(serde_json::json!({ "username": "\u{430}lice" }));
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert!(answer.body["error"].as_str().unwrap().contains("a–z"));
    let answer = add(serde_json::json!({
        "username": "mallory",
        "email": "<img src=x onerror=alert(1)>@x\r\nBcc: all@corp",
    }));
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert!(
        answer.body["error"]
            .as_str()
            .unwrap()
            .contains("e-mail address")
    );
    let users = server.get("/api/v1/users", Some(&key));
    assert_eq!(users.body.as_array().unwrap().len(), 1, "{:?}", users.body);
}

/// S56 (L10): in a data folder made beforehand with mode 0755 (packaging,
/// systemd's `StateDirectory`), with an `outbox/` as open, the node makes
/// the folder 0700, the database files 0600, and the outbox 0700 when it
/// writes the first mail.
#[test]
fn l10_s56_data_files_and_the_outbox_are_private_whatever_the_folders_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let db = Database::new(false);
    let outbox = db.dir.path().join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    for folder in [db.dir.path(), outbox.as_path()] {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let server = db.serve();
    let _alice = Account::new(&db, "alice");
    let mut visitor = Visitor::new(&server.url);
    let page = visitor.post("/password/forgot", &[("username", "alice")]);
    assert_eq!(page.status, 200);
    assert_eq!(
        wait_for_mails(&db, 1).len(),
        1,
        "the reset mail is in the outbox"
    );

    assert_eq!(mode(db.dir.path()), 0o700, "the data folder");
    assert_eq!(mode(&outbox), 0o700, "the outbox");
    for entry in std::fs::read_dir(db.dir.path()).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("latchkey.db") || name == "master.key" {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    for entry in std::fs::read_dir(&outbox).unwrap().flatten() {
        assert_eq!(mode(&entry.path()), 0o600, "{:?}", entry.path());
    }
}

/// One request with any method, content type and body: its status, content
/// type and body.
fn raw(
    server: &Server,
    method: &str,
    path: &str,
    key: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.url));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let mut response = agent.run(request.body(body.to_vec()).unwrap()).unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, kind, text)
}

/// S55 (L6): the review's refusals that were plain text or empty — a query
/// value of the wrong type or out of range, a body that is not JSON, of
/// the wrong shape, or too large, an unknown path, a method a path does not
/// take — answer `{"error": …}` under `/api/`, each with a status the
/// OpenAPI document lists for the operation; the portal answers a
/// non-form or oversized post with a page that says so.
#[test]
fn l6_s55_every_api_refusal_is_json_with_a_documented_status() {
    let db = Database::new(false);
    let server = db.serve();
    let key = db.api_key("ops", "admin");
    let app_key = db.api_key("app", "authenticate");
    let document: serde_json::Value =
        serde_json::from_str(include_str!("../openapi.json")).unwrap();
    let big = vec![b'x'; 70 * 1024];
    // (method, path, the document's path, key, content type, body, status)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        &'a [u8],
        u16,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "GET",
            "/api/v1/audit?after=abc",
            "/api/v1/audit",
            Some(&key),
            None,
            b"",
            400,
        ),
        (
            "GET",
            "/api/v1/audit?after=1647505030809519011135488",
            "/api/v1/audit",
            Some(&key),
            None,
            b"",
            400,
        ),
        (
            "GET",
            "/api/v1/users",
            "/api/v1/users",
            None,
            None,
            b"",
            401,
        ),
        (
            "GET",
            "/api/v1/users",
            "/api/v1/users",
            Some(&app_key),
            None,
            b"",
            403,
        ),
        (
            "POST",
            "/api/v1/authenticate",
            "/api/v1/authenticate",
            Some(&app_key),
            Some("text/plain"),
            b"{}",
            415,
        ),
        (
            "POST",
            "/api/v1/authenticate",
            "/api/v1/authenticate",
            Some(&app_key),
            Some("application/json"),
            br#"{"username": 5, "otp": "1"}"#,
            422,
        ),
        (
            "POST",
            "/api/v1/users",
            "/api/v1/users",
            Some(&key),
            Some("application/json"),
            &big,
            413,
        ),
        (
            "GET",
            "/api/v1/tokens/12x",
            "/api/v1/tokens/{serial}",
            Some(&key),
            None,
            b"",
            400,
        ),
    ];
    for (method, path, documented_path, key, content_type, body, status) in cases {
        let (got, kind, text) = raw(&server, method, path, key, content_type, body);
        assert_eq!(got, status, "{method} {path}: {text}");
        assert!(
            kind.starts_with("application/json"),
            "{method} {path}: {kind}"
        );
        let error: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{text}"
        );
        let responses = &document["paths"][documented_path][method.to_lowercase()]["responses"];
        assert!(
            responses.get(status.to_string()).is_some(),
            "{method} {documented_path} documents {status}"
        );
    }
    for (method, path, status) in [
        ("GET", "/api/v1/nothing-here", 404),
        ("PUT", "/api/v1/users", 405),
    ] {
        let (got, kind, text) = raw(&server, method, path, Some(&key), None, b"");
        assert_eq!(got, status, "{method} {path}: {text}");
        assert!(
            kind.starts_with("application/json"),
            "{method} {path}: {kind} {text}"
        );
    }
    // The portal: a page, not axum's plain text.
    let (status, kind, text) = raw(
        &server,
        "POST",
        "/login",
        None,
        Some("application/json"),
        b"{}",
    );
    assert_eq!(status, 415);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(text.contains("own forms only"), "{text}");
    let (status, kind, _) = raw(
        &server,
        "POST",
        "/login",
        None,
        Some("application/x-www-form-urlencoded"),
        &big,
    );
    assert_eq!(status, 413);
    assert!(kind.starts_with("text/html"), "{kind}");
}
