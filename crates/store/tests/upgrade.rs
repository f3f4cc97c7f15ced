//! A database made before this build — by the schema of the commit before
//! versioned migrations, kept in `tests/fixtures/before-versions/` — opens,
//! is brought to the newest version, and keeps every row: users, tokens
//! whose sealed seeds still open with the master key, the API key, the
//! security questions and an audit chain that still verifies. On both
//! backends. How the fixtures were made is in their folder's README.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use latchkey_core::audit::verify_chain;
use latchkey_core::console::{AuditSearch, ConsoleStore};
use latchkey_core::{
    ApiKeyStore, AuditLog, PortalStore, SecretCipher, TokenKind, TokenState, TokenStore, UserStore,
};
use latchkey_store::{Database, MasterKeyCipher};
use latchkey_testkit::postgres::fresh_database;

/// The master key the fixtures were made with (`LATCHKEY_MASTER_KEY`).
const MASTER_KEY: [u8; 32] = [0x42; 32];

/// RFC 4226's test seed, imported as bob's HOTP token.
const RFC_SEED: &[u8] = b"12345678901234567890";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/before-versions")
}

/// What the fixture holds, read back through the store's ports.
async fn assert_fixture_intact(store: &Database) {
    let cipher = MasterKeyCipher::new(&MASTER_KEY);

    let alice = store
        .user_by_name(&"alice".parse().unwrap())
        .await
        .unwrap()
        .expect("alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    assert!(alice.password_hash.is_some(), "alice's password hash kept");

    let bob = store
        .user_by_name(&"bob".parse().unwrap())
        .await
        .unwrap()
        .expect("bob");
    let tokens = store.tokens_of_user(bob.id).await.unwrap();
    assert_eq!(tokens.len(), 1);
    let hotp = &tokens[0];
    assert_eq!(hotp.kind, TokenKind::Hotp);
    assert_eq!(hotp.state, TokenState::Active);
    let seed = cipher
        .open(&format!("token:{}:seed", hotp.serial), &hotp.sealed_seed)
        .expect("the sealed seed opens with the master key and its row's identity");
    assert_eq!(&seed[..], RFC_SEED);
    assert_eq!(hotp.last_used, 0, "the counter bob's accepted code moved");

    let soft = store.tokens_of_user(alice.id).await.unwrap();
    assert_eq!(soft.len(), 1);
    assert_eq!(soft[0].kind, TokenKind::Latchkey);
    assert_eq!(soft[0].state, TokenState::New);
    assert!(
        soft[0].activation_hash.is_some(),
        "the activation code waits"
    );

    assert!(!hotp.locked);

    // Flags keep their value both ways (PostgreSQL's became BOOLEAN).
    let mut keys: Vec<(String, bool)> = store
        .list_api_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.name, k.revoked))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [("relying-app".into(), false), ("retired-app".into(), true)]
    );

    let questions = store.questions().await.unwrap();
    assert_eq!(questions.len(), 11, "ten built in and one added");
    assert!(
        questions
            .iter()
            .any(|q| q.text == "What was your first phone number?")
    );
    let retired: Vec<&str> = questions
        .iter()
        .filter(|q| !q.active)
        .map(|q| q.text.as_str())
        .collect();
    assert_eq!(retired, ["What was the first concert you went to?"]);

    let rows = store.audit_rows(0, i64::MAX).await.unwrap();
    assert_eq!(rows.len(), 9, "the fixture's audit rows are kept");
    assert_eq!(
        verify_chain(&rows),
        Ok(rows.len() as u64),
        "the chain still verifies"
    );
    // Each subject's rows are found by the console's filter, as the
    // upgrade left them (SQLite copies them into audit_subjects, 0015).
    for subject in rows.iter().map(|row| row.event.subject.clone()) {
        let expected: Vec<i64> = rows
            .iter()
            .rev()
            .filter(|row| row.event.subject == subject)
            .map(|row| row.id)
            .collect();
        let by_serial = AuditSearch {
            serial: subject.clone(),
            ..Default::default()
        };
        let found: Vec<i64> = store
            .search_audit(&by_serial, i64::MAX, 100)
            .await
            .unwrap()
            .iter()
            .map(|row| row.id)
            .collect();
        assert_eq!(found, expected, "{subject:?}'s rows");
    }
}

