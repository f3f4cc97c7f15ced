//! The admin console's integration pages (API keys, RADIUS and OIDC
//! clients, the question pool, the directory, the import) and its
//! dashboard, over HTTP on an in-process node and both backends: a secret
//! is shown once and works, destructive actions ask for a fresh OTP, an
//! auditor reads every page and changes nothing, a dry run changes
//! nothing, the dashboard's numbers are the audit log's, and the audit
//! export holds exactly the filtered rows at 0, 1 and 10,000.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::web::{Account, Page, Visitor};
use common::*;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    an_api_key_is_shown_once_works_and_is_revoked_after_a_fresh_otp,
    radius_and_oidc_clients_show_their_secret_once_and_go_after_a_fresh_otp,
    the_question_pool_grows_and_retires_from_the_console,
    an_import_dry_run_changes_nothing_and_the_import_stores_every_line,
    an_auditor_sees_every_new_page_and_every_new_form_is_refused,
    the_dashboard_counts_what_the_audit_rows_hold,
    the_audit_export_holds_exactly_0_1_and_10000_filtered_rows,
);

/// A signed-in account with `role`, and its visitor.
fn signed_in(db: &Database, server: &Server, name: &str, role: &str) -> (Account, Visitor) {
    let mut account = Account::new(db, name);
    if role != "user" {
        let out = db.admin(&["user", "set-role", name, role], "");
        assert!(out.status.success(), "set-role: {}", stderr(&out));
    }
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    (account, visitor)
}

/// The text of the element with `id` (its first child text), if any.
fn text_of(page: &Page, id: &str) -> Option<String> {
    let at = page.body.find(&format!("id=\"{id}\""))?;
    let start = at + page.body[at..].find('>')? + 1;
    let end = start + page.body[start..].find('<')?;
    Some(page.body[start..end].trim().to_owned())
}

/// Every audit row, oldest first, as the CLI lists them.
fn audit_rows(db: &Database) -> Vec<serde_json::Value> {
    db.admin_json(&["audit", "list", "--limit", "1000000"])
        .as_array()
        .unwrap()
        .clone()
}

