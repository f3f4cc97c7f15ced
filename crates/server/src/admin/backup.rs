//! `admin backup FILE` and `admin restore FILE`: the SQLite database copied
//! with SQLite's backup API while the server runs, and put back after the
//! copy is shown to be a Latchkey database whose sealed values open with
//! the configured master key. The master key is never in the backup; both
//! commands say where it is, since without it the seeds are lost.
//! PostgreSQL has its own tools (`pg_dump`, `pg_restore`).

use std::path::{Path, PathBuf};

use latchkey_core::DatabaseCopy;
use latchkey_core::rotation::SealedColumn;
use latchkey_store::{Database, Resealer, SqliteStore};

use super::Failure;

use crate::{App, Config, Operator};

/// `admin backup FILE`
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy (replaced once the copy is whole; mode 0600)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `admin restore FILE`
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file `latchkey admin backup` wrote
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn failure(message: impl Into<String>) -> Failure {
    Failure {
        status: 1,
        message: message.into(),
    }
}

/// Where the master key is, in words for the operator.
fn master_key_place(config: &Config) -> String {
    match &config.master_key {
        Some(_) => "in the environment variable LATCHKEY_MASTER_KEY".into(),
        None => format!("in {}", config.data_dir.join("master.key").display()),
    }
}

const POSTGRES_BACKUP: &str = "this database is PostgreSQL: back it up with pg_dump \
     (pg_dump --format=custom latchkey > latchkey.dump) and restore it with pg_restore, \
     as docs/operations.md says; keep the master key apart from the dumps";

/// Copies the database to `args.file`.
pub(super) async fn backup(
    app: &App,
    operator: &Operator,
    config: &Config,
    args: BackupArgs,
) -> Result<(), Failure> {
    let Database::Sqlite(store) = operator.database() else {
        return Err(failure(POSTGRES_BACKUP));
    };
    store.back_up_to(&args.file).await?;
    app.record_database_copy(
        &operator.admin,
        DatabaseCopy::Backup,
        &args.file.display().to_string(),
    )
    .await?;
    println!(
        "Backed up the database to {}.\n\
         The backup does not contain the master key, which is {}. \
         Without that key every token seed in the backup is lost: \
         keep a copy of the key apart from the backups.",
        args.file.display(),
        master_key_place(config)
    );
    Ok(())
}

/// Puts the backup `args.file` in place of the configured SQLite database,
/// after checking it; the database being replaced is kept beside it. Runs
/// before the database is opened, with the service stopped.
pub async fn restore(config: &Config, args: RestoreArgs) -> Result<(), Failure> {
    let url = config.database_url();
    if !url.starts_with("sqlite:") {
        return Err(failure(POSTGRES_BACKUP));
    }
    let target = SqliteStore::file_of(&url)?;
    if config.master_key.is_none() && !config.data_dir.join("master.key").exists() {
        // Opening the copy would make a new random key: say what is missing.
        return Err(failure(format!(
            "no master key: put the master key the backup was made under in {} \
             (or in LATCHKEY_MASTER_KEY) before restoring; without it the seeds are lost",
            config.data_dir.join("master.key").display()
        )));
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| failure(format!("cannot create {}: {e}", config.data_dir.display())))?;
    let staged = beside(&target, ".restoring");
    let _ = std::fs::remove_file(&staged);
    latchkey_store::copy_database(&args.file, &staged)
        .map_err(|e| failure(crate::report::error_chain(&e)))?;
    let checked = check_staged(config, &staged, &args.file).await;
    let (opened, events) = match checked {
        Ok(counts) => counts,
        Err(refusal) => {
            remove_database_files(&staged);
            return Err(refusal);
        }
    };
    // Last, right before the swap: a server started meanwhile is found too.
    if let Err(in_use) = latchkey_store::take_offline(&target) {
        remove_database_files(&staged);
        return Err(failure(format!("{in_use}. Nothing was changed.")));
    }
    let previous = if target.exists() {
        let previous = beside(&target, &format!(".before-restore-{}", unix_now()));
        for (from, to) in database_files(&target)
            .into_iter()
            .zip(database_files(&previous))
        {
            if from.exists() {
                std::fs::rename(&from, &to)
                    .map_err(|e| failure(format!("cannot move {} aside: {e}", from.display())))?;
            }
        }
        Some(previous)
    } else {
        None
    };
    // With its WAL, should a closing connection have left one behind.
    for (from, to) in database_files(&staged)
        .into_iter()
        .zip(database_files(&target))
    {
        if from.exists() {
            std::fs::rename(&from, &to).map_err(|e| {
                failure(format!(
                    "cannot put the restored database at {}: {e}",
                    to.display()
                ))
            })?;
        }
    }
    println!(
        "Restored {} into {}: {opened} sealed values open with the master key {}, \
         and the audit chain of {events} events verifies.",
        args.file.display(),
        target.display(),
        master_key_place(config)
    );
    if let Some(previous) = previous {
        println!(
            "The database it replaced is kept at {}.",
            previous.display()
        );
    }
    Ok(())
}

/// Opens the staged copy (running any newer migrations) and checks that
/// its sealed values open and its audit chain is whole, then audits the
/// restore in it: the numbers of sealed values and audit events checked.
async fn check_staged(
    config: &Config,
    staged: &Path,
    backup: &Path,
) -> Result<(u64, u64), Failure> {
    let staged_config = Config {
        database: Some(format!("sqlite://{}?mode=rw", staged.display())),
        ..config.clone()
    };
    let (app, lifecycle, operator) = crate::open_as_operator(&staged_config)
        .await
        .map_err(|e| failure(crate::report::error_chain(&e)))?;
    let result = async {
        // Every sealed column, not only the tokens': a restored node would
        // fail later on a RADIUS secret, an OIDC key or a stocked seed.
        let mut others = Vec::new();
        let mut resealer =
            Resealer::open(operator.database(), &staged_config.database_url()).await?;
        for column in SealedColumn::ALL {
            others.extend(resealer.sealed_values(column).await?);
        }
        drop(resealer);
        let sealed = app
            .check_sealed_values(&operator.admin)
            .await?
            .and(app.check_sealed_column_values(&operator.admin, &others));
        if sealed.refused > 0 {
            return Err(failure(format!(
                "refused: {} of the backup's {} sealed values do not open with the master key {} \
                 (the first: the {}). The backup was made under another master key, or altered; \
                 put that key in place and restore again. Nothing was changed.",
                sealed.refused,
                sealed.opened + sealed.refused,
                master_key_place(config),
                sealed.first_refused.as_deref().unwrap_or("unknown")
            )));
        }
        let events = app.verify_audit().await?.map_err(|broken| {
            failure(format!(
                "refused: the backup's audit chain does not verify ({broken}). Nothing was changed."
            ))
        })?;
        app.record_database_copy(
            &operator.admin,
            DatabaseCopy::Restore,
            &backup.display().to_string(),
        )
        .await?;
        Ok((sealed.opened, events))
    }
    .await;
    lifecycle.close().await;
    result
}

/// `path` with `suffix` added to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The database file and the WAL and shared-memory files SQLite keeps
/// beside it.
fn database_files(path: &Path) -> [PathBuf; 3] {
    [path.to_owned(), beside(path, "-wal"), beside(path, "-shm")]
}

fn remove_database_files(path: &Path) {
    for file in database_files(path) {
        let _ = std::fs::remove_file(file);
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
