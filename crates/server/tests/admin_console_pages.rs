//! The admin console's integration pages (API keys, RADIUS and OIDC
//! clients, the question pool, the directory, the import, the unassigned
//! tokens), over HTTP on an in-process node and both backends: a secret is
//! shown once and works, destructive actions ask for a fresh OTP, and an
//! auditor reads every page and changes nothing. The import is tested in
//! `admin_console_import.rs`, the dashboard and the audit export in
//! `admin_console_dashboard.rs`.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::console::*;
use common::web::Account;
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
    an_auditor_sees_every_new_page_and_every_new_form_is_refused,
);

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

/// One plain-text HOTP token for the stock, as csv2pskc reads it.
const STOCK_CSV: &str = "serial,secret,algorithm,response_length,counter\n\
FT-0001,3132333435363738393031323334353637383930,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0\n";

/// Every new console page.
const NEW_PAGES: [&str; 7] = [
    "/admin/tokens?unassigned=yes",
    "/admin/api-keys",
    "/admin/radius",
    "/admin/oidc",
    "/admin/questions",
    "/admin/directory",
    "/admin/import",
];

/// Every new console form, with its fields.
fn new_forms(lines: &str, pskc: &str) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    vec![
        (
            "/admin/tokens/assign",
            vec![("serial", "FT-0001".into()), ("user", "audrey".into())],
        ),
        (
            "/admin/import/pskc",
            vec![("pskc", pskc.to_owned()), ("dry_run", "yes".into())],
        ),
        ("/admin/import/pskc", vec![("pskc", pskc.to_owned())]),
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
    csv2pskc(db.dir.path(), "stock", STOCK_CSV, &[]);
    let file = db.dir.path().join("stock.pskcxml");
    let out = db.admin(&["import", "--format", "pskc", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let more = csv2pskc(db.dir.path(), "more", &STOCK_CSV.replace("FT-", "XX-"), &[]);
    let (mut audrey, mut visitor) = signed_in(&db, &server, "audrey", "auditor");
    let (_helen, mut helen) = signed_in(&db, &server, "helen", "helpdesk");
    assert!(
        visitor
            .get("/admin/tokens?unassigned=yes")
            .body
            .contains("<td>FT-0001</td>"),
        "the auditor sees the stock"
    );

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
            stock(db),
        )
    };
    let before = state(&db);
    let rows_before = audit_rows(&db).len();
    for (path, fields) in new_forms(&lines, &more) {
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