fn an_api_key_is_shown_once_works_and_is_revoked_after_a_fresh_otp(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let (mut root, mut visitor) = signed_in(&db, &server, "root", "admin");

    let list = visitor.get("/admin/api-keys");
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("No API keys yet."));
    let made = visitor.post(
        "/admin/api-keys",
        &[("name", "vpn-gateway"), ("role", "authenticate")],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let key = text_of(&made, "secret").expect("the key is on the result page");
    assert!(key.starts_with("lk_"), "{key}");
    assert_eq!(made.header("cache-control"), Some("no-store"));

    // Never again: not on the list, not on a second submit of the form
    // (what a reload of the result page sends).
    let list = visitor.get("/admin/api-keys");
    assert!(
        list.body.contains("id=\"key-vpn-gateway\""),
        "{}",
        list.body
    );
    assert!(!list.body.contains(&key));
    let again = visitor.post(
        "/admin/api-keys",
        &[("name", "vpn-gateway"), ("role", "authenticate")],
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(!again.body.contains("lk_"));
    let keys = db.admin_json(&["apikey", "list"]);
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");

    // It works on the API, with its role and nothing more.
    assert_eq!(
        server.authenticate(&key, "alice", &alice.next_otp()),
        "accept"
    );
    assert_eq!(
        server.get("/api/v1/users", Some(&key)).status,
        403,
        "an authenticate key administers nothing"
    );

    // Revoking asks for a fresh OTP first; the prompt changes nothing.
    let revoke = "/admin/api-keys/vpn-gateway/revoke";
    let prompt = visitor.post(revoke, &[]);
    assert_eq!(prompt.status, 200, "{}", prompt.body);
    assert!(prompt.body.contains("Confirm with a one-time password"));
    assert!(prompt.body.contains(&format!("action=\"{revoke}\"")));
    let wrong = visitor.post(revoke, &[("otp", "000000")]);
    assert_eq!(wrong.status, 401);
    assert_eq!(
        server.authenticate(&key, "alice", &alice.next_otp()),
        "accept",
        "a prompt and a wrong OTP leave the key working"
    );
    let revoked = visitor.post(revoke, &[("otp", &root.next_otp())]);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let body =
        serde_json::json!({"username": "alice", "password": PASSWORD, "otp": alice.next_otp()});
    let refused = server.post("/api/v1/authenticate", Some(&key), &body.to_string());
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    let list = visitor.get("/admin/api-keys");
    assert!(list.body.contains("<td class=\"state\">revoked</td>"));

    let bad = visitor.post(
        "/admin/api-keys",
        &[("name", "<b>x</b>"), ("role", "admin")],
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(!bad.body.contains("<b>x</b>"));
    assert_eq!(
        db.admin_json(&["apikey", "list"]).as_array().unwrap().len(),
        1
    );

    let acts: Vec<(String, String)> = audit_rows(&db)
        .iter()
        .filter(|r| r["subject"] == "vpn-gateway")
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        acts,
        [
            ("root".to_owned(), "apikey.create".to_owned()),
            ("root".to_owned(), "apikey.revoke".to_owned())
        ]
    );
}

fn radius_and_oidc_clients_show_their_secret_once_and_go_after_a_fresh_otp(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (mut root, mut visitor) = signed_in(&db, &server, "root", "admin");

    let made = visitor.post(
        "/admin/radius",
        &[
            ("name", "vpn"),
            ("address", "192.0.2.0/24"),
            ("mode", "two-step"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = text_of(&made, "secret").expect("the shared secret is shown");
    assert!(secret.len() >= 32, "{secret}");
    let clients = db.admin_json(&["radius-client", "list"]);
    assert_eq!(clients[0]["name"], "vpn");
    assert_eq!(clients[0]["address"], "192.0.2.0/24");
    assert_eq!(clients[0]["mode"], "two-step");
    assert_eq!(clients[0]["message_authenticator_required"], true);
    let list = visitor.get("/admin/radius");
    assert!(list.body.contains("id=\"radius-vpn\""));
    assert!(!list.body.contains(&secret), "shown once only");
    let bad = visitor.post(
        "/admin/radius",
        &[
            ("name", "wifi"),
            ("address", "not an address"),
            ("mode", "one-step"),
        ],
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(
        db.admin_json(&["radius-client", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let made = visitor.post(
        "/admin/oidc",
        &[
            ("name", "wiki"),
            (
                "redirect_uris",
                "https://wiki.example.org/callback\r\nhttps://wiki.example.org/other\r\n",
            ),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let client_secret = text_of(&made, "secret").expect("a confidential client's secret");
    let clients = db.admin_json(&["oidc-client", "list"]);
    assert_eq!(clients[0]["name"], "wiki");
    assert_eq!(clients[0]["public"], false);
    assert_eq!(
        clients[0]["redirect_uris"],
        serde_json::json!([
            "https://wiki.example.org/callback",
            "https://wiki.example.org/other"
        ])
    );
    let client_id = clients[0]["client_id"].as_str().unwrap().to_owned();
    assert!(made.body.contains(&client_id));
    let list = visitor.get("/admin/oidc");
    assert!(list.body.contains(&client_id));
    assert!(!list.body.contains(&client_secret), "shown once only");
    let public = visitor.post(
        "/admin/oidc",
        &[
            ("name", "app"),
            ("redirect_uris", "https://app.example.org/cb"),
            ("public", "yes"),
            ("es256", "yes"),
        ],
    );
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(
        text_of(&public, "secret"),
        None,
        "a public client has no secret"
    );
    let none = visitor.post("/admin/oidc", &[("name", "x"), ("redirect_uris", " ")]);
    assert_eq!(none.status, 422, "{}", none.body);
    assert_eq!(
        db.admin_json(&["oidc-client", "list"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Removing asks for a fresh OTP; once given, the session is not asked
    // again for a few minutes.
    let prompt = visitor.post("/admin/radius/vpn/remove", &[]);
    assert!(prompt.body.contains("Confirm with a one-time password"));
    assert_eq!(
        db.admin_json(&["radius-client", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let removed = visitor.post("/admin/radius/vpn/remove", &[("otp", &root.next_otp())]);
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        db.admin_json(&["radius-client", "list"]),
        serde_json::json!([])
    );
    let removed = visitor.post("/admin/oidc/wiki/remove", &[]);
    assert_eq!(removed.status, 200, "{}", removed.body);
    let left = db.admin_json(&["oidc-client", "list"]);
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["name"], "app");
    let gone = visitor.post("/admin/oidc/wiki/remove", &[]);
    assert_eq!(gone.status, 404, "{}", gone.body);
}

fn the_question_pool_grows_and_retires_from_the_console(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let pool = |db: &Database| db.admin_json(&["questions", "list"]);
    let before = pool(&db).as_array().unwrap().len();

    let page = visitor.get("/admin/questions");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"question-1\""));
    let added = visitor.post(
        "/admin/questions",
        &[("text", "What was the name of your   first ship?")],
    );
    assert_eq!(added.status, 200, "{}", added.body);
    let after = pool(&db);
    assert_eq!(after.as_array().unwrap().len(), before + 1);
    let new = after.as_array().unwrap().last().unwrap().clone();
    assert_eq!(new["text"], "What was the name of your first ship?");
    let short = visitor.post("/admin/questions", &[("text", "Why?")]);
    assert_eq!(short.status, 422, "{}", short.body);
    let twice = visitor.post(
        "/admin/questions",
        &[("text", "What was the name of your first ship?")],
    );
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(pool(&db).as_array().unwrap().len(), before + 1);

    let id = new["id"].as_i64().unwrap();
    let retired = visitor.post(&format!("/admin/questions/{id}/retire"), &[]);
    assert_eq!(retired.status, 200, "{}", retired.body);
    let now = pool(&db);
    let row = now
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == id)
        .unwrap();
    assert_eq!(row["active"], false);
    let page = visitor.get("/admin/questions");
    assert!(page.body.contains(&format!("id=\"question-{id}\"><td>{id}</td><td>What was the name of your first ship?</td><td class=\"state\">retired")));
    let again = visitor.post(&format!("/admin/questions/{id}/retire"), &[]);
    assert_eq!(again.status, 409, "{}", again.body);
}

/// A TOTP key URI with a 160-bit seed.
fn totp_uri(seed_byte: u8) -> String {
    let seed = data_encoding::BASE32_NOPAD.encode(&[seed_byte; 20]);
    format!("otpauth://totp/Example:x?secret={seed}&issuer=Example")
}

fn an_import_dry_run_changes_nothing_and_the_import_stores_every_line(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    Account::new(&db, "taken");
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let lines = [
        serde_json::json!({"username": "imp-one", "otpauth_uri": totp_uri(1), "email": "one@example.org"}),
        serde_json::json!({"username": "imp-two", "otpauth_uri": totp_uri(2), "serial": "1234567897"}),
        serde_json::json!({"username": "imp-three", "otpauth_uri": "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5"}),
    ]
    .iter()
    .map(|line| line.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let rows_before = audit_rows(&db).len();

    let dry = visitor.post("/admin/import", &[("lines", &lines), ("dry_run", "yes")]);
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(
        dry.body.contains("These 3 accounts would be imported"),
        "{}",
        dry.body
    );
    assert_eq!(dry.body.matches("would be imported</td>").count(), 3);
    assert!(
        dry.body.contains("1234 5678 97")
            || dry.body.contains("12345 67897")
            || dry.body.contains("1234567897")
    );
    for name in ["imp-one", "imp-two", "imp-three"] {
        assert!(dry.body.contains(&format!("<td>{name}</td>")));
        assert!(
            !db.admin(&["user", "show", name], "").status.success(),
            "{name} is not there yet"
        );
    }
    assert_eq!(
        audit_rows(&db).len(),
        rows_before,
        "a dry run writes nothing"
    );

    // One bad line stops them all, in a dry run or not.
    let bad = format!(
        "{lines}\n{}\n{}\nnot json",
        serde_json::json!({"username": "taken", "otpauth_uri": totp_uri(3)}),
        serde_json::json!({"username": "short", "otpauth_uri": "otpauth://totp/x?secret=GEZDGNBV"}),
    );
    let refused = visitor.post("/admin/import", &[("lines", &bad)]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Nothing was imported"));
    assert!(
        refused
            .body
            .contains("a user with this name exists already")
    );
    assert!(refused.body.contains("the seed has 5 bytes"));
    assert!(refused.body.contains("not an import line"));
    assert!(!db.admin(&["user", "show", "imp-one"], "").status.success());
    assert_eq!(audit_rows(&db).len(), rows_before);

    let done = visitor.post("/admin/import", &[("lines", &lines)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Imported 3 accounts."), "{}", done.body);
    let one = db.admin_json(&["user", "show", "imp-one"]);
    assert_eq!(one["email"], "one@example.org");
    let two = db.admin_json(&["token", "show", "1234567897"]);
    assert_eq!(two["user"], "imp-two");
    assert_eq!(two["kind"], "totp");
    assert_eq!(two["state"], "active");
    let three = tokens_of(&db, "imp-three");
    assert_eq!(three.len(), 1);
    assert_eq!(three[0]["kind"], "hotp", "{three:?}");
    let rows = audit_rows(&db);
    let imports: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["action"] == "user.import")
        .collect();
    assert_eq!(imports.len(), 1, "one audit row for the import");
    assert_eq!(imports[0]["actor"], "root");
    assert!(
        imports[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("3 users with a token each")
    );
    let twice = visitor.post("/admin/import", &[("lines", &lines)]);
    assert_eq!(
        twice.status, 422,
        "the same lines again are refused: {}",
        twice.body
    );
}

/// Every new console page.
const NEW_PAGES: [&str; 6] = [
    "/admin/api-keys",
    "/admin/radius",
    "/admin/oidc",
    "/admin/questions",
    "/admin/directory",
    "/admin/import",
];

/// Every new console form, with its fields.
fn new_forms(lines: &str) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    vec![
        (
            "/admin/api-keys",
            vec![("name", "k".into()), ("role", "admin".into())],
        ),
        ("/admin/api-keys/kept/revoke", vec![]),
        (
            "/admin/radius",
            vec![
                ("name", "r".into()),
                ("address", "192.0.2.1".into()),
                ("mode", "one-step".into()),
            ],
        ),
        ("/admin/radius/nas/remove", vec![]),
        (
            "/admin/oidc",
            vec![
                ("name", "o".into()),
                ("redirect_uris", "https://o.example.org/cb".into()),
            ],
        ),
        ("/admin/oidc/rp/remove", vec![]),
        (
            "/admin/questions",
            vec![("text", "Which street did you grow up on?".into())],
        ),
        ("/admin/questions/1/retire", vec![]),
        ("/admin/directory/sync", vec![]),
        ("/admin/import", vec![("lines", lines.to_owned())]),
        (
            "/admin/import",
            vec![("lines", lines.to_owned()), ("dry_run", "yes".into())],
        ),
    ]
}

fn an_auditor_sees_every_new_page_and_every_new_form_is_refused(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    db.api_key("kept", "authenticate");
    let out = db.admin(
        &["radius-client", "add", "nas", "--address", "192.0.2.9"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.admin(
        &[
            "oidc-client",
            "add",
            "rp",
            "--redirect-uri",
            "https://rp.example.org/cb",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (mut audrey, mut visitor) = signed_in(&db, &server, "audrey", "auditor");
    let (_helen, mut helen) = signed_in(&db, &server, "helen", "helpdesk");

    for path in NEW_PAGES {
        let page = visitor.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(page.body.contains("Read only"), "{path}");
        assert!(
            !page.body.contains("method=\"post\" action=\"/admin"),
            "{path} shows an auditor no form"
        );
        assert_eq!(helen.get(path).status, 403, "{path} for the help desk");
    }
    assert!(
        visitor
            .get("/admin/api-keys")
            .body
            .contains("id=\"key-kept\"")
    );
    assert!(
        visitor
            .get("/admin/radius")
            .body
            .contains("id=\"radius-nas\"")
    );
    assert!(visitor.get("/admin/oidc").body.contains("id=\"oidc-rp\""));

    let lines = serde_json::json!({"username": "sneaked", "otpauth_uri": totp_uri(9)}).to_string();
    let state = |db: &Database| {
        (
            db.admin_json(&["apikey", "list"]),
            db.admin_json(&["radius-client", "list"]),
            db.admin_json(&["oidc-client", "list"]),
            db.admin_json(&["questions", "list"]),
        )
    };
    let before = state(&db);
    let rows_before = audit_rows(&db).len();
    for (path, fields) in new_forms(&lines) {
        let otp = audrey.next_otp();
        let mut fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        fields.push(("otp", &otp));
        let refused = visitor.post(path, &fields);
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert_eq!(
            helen.post(path, &fields).status,
            403,
            "{path} for the help desk"
        );
    }
    assert_eq!(state(&db), before, "nothing changed");
    assert!(!db.admin(&["user", "show", "sneaked"], "").status.success());
    assert_eq!(
        audit_rows(&db).len(),
        rows_before,
        "a refused form writes nothing, not even an OTP check"
    );
}

/// The bars of the chart `id` on the dashboard: hour (UTC text) to count.
fn bars(page: &Page, id: &str) -> BTreeMap<String, i64> {
    let start = page
        .body
        .find(&format!("id=\"chart-{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let end = start + page.body[start..].find("</figure>").unwrap();
    let chart = &page.body[start..end];
    chart
        .match_indices("data-hour=\"")
        .map(|(at, marker)| {
            let rest = &chart[at + marker.len()..];
            let hour = rest[..rest.find('"').unwrap()].to_owned();
            let count_at = rest.find("data-count=\"").unwrap() + "data-count=\"".len();
            let count = &rest[count_at..];
            (hour, count[..count.find('"').unwrap()].parse().unwrap())
        })
        .collect()
}

/// `2026-12-01 13:00:00` for the hour that Unix seconds `at` fall in.
fn hour_text(at: i64) -> String {
    let hour = at - at.rem_euclid(3600);
    let days = hour.div_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm), as the console's own.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:00:00",
        hour.rem_euclid(86_400) / 3600
    )
}

/// The dashboard's five series counted from the audit rows: hour to
/// count, for the 24 hours ending with the one `now` is in.
fn counted(rows: &[serde_json::Value], now: i64) -> BTreeMap<&'static str, BTreeMap<String, i64>> {
    let first = now - now.rem_euclid(3600) - 23 * 3600;
    let mut series: BTreeMap<&'static str, BTreeMap<String, i64>> = BTreeMap::new();
    for id in [
        "accepted",
        "refused",
        "lockouts",
        "unlock-codes",
        "recoveries",
    ] {
        let hours = series.entry(id).or_default();
        for i in 0..24 {
            hours.insert(hour_text(first + i * 3600), 0);
        }
    }
    for row in rows {
        let at = row["at"].as_i64().unwrap();
        if at < first || at >= first + 24 * 3600 {
            continue;
        }
        let id = match (
            row["action"].as_str().unwrap(),
            row["outcome"].as_str().unwrap(),
        ) {
            ("otp.verify", "success") => "accepted",
            ("otp.verify", "failure" | "denied") => "refused",
            ("token.lock", "success") => "lockouts",
            ("unlock.issue", "success") => "unlock-codes",
            ("portal.recovery", "success") => "recoveries",
            _ => continue,
        };
        *series.get_mut(id).unwrap().get_mut(&hour_text(at)).unwrap() += 1;
    }
    series
}

fn the_dashboard_counts_what_the_audit_rows_hold(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let key = db.api_key("vpn", "authenticate");
    let mut alice = Account::new(&db, "alice");
    let mut bob = Account::new(&db, "bob");
    let (mut root, _visit) = signed_in(&db, &server, "root", "admin");
    let wrong = |server: &Server, user: &str| {
        let body = serde_json::json!({"username": user, "password": PASSWORD, "otp": "000000"});
        server.post("/api/v1/authenticate", Some(&key), &body.to_string());
    };

    // This hour: accepted codes, wrong codes, and a lockout (ten wrong).
    for _ in 0..3 {
        assert_eq!(
            server.authenticate(&key, "alice", &alice.next_otp()),
            "accept"
        );
    }
    for _ in 0..10 {
        wrong(&server, "bob");
    }
    // Two hours later: more of each.
    server.clock().advance(2 * 3600);
    assert_eq!(
        server.authenticate(&key, "alice", &alice.next_otp()),
        "accept"
    );
    wrong(&server, "alice");
    wrong(&server, "alice");
    let bob_serial = tokens_of(&db, "bob")[0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = db.admin(&["token", "reset", &bob_serial], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.authenticate(&key, "bob", &bob.next_otp()), "accept");
    // The portal session has ended meanwhile: signed in again.
    let mut visitor = Visitor::new(&server.url);
    root.sign_in_with_answers(&mut visitor);

    let page = visitor.get("/admin");
    assert_eq!(page.status, 200, "{}", page.body);
    let now = server.now() as i64;
    let want = counted(&audit_rows(&db), now);
    for (id, hours) in &want {
        assert_eq!(&bars(&page, id), hours, "the chart {id}");
    }
    assert!(want["accepted"].values().sum::<i64>() >= 5);
    assert_eq!(want["lockouts"].values().sum::<i64>(), 1);
    assert!(want["refused"].values().sum::<i64>() >= 12);
    assert!(page.body.contains("id=\"chart-refused\""));

    // A token issued now expires in a week: on the list once it is within
    // a day of expiring, and the charts have moved on with the clock.
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let page = visitor.get("/admin");
    assert!(!page.body.contains(&format!("id=\"expiring-{serial}\"")));
    server.clock().advance(6 * 24 * 3600 + 12 * 3600);
    let mut visitor = Visitor::new(&server.url);
    root.sign_in_with_answers(&mut visitor);
    let page = visitor.get("/admin");
    assert!(
        page.body.contains(&format!("id=\"expiring-{serial}\"")),
        "{}",
        page.body
    );
    let want = counted(&audit_rows(&db), server.now() as i64);
    for (id, hours) in &want {
        assert_eq!(&bars(&page, id), hours, "the chart {id}, a week on");
    }
}

/// The tokens of `user`, as `token list` shows them.
fn tokens_of(db: &Database, user: &str) -> Vec<serde_json::Value> {
    db.admin_json(&["token", "list"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["user"] == user)
        .cloned()
        .collect()
}

/// Appends `count` audit rows with `actor` and `action` straight through
/// the store, many at a time.
fn append_rows(db: &Database, actor: &str, action: &str, count: usize) {
    use latchkey_core::AuditLog;
    let runtime = tokio_runtime();
    runtime.block_on(async {
        let store = latchkey_store::Database::connect(&db.url).await.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // As many at a time as the backend takes without queueing for
        // its pool: the SQLite writer commits what is queued together.
        let at_once = if db.postgres { 8 } else { 500 };
        let mut tasks = Vec::with_capacity(at_once);
        for i in 0..count {
            let store = store.clone();
            let event = latchkey_core::AuditEvent {
                at: now,
                actor: actor.to_owned(),
                action: action.to_owned(),
                subject: format!("row-{i}"),
                source: "198.51.100.7".into(),
                outcome: "success".into(),
                detail: String::new(),
            };
            tasks.push(tokio::spawn(async move { store.append(event).await }));
            if tasks.len() == at_once || i + 1 == count {
                for task in tasks.drain(..) {
                    task.await.unwrap().unwrap();
                }
            }
        }
        store.close().await;
    });
}

fn the_audit_export_holds_exactly_0_1_and_10000_filtered_rows(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    append_rows(&db, "filler", "test.bulk", 10_000);
    append_rows(&db, "lonely", "test.one", 1);

    for (query, want) in [
        ("action=test.none", 0usize),
        ("action=test.one", 1),
        ("action=test.bulk", 10_000),
        ("actor=filler&action=test.bulk&source=198.51.100.7", 10_000),
        ("actor=lonely&action=test.bulk", 0),
    ] {
        let csv = visitor.get(&format!("/admin/audit/export.csv?{query}"));
        assert_eq!(csv.status, 200, "{query}");
        let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), want + 1, "{query}: the header and {want} rows");
        let ids: std::collections::BTreeSet<&str> = lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(ids.len(), want, "{query}: no row twice");
        let jsonl = visitor.get(&format!("/admin/audit/export.jsonl?{query}"));
        assert_eq!(jsonl.status, 200);
        let rows: Vec<serde_json::Value> = jsonl
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), want, "{query}");
        let action = query
            .split("action=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(rows.iter().all(|r| r["action"] == action), "{query}");
        // The page shows the newest hundred and a link to the older ones.
        let page = visitor.get(&format!("/admin/audit?{query}"));
        assert_eq!(
            page.body.matches("<tr data-id=").count(),
            want.min(100),
            "{query}"
        );
    }
    let exports = audit_rows(&db)
        .iter()
        .filter(|r| r["action"] == "audit.export" && r["actor"] == "root")
        .count();
    assert_eq!(exports, 10, "every export is audited");
}

/// The new console pages in headless Chromium at 1280 and 390 CSS pixels,
/// saved under `target/tmp/portal-screenshots/admin-console-pages/`: an
/// admin creates an API key in the browser (shown once; the list and a
/// second visit do not show it) and the key works on `/api/v1/…`; a dry
/// run of an import; none of the pages scrolls sideways.
#[test]
fn the_new_console_pages_in_a_browser_at_desktop_and_phone_widths() {
    use common::browser::Browser;
    let db = Database::new(false);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let (mut root, _visit) = signed_in(&db, &server, "root", "admin");
    let out = db.admin(
        &["radius-client", "add", "vpn", "--address", "192.0.2.0/24"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.admin(
        &[
            "oidc-client",
            "add",
            "wiki",
            "--redirect-uri",
            "https://wiki.example.org/callback",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut browser = Browser::start("admin-console-pages");
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "root");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &root.next_otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/account"), "/account");

    browser.resize(1280, 900);
    browser.goto(&format!("{}/admin/api-keys", server.url));
    browser.type_into("#name", "intranet");
    browser.click("form[action='/admin/api-keys'] button[type=submit]");
    assert!(
        shows(&browser, "made", "API key intranet created"),
        "{}",
        browser.text("body")
    );
    let key = browser.text("#secret");
    assert!(key.starts_with("lk_"), "{key}");
    browser.screenshot("api-key-shown-once-1280");
    browser.resize(390, 900);
    assert!(!browser.scrolls_sideways(), "the key's page at 390 px");
    browser.screenshot("api-key-shown-once-390");
    browser.goto(&format!("{}/admin/api-keys", server.url));
    assert!(
        !browser.source().contains(&key),
        "the list does not show it"
    );
    browser.goto(&format!("{}/admin", server.url));
    browser.goto(&format!("{}/admin/api-keys", server.url));
    assert!(!browser.source().contains(&key), "nor does a later visit");
    assert_eq!(
        server.authenticate(&key, "alice", &alice.next_otp()),
        "accept"
    );

    let lines = [
        serde_json::json!({"username": "imp-one", "otpauth_uri": totp_uri(1)}).to_string(),
        serde_json::json!({"username": "alice", "otpauth_uri": totp_uri(2)}).to_string(),
    ]
    .join("\n");
    for (width, label) in [(1280, "1280"), (390, "390")] {
        browser.resize(width, 900);
        for (path, name) in [
            ("/admin", "dashboard"),
            ("/admin/api-keys", "api-keys"),
            ("/admin/radius", "radius"),
            ("/admin/oidc", "oidc"),
            ("/admin/questions", "questions"),
            ("/admin/directory", "directory"),
            ("/admin/import", "import"),
        ] {
            browser.goto(&format!("{}{path}", server.url));
            assert!(!browser.scrolls_sideways(), "{path} at {width} px");
            browser.screenshot(&format!("{name}-{label}"));
        }
        browser.type_into("#lines", &lines);
        browser.click("form[action='/admin/import'] button[type=submit]");
        assert!(
            shows(&browser, "import-outcome", "Nothing was changed"),
            "{}",
            browser.text("body")
        );
        assert!(!browser.scrolls_sideways(), "the dry run at {width} px");
        browser.screenshot(&format!("import-dry-run-{label}"));
    }
    assert!(
        !db.admin(&["user", "show", "imp-one"], "").status.success(),
        "a dry run"
    );
}

/// Whether the page that a click led to shows `text` in the element `id`.
fn shows(browser: &common::browser::Browser, id: &str, text: &str) -> bool {
    browser.wait_until(
        &format!(
            "const e = document.getElementById('{id}'); \
             return document.readyState === 'complete' && !!e && e.textContent.includes('{text}');"
        ),
        10,
    )
}
