//! Opening the file: the writer's pragmas, the readers' connections and the migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Location, fail, get, query_all};
use crate::migrations;
use latchkey_core::*;
use rusqlite::{Connection, OpenFlags, params};

/// How long a connection waits for another process's lock (the admin CLI,
/// a second node on the same file) before it gives up.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Enough for every distinct statement this module prepares, so none is
/// ever parsed twice on a connection.
pub(super) const STATEMENT_CACHE: usize = 64;

/// The writer's page cache (SQLite's `cache_size`, in KiB).
pub(super) const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// WAL pages between automatic checkpoints (~40 MB at 4 KiB pages).
pub(super) const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// What the WAL file is trimmed to once checkpointed.
pub(super) const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

pub(super) fn open_writer(location: &Location) -> StoreResult<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if location.create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(&location.path, flags).map_err(fail)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(
            format!("SQLite refused WAL mode (it kept {mode:?})").into(),
        ));
    }
    // NORMAL: COMMIT writes the WAL without waiting for the disk; the
    // durability thread fsyncs it before any caller hears of the commit
    // (see `durable`), which is what FULL would do, minus the writer's wait.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(fail)?;
    // The writer's cache survives between its own transactions; every
    // accepted OTP touches a token row and an audit index leaf, spread over
    // the file, so a bigger cache saves re-reading them.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
        .map_err(fail)?;
    // A checkpoint copies each page once however often the WAL holds it;
    // checkpointing every ~40 MB instead of every ~4 MB copies the hot pages
    // (token rows, index leaves, the audit head) far less often, and fsyncs
    // the main file less. Measured: ~30% more accepted OTPs per second.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(fail)?;
    // After a checkpoint lets the WAL restart, trim the file back to this.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)
        .map_err(fail)?;
    migrate(&conn)?;
    Ok(conn)
}

pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Every write must go through the writer, or it would escape group
    // commit and the audit chain's ordering; make a slip fail loudly.
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// Brings the schema up to date (see [`crate::migrations`]).
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    // IMMEDIATE: two processes starting on one file take turns.
    conn.execute_batch("BEGIN IMMEDIATE").map_err(fail)?;
    let applied = apply_migrations(conn).and_then(|()| conn.execute_batch("COMMIT").map_err(fail));
    if applied.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    applied
}

fn apply_migrations(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(&migrations::ledger_table("BLOB"))
        .map_err(fail)?;
    let applied = query_all(conn, migrations::APPLIED, [], |row| {
        Ok((get(row, 0)?, get(row, 1)?))
    })?;
    let pending = migrations::pending(migrations::SQLITE, &applied)
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    for migration in pending {
        conn.execute_batch(migration.sql).map_err(fail)?;
        conn.execute(
            migrations::RECORD,
            params![
                migration.version,
                migration.file,
                migration.checksum(),
                migrations::unix_now()
            ],
        )
        .map_err(fail)?;
        tracing::info!(
            version = migration.version,
            file = migration.file,
            "applied a schema migration"
        );
    }
    Ok(())
}

/// The WAL file SQLite keeps beside the database.
pub(super) fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}
