//! Versioned schema migrations, the same rules on both backends.
//!
//! Each backend has numbered files, `migrations/{sqlite,postgres}/NNNN_name.sql`,
//! listed below in order. A database records every file applied to it in
//! `schema_migrations` (version, name, SHA-256 of the file, when). At start-up
//! the backend takes its lock (`BEGIN IMMEDIATE`, `pg_advisory_xact_lock`),
//! reads that table, and applies the missing files in order inside the same
//! transaction, so a node that starts beside another waits for it and then
//! finds nothing left to do, and a failed file leaves the database as it was.
//!
//! An applied file is never edited: its checksum is checked at every start,
//! and a database that has a version this build does not know (made by a
//! newer release) is refused rather than run on a schema the code cannot
//! read.
//!
//! `0001_initial` is the schema as it stood before versions were recorded,
//! written with `IF NOT EXISTS` throughout, so a database made then is
//! adopted by it unchanged and recorded at version 1.

use sha2::{Digest, Sha256};

/// One numbered schema change.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Its number, from 1, without gaps.
    pub version: i64,
    /// Its file's name without `.sql`, e.g. `0001_initial`.
    pub file: &'static str,
    /// The statements.
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the file, recorded when it is applied.
    pub fn checksum(&self) -> Vec<u8> {
        Sha256::digest(self.sql.as_bytes()).to_vec()
    }
}

macro_rules! migrations {
    ($backend:literal: $($version:literal $file:literal),+ $(,)?) => {
        &[$(Migration {
            version: $version,
            file: $file,
            sql: include_str!(concat!("../migrations/", $backend, "/", $file, ".sql")),
        }),+]
    };
}

/// SQLite's migrations, in order.
pub(crate) const SQLITE: &[Migration] = migrations!("sqlite":
    1 "0001_initial", 2 "0002_booleans", 3 "0003_answer_failures", 4 "0004_refresh_failures",
    5 "0005_radius", 6 "0006_console_confirmations", 7 "0007_directory", 8 "0008_oidc",
    9 "0009_unlock_generations", 10 "0010_token_stock", 11 "0011_password_source_failures",
    12 "0012_audit_hourly", 13 "0013_audit_indexes", 14 "0014_oidc_grants_by_user",
    15 "0015_audit_subjects");

/// PostgreSQL's migrations, in order.
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres":
    1 "0001_initial", 2 "0002_booleans", 3 "0003_answer_failures", 4 "0004_refresh_failures",
    5 "0005_radius", 6 "0006_console_confirmations", 7 "0007_directory", 8 "0008_oidc",
    9 "0009_unlock_generations", 10 "0010_token_stock", 11 "0011_password_source_failures",
    12 "0012_audit_hourly", 13 "0013_audit_indexes", 14 "0014_oidc_grants_by_user",
    15 "0015_audit_subjects");

/// The table of applied migrations, created before any is applied. The same
/// text serves both backends (`BLOB` is PostgreSQL's `bytea` only by name,
/// so each backend gives its own).
pub(crate) fn ledger_table(blob_type: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version BIGINT PRIMARY KEY, \
             name TEXT NOT NULL, \
             checksum {blob_type} NOT NULL, \
             applied_at BIGINT NOT NULL)"
    )
}

/// Reads the applied migrations, version and checksum, in version order.
pub(crate) const APPLIED: &str = "SELECT version, checksum FROM schema_migrations ORDER BY version";

/// Records one applied migration: version, file, checksum, Unix seconds
/// (`?N` placeholders, which PostgreSQL reads as `$N` once translated).
pub(crate) const RECORD: &str =
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)";

/// Now, in Unix seconds, for the record of an applied migration.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MigrationError {
    /// The database was made or upgraded by a newer build.
    #[error(
        "the database's schema is at version {database}, newer than this build of Latchkey \
         knows (it ends at {known}): run the release that upgraded it, or restore a backup \
         made for this one"
    )]
    NewerThanThisBuild {
        /// The highest version recorded in the database.
        database: i64,
        /// The highest version this build has.
        known: i64,
    },
    /// An applied migration's file was changed afterwards.
    #[error(
        "migration {file} differs from the one applied to this database: \
         applied migrations must never be edited; add a new one instead"
    )]
    Edited {
        /// Its number.
        version: i64,
        /// Its file's name.
        file: &'static str,
    },
    /// The recorded versions are not 1, 2, 3, … without gaps.
    #[error("the database records migration {version} but not every one before it")]
    Gap {
        /// The first version out of order.
        version: i64,
    },
}

