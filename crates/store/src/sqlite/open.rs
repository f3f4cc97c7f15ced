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
    owner_only(&location.path, location.create)?;
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

/// Makes the database file readable by its owner alone (0600), creating
/// it empty first when `create` allows: SQLite gives its WAL and shared
/// memory files the database file's mode, so they follow. A file made
/// 0644 by an older release is narrowed too.
fn owner_only(path: &Path, create: bool) -> StoreResult<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| {
        StoreError::Backend(format!("cannot restrict {} to its owner: {e}", path.display()).into())
    };
    if create {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    for file in [path.to_owned(), wal_path(path), shm_path(path)] {
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            Ok(_) => {}
            // Not there (yet): SQLite makes it with the database's mode.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

/// Why a file cannot be restored as the database.
#[derive(Debug, thiserror::Error)]
pub enum NotLatchkeyDatabase {
    /// SQLite could not read it as a database.
    #[error("{0} is not an SQLite database: {1}")]
    NotSqlite(PathBuf, String),
    /// An SQLite database, but without Latchkey's tables.
    #[error(
        "{0} is an SQLite database, but not a Latchkey one (it has no migration ledger or no tokens table)"
    )]
    Foreign(PathBuf),
}

/// Copies the database `from` (a Latchkey SQLite file, checked first) to
/// `to` with SQLite's backup API: how `restore` stages a backup before
/// opening it.
pub fn copy_database(from: &Path, to: &Path) -> Result<(), CopyError> {
    let source = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| NotLatchkeyDatabase::NotSqlite(from.to_owned(), e.to_string()))?;
    let tables: i64 = source
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'tokens')",
            [],
            |row| row.get(0),
        )
        .map_err(|e| NotLatchkeyDatabase::NotSqlite(from.to_owned(), e.to_string()))?;
    if tables != 2 {
        return Err(NotLatchkeyDatabase::Foreign(from.to_owned()).into());
    }
    back_up(&source, to).map_err(CopyError::Copy)
}

/// Why [`copy_database`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The file is not a Latchkey database.
    #[error(transparent)]
    NotLatchkey(#[from] NotLatchkeyDatabase),
    /// The copy failed.
    #[error("cannot copy the database: {0}")]
    Copy(StoreError),
}

/// Copies what `source` holds, as of one instant, into the file `to`
/// (mode 0600; a file already there is replaced only once the copy is
/// whole), as a single file with no WAL beside it.
pub(super) fn back_up(source: &Connection, to: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| {
        StoreError::Backend(format!("cannot write the backup {}: {e}", to.display()).into())
    };
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    match std::fs::remove_file(&partial) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io)?;
    let copied = (|| {
        let mut target = Connection::open(&partial).map_err(fail)?;
        {
            let backup = rusqlite::backup::Backup::new(source, &mut target).map_err(fail)?;
            // Every page in one step: the copy is one read transaction, a
            // single instant of the database, however busy the writer is
            // (WAL lets it go on meanwhile).
            match backup.step(-1).map_err(fail)? {
                rusqlite::backup::StepResult::Done => {}
                other => {
                    return Err(StoreError::Backend(
                        format!("the backup did not finish in one step ({other:?})").into(),
                    ));
                }
            }
        }
        // The copy carries the source's WAL flag; a backup is one file.
        let _: String = target
            .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
            .map_err(fail)?;
        target.close().map_err(|(_, e)| fail(e))?;
        let file = std::fs::File::open(&partial).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&partial, to).map_err(io)?;
        if let Some(folder) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(folder)
                .and_then(|folder| folder.sync_all())
                .map_err(io)?;
        }
        Ok(())
    })();
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied
}

/// The database is open in another process.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0} is in use by another process (is `latchkey serve` running on it?): stop the service first"
)]
pub struct DatabaseInUse(pub PathBuf);

/// Checkpoints the database at `path` and takes it out of WAL mode, which
/// SQLite allows only while no other connection has it open: so nothing
/// is lost when the file is moved aside, and no running server has it
/// under its feet. A file that is not there is fine.
pub fn take_offline(path: &Path) -> Result<(), DatabaseInUse> {
    if !path.exists() {
        return Ok(());
    }
    let in_use = || DatabaseInUse(path.to_owned());
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|_| in_use())?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
        .map_err(|_| in_use())?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    Ok(())
}

impl super::SqliteStore {
    /// Copies the database, as of one instant and while others write, to
    /// `file`: SQLite's backup API in one step (one read transaction), into
    /// a single file of mode 0600 that replaces `file` once it is whole.
    pub async fn back_up_to(&self, file: &Path) -> StoreResult<()> {
        let file = file.to_owned();
        self.read(move |conn| back_up(conn, &file)).await
    }

    /// The file a `sqlite:` URL names.
    pub fn file_of(url: &str) -> StoreResult<PathBuf> {
        super::url::parse_url(url).map(|location| location.path)
    }
}

/// The shared-memory file SQLite keeps beside a database in WAL mode.
pub(super) fn shm_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-shm");
    PathBuf::from(name)
}

/// The WAL file SQLite keeps beside the database.
pub(super) fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::SqliteStore;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_database_its_wal_and_a_backup_are_the_owners_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.db");
        let store = SqliteStore::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&wal_path(&file)), 0o600);

        let backup = dir.path().join("backup.db");
        std::fs::write(&backup, "an older backup, replaced whole").unwrap();
        store.back_up_to(&backup).await.unwrap();
        store.close().await;
        assert_eq!(mode(&backup), 0o600);
        assert!(!wal_path(&backup).exists(), "a backup is one file");
        let copy = Connection::open(&backup).unwrap();
        let mode_of_copy: String = copy
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode_of_copy, "delete");
        let applied: i64 = copy
            .query_row("SELECT count(*) FROM schema_migrations", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(applied as usize, migrations::SQLITE.len());

        let staged = dir.path().join("staged.db");
        copy_database(&backup, &staged).unwrap();
        assert_eq!(mode(&staged), 0o600);
    }

    #[test]
    fn a_database_file_made_0644_by_an_older_release_is_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.db");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        owner_only(&file, true).unwrap();
        assert_eq!(mode(&file), 0o600);
    }

    #[test]
    fn copy_database_refuses_what_is_not_a_latchkey_database() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "words, not pages\n".repeat(300)).unwrap();
        let staged = dir.path().join("staged.db");
        assert!(matches!(
            copy_database(&text, &staged),
            Err(CopyError::NotLatchkey(NotLatchkeyDatabase::NotSqlite(..)))
        ));
        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE notes (body TEXT)")
            .unwrap();
        assert!(matches!(
            copy_database(&foreign, &staged),
            Err(CopyError::NotLatchkey(NotLatchkeyDatabase::Foreign(_)))
        ));
        assert!(!staged.exists());
    }
}
