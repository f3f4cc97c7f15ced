//! Master-key rotation on a connection of its own, like the importer: the
//! sealed rows read in batches by id, and each batch's new values written in
//! one transaction with its audit row chained to the log's head, while a
//! server goes on writing (see `latchkey_core::rotation`).

use std::sync::{Arc, Mutex};

use latchkey_core::rotation::{SealedColumn, SealedTokenValues, SealedValue};
use latchkey_core::{AuditEvent, StoreError, StoreResult};
use rusqlite::{Connection, params};
use sqlx::{Connection as _, PgConnection, Row};

use crate::Database;
use crate::errors::{from_postgres as postgres_fail, from_sqlite as sqlite_fail};

/// A connection that reads sealed rows and writes them re-sealed.
pub struct Resealer {
    connection: ResealConnection,
}

enum ResealConnection {
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(Box<PgConnection>),
}

const TOKENS_AFTER: &str = "SELECT id, serial, sealed_seed, sealed_unlock_secret FROM tokens \
     WHERE id > $1 ORDER BY id LIMIT $2";
const RESEAL_TOKEN: &str =
    "UPDATE tokens SET sealed_seed = $1, sealed_unlock_secret = $2 WHERE id = $3";
const GENERATIONS_BETWEEN: &str = "SELECT token_id, generation, sealed_secret \
     FROM unlock_generations WHERE token_id >= $1 AND token_id <= $2 ORDER BY token_id, generation";
const RESEAL_GENERATION: &str =
    "UPDATE unlock_generations SET sealed_secret = $1 WHERE token_id = $2 AND generation = $3";

/// A column's rows (id, the key its value is bound to, the sealed value),
/// and its update.
fn column_statements(column: SealedColumn) -> (&'static str, &'static str) {
    match column {
        SealedColumn::RadiusSecret => (
            "SELECT id, name, sealed_secret FROM radius_clients ORDER BY id",
            "UPDATE radius_clients SET sealed_secret = $1 WHERE id = $2",
        ),
        SealedColumn::OidcClientSecret => (
            "SELECT id, client_id, sealed_secret FROM oidc_clients \
             WHERE sealed_secret IS NOT NULL ORDER BY id",
            "UPDATE oidc_clients SET sealed_secret = $1 WHERE id = $2",
        ),
        SealedColumn::OidcSigningKey => (
            "SELECT id, kid, sealed_private_key FROM oidc_keys ORDER BY id",
            "UPDATE oidc_keys SET sealed_private_key = $1 WHERE id = $2",
        ),
        SealedColumn::StockSeed => (
            "SELECT id, serial, sealed_seed FROM token_stock ORDER BY id",
            "UPDATE token_stock SET sealed_seed = $1 WHERE id = $2",
        ),
    }
}

impl Resealer {
    /// A connection of its own to the database `database` was opened on
    /// (`url` is the URL it was opened with).
    pub async fn open(database: &Database, url: &str) -> StoreResult<Resealer> {
        let connection = match database {
            Database::Sqlite(store) => {
                let conn = Connection::open(store.path()).map_err(sqlite_fail)?;
                conn.busy_timeout(std::time::Duration::from_secs(30))
                    .map_err(sqlite_fail)?;
                conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
                    .map_err(sqlite_fail)?;
                ResealConnection::Sqlite(Arc::new(Mutex::new(conn)))
            }
            Database::Postgres(_) => ResealConnection::Postgres(Box::new(
                PgConnection::connect(url).await.map_err(postgres_fail)?,
            )),
        };
        Ok(Resealer { connection })
    }

