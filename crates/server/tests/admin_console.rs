//! The admin console (`/admin`) over HTTP, on an in-process node and both
//! backends: an admin finds a user and acts on her token, a fresh OTP
//! stands before destructive actions, an auditor reads and changes
//! nothing, everyone else is kept out, and the audit log's filters,
//! paging and exports return exactly the matching rows.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::console::*;
use common::web::{Account, Page, Visitor};
use common::*;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    an_admin_finds_a_user_by_part_of_her_email_and_suspends_and_resumes_her_token,
    destructive_actions_ask_for_a_fresh_otp_and_a_wrong_one_changes_nothing,
    an_auditor_sees_every_page_and_every_post_is_refused,
    others_are_kept_out_and_a_form_without_its_csrf_token_is_refused,
    audit_filters_return_exactly_the_matching_rows_and_the_exports_equal_them,
    audit_pages_follow_each_other_without_duplicates_or_gaps,
    an_unlock_code_from_the_console_opens_the_real_soft_token_and_its_lock_shows,
    an_admin_ends_one_session_of_a_user_or_all_of_them,
);

fn an_admin_finds_a_user_by_part_of_her_email_and_suspends_and_resumes_her_token(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    Account::new(&db, "alice");
    Account::new(&db, "bob");
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");

    let front = visitor.get("/account");
    assert!(
        front.body.contains("href=\"/admin\""),
        "the header links to the console"
    );
    let dashboard = visitor.get("/admin");
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(dashboard.body.contains("Tokens by state"));

    let found = visitor.get("/admin/users?q=CE%40Exam");
    assert_eq!(found.status, 200);
    assert!(
        found.body.contains("href=\"/admin/users/alice\""),
        "{}",
        found.body
    );
    assert!(!found.body.contains("href=\"/admin/users/bob\""));
    assert!(!found.body.contains("href=\"/admin/users/root\""));

    let serial = the_token_of(&db, &mut visitor, "alice");
    let suspended = visitor.post(&format!("/admin/tokens/{serial}/suspend"), &[]);
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(token_state(&db, &serial), "suspended");
    let tokens = visitor.get("/admin/tokens?state=suspended");
    assert_eq!(serials_on(&tokens), std::slice::from_ref(&serial));
    assert!(tokens.body.contains(">Resume</button>"));
    let resumed = visitor.post(&format!("/admin/tokens/{serial}/resume"), &[]);
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(token_state(&db, &serial), "active");

    let rows = audit_rows(&db);
    let acts: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r["subject"] == serial.as_str())
        .filter(|r| r["action"] == "token.suspend" || r["action"] == "token.resume")
        .map(|r| {
            (
                r["actor"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        acts,
        [
            ("root", "token.suspend", "success"),
            ("root", "token.resume", "success")
        ],
        "audited with the admin as the actor"
    );
}

fn destructive_actions_ask_for_a_fresh_otp_and_a_wrong_one_changes_nothing(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    Account::new(&db, "carol");
    let (mut root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let serial = the_token_of(&db, &mut visitor, "carol");
    let revoke = format!("/admin/tokens/{serial}/revoke");

    let prompt = visitor.post(&revoke, &[]);
    assert_eq!(prompt.status, 200, "{}", prompt.body);
    assert!(prompt.body.contains("Confirm with a one-time password"));
    assert!(prompt.body.contains(&format!("action=\"{revoke}\"")));
    assert_eq!(
        token_state(&db, &serial),
        "active",
        "the prompt changes nothing"
    );

    let wrong = visitor.post(&revoke, &[("otp", "000000")]);
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.alert().is_some());
    assert_eq!(
        token_state(&db, &serial),
        "active",
        "a wrong OTP changes nothing"
    );

    let otp = root.next_otp();
    let revoked = visitor.post(&revoke, &[("otp", &otp)]);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(token_state(&db, &serial), "revoked");

    // Remembered for a few minutes: disabling carol asks nothing more.
    let disabled = visitor.post("/admin/users/carol/disable", &[]);
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert!(!disabled.body.contains("Confirm with a one-time password"));
    assert_eq!(user_status(&db, "carol"), "disabled");

    // Past the window the console asks again; the same code cannot be
    // used twice.
    server.clock().advance(6 * 60);
    let enabled = visitor.post("/admin/users/carol/enable", &[]);
    assert_eq!(enabled.status, 200, "enabling is not destructive");
    let again = visitor.post("/admin/users/carol/disable", &[]);
    assert!(again.body.contains("Confirm with a one-time password"));
    let replayed = visitor.post("/admin/users/carol/disable", &[("otp", &otp)]);
    assert_eq!(replayed.status, 401, "a used code is refused");
    assert_eq!(user_status(&db, "carol"), "active");
    let confirmations: Vec<(String, String)> = audit_rows(&db)
        .iter()
        .filter(|r| r["action"] == "console.confirm")
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let root = |outcome: &str| ("root".to_owned(), outcome.to_owned());
    assert_eq!(
        confirmations,
        [root("failure"), root("success"), root("failure")]
    );
}

/// Every console page an auditor reads, for a user and token that exist.
fn console_pages(serial: &str) -> Vec<String> {
    vec![
        "/admin".into(),
        "/admin/users?q=dan".into(),
        "/admin/users/dan".into(),
        format!("/admin/tokens?serial={serial}"),
        "/admin/audit?user=dan".into(),
        "/admin/audit/export.csv?user=dan".into(),
        "/admin/audit/export.jsonl?user=dan".into(),
        "/admin/audit/verify".into(),
    ]
}

/// Every console action, with its fields.
fn console_actions(serial: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let user = |action: &str| format!("/admin/users/dan/{action}");
    let token = |action: &str| format!("/admin/tokens/{serial}/{action}");
    vec![
        (user("disable"), vec![]),
        (user("enable"), vec![]),
        (user("end-sessions"), vec![]),
        (user("end-session"), vec![("session", "00")]),
        (user("reset-failures"), vec![]),
        (user("remove-answers"), vec![]),
        (user("role"), vec![("role", "admin")]),
        (token("suspend"), vec![]),
        (token("resume"), vec![]),
        (token("revoke"), vec![]),
        (token("reset"), vec![]),
        (token("unlock"), vec![("reset_code", "1234567890123456")]),
        (
            token("resync"),
            vec![("otp1", "755224"), ("otp2", "287082")],
        ),
        (
            "/admin/tokens/assign".to_owned(),
            vec![("serial", "FT-0001"), ("user", "dan")],
        ),
    ]
}

fn an_auditor_sees_every_page_and_every_post_is_refused(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_dan, _dans_visit) = signed_in(&db, &server, "dan", "user");
    let (mut audrey, mut visitor) = signed_in(&db, &server, "audrey", "auditor");
    let serial = the_token_of(&db, &mut visitor, "dan");
    assert!(visitor.get("/account").body.contains("href=\"/admin\""));

    for path in console_pages(&serial) {
        let page = visitor.get(&path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            !page.body.contains("method=\"post\" action=\"/admin"),
            "{path} shows an auditor no action"
        );
    }
    let rows_before = audit_rows(&db).len();
    for (path, fields) in console_actions(&serial) {
        let mut fields = fields.clone();
        let otp = audrey.next_otp();
        fields.push(("otp", &otp));
        let refused = visitor.post(&path, &fields);
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
    }
    assert_eq!(token_state(&db, &serial), "active");
    assert_eq!(user_status(&db, "dan"), "active");
    let dan = db.admin_json(&["user", "show", "dan"]);
    assert_eq!(dan["role"], "user");
    assert_eq!(
        audit_rows(&db).len(),
        rows_before,
        "a refused form writes nothing, not even an OTP check"
    );
}

fn others_are_kept_out_and_a_form_without_its_csrf_token_is_refused(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_erin, mut erin) = signed_in(&db, &server, "erin", "user");
    let (_helen, mut helen) = signed_in(&db, &server, "helen", "helpdesk");
    let (_root, mut root) = signed_in(&db, &server, "root", "admin");
    let serial = the_token_of(&db, &mut root, "erin");
    // The header links to the console only for those it lets in.
    assert!(!helen.get("/helpdesk").body.contains("href=\"/admin\""));
    assert!(!erin.get("/account").body.contains("href=\"/admin\""));
    assert!(root.get("/account").body.contains("href=\"/admin\""));

    for path in console_pages(&serial) {
        let page = erin.get(&path.replace("dan", "erin"));
        assert_eq!(page.status, 404, "{path} is not there for a plain user");
        assert!(!page.body.contains("erin@example.org"));
        let page = helen.get(&path.replace("dan", "erin"));
        assert_eq!(page.status, 403, "{path} is refused to the help desk");
        assert!(!page.body.contains("erin@example.org"));
    }
    for (path, fields) in console_actions(&serial) {
        let path = path.replace("dan", "erin");
        assert_eq!(erin.post(&path, &fields).status, 404, "{path}");
        assert_eq!(helen.post(&path, &fields).status, 403, "{path}");
    }
    let mut stranger = Visitor::new(&server.url);
    let page = stranger.get("/admin/users/erin");
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/login"));

    let forged = root.post_raw(&format!("/admin/tokens/{serial}/suspend"), &[], None);
    assert_eq!(forged.status, 403, "no CSRF token");
    let forged = root.post_raw(
        &format!("/admin/tokens/{serial}/suspend"),
        &[("csrf", "0000")],
        None,
    );
    assert_eq!(forged.status, 403, "a wrong CSRF token");
    assert_eq!(token_state(&db, &serial), "active");
}

