//! The ports over PostgreSQL, through sqlx, on a typed pool. (SQLite has
//! its own backend, `sqlite/`, for group commit.) One module per port; the
//! OTP checks are taken in groups (`checks`).

use std::time::Duration;

use latchkey_core::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use sqlx::{PgPool, Postgres, Row, Transaction};

use tokio::sync::mpsc;

use crate::{Backend, migrations};

use crate::errors::{corrupt, from_postgres as fail};
mod api_keys;
mod audit;
pub(crate) mod changes;
mod console;
mod directory;
mod oidc;
mod portal;
mod radius;
mod rows;
mod stock;
mod tokens;
mod unlock_generations;
mod users;
use self::changes::{accept_otp_row, append_all_in, append_in, otp_failure_row};
use self::rows::{
    USER_COLUMNS_AS_U, api_key_from, api_key_with_prefix, parse, token_from, user_from,
    user_from_columns, user_named,
};

mod checks;

/// The stores over one PostgreSQL connection pool.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// OTP checks, taken in groups (see `checks.rs`).
    checks: mpsc::UnboundedSender<checks::Check>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Err(StoreError::Backend(
                format!(
                    "unsupported database URL scheme in {} (this store is PostgreSQL; \
                     SQLite is SqliteStore, and Database picks by URL)",
                    redact_url(url)
                )
                .into(),
            ));
        }
        // One connection first, on its own: the pool retries a failing
        // server until its timeout and then reports only that it timed
        // out, where this says why (refused, unknown database, password).
        let options: PgConnectOptions = url.parse().map_err(fail)?;
        PgConnection::connect_with(&options)
            .await
            .map_err(fail)?
            .close()
            .await
            .map_err(fail)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(fail)?;
        let checks = checks::start(pool.clone());
        let store = PostgresStore { pool, checks };
        store.migrate().await?;
        Ok(store)
    }

    /// Which database this is: always PostgreSQL.
    pub fn backend(&self) -> Backend {
        Backend::Postgres
    }

    /// The pool's use for `/metrics`: connections open, idle among them,
    /// and the most it opens.
    pub(crate) fn pool_use(&self) -> (u32, usize, u32) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        )
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Brings the schema up to date (see [`crate::migrations`]).
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(fail)?;
        // Nodes starting together must not race on the schema.
        sqlx::query("SELECT pg_advisory_xact_lock(4242001)")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(&migrations::ledger_table("BYTEA"))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let applied = sqlx::query(migrations::APPLIED)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?
            .iter()
            .map(|row| Ok((row.try_get(0).map_err(fail)?, row.try_get(1).map_err(fail)?)))
            .collect::<Result<Vec<(i64, Vec<u8>)>, StoreError>>()?;
        let pending = migrations::pending(migrations::POSTGRES, &applied)
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let record = crate::queries::dollar_placeholders(migrations::RECORD);
        for migration in pending {
            // The simple query protocol: a file may hold many statements,
            // function bodies and literal semicolons included.
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query(&record)
                .bind(migration.version)
                .bind(migration.file)
                .bind(migration.checksum())
                .bind(migrations::unix_now())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            tracing::info!(
                version = migration.version,
                file = migration.file,
                "applied a schema migration"
            );
        }
        tx.commit().await.map_err(fail)
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(fail)
    }
}

fn redact_url(url: &str) -> String {
    match url.split_once('@') {
        Some((head, tail)) => format!("{}://…@{tail}", head.split("://").next().unwrap_or("")),
        None => url.to_owned(),
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

impl PostgresStore {
    /// Runs one UPDATE and, if it changed a row, records `event` with it.
    async fn update_and_audit(&self, update: PgQuery<'_>, event: AuditEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let changed = update
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected()
            > 0;
        if changed {
            append_in(&mut tx, &event).await?;
            tx.commit().await.map_err(fail)?;
        } else {
            tx.rollback().await.map_err(fail)?;
        }
        Ok(changed)
    }
}
