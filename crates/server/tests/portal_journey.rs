//! The journey the portal exists for, in headless Chromium against a real
//! `latchkey serve`, with the real `latchkey-token`: the token locks after
//! five wrong PINs and shows its PIN Reset Code; the user signs in with the
//! password, follows "My token is locked, lost, or I forgot its PIN", answers the security
//! questions, chooses "My soft token is locked", types the reset code, gets
//! the unlock code, opens the token with it, sets a new PIN and signs in
//! with the token again. Each step is saved as a screenshot under
//! target/tmp/portal-screenshots/locked-token/.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::process::Output;

use common::browser::Browser;
use common::*;

const NEW_PIN: &str = "731950";

/// Answers by question, for the questions the first five `<select>`s show.
fn answer_for(question: &str) -> String {
    // One answer per question, derived from its text so the test need not
    // know the pool: the first letters of each word, then " answer".
    let initials: String = question
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect();
    format!("{initials} answer")
}

fn exit_code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn sign_in(browser: &Browser, server: &Server) {
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/login/otp"),
        "/login/otp",
        "{}",
        browser.text("body")
    );
}

#[test]
fn a_user_unlocks_a_locked_soft_token_without_the_help_desk() {
    let db = Database::new(false);
    let out = db.admin(
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.org",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "user add: {}", stderr(&out));
    // In-process, on a clock the test moves: no waiting for the next step.
    let server = db.spawn_app();
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let token = SoftToken::following(&server);
    token.activate(&server, &issued);

    let mut browser = Browser::start("locked-token");

    // The first full sign-in sends a user without answers to choose them.
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    browser.screenshot("sign-in");
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &token.otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/self-service/questions"),
        "/self-service/questions",
        "{}",
        browser.text("body")
    );
    let mut answers: HashMap<String, String> = HashMap::new();
    for i in 1..=5 {
        let question = browser.text(&format!("#question_{i} option:checked"));
        assert!(!question.is_empty(), "question {i} shows a choice");
        let answer = answer_for(&question);
        browser.type_into(&format!("#answer_{i}"), &answer);
        answers.insert(question, answer);
    }
    assert_eq!(answers.len(), 5, "five different questions are preselected");
    browser.screenshot("choose-security-questions");
    browser.click("form[action='/self-service/questions'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/account"),
        "/account",
        "{}",
        browser.text("body")
    );
    assert!(browser.text("h1").contains("Welcome, alice"));
    browser.click("header button[type=submit]");
    assert_eq!(browser.wait_for_path("/login"), "/login");

    // Five wrong PINs lock the soft token; it shows its PIN Reset Code.
    token.lock_with_wrong_pins();
    let out = token.code(PIN);
    assert_eq!(exit_code(&out), 4, "the right PIN is refused while locked");
    let shown = reset_code_in(&stderr(&out)).expect("a locked token shows its PIN Reset Code");
    let reset_code = token.reset_code();
    assert_eq!(reset_code, shown);

    // Password, then "My token is locked, lost, or I forgot its PIN", then the questions.
    sign_in(&browser, &server);
    browser.screenshot("second-factor");
    // Named in the words the locked token itself uses.
    assert_eq!(
        browser.text("#misplaced"),
        "My token is locked, lost, or I forgot its PIN"
    );
    browser.click("#misplaced");
    assert_eq!(
        browser.wait_for_path("/login/questions"),
        "/login/questions"
    );
    let labels = browser.find_all("form[action='/login/questions'] label");
    assert_eq!(labels.len(), 2, "a challenge asks two questions");
    for (index, label) in labels.iter().enumerate() {
        let question = browser.element_text(label);
        let answer = answers
            .get(&question)
            .unwrap_or_else(|| panic!("{question:?} is one of the chosen questions"));
        // Answers match whatever the case and spacing.
        let typed = format!("  {}", answer.to_uppercase());
        browser.type_into(&format!("#answer_{}", index + 1), &typed);
    }
    browser.screenshot("security-questions");
    browser.click("form[action='/login/questions'] button[type=submit]");
    // The answers lead straight to the unlock form of the only soft token.
    assert_eq!(
        browser.wait_for_path("/self-service/unlock"),
        "/self-service/unlock",
        "{}",
        browser.text("body")
    );
    browser.screenshot("recovery-actions");

    // The recovery session reaches the recovery actions only (S28).
    browser.goto(&format!("{}/account", server.url));
    assert!(
        browser.text("h1").contains("needs a full sign-in"),
        "{}",
        browser.text("body")
    );
    browser.goto(&format!("{}/self-service", server.url));

    // "My soft token is locked": the user's only soft token is chosen
    // already, so the reset code is all there is to type.
    browser.click("#action-unlock");
    assert_eq!(
        browser.wait_for_path("/self-service/unlock"),
        "/self-service/unlock"
    );
    browser.type_into("#reset_code", &reset_code);
    browser.screenshot("reset-code");
    browser.click("form[action='/self-service/unlock'] button[type=submit]");
    let unlock_code = browser.text("#unlock-code");
    assert!(
        unlock_code.chars().filter(char::is_ascii_digit).count() >= 12,
        "an unlock code is shown: {:?}\n{}",
        unlock_code,
        browser.text("body")
    );
    assert!(browser.text("body").contains("latchkey-token unlock"));
    browser.screenshot("unlock-code");
    // Usable at phone width: nothing runs off the side.
    browser.resize(390, 844);
    assert!(!browser.scrolls_sideways(), "the unlock page fits a phone");
    // The code on one line: its check digit is not left alone on a second.
    let lines = browser.execute(
        "const range = document.createRange();
         range.selectNodeContents(document.getElementById('unlock-code'));
         return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;",
        serde_json::json!([]),
    );
    assert_eq!(
        lines,
        serde_json::json!(1),
        "the unlock code wraps at 390 px"
    );
    browser.screenshot("unlock-code-phone");
    browser.goto(&format!("{}/self-service", server.url));
    assert!(
        !browser.scrolls_sideways(),
        "the self-service page fits a phone"
    );
    browser.resize(1000, 900);

    // The soft token takes the unlock code and a new PIN.
    let out = token.run(&["unlock"], &[&unlock_code, NEW_PIN, NEW_PIN]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));
    browser.click("header button[type=submit]");
    assert_eq!(browser.wait_for_path("/login"), "/login");

    // And signs the user in again, in the next step (the first OTP's is
    // spent): the node's clock and the token's move on together.
    server.clock().advance(30);
    let out = token.code(NEW_PIN);
    assert!(
        out.status.success(),
        "code with the new PIN: {}",
        stderr(&out)
    );
    let otp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    sign_in(&browser, &server);
    browser.type_into("#otp", &otp);
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/account"),
        "/account",
        "{}",
        browser.text("body")
    );
    assert!(browser.text("h1").contains("Welcome, alice"));
    browser.screenshot("signed-in-again");

    // Every step is in the audit log, and the chain holds.
    let audit = db.admin(&["audit", "list", "--json"], "");
    let audit = String::from_utf8_lossy(&audit.stdout);
    for action in [
        "portal.recovery",
        "questions.verify",
        "unlock.issue",
        "portal.sign-in",
    ] {
        assert!(audit.contains(action), "the audit log records {action}");
    }
    let out = db.admin(&["audit", "verify"], "");
    assert!(out.status.success(), "audit verify: {}", stderr(&out));
    // The user hears of the unlock code by mail.
    assert!(
        server
            .mail()
            .wait_until(std::time::Duration::from_secs(10), |mail| {
                mail.to == "alice@example.org"
                    && format!("{}\n{}", mail.subject, mail.body).contains("unlock code")
            }),
        "a mail tells alice an unlock code was issued: {:?}",
        server.mail().sent()
    );
}
