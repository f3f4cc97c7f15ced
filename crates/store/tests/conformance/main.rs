//! One conformance suite for both backends: every scenario runs against a
//! fresh SQLite file (`SqliteStore`, group commit) and a fresh PostgreSQL
//! database (`PostgresStore`), both through `Database` as the server uses them
//! (never skipped: if PostgreSQL cannot be reached the suite fails).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use latchkey_core::Outcome;
use latchkey_core::oath::{
    Algorithm, Digits, Hotp, ResetCode, Secret, Serial, Totp, UnlockSecret, unlock_code,
};
use latchkey_core::*;
use latchkey_store::{Backend, Database, MasterKeyCipher};
use latchkey_testkit::TestHasher;
use latchkey_testkit::postgres::fresh_database;
use zeroize::Zeroizing;

const T0: u64 = 1_700_000_000;

struct Harness {
    latchkey: Latchkey<Database>,
    /// The same store, for what the tests read and write below the domain.
    store: Database,
    /// The operator's right, as the admin CLI gets it.
    admin: Admin,
    clock: ManualClock,
    url: String,
    /// The API key of the relying application that calls `authenticate`.
    key: String,
    _dir: Option<tempfile::TempDir>,
}

async fn harness(postgres: bool, policy: Policy) -> Harness {
    let (url, dir) = if postgres {
        (fresh_database().await, None)
    } else {
        let dir = tempfile::tempdir().unwrap();
        (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("latchkey.db").display()
            ),
            Some(dir),
        )
    };
    let store = Database::connect(&url).await.expect("connect and migrate");
    let expected = if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    assert_eq!(store.backend(), expected);
    let clock = ManualClock::at(T0);
    let (latchkey, admin) = Latchkey::with_local_operator(
        store.clone(),
        Arc::new(clock.clone()),
        Arc::new(MasterKeyCipher::new(&[42; 32])),
        Arc::new(TestHasher),
        policy,
    );
    let key = latchkey
        .create_api_key(&admin, "relying-app", ApiRole::Authenticate)
        .await
        .expect("an API key");
    Harness {
        latchkey,
        store,
        admin,
        clock,
        url,
        key: key.to_string(),
        _dir: dir,
    }
}

/// Where the test's requests come from.
const SOURCE: &str = "127.0.0.1";

/// A user with an activated Latchkey token; the token's TOTP.
async fn user_with_token(h: &Harness, name: &str) -> (Serial, Totp, Option<UnlockSecret>) {
    h.latchkey
        .add_user(
            &h.admin,
            name,
            None,
            Role::User,
            Some(Zeroizing::new("correct horse battery".into())),
        )
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, name, TokenKind::Latchkey)
        .await
        .unwrap();
    let code = issued.activation_code.unwrap();
    let grant = h
        .latchkey
        .activate(issued.serial.digits(), code.digits(), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(grant.secret.len(), 32, "S02: Latchkey seeds are 256 bits");
    let totp = Totp::new(grant.secret.clone(), Algorithm::Sha256, Digits::EIGHT, 30).unwrap();
    (issued.serial, totp, grant.unlock_secret)
}

async fn otp_ok(h: &Harness, name: &str, otp: &str) -> bool {
    h.latchkey
        .authenticate(&h.key, SOURCE, name, None, otp)
        .await
        .unwrap()
        .expect("a valid key")
        == Decision::Accept
}

async fn audit_actions(h: &Harness) -> Vec<(String, String, String)> {
    h.store
        .audit_rows(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.event.action.to_string(),
                r.event.subject,
                format!("{}:{}", r.event.outcome, r.event.detail),
            )
        })
        .collect()
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name(false).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name(true).await } )* }
    };
}

/// The `detail` of every audit row after the first `rows_before`, in order.
async fn audit_details_after(store: &impl AuditLog, rows_before: usize) -> Vec<String> {
    store
        .audit_rows(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .skip(rows_before)
        .map(|row| row.event.detail)
        .collect()
}

fn event_for(action: &str, subject: &str, detail: &str) -> AuditEvent {
    AuditEvent {
        at: T0 as i64,
        actor: "test".into(),
        action: action.parse().unwrap(),
        subject: subject.into(),
        source: "test".into(),
        outcome: Outcome::Success,
        detail: detail.into(),
    }
}

mod api_keys;
mod audit;
mod by_address;
mod checks;
mod console;
mod directory;
mod oidc;
mod portal;
mod radius;
mod reseal;
mod security;
mod tokens;
mod unlock_generations;
mod users;
