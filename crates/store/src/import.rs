//! Bulk import on a connection of its own: many users with a token each in
//! one transaction, with one audit row for the whole batch chained to the
//! log's head as every other writer does (so a running server and an import
//! can write at the same time). Used by `latchkey admin import`, which is
//! how a migration or a benchmark puts a million accounts in place.

use std::sync::{Arc, Mutex};

use latchkey_core::import::ImportedAccount;
use latchkey_core::{AuditEvent, StoreError, StoreResult, UserStatus};
use rusqlite::{Connection, params};
use sqlx::{Connection as _, PgConnection};

use crate::Database;
use crate::errors::{from_postgres as postgres_fail, from_sqlite as sqlite_fail};

/// A connection that writes import batches.
pub struct Importer {
    connection: ImportConnection,
}

enum ImportConnection {
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(Box<PgConnection>),
}

impl Importer {
    /// A connection of its own to the database `database` was opened on
    /// (`url` is the URL it was opened with; migrations have run).
    pub async fn open(database: &Database, url: &str) -> StoreResult<Importer> {
        let connection = match database {
            Database::Sqlite(store) => {
                let conn = Connection::open(store.path()).map_err(sqlite_fail)?;
                conn.busy_timeout(std::time::Duration::from_secs(30))
                    .map_err(sqlite_fail)?;
                // Durable like every other write (DESIGN: synchronous=FULL).
                conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
                    .map_err(sqlite_fail)?;
                ImportConnection::Sqlite(Arc::new(Mutex::new(conn)))
            }
            Database::Postgres(_) => ImportConnection::Postgres(Box::new(
                PgConnection::connect(url).await.map_err(postgres_fail)?,
            )),
        };
        Ok(Importer { connection })
    }

    /// Stores `accounts` and `event` in one transaction: all or nothing. A
    /// user name or serial that exists already is a
    /// [`StoreError::Conflict`] naming the column.
    pub async fn import(
        &mut self,
        accounts: Vec<ImportedAccount>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        match &mut self.connection {
            ImportConnection::Sqlite(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                    import_sqlite(&mut conn, &accounts, &event).map_err(sqlite_fail)
                })
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?
            }
            ImportConnection::Postgres(conn) => import_postgres(conn, &accounts, &event).await,
        }
    }
}

fn import_sqlite(
    conn: &mut Connection,
    accounts: &[ImportedAccount],
    event: &AuditEvent,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut add_user = tx.prepare_cached(
            "INSERT INTO users (username, email, role, status, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut add_token = tx.prepare_cached(
            "INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, \
             sealed_seed, last_used, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for account in accounts {
            let (user, token) = (&account.user, &account.token);
            add_user.execute(params![
                user.username.as_str(),
                user.email,
                user.role.as_str(),
                UserStatus::Active.as_str(),
                user.password_hash,
                token.created_at,
            ])?;
            let user_id = tx.last_insert_rowid();
            add_token.execute(params![
                token.serial.as_str(),
                user_id,
                token.kind.as_str(),
                token.state.as_str(),
                token.otp.algorithm.name(),
                token.otp.digits.get(),
                token.otp.period as i64,
                token.sealed_seed,
                account.last_used,
                token.created_at,
            ])?;
        }
        crate::sqlite::changes::append_on_own_connection(&tx, event)?;
    }
    tx.commit()
}

async fn import_postgres(
    conn: &mut PgConnection,
    accounts: &[ImportedAccount],
    event: &AuditEvent,
) -> StoreResult<()> {
    let column =
        |f: &dyn Fn(&ImportedAccount) -> String| accounts.iter().map(f).collect::<Vec<_>>();
    let usernames = column(&|a| a.user.username.as_str().to_owned());
    let emails: Vec<Option<String>> = accounts.iter().map(|a| a.user.email.clone()).collect();
    let roles = column(&|a| a.user.role.as_str().to_owned());
    let hashes: Vec<Option<String>> = accounts
        .iter()
        .map(|a| a.user.password_hash.clone())
        .collect();
    let serials = column(&|a| a.token.serial.to_string());
    let kinds = column(&|a| a.token.kind.as_str().to_owned());
    let states = column(&|a| a.token.state.as_str().to_owned());
    let algorithms = column(&|a| a.token.otp.algorithm.name().to_owned());
    let digits: Vec<i64> = accounts
        .iter()
        .map(|a| i64::from(a.token.otp.digits.get()))
        .collect();
    let periods: Vec<i64> = accounts.iter().map(|a| a.token.otp.period as i64).collect();
    let seeds: Vec<Vec<u8>> = accounts
        .iter()
        .map(|a| a.token.sealed_seed.clone())
        .collect();
    let last_used: Vec<i64> = accounts.iter().map(|a| a.last_used).collect();
    let created: Vec<i64> = accounts.iter().map(|a| a.token.created_at).collect();

    let mut tx = conn.begin().await.map_err(postgres_fail)?;
    // One statement per batch: the users go in through UNNEST and their new
    // ids join the tokens by user name.
    let inserted = sqlx::query(
        "WITH new_users AS ( \
           INSERT INTO users (username, email, role, status, password_hash, created_at) \
           SELECT u.username, u.email, u.role, $4, u.password_hash, u.created_at \
           FROM UNNEST($1::text[], $2::text[], $3::text[], $5::text[], $14::int8[]) \
             AS u(username, email, role, password_hash, created_at) \
           RETURNING id, username) \
         INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, \
                             sealed_seed, last_used, created_at) \
         SELECT t.serial, n.id, t.kind, t.state, t.algorithm, t.digits, t.period, \
                t.sealed_seed, t.last_used, t.created_at \
         FROM UNNEST($1::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], \
                     $11::int8[], $12::bytea[], $13::int8[], $14::int8[]) \
           AS t(username, serial, kind, state, algorithm, digits, period, sealed_seed, \
                last_used, created_at) \
         JOIN new_users n ON n.username = t.username",
    )
    .bind(&usernames)
    .bind(&emails)
    .bind(&roles)
    .bind(UserStatus::Active.as_str())
    .bind(&hashes)
    .bind(&serials)
    .bind(&kinds)
    .bind(&states)
    .bind(&algorithms)
    .bind(&digits)
    .bind(&periods)
    .bind(&seeds)
    .bind(&last_used)
    .bind(&created)
    .execute(&mut *tx)
    .await
    .map_err(postgres_fail)?;
    if inserted.rows_affected() != accounts.len() as u64 {
        return Err(StoreError::Conflict(format!(
            "{} of {} tokens inserted (a user name appears twice in the batch?)",
            inserted.rows_affected(),
            accounts.len()
        )));
    }
    crate::postgres::changes::append_all_in(&mut tx, std::slice::from_ref(event)).await?;
    tx.commit().await.map_err(postgres_fail)
}
