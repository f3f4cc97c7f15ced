//! The engine's own tests: batches, savepoints, failures, the key cache.

use super::engine::commit_batch;
use super::open::migrate;
use super::rows::USER_COLUMN_COUNT;
use super::*;
use crate::queries::COUNT_UNLOCK_ISSUES;
use latchkey_core::audit::row_hash;
use latchkey_core::{AuditAction, Outcome};
use rusqlite::params;

fn schema() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    migrate(&conn).unwrap();
    conn
}

fn event(subject: &str) -> AuditEvent {
    AuditEvent {
        at: 1,
        actor: "cli".into(),
        action: AuditAction::UserAdd,
        subject: subject.into(),
        source: "cli".into(),
        outcome: Outcome::Success,
        detail: String::new(),
    }
}

fn add_user(name: &'static str) -> impl FnOnce(&Batch<'_>) -> rusqlite::Result<()> + Send {
    move |tx| {
        tx.execute(
            "INSERT INTO users (username, role, status, created_at) VALUES (?1, 'user', 'active', 1)",
            [name],
        )?;
        append_in(tx, &event(name))
    }
}

fn users(conn: &Connection) -> Vec<String> {
    let mut statement = conn
        .prepare("SELECT username FROM users ORDER BY username")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn audit_chain(conn: &Connection) -> Vec<(i64, String)> {
    let mut statement = conn
        .prepare("SELECT id, subject FROM audit ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// One batch, answered at once (the durability thread is not part of
/// these tests).
fn commit(conn: &Connection, mut batch: Vec<Box<dyn Pending>>) {
    commit_batch(conn, &KeyCache::default(), &mut batch)
        .into_iter()
        .for_each(|op| op.answer(None));
}

fn answer<T>(mut answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
    answer.try_recv().expect("answered by the end of the batch")
}

#[test]
fn a_failing_change_rolls_back_alone_and_keeps_its_own_error() {
    let conn = schema();
    let (a, a_answer) = Op::boxed(add_user("a"));
    // Audits first, then fails: its audit row must go too, and the
    // chain must not skip the id it had taken.
    let (dup, dup_answer) = Op::boxed(|tx: &Batch<'_>| {
        append_in(tx, &event("a-again"))?;
        add_user("a")(tx)
    });
    let (boom, boom_answer) =
        Op::boxed(|_: &Batch<'_>| -> rusqlite::Result<()> { panic!("a bug in one change") });
    let (b, b_answer) = Op::boxed(add_user("b"));
    commit(&conn, vec![a, dup, boom, b]);
    assert!(conn.is_autocommit(), "the transaction is over");
    assert!(answer(a_answer).is_ok());
    assert!(matches!(answer(dup_answer), Err(StoreError::Conflict(_))));
    assert!(matches!(answer(boom_answer), Err(StoreError::Backend(_))));
    assert!(answer(b_answer).is_ok());
    assert_eq!(users(&conn), ["a", "b"]);
    assert_eq!(audit_chain(&conn), [(1, "a".into()), (2, "b".into())]);
}

#[test]
fn an_unguarded_change_that_fails_takes_its_whole_batch_with_it() {
    let conn = schema();
    let (a, a_answer) = Op::boxed(add_user("a"));
    // Audits, then fails part-way: without a savepoint of its own,
    // nothing but the whole transaction can undo the audit row.
    let (broken, broken_answer) = Op::boxed_with(
        |tx: &Batch<'_>| {
            append_in(tx, &event("half-done"))?;
            add_user("a")(tx)
        },
        false,
    );
    let (b, b_answer) = Op::boxed(add_user("b"));
    let (fine, fine_answer) = Op::boxed_with(add_user("c"), false);
    commit(&conn, vec![a, broken, b, fine]);
    assert!(matches!(answer(a_answer), Err(StoreError::Backend(_))));
    assert!(matches!(
        answer(broken_answer),
        Err(StoreError::Conflict(_))
    ));
    assert!(
        answer(b_answer).is_ok(),
        "the rest runs in a new transaction"
    );
    assert!(answer(fine_answer).is_ok());
    assert_eq!(users(&conn), ["b", "c"]);
    assert_eq!(audit_chain(&conn), [(1, "b".into()), (2, "c".into())]);
}

#[test]
fn when_the_transaction_fails_no_change_in_it_reports_success() {
    let conn = schema();
    let (a, a_answer) = Op::boxed(add_user("a"));
    // Ends the transaction under the writer's feet, as an I/O error
    // would make SQLite do: "a" is no longer going to be committed.
    let (breaker, breaker_answer) = Op::boxed(|tx: &Batch<'_>| tx.execute_batch("ROLLBACK"));
    let (b, b_answer) = Op::boxed(add_user("b"));
    commit(&conn, vec![a, breaker, b]);
    assert!(matches!(answer(a_answer), Err(StoreError::Backend(_))));
    assert!(matches!(
        answer(breaker_answer),
        Err(StoreError::Backend(_))
    ));
    assert!(
        answer(b_answer).is_ok(),
        "the rest runs in a new transaction"
    );
    assert_eq!(users(&conn), ["b"]);
    assert_eq!(audit_chain(&conn), [(1, "b".into())]);
}

#[test]
fn the_chain_goes_on_from_rows_another_process_appended() {
    let conn = schema();
    let (a, a_answer) = Op::boxed(add_user("a"));
    commit(&conn, vec![a]);
    assert!(answer(a_answer).is_ok());
    // Another process (the admin CLI, another node) appends between
    // two batches, the way the SQL store does.
    let (id, prev): (i64, Vec<u8>) = conn
        .query_row(
            "UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id, last_hash",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let outside = event("outside");
    let hash = row_hash(id, &outside, &prev);
    conn.execute(
        "INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash) \
         VALUES (?1, 1, 'cli', 'user.add', 'outside', 'cli', 'success', '', ?2, ?3)",
        params![id, prev, hash],
    )
    .unwrap();
    conn.execute("UPDATE audit_head SET last_hash = ?1 WHERE id = 1", [&hash])
        .unwrap();
    let (b, b_answer) = Op::boxed(add_user("b"));
    commit(&conn, vec![b]);
    assert!(answer(b_answer).is_ok());
    let keys = KeyCache::default();
    let tx = Batch::new(&conn, &keys);
    let rows = query_all(
        &tx,
        "SELECT id, at, actor, action, subject, source, outcome, detail, prev_hash, hash FROM audit ORDER BY id",
        [],
        |row| {
            Ok(AuditRow {
                id: get(row, 0)?,
                event: AuditEvent {
                    at: get(row, 1)?,
                    actor: get(row, 2)?,
                    action: parse(get(row, 3)?, "audit action")?,
                    subject: get(row, 4)?,
                    source: get(row, 5)?,
                    outcome: parse(get(row, 6)?, "audit outcome")?,
                    detail: get(row, 7)?,
                },
                prev_hash: get(row, 8)?,
                hash: get(row, 9)?,
            })
        },
    )
    .unwrap();
    assert_eq!(latchkey_core::audit::verify_chain(&rows), Ok(3));
    let head: (i64, Vec<u8>) = conn
        .query_row("SELECT last_id, last_hash FROM audit_head", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(head, (3, rows[2].hash.clone()));
}

#[test]
fn the_writer_is_wal_and_leaves_the_fsync_to_the_durability_thread() {
    let dir = tempfile::tempdir().unwrap();
    let location = Location {
        path: dir.path().join("latchkey.db"),
        create: true,
    };
    let conn = open_writer(&location).unwrap();
    let pragma = |name: &str| -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| {
            row.get::<_, rusqlite::types::Value>(0)
        })
        .map(|value| match value {
            rusqlite::types::Value::Integer(n) => n.to_string(),
            rusqlite::types::Value::Text(text) => text,
            other => format!("{other:?}"),
        })
        .unwrap()
    };
    assert_eq!(pragma("journal_mode"), "wal");
    assert_eq!(
        pragma("synchronous"),
        "1",
        "NORMAL: the durability thread fsyncs each commit before answering"
    );
    assert_eq!(pragma("foreign_keys"), "1");
    assert_eq!(pragma("busy_timeout"), "10000");
    assert_eq!(pragma("wal_autocheckpoint"), "10000");
    assert!(
        open_writer(&Location {
            path: dir.path().join("absent.db"),
            create: false,
        })
        .is_err(),
        "without mode=rwc a missing file is an error, not a new database"
    );
}

#[test]
fn only_issued_unlock_codes_are_indexed_and_their_count_uses_the_index() {
    let conn = schema();
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The partial ones take no OTP check's row; the console's filter
    // indexes (0013) take every row: three B-tree inserts per audit row,
    // each at its value's newest end, in the same batch and fsync as
    // before. The subject's went into audit_subjects (0015), filled in
    // bulk by the writer.
    assert_eq!(
        indexes,
        [
            "audit_unlock_issues",
            "audit_refresh_failures",
            "audit_refresh_successes",
            "audit_actor",
            "audit_action",
            "audit_source"
        ],
        "the audit table's indexes are these and no more"
    );
    let plan: Vec<String> = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            COUNT_UNLOCK_ISSUES.sqlite()
        ))
        .unwrap()
        .query_map(params!["0000000018", 0], |row| row.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter()
            .any(|step| step.contains("INDEX audit_unlock_issues")),
        "{plan:?}"
    );
}

#[test]
fn the_joined_token_columns_start_where_the_user_columns_end() {
    assert_eq!(user_columns!().split(", ").count(), USER_COLUMN_COUNT);
    assert_eq!(
        user_columns!("users.").split(", ").collect::<Vec<_>>(),
        user_columns!()
            .split(", ")
            .map(|column| format!("users.{column}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn urls_name_a_file_and_whether_to_create_it() {
    assert_eq!(
        parse_url("sqlite:///tmp/a%20b/latchkey.db?mode=rwc").unwrap(),
        Location {
            path: "/tmp/a b/latchkey.db".into(),
            create: true
        }
    );
    assert_eq!(
        parse_url("sqlite:data.db").unwrap(),
        Location {
            path: "data.db".into(),
            create: false
        }
    );
    for bad in [
        "sqlite::memory:",
        "sqlite://",
        "sqlite://x.db?mode=ro",
        "sqlite://x.db?journal_mode=DELETE",
        "sqlite://x%zz.db",
        "postgres://x",
    ] {
        assert!(parse_url(bad).is_err(), "{bad}");
    }
}
