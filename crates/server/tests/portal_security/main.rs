//! The portal's security requirements (SECURITY.md S22, S27–S39, S41), one
//! test per requirement, against a real `latchkey serve` over HTTP.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

use common::web::{Account, Page, Visitor};
use common::*;

/// A quoted-printable mail body made plain again (soft breaks, `=3D`).
fn unfold(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

fn reset_link(mail: &str) -> String {
    let text = unfold(mail);
    let start = text.find("/password/reset/").expect("a reset link");
    let end = text[start..]
        .find(|c: char| c.is_whitespace())
        .map(|e| start + e)
        .unwrap_or(text.len());
    text[start..end].to_owned()
}

/// The SQLite database as it is on disk: the file and its write-ahead log.
fn database_bytes(db: &Database) -> Vec<u8> {
    let mut bytes = std::fs::read(db.dir.path().join("latchkey.db")).unwrap();
    bytes.extend(std::fs::read(db.dir.path().join("latchkey.db-wal")).unwrap_or_default());
    bytes
}

fn audit_actions(db: &Database) -> String {
    String::from_utf8_lossy(
        &db.admin(&["audit", "list", "--json", "--limit", "10000"], "")
            .stdout,
    )
    .into_owned()
}

fn recovery_session(server: &Server, account: &mut Account) -> Visitor {
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    let mut recovering = Visitor::new(&server.url);
    let page = recovering.post(
        "/login",
        &[("username", &account.name), ("password", PASSWORD)],
    );
    assert_eq!(page.status, 303);
    let answers = challenge_answers(&mut recovering);
    let borrowed: Vec<(&str, &str)> = answers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let page = recovering.post("/login/questions", &borrowed);
    assert_eq!(page.status, 303, "questions: {}", page.body);
    // A user with one soft token lands on its unlock form, others on the
    // recovery actions.
    assert!(
        matches!(
            page.location(),
            Some("/self-service/unlock") | Some("/self-service")
        ),
        "{:?}",
        page.location()
    );
    recovering
}

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

fn questions_asked(page: &Page) -> Vec<String> {
    page.body
        .match_indices("<label for=\"answer_")
        .filter_map(|(i, _)| {
            let rest = &page.body[i..];
            let open = rest.find('>')? + 1;
            let close = rest[open..].find('<')?;
            Some(rest[open..open + close].to_owned())
        })
        .collect()
}

mod recovery;
mod reset_links;
mod sessions;