#[tokio::test]
async fn a_sqlite_database_from_before_versions_upgrades_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.db");
    std::fs::copy(fixtures().join("latchkey.db"), &file).unwrap();
    let url = format!("sqlite://{}", file.display());

    let store = Database::connect(&url).await.expect("opens and upgrades");
    assert_fixture_intact(&store).await;
    store.close().await;

    let recorded = sqlite_versions(&file);
    assert_eq!(
        recorded,
        newest_versions("sqlite"),
        "every migration recorded once"
    );
    // A second start finds nothing to do and changes nothing.
    let store = Database::connect(&url).await.expect("opens again");
    assert_fixture_intact(&store).await;
    store.close().await;
    assert_eq!(sqlite_versions(&file), recorded);
}

#[tokio::test]
async fn a_postgres_database_from_before_versions_upgrades_with_its_data() {
    let url = fresh_database().await;
    let dump = std::fs::read_to_string(fixtures().join("postgres.sql")).unwrap();
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(&dump)
            .execute(&mut conn)
            .await
            .expect("the dump loads");
    }

    let store = Database::connect(&url).await.expect("opens and upgrades");
    assert_fixture_intact(&store).await;
    store.close().await;

    let flags: Vec<(String, String)> = {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_as(
            "SELECT table_name::text || '.' || column_name::text, data_type::text \
             FROM information_schema.columns \
             WHERE table_schema = 'public' \
               AND column_name IN ('locked', 'revoked', 'active', 'asked', 'used') \
             ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    };
    // The flags the old schema had, and every later one, are booleans.
    for old in [
        "api_keys.revoked",
        "password_resets.used",
        "security_answers.asked",
        "security_questions.active",
        "tokens.locked",
    ] {
        assert!(
            flags.iter().any(|(name, _)| name == old),
            "{old}: {flags:?}"
        );
    }
    assert!(flags.iter().all(|(_, kind)| kind == "boolean"), "{flags:?}");

    let recorded = postgres_versions(&url).await;
    assert_eq!(
        recorded,
        newest_versions("postgres"),
        "every migration recorded once"
    );
    let store = Database::connect(&url).await.expect("opens again");
    assert_fixture_intact(&store).await;
    store.close().await;
    assert_eq!(postgres_versions(&url).await, recorded);
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    Database::connect(&url).await.unwrap().close().await;
    let newest = *newest_versions("sqlite").last().unwrap();
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
             VALUES (?1, 'from_the_future', x'00', 0)",
            [newest + 1],
        )
        .unwrap();
    let refused = Database::connect(&url).await.expect_err("refused");
    let chain = error_chain(&refused);
    assert!(
        chain.contains(&format!("schema is at version {}", newest + 1)),
        "the reason reaches the operator: {chain}"
    );
}

#[tokio::test]
async fn an_edited_migration_is_refused_on_postgres() {
    let url = fresh_database().await;
    Database::connect(&url).await.unwrap().close().await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE schema_migrations SET checksum = '\\x00' WHERE version = 1")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let refused = Database::connect(&url).await.expect_err("refused");
    let chain = error_chain(&refused);
    assert!(chain.contains("0001_initial differs"), "{chain}");
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The versions this build has: 1 to the newest file's number.
/// Every version of `backend`'s migrations.
fn newest_versions(backend: &str) -> Vec<i64> {
    let count = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend),
    )
    .unwrap()
    .count() as i64;
    (1..=count).collect()
}

fn sqlite_versions(file: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut statement = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

async fn postgres_versions(url: &str) -> Vec<i64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}