/// The ids of a CSV export's rows, checking its header and that each line
/// holds the row's actor, action and subject.
fn csv_ids(csv: &str, rows: &[serde_json::Value]) -> Vec<i64> {
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,time_utc,at,actor,action,subject,source,outcome,detail")
    );
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let id: i64 = cells[0].parse().unwrap();
            let row = rows.iter().find(|r| r["id"] == id).expect("a real row");
            assert_eq!(cells[3], row["actor"].as_str().unwrap());
            assert_eq!(cells[4], row["action"].as_str().unwrap());
            assert_eq!(cells[5], row["subject"].as_str().unwrap());
            id
        })
        .collect()
}

fn json_lines_ids(text: &str) -> Vec<i64> {
    text.lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

fn audit_filters_return_exactly_the_matching_rows_and_the_exports_equal_them(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    Account::new(&db, "fay");
    Account::new(&db, "gus");
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let fay = the_token_of(&db, &mut visitor, "fay");
    let gus = the_token_of(&db, &mut visitor, "gus");
    for serial in [&fay, &gus, &fay] {
        visitor.post(&format!("/admin/tokens/{serial}/suspend"), &[]);
        visitor.post(&format!("/admin/tokens/{serial}/resume"), &[]);
    }
    visitor.post("/admin/users/gus/end-sessions", &[]);
    let rows = audit_rows(&db);
    let newest_first = |keep: &dyn Fn(&serde_json::Value) -> bool| {
        let mut ids: Vec<i64> = rows
            .iter()
            .filter(|r| keep(r))
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        ids.reverse();
        ids
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (
            format!("serial={fay}&action=token.suspend"),
            newest_first(&|r| r["subject"] == fay.as_str() && r["action"] == "token.suspend"),
        ),
        (
            "actor=root&action=token.resume".into(),
            newest_first(&|r| r["actor"] == "root" && r["action"] == "token.resume"),
        ),
        (
            "user=GUS".into(),
            newest_first(&|r| r["subject"] == "gus" || r["subject"] == gus.as_str()),
        ),
        (
            "outcome=success&action=session.end-all".into(),
            newest_first(&|r| r["action"] == "session.end-all"),
        ),
        ("actor=nobody".into(), Vec::new()),
    ];
    for (query, expected) in &cases {
        let page = visitor.get(&format!("/admin/audit?{query}"));
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        assert_eq!(&row_ids_on(&page), expected, "{query}");
        let csv = visitor.get(&format!("/admin/audit/export.csv?{query}"));
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert_eq!(&csv_ids(&csv.body, &rows), expected, "CSV of {query}");
        let lines = visitor.get(&format!("/admin/audit/export.jsonl?{query}"));
        assert_eq!(
            &json_lines_ids(&lines.body),
            expected,
            "JSON lines of {query}"
        );
    }
    assert!(!cases[0].1.is_empty() && !cases[1].1.is_empty() && !cases[2].1.is_empty());

    // Each export is on record, with its filter.
    let rows = audit_rows(&db);
    let exports: Vec<&str> = rows
        .iter()
        .filter(|r| r["action"] == "audit.export")
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert_eq!(exports.len(), 2 * cases.len());
    assert_eq!(
        exports[1],
        format!(
            "jsonl rows={} filter=serial={fay}&action=token.suspend",
            cases[0].1.len()
        )
    );
    let newest_first = |keep: &dyn Fn(&serde_json::Value) -> bool| {
        let mut ids: Vec<i64> = rows
            .iter()
            .filter(|r| keep(r))
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        ids.reverse();
        ids
    };

    // A time range: from the first suspension on.
    let first = rows
        .iter()
        .find(|r| r["action"] == "token.suspend")
        .unwrap();
    let at = first["at"].as_i64().unwrap();
    let from = utc_text(at);
    let page = visitor.get(&format!(
        "/admin/audit?from={}&actor=root",
        from.replace(' ', "+")
    ));
    assert_eq!(
        row_ids_on(&page),
        newest_first(&|r| r["actor"] == "root" && r["at"].as_i64().unwrap() >= at)
    );

    // Hostile text in every field finds nothing and comes back escaped.
    let hostile = "%27%22%25_%3Cscript%3Ex%3C%2Fscript%3E";
    let page = visitor.get(&format!(
        "/admin/audit?actor={hostile}&user={hostile}&serial={hostile}&action={hostile}&outcome={hostile}&source={hostile}"
    ));
    assert_eq!(page.status, 200);
    assert!(row_ids_on(&page).is_empty());
    assert!(!page.body.contains("<script>"));
    let page = visitor.get("/admin/audit?from=yesterday");
    assert_eq!(page.status, 200);
    assert!(page.alert().unwrap().contains("UTC date"));
    assert!(row_ids_on(&page).is_empty());

    let verified = visitor.get("/admin/audit/verify");
    assert!(
        verified.body.contains("The audit log is intact"),
        "{}",
        verified.body
    );
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of Unix seconds, as the filter reads it.
fn utc_text(at: i64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%d %H:%M:%S"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn audit_pages_follow_each_other_without_duplicates_or_gaps(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    Account::new(&db, "ivy");
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let serial = the_token_of(&db, &mut visitor, "ivy");
    // 210 suspensions and resumptions: more than two pages of 100.
    for _ in 0..105 {
        visitor.post(&format!("/admin/tokens/{serial}/suspend"), &[]);
        visitor.post(&format!("/admin/tokens/{serial}/resume"), &[]);
    }
    let mut expected: Vec<i64> = audit_rows(&db)
        .iter()
        .filter(|r| r["subject"] == serial.as_str())
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    expected.reverse();
    assert!(expected.len() > 200, "three pages");

    let mut seen = Vec::new();
    let mut path = Some(format!("/admin/audit?serial={serial}"));
    let mut pages = 0;
    while let Some(next) = path {
        let page = visitor.get(&next);
        assert_eq!(page.status, 200, "{next}");
        let ids = row_ids_on(&page);
        assert!(ids.len() <= 100);
        seen.extend(ids);
        path = next_link(&page);
        pages += 1;
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len(),
        seen.len(),
        "no row twice"
    );
    assert_eq!(seen, expected, "every row, newest first, none left out");
}

fn an_unlock_code_from_the_console_opens_the_real_soft_token_and_its_lock_shows(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    db.add_user("una");
    let issued = db.admin_json(&["token", "issue", "una"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let soft = SoftToken::following(&server);
    soft.activate(&server, &issued);
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");

    let page = visitor.get("/admin/users/una");
    assert!(page.body.contains("not reported"), "{}", page.body);
    soft.lock_with_wrong_pins();
    let reset_code = soft.reset_code();
    let page = visitor.post(
        &format!("/admin/tokens/{serial}/unlock"),
        &[("reset_code", &reset_code)],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let unlock = text_of(&page, "unlock-code").expect("an unlock code");

    let page = visitor.get("/admin/users/una");
    assert!(
        page.body.contains("locked: unlock code issued"),
        "the PIN lock shows as far as the server knows: {}",
        page.body
    );
    let out = soft.run(&["unlock"], &[&unlock, PIN, PIN]);
    assert!(
        out.status.success(),
        "the soft token takes it: {}",
        stderr(&out)
    );
    let mut una = Visitor::new(&server.url);
    let signed = una.sign_in("una", PASSWORD, &soft.otp());
    assert_eq!(signed.status, 303, "{}", signed.body);
    let page = visitor.get("/admin/users/una");
    assert!(
        !page.body.contains("locked: unlock code issued") && page.body.contains("was used"),
        "a code accepted since shows the unlock code used: {}",
        page.body
    );
    let issued = audit_rows(&db)
        .into_iter()
        .filter(|r| r["action"] == "unlock.issue" && r["subject"] == serial.as_str())
        .map(|r| (r["actor"].clone(), r["outcome"].clone()))
        .collect::<Vec<_>>();
    assert_eq!(issued, [("root".into(), "success".into())]);
}

/// The console's pages in headless Chromium at 1280 and 390 CSS pixels,
/// saved under `target/tmp/portal-screenshots/admin-console/`: none
/// scrolls sideways (wide tables scroll inside their card), and the
/// suspend button and the fresh-OTP prompt work without script.
#[test]
fn the_console_in_a_browser_at_desktop_and_phone_widths() {
    use common::browser::Browser;
    let db = Database::new(false);
    let server = db.spawn_app();
    Account::new(&db, "alice");
    let (mut root, _visit) = signed_in(&db, &server, "root", "admin");
    let mut browser = Browser::start("admin-console");
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "root");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &root.next_otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/account"), "/account");
    browser.click("header a[href='/admin']");
    assert_eq!(browser.wait_for_path("/admin"), "/admin");

    for (width, label) in [(1280, "1280"), (390, "390")] {
        browser.resize(width, 900);
        for (path, name) in [
            ("/admin".to_owned(), "dashboard"),
            ("/admin/users?q=example".to_owned(), "users"),
            ("/admin/users/alice".to_owned(), "user"),
            ("/admin/tokens".to_owned(), "tokens"),
            ("/admin/audit?actor=cli".to_owned(), "audit"),
        ] {
            browser.goto(&format!("{}{path}", server.url));
            assert!(!browser.scrolls_sideways(), "{path} at {width} px");
            browser.screenshot(&format!("{name}-{label}"));
        }
    }
    browser.resize(1280, 900);
    browser.goto(&format!("{}/admin/users/alice", server.url));
    browser.click("form[action$='/suspend'] button[type=submit]");
    assert!(
        shows(&browser, "done", "suspended"),
        "{}",
        browser.text("body")
    );
    browser.screenshot("token-suspended");
    browser.goto(&format!("{}/admin/users/alice", server.url));
    browser.click("form[action$='/revoke'] button[type=submit]");
    assert!(
        shows(&browser, "confirm", "Confirm with a one-time password"),
        "{}",
        browser.text("body")
    );
    browser.screenshot("fresh-otp-before-revoke");
    browser.type_into("#otp", &root.next_otp());
    browser.click("form[action$='/revoke'] button[type=submit]");
    assert!(
        shows(&browser, "done", "revoked"),
        "{}",
        browser.text("body")
    );
}

/// The `value`s of the hidden `session` fields on a page.
fn session_references(page: &Page) -> Vec<String> {
    let marker = "name=\"session\" value=\"";
    page.body
        .match_indices(marker)
        .map(|(at, _)| {
            let rest = &page.body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

fn an_admin_ends_one_session_of_a_user_or_all_of_them(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (mut kim, mut first) = signed_in(&db, &server, "kim", "user");
    // The second session begins a second later: sessions list newest first.
    server.clock().advance(1);
    let mut second = Visitor::new(&server.url);
    let otp = kim.next_otp();
    assert_eq!(second.sign_in("kim", PASSWORD, &otp).status, 303);
    let (_root, mut root) = signed_in(&db, &server, "root", "admin");

    let page = root.get("/admin/users/kim");
    let references = session_references(&page);
    assert_eq!(references.len(), 2, "two sessions: {}", page.body);
    // The newest first: the second visitor's.
    let ended = root.post(
        "/admin/users/kim/end-session",
        &[("session", &references[0])],
    );
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert!(ended.body.contains("has ended"));
    assert_eq!(second.get("/account").status, 303, "signed out");
    assert_eq!(first.get("/account").status, 200, "still signed in");
    let again = root.post(
        "/admin/users/kim/end-session",
        &[("session", &references[0])],
    );
    assert!(again.body.contains("had ended already"));
    let not_hers = root.post(
        "/admin/users/root/end-session",
        &[("session", &references[1])],
    );
    assert!(
        not_hers.body.contains("had ended already"),
        "only kim's own session ends by kim's name"
    );
    assert_eq!(first.get("/account").status, 200);

    let all = root.post("/admin/users/kim/end-sessions", &[]);
    assert!(
        all.body.contains("1 sessions of kim have ended"),
        "{}",
        all.body
    );
    assert_eq!(first.get("/account").status, 303);
    let actions: Vec<String> = audit_rows(&db)
        .iter()
        .filter(|r| r["actor"] == "root" && r["subject"] == "kim")
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["session.end", "session.end-all"]);
}
