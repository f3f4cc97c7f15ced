//! The help desk's page in a real browser (headless Chromium through
//! chromedriver) against a real `latchkey serve` and the real
//! `latchkey-token`: finding a caller by part of a name or address, the
//! card an agent checks the caller against, the soft token's PIN lock as
//! the server knows it, the confirmations before destructive actions, the
//! caller check before an unlock code, and a token issued for a user
//! (UX-REVIEW F29–F33).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::web::{Account, Visitor};
use common::*;

const NEW_PIN: &str = "551177";

/// A user with `role`, an e-mail address and an HOTP token; its generator.
fn staff(db: &Database, name: &str, role: &str) -> latchkey_core::oath::Hotp {
    let out = db.admin(
        &[
            "user",
            "add",
            name,
            "--role",
            role,
            "--email",
            &format!("{name}@example.org"),
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let issued = db.admin_json(&["token", "issue", name, "--kind", "hotp"]);
    latchkey_core::oath::KeyUri::parse(issued["otpauth_uri"].as_str().unwrap())
        .unwrap()
        .hotp()
        .unwrap()
}

fn add_user_with_email(db: &Database, name: &str, email: &str) {
    let out = db.admin(
        &["user", "add", name, "--email", email, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The browser signs in as `name` with both factors.
fn sign_in(browser: &Browser, server: &Server, name: &str, otp: &str) {
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", name);
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", otp);
    browser.click("form[action='/login/otp'] button[type=submit]");
}

fn open_card(browser: &Browser, server: &Server, name: &str) {
    browser.goto(&format!("{}/helpdesk?username={name}", server.url));
    browser.find("#user-card");
}

#[test]
fn the_help_desk_finds_the_caller_sees_the_pin_lock_and_confirms_what_it_destroys() {
    let db = Database::new(false);
    let server = db.serve();
    let hank = staff(&db, "hank", "helpdesk");
    // The caller: answers on file, a sign-in on record, a locked soft token.
    let mut una = Account::new(&db, "una");
    una.sign_in_with_answers(&mut Visitor::new(&server.url));
    add_user_with_email(&db, "bruna", "bruna@example.org");
    add_user_with_email(&db, "carl", "carl@corp.example");
    let issued = db.admin_json(&["token", "issue", "una"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let soft = SoftToken::new();
    soft.activate(&server, &issued);
    soft.lock_with_wrong_pins();
    let reset_code = soft.reset_code();

    let mut browser = Browser::start("helpdesk");
    sign_in(&browser, &server, "hank", &hank.generate(0));
    // F33: a help-desk account without answers is offered the questions
    // and may skip them, by design.
    assert_eq!(
        browser.wait_for_path("/self-service/questions"),
        "/self-service/questions"
    );
    assert!(browser.text("#skip-questions").contains("may skip"));
    browser.click("#skip-questions-link");
    assert_eq!(browser.wait_for_path("/account"), "/account");

    // F29: part of a name, any case, lists every match.
    browser.goto(&format!("{}/helpdesk", server.url));
    browser.type_into("#q", "UN");
    browser.click("form[action='/helpdesk'] button[type=submit]");
    browser.find("#results");
    let results = browser.text("#results");
    assert!(results.contains("una@example.org"), "{results}");
    assert!(results.contains("bruna"), "{results}");
    assert!(!results.contains("carl"), "{results}");
    browser.screenshot("search");
    // And part of an e-mail address.
    browser.type_into("#q", "corp.example");
    browser.click("form[action='/helpdesk'] button[type=submit]");
    assert!(browser.wait_find("#user-carl", 10).is_some());
    assert!(browser.try_find("#user-una").is_none());
    // A search that finds nobody says so.
    browser.type_into("#q", "nobody-here");
    browser.click("form[action='/helpdesk'] button[type=submit]");
    assert!(
        browser
            .text("#form-alert")
            .contains("No user's name or e-mail")
    );

    // The card: what the agent checks the caller against.
    browser.type_into("#q", "una");
    browser.click("form[action='/helpdesk'] button[type=submit]");
    browser.click("#user-una");
    browser.find("#user-card");
    assert_eq!(browser.text("#card-email"), "una@example.org");
    let last = browser.text("#card-last-sign-in");
    assert!(last.ends_with("UTC") && last.starts_with("20"), "{last}");
    assert!(browser.text("#card-events").contains("portal.sign-in"));
    // F30: the server does not know of the PIN lock yet.
    let pin = format!("#pin-{serial}");
    assert_eq!(browser.text(&pin), "not known to be locked");
    browser.screenshot("card");

    // F31: the unlock code waits for the agent to vouch for the caller.
    browser.type_into("#reset_code", &reset_code);
    browser.click("form[action='/helpdesk/unlock'] button[type=submit]");
    let stopped = browser.execute(
        "return document.getElementById('caller_verified').validity.valueMissing;",
        serde_json::json!([]),
    );
    assert_eq!(stopped, serde_json::json!(true), "the box must be ticked");
    assert!(browser.try_find("#unlock-code").is_none());
    browser.click("#caller_verified");
    browser.click("form[action='/helpdesk/unlock'] button[type=submit]");
    let unlock = browser.text("#unlock-code");
    assert!(
        unlock.chars().filter(char::is_ascii_digit).count() == 16,
        "{unlock}: {}",
        browser.text("body")
    );

    // Now the server knows: the soft token is PIN-locked until the code
    // is used.
    open_card(&browser, &server, "una");
    let shown = browser.text(&pin);
    assert!(shown.starts_with("PIN-locked"), "{shown}");
    browser.screenshot("pin-locked");
    let out = soft.run(&["unlock"], &[&unlock, NEW_PIN, NEW_PIN]);
    assert!(out.status.success(), "{}", stderr(&out));
    let code = soft.run(&["code"], &[NEW_PIN]);
    assert!(code.status.success(), "{}", stderr(&code));
    let code = String::from_utf8(code.stdout).unwrap();
    let mut visitor = Visitor::new(&server.url);
    let page = visitor.sign_in("una", PASSWORD, code.trim());
    assert_eq!(page.status, 303, "{}", page.body);
    open_card(&browser, &server, "una");
    assert_eq!(browser.text(&pin), "not known to be locked");

    // F31: removing the answers asks first; going back changes nothing.
    assert!(browser.text("#card-answers").contains("set"));
    browser.click("#action-reset-questions");
    assert!(
        browser
            .text("#confirm-heading")
            .contains("Remove the security answers of una?")
    );
    browser.screenshot("confirm");
    browser.click("#cancel");
    browser.find("#user-card");
    assert!(browser.text("#card-answers").contains("set"));
    browser.click("#action-reset-questions");
    browser.click("#confirm");
    // The confirmation's answer is a new page: wait for it, rather than
    // read a body that may still be the old one.
    assert!(
        browser.wait_until(
            "return document.body.innerText.includes('are removed');",
            10
        ),
        "{}",
        browser.text("body")
    );
    open_card(&browser, &server, "una");
    assert!(browser.text("#card-answers").contains("none"));

    // F32: a new soft token: where its activation code went, the server
    // address, and a QR code the phone app opens with the serial filled in.
    let mails_before = outbox_mails(&db).len();
    browser.click("#action-issue-token");
    assert!(browser.text("#confirm-heading").contains("new soft token"));
    browser.click("#confirm");
    assert_eq!(browser.text("#activation-sent-to"), "una@example.org");
    assert_eq!(browser.text("#server-address"), server.url);
    let new_serial: String = browser
        .text("#issued-serial")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(new_serial.len(), 10);
    assert!(
        !browser.source().contains("activation-code"),
        "no activation code on the help desk's screen (S49)"
    );
    browser.execute(
        "document.querySelector('.qr').scrollIntoView();",
        serde_json::json!([]),
    );
    let shot = browser.screenshot("issued");
    let decoded = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&shot)
        .output()
        .expect("zbarimg runs");
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout).trim(),
        format!("{}/app/#activate?serial={new_serial}", server.url)
    );
    let mails = wait_for_mails(&db, mails_before + 1);
    assert!(
        mails
            .iter()
            .any(|mail| mail.contains("una@example.org") && mail.contains("Activation code:")),
        "the code went to the user"
    );

    let events = db.admin_json(&["audit", "list"]).to_string();
    for action in ["unlock.issue", "questions.reset", "token.issue"] {
        assert!(events.contains(action), "{action} is audited");
    }
}

/// The help desk's destructive actions, posted straight (no browser):
/// without `confirmed` they show the question and change nothing; an
/// account beyond reach is refused before the question; an unlock code
/// without the caller check is refused and not issued.
#[test]
fn destructive_actions_change_nothing_until_confirmed() {
    let db = Database::new(false);
    let server = db.serve();
    let hank = staff(&db, "hank", "helpdesk");
    staff(&db, "ada", "admin");
    let mut una = Account::new(&db, "una");
    una.sign_in_with_answers(&mut Visitor::new(&server.url));
    let tokens = |db: &Database| db.admin_json(&["token", "list"]).to_string();
    let before = tokens(&db);

    let mut desk = Visitor::new(&server.url);
    let page = desk.sign_in("hank", PASSWORD, &hank.generate(0));
    assert_eq!(page.status, 303);
    for action in ["reset-questions", "clear-lockouts", "issue-token"] {
        let page = desk.post(&format!("/helpdesk/{action}"), &[("username", "una")]);
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("id=\"confirm\""), "{action} asks first");
        assert!(page.body.contains("name=\"confirmed\" value=\"yes\""));
        // Beyond reach: refused at once, no question.
        let page = desk.post(&format!("/helpdesk/{action}"), &[("username", "ada")]);
        assert_eq!(page.status, 403, "{action}: {}", page.body);
        // No such user: the same as the action would say.
        let page = desk.post(&format!("/helpdesk/{action}"), &[("username", "nobody")]);
        assert_eq!(page.status, 404, "{action}: {}", page.body);
    }
    assert!(
        desk.get("/helpdesk?username=una")
            .body
            .contains("security answers: set"),
        "nothing removed without confirming"
    );
    assert_eq!(tokens(&db), before, "no token issued without confirming");
    let page = desk.post(
        "/helpdesk/unlock",
        &[
            ("username", "una"),
            ("serial", "1234567897"),
            ("reset_code", "123456789015"),
        ],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("Verify the caller first"));
    let events = db.admin_json(&["audit", "list"]).to_string();
    for action in ["questions.reset", "password.unthrottle", "unlock.issue"] {
        assert!(!events.contains(action), "{action} did not happen");
    }
}

/// F33, by design: help-desk, auditor and admin accounts may skip the
/// security questions at first sign-in; a plain user's page offers no skip.
#[test]
fn staff_may_skip_the_questions_and_users_are_not_offered_to() {
    let db = Database::new(false);
    let server = db.serve();
    for role in ["helpdesk", "auditor", "admin"] {
        let name = format!("s{role}");
        let hotp = staff(&db, &name, role);
        let mut visitor = Visitor::new(&server.url);
        let page = visitor.sign_in(&name, PASSWORD, &hotp.generate(0));
        assert_eq!(page.location(), Some("/self-service/questions"), "{role}");
        let page = visitor.get("/self-service/questions");
        assert!(page.body.contains("id=\"skip-questions-link\""), "{role}");
        assert_eq!(visitor.get("/account").status, 200, "{role}");
    }
    let mut una = Account::new(&db, "una");
    let mut visitor = Visitor::new(&server.url);
    let otp = una.next_otp();
    let page = visitor.sign_in("una", PASSWORD, &otp);
    assert_eq!(page.location(), Some("/self-service/questions"));
    let page = visitor.get("/self-service/questions");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("skip-questions"), "{}", page.body);
}