    /// At most `limit` tokens with an id above `after`, by id.
    pub async fn tokens_after(
        &mut self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<SealedTokenValues>> {
        match &mut self.connection {
            ResealConnection::Sqlite(conn) => {
                let conn = conn.clone();
                blocking(move || {
                    let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                    let mut statement = conn.prepare_cached(TOKENS_AFTER)?;
                    let rows = statement.query_map(params![after, limit], |row| {
                        Ok(SealedTokenValues {
                            id: row.get(0)?,
                            serial: row.get(1)?,
                            sealed_seed: row.get(2)?,
                            sealed_unlock_secret: row.get(3)?,
                            unlock_generations: Vec::new(),
                        })
                    })?;
                    let mut tokens: Vec<SealedTokenValues> = rows.collect::<Result<_, _>>()?;
                    if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
                        let mut statement = conn.prepare_cached(GENERATIONS_BETWEEN)?;
                        let rows = statement.query_map(params![first.id, last.id], |row| {
                            Ok((
                                row.get::<_, i64>(0)?,
                                row.get::<_, i64>(1)?,
                                row.get::<_, Vec<u8>>(2)?,
                            ))
                        })?;
                        for row in rows {
                            let (token_id, generation, sealed) = row?;
                            if let Some(token) = tokens.iter_mut().find(|t| t.id == token_id) {
                                token.unlock_generations.push((generation, sealed));
                            }
                        }
                    }
                    Ok(tokens)
                })
                .await
            }
            ResealConnection::Postgres(conn) => {
                let rows = sqlx::query(TOKENS_AFTER)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&mut **conn)
                    .await
                    .map_err(postgres_fail)?;
                let mut tokens: Vec<SealedTokenValues> = rows
                    .iter()
                    .map(|row| {
                        Ok(SealedTokenValues {
                            id: row.try_get(0)?,
                            serial: row.try_get(1)?,
                            sealed_seed: row.try_get(2)?,
                            sealed_unlock_secret: row.try_get(3)?,
                            unlock_generations: Vec::new(),
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(postgres_fail)?;
                if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
                    let rows = sqlx::query(GENERATIONS_BETWEEN)
                        .bind(first.id)
                        .bind(last.id)
                        .fetch_all(&mut **conn)
                        .await
                        .map_err(postgres_fail)?;
                    for row in &rows {
                        let token_id: i64 = row.try_get(0).map_err(postgres_fail)?;
                        let generation: i64 = row.try_get(1).map_err(postgres_fail)?;
                        let sealed: Vec<u8> = row.try_get(2).map_err(postgres_fail)?;
                        if let Some(token) = tokens.iter_mut().find(|t| t.id == token_id) {
                            token.unlock_generations.push((generation, sealed));
                        }
                    }
                }
                Ok(tokens)
            }
        }
    }

    /// Every sealed value of `column` (these tables are small: one read).
    pub async fn sealed_values(&mut self, column: SealedColumn) -> StoreResult<Vec<SealedValue>> {
        let (select, _) = column_statements(column);
        match &mut self.connection {
            ResealConnection::Sqlite(conn) => {
                let conn = conn.clone();
                blocking(move || {
                    let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                    let mut statement = conn.prepare_cached(select)?;
                    let rows = statement.query_map([], |row| {
                        Ok(SealedValue {
                            column,
                            id: row.get(0)?,
                            key: row.get(1)?,
                            sealed: row.get(2)?,
                        })
                    })?;
                    rows.collect()
                })
                .await
            }
            ResealConnection::Postgres(conn) => {
                let rows = sqlx::query(select)
                    .fetch_all(&mut **conn)
                    .await
                    .map_err(postgres_fail)?;
                rows.iter()
                    .map(|row| {
                        Ok(SealedValue {
                            column,
                            id: row.try_get(0)?,
                            key: row.try_get(1)?,
                            sealed: row.try_get(2)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(postgres_fail)
            }
        }
    }

    /// Writes the re-sealed values and `event` in one transaction.
    pub async fn write(
        &mut self,
        tokens: Vec<SealedTokenValues>,
        values: Vec<SealedValue>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        match &mut self.connection {
            ResealConnection::Sqlite(conn) => {
                let conn = conn.clone();
                blocking(move || {
                    let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                    let tx =
                        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    {
                        let mut token = tx.prepare_cached(RESEAL_TOKEN)?;
                        let mut generation = tx.prepare_cached(RESEAL_GENERATION)?;
                        for t in &tokens {
                            token.execute(params![t.sealed_seed, t.sealed_unlock_secret, t.id])?;
                            for (number, sealed) in &t.unlock_generations {
                                generation.execute(params![sealed, t.id, number])?;
                            }
                        }
                        for value in &values {
                            let (_, update) = column_statements(value.column);
                            tx.prepare_cached(update)?
                                .execute(params![value.sealed, value.id])?;
                        }
                        crate::sqlite::changes::append_on_own_connection(&tx, &event)?;
                    }
                    tx.commit()
                })
                .await
            }
            ResealConnection::Postgres(conn) => {
                let mut tx = conn.begin().await.map_err(postgres_fail)?;
                for t in &tokens {
                    sqlx::query(RESEAL_TOKEN)
                        .bind(&t.sealed_seed)
                        .bind(&t.sealed_unlock_secret)
                        .bind(t.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(postgres_fail)?;
                    for (number, sealed) in &t.unlock_generations {
                        sqlx::query(RESEAL_GENERATION)
                            .bind(sealed)
                            .bind(t.id)
                            .bind(number)
                            .execute(&mut *tx)
                            .await
                            .map_err(postgres_fail)?;
                    }
                }
                for value in &values {
                    let (_, update) = column_statements(value.column);
                    sqlx::query(update)
                        .bind(&value.sealed)
                        .bind(value.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(postgres_fail)?;
                }
                crate::postgres::changes::append_all_in(&mut tx, std::slice::from_ref(&event))
                    .await?;
                tx.commit().await.map_err(postgres_fail)
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(move || work().map_err(sqlite_fail))
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?
}
