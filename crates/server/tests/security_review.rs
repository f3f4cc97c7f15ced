//! The attacks of the black-box review (SECURITY-REVIEW.md), each replayed
//! against a real `latchkey serve` over HTTP: one test per finding, named
//! after it, carrying its SECURITY.md number (S44–…).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{Account, Visitor};
use common::*;

/// The right answers to the challenge on `/login/questions` (the accounts
/// answer question N with "answer N").
fn challenge_answers(visitor: &mut Visitor) -> Vec<(String, String)> {
    let page = visitor.get("/login/questions");
    assert_eq!(page.status, 200, "{}", page.body);
    let pool = [
        "What was the name of your first pet?",
        "In which town or city did your parents meet?",
        "What was the first name of your childhood best friend?",
        "What was the make of your first car or bicycle?",
        "What is the name of the street you grew up on?",
    ];
    let mut asked: Vec<usize> = pool
        .iter()
        .enumerate()
        .filter(|(_, q)| page.body.contains(*q))
        .map(|(i, _)| i + 1)
        .collect();
    asked.sort_by_key(|n| page.body.find(pool[n - 1]));
    assert_eq!(asked.len(), 2, "two questions are asked");
    asked
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("answer_{}", i + 1), format!("answer {n}")))
        .collect()
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Plays the clock: the account's waits are over (its counts stay).
fn end_the_waits(db: &Database, name: &str) {
    execute_sql(
        &db.url,
        &format!(
            "UPDATE users SET password_blocked_until = 0, answer_blocked_until = 0 \
             WHERE username = '{name}'"
        ),
    );
}

const WRONG_ANSWERS: &[(&str, &str)] = &[("answer_1", "wrong"), ("answer_2", "wrong")];

/// S44 (H1): the review's loop — the password on `/login`, five free wrong
/// answers, then the right password with a wrong OTP on
/// `/api/v1/authenticate` to reset the count — no longer resets it: the
/// next wrong answer makes the account wait, and during the wait even the
/// right answers are refused.
#[test]
fn h1_password_alone_never_clears_the_failure_count() {
    for postgres in [false, true] {
        let db = Database::new(postgres);
        let server = db.serve();
        let key = db.api_key("app", "authenticate");
        let mut account = Account::new(&db, "alice");
        account.sign_in_with_answers(&mut Visitor::new(&server.url));

        let mut attacker = Visitor::new(&server.url);
        let page = attacker.post("/login", &[("username", "alice"), ("password", PASSWORD)]);
        assert_eq!(page.status, 303);
        let right = challenge_answers(&mut attacker);
        for _ in 0..5 {
            let page = attacker.post("/login/questions", WRONG_ANSWERS);
            assert_eq!(page.status, 401, "a wrong answer is refused");
        }
        let body = serde_json::json!({ "username": "alice", "password": PASSWORD, "otp": "0" });
        let answer = server.post("/api/v1/authenticate", Some(&key), &body.to_string());
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["result"], "reject");
        let failures = query_i64(
            &db.url,
            "SELECT password_failures FROM users WHERE username = 'alice'",
        );
        assert_eq!(failures, 5, "the password alone cleared nothing");

        // The sixth wrong answer is past the free ones: the account waits a
        // second; the seventh, after it, makes it wait two.
        let page = attacker.post("/login/questions", WRONG_ANSWERS);
        assert_eq!(page.status, 401);
        let waits_until = query_i64(
            &db.url,
            "SELECT answer_blocked_until FROM users WHERE username = 'alice'",
        );
        assert!(waits_until > 0, "answers wait after the sixth wrong one");
        end_the_waits(&db, "alice");
        let page = attacker.post("/login/questions", WRONG_ANSWERS);
        assert_eq!(page.status, 401);
        let page = attacker.post("/login/questions", &borrowed(&right));
        assert_eq!(
            page.status, 401,
            "during the wait even the right answers are refused"
        );
        let counts = query_i64(
            &db.url,
            "SELECT password_failures * 100 + answer_failures FROM users WHERE username = 'alice'",
        );
        assert_eq!(
            counts, 707,
            "each wrong answer counted on the account and on the answers' own count"
        );

        // A complete sign-in (password and an accepted OTP) clears both.
        end_the_waits(&db, "alice");
        let otp = account.next_otp();
        assert_eq!(server.authenticate(&key, "alice", &otp), "accept");
        let cleared = query_i64(
            &db.url,
            "SELECT password_failures + answer_failures FROM users WHERE username = 'alice'",
        );
        assert_eq!(cleared, 0);
    }
}
