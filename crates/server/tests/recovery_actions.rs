//! Recovery in four browser actions (issue 18), in headless Chromium
//! against the real node and the real `latchkey-token`: from the sign-in
//! page to the unlock code on screen, a locked soft token's owner clicks
//! at most four times — the password, "My token is locked, lost, or I
//! forgot its PIN", the answers, and the unlock form of their only soft
//! token — and types no code twice when they came from the token's own
//! link (`latchkey-token forgot-pin` prints it), which waits through the
//! sign-in. The unlock code page names the token, and the code opens it.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::web::Visitor;
use common::*;

const NEW_PIN: &str = "731950";

/// The question pool's texts in id order: the account answers question N
/// with "answer N".
const POOL: [&str; 5] = [
    "What was the name of your first pet?",
    "In which town or city did your parents meet?",
    "What was the first name of your childhood best friend?",
    "What was the make of your first car or bicycle?",
    "What is the name of the street you grew up on?",
];

/// A browser whose clicks that send the page on (a link, a form's button)
/// are counted: the user's actions. Typing is not an action.
struct Counted {
    browser: Browser,
    actions: usize,
}

impl Counted {
    fn act(&mut self, css: &str) {
        self.browser.click(css);
        self.actions += 1;
    }
}

/// `alice` with one active soft token, her security answers chosen at her
/// first sign-in, the token locked by five wrong PINs.
fn locked_user(db: &Database, server: &Server) -> (SoftToken, String) {
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
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let token = SoftToken::following(server);
    token.activate(server, &issued);
    let mut first = Visitor::new(&server.url);
    let page = first.sign_in("alice", PASSWORD, &token.otp());
    assert_eq!(page.location(), Some("/self-service/questions"));
    first.get("/self-service/questions");
    let fields: Vec<(String, String)> = (1..=5)
        .flat_map(|i| {
            [
                (format!("question_{i}"), i.to_string()),
                (format!("answer_{i}"), format!("answer {i}")),
            ]
        })
        .collect();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(first.post("/self-service/questions", &fields).status, 303);
    token.lock_with_wrong_pins();
    let serial = issued["serial"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    (token, serial)
}

/// From the sign-in page to the unlock form: the password, the link, the
/// answers — three actions.
fn recovery_sign_in(counted: &mut Counted) {
    let browser = &counted.browser;
    assert_eq!(browser.path(), "/login", "{}", browser.text("body"));
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    counted.act("form[action='/login'] button[type=submit]");
    assert_eq!(counted.browser.wait_for_path("/login/otp"), "/login/otp");
    counted.act("#misplaced");
    let browser = &counted.browser;
    assert_eq!(
        browser.wait_for_path("/login/questions"),
        "/login/questions"
    );
    let labels = browser.find_all("form[action='/login/questions'] label");
    assert_eq!(labels.len(), 2, "a challenge asks two questions");
    for (index, label) in labels.iter().enumerate() {
        let question = browser.element_text(label);
        let n = POOL.iter().position(|q| *q == question).unwrap() + 1;
        browser.type_into(&format!("#answer_{}", index + 1), &format!("answer {n}"));
    }
    counted.act("form[action='/login/questions'] button[type=submit]");
    assert_eq!(
        counted.browser.wait_for_path("/self-service/unlock"),
        "/self-service/unlock",
        "{}",
        counted.browser.text("body")
    );
}

/// The unlock code on screen: its digits, after checking the page names
/// the token.
fn unlock_code_on_screen(counted: &Counted, serial: &str) -> String {
    let browser = &counted.browser;
    let code = browser.text("#unlock-code");
    assert!(
        code.chars().filter(char::is_ascii_digit).count() >= 12,
        "an unlock code is shown: {code:?}\n{}",
        browser.text("body")
    );
    let page: String = browser
        .text("body")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        page.contains(serial),
        "the unlock code page names token {serial}: {}",
        browser.text("body")
    );
    code
}

/// Typing the reset code by hand: the only soft token is chosen already.
#[test]
fn a_locked_token_is_recovered_in_four_browser_actions() {
    let db = Database::new(false);
    let server = db.spawn_app();
    let (token, serial) = locked_user(&db, &server);
    let reset_code = token.reset_code();

    let mut counted = Counted {
        browser: Browser::start("recovery-actions"),
        actions: 0,
    };
    counted.browser.goto(&format!("{}/login", server.url));
    recovery_sign_in(&mut counted);
    let browser = &counted.browser;
    assert!(
        browser.try_find("select#serial").is_none(),
        "nothing to choose with one soft token"
    );
    browser.type_into("#reset_code", &reset_code);
    counted.browser.screenshot("reset-code");
    counted.act("form[action='/self-service/unlock'] button[type=submit]");
    let code = unlock_code_on_screen(&counted, &serial);
    counted.browser.screenshot("unlock-code");
    assert!(
        counted.actions <= 4,
        "{} actions from the sign-in page to the unlock code",
        counted.actions
    );
    // The code opens the token.
    let out = token.run(&["unlock"], &[&code, NEW_PIN, NEW_PIN]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));
}

/// From the token's own link, opened signed out: it waits through the
/// recovery sign-in and comes back with the reset code filled in.
#[test]
fn the_tokens_unlock_link_waits_through_the_sign_in_with_its_code_filled_in() {
    let db = Database::new(false);
    let server = db.spawn_app();
    let (token, serial) = locked_user(&db, &server);
    let out = token.run(&["forgot-pin"], &[]);
    let link = stderr(&out)
        .split_whitespace()
        .find(|word| word.contains("/self-service/unlock?"))
        .expect("forgot-pin prints the portal's unlock link")
        .to_owned();
    assert!(link.starts_with(&server.url), "{link}");

    let mut counted = Counted {
        browser: Browser::start("recovery-from-the-token"),
        actions: 0,
    };
    counted.browser.goto(&link);
    assert_eq!(
        counted.browser.wait_for_path("/login"),
        "/login",
        "signed out, the link asks for the sign-in first"
    );
    recovery_sign_in(&mut counted);
    let browser = &counted.browser;
    let field = browser.find("#reset_code");
    let filled = browser.attribute(&field, "value").unwrap_or_default();
    assert_eq!(
        filled,
        token.reset_code(),
        "the reset code from the link is filled in"
    );
    counted.browser.screenshot("reset-code-filled-in");
    counted.act("form[action='/self-service/unlock'] button[type=submit]");
    let code = unlock_code_on_screen(&counted, &serial);
    assert!(
        counted.actions <= 4,
        "{} actions from the sign-in page to the unlock code",
        counted.actions
    );
    let out = token.run(&["unlock"], &[&code, NEW_PIN, NEW_PIN]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));
}