/// The migrations still to apply, given those recorded as `(version,
/// checksum)` in version order.
pub(crate) fn pending<'a>(
    known: &'a [Migration],
    applied: &[(i64, Vec<u8>)],
) -> Result<&'a [Migration], MigrationError> {
    let newest_known = known.last().map_or(0, |m| m.version);
    for (index, (version, checksum)) in applied.iter().enumerate() {
        let Some(migration) = known.get(index) else {
            return Err(MigrationError::NewerThanThisBuild {
                database: applied.last().map_or(*version, |(v, _)| *v),
                known: newest_known,
            });
        };
        if *version != migration.version {
            return Err(if *version > newest_known {
                MigrationError::NewerThanThisBuild {
                    database: *version,
                    known: newest_known,
                }
            } else {
                MigrationError::Gap { version: *version }
            });
        }
        // Not secret: constant time is not needed.
        if *checksum != migration.checksum() {
            return Err(MigrationError::Edited {
                version: migration.version,
                file: migration.file,
            });
        }
    }
    Ok(&known[applied.len().min(known.len())..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(dir: &str, list: &[Migration]) {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let names: Vec<String> = list.iter().map(|m| format!("{}.sql", m.file)).collect();
        assert_eq!(files, names, "every file in {dir}/ is listed, in order");
        for (index, migration) in list.iter().enumerate() {
            assert_eq!(
                migration.version,
                index as i64 + 1,
                "numbered from 1 without gaps"
            );
            assert!(
                migration
                    .file
                    .starts_with(&format!("{:04}_", migration.version))
            );
        }
    }

    #[test]
    fn every_migration_file_is_listed_in_order_on_both_backends() {
        listed("sqlite", SQLITE);
        listed("postgres", POSTGRES);
        let sqlite: Vec<_> = SQLITE.iter().map(|m| (m.version, m.file)).collect();
        let postgres: Vec<_> = POSTGRES.iter().map(|m| (m.version, m.file)).collect();
        assert_eq!(sqlite, postgres, "both backends have the same versions");
    }

    const TWO: &[Migration] = &[
        Migration {
            version: 1,
            file: "0001_one",
            sql: "CREATE TABLE a (x INTEGER)",
        },
        Migration {
            version: 2,
            file: "0002_two",
            sql: "CREATE TABLE b (x INTEGER)",
        },
    ];

    fn recorded(versions: &[i64]) -> Vec<(i64, Vec<u8>)> {
        versions
            .iter()
            .map(|v| (*v, TWO[(*v - 1) as usize].checksum()))
            .collect()
    }

    #[test]
    fn a_new_database_gets_every_migration_and_an_upgraded_one_the_rest() {
        assert_eq!(pending(TWO, &[]).unwrap().len(), 2);
        let rest = pending(TWO, &recorded(&[1])).unwrap();
        assert_eq!(rest.iter().map(|m| m.version).collect::<Vec<_>>(), [2]);
        assert!(pending(TWO, &recorded(&[1, 2])).unwrap().is_empty());
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let mut applied = recorded(&[1, 2]);
        applied.push((3, vec![0; 32]));
        assert_eq!(
            pending(TWO, &applied).unwrap_err(),
            MigrationError::NewerThanThisBuild {
                database: 3,
                known: 2
            }
        );
    }

    #[test]
    fn an_edited_migration_is_refused() {
        let mut applied = recorded(&[1, 2]);
        applied[0].1[0] ^= 1;
        assert_eq!(
            pending(TWO, &applied).unwrap_err(),
            MigrationError::Edited {
                version: 1,
                file: "0001_one"
            }
        );
    }

    #[test]
    fn a_gap_in_the_record_is_refused() {
        let applied = vec![(2, TWO[1].checksum())];
        assert_eq!(
            pending(TWO, &applied).unwrap_err(),
            MigrationError::Gap { version: 2 }
        );
    }
}
