//! One rule, on both backends, for which database errors a caller can act
//! on: a unique or primary-key violation is a [`StoreError::Conflict`] (the
//! name, serial or key is taken); everything else is unexpected and keeps
//! its cause as [`StoreError::Backend`].

use latchkey_core::StoreError;
use rusqlite::ErrorCode;

/// An SQLite error as the domain sees it.
pub(crate) fn from_sqlite(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, message) = &error
        && code.code == ErrorCode::ConstraintViolation
        && matches!(
            code.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Conflict(message.clone().unwrap_or_else(|| error.to_string()));
    }
    StoreError::Backend(Box::new(error))
}

/// A PostgreSQL error as the domain sees it (SQLSTATE 23505 covers primary
/// keys too).
pub(crate) fn from_postgres(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        return StoreError::Conflict(db.message().to_owned());
    }
    StoreError::Backend(Box::new(error))
}

/// A stored value that does not decode: the row was written by something
/// else, or damaged.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored {what} is not valid").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict_or_backend(error: StoreError) -> &'static str {
        match error {
            StoreError::Conflict(_) => "conflict",
            _ => "backend",
        }
    }

    #[test]
    fn only_unique_and_primary_key_violations_are_conflicts_on_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                             p INTEGER REFERENCES p(id));
             PRAGMA foreign_keys = ON;
             INSERT INTO t (id, name) VALUES (1, 'a');",
        )
        .unwrap();
        let run = |sql: &str| from_sqlite(conn.execute(sql, []).unwrap_err());
        assert_eq!(
            conflict_or_backend(run("INSERT INTO t (id, name) VALUES (2, 'a')")),
            "conflict"
        );
        assert_eq!(
            conflict_or_backend(run("INSERT INTO t (id, name) VALUES (1, 'b')")),
            "conflict"
        );
        assert_eq!(
            conflict_or_backend(run("INSERT INTO t (id) VALUES (3)")),
            "backend"
        );
        assert_eq!(
            conflict_or_backend(run("INSERT INTO t (id, name, p) VALUES (4, 'c', 9)")),
            "backend"
        );
        assert_eq!(
            conflict_or_backend(run("INSERT INTO nowhere VALUES (1)")),
            "backend"
        );
    }
}
