//! Unlock-secret generations on SQLite (SECURITY.md S45).

use latchkey_core::*;
use rusqlite::params;

use super::{SqliteStore, append_in, fail, get, query_all};
use crate::queries::{
    COUNT_REFRESHES, INSERT_UNLOCK_GENERATION, OVERWRITE_FIRST_UNLOCK_SECRET,
    RETIRE_UNLOCK_GENERATIONS, UNLOCK_GENERATIONS,
};

impl UnlockGenerationStore for SqliteStore {
    async fn unlock_generations(&self, token_id: i64) -> StoreResult<Vec<UnlockGeneration>> {
        self.read(move |conn| {
            query_all(conn, UNLOCK_GENERATIONS.sqlite(), [token_id], |row| {
                Ok(UnlockGeneration {
                    generation: get(row, 0)?,
                    sealed_secret: get(row, 1)?,
                    created_at: get(row, 2)?,
                })
            })
        })
        .await
    }

    async fn add_unlock_generation(
        &self,
        token_id: i64,
        generation: UnlockGeneration,
        retire_below: i64,
        legacy: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(INSERT_UNLOCK_GENERATION.sqlite())?
                .execute(params![
                    token_id,
                    generation.generation,
                    generation.sealed_secret,
                    generation.created_at
                ])?;
            tx.prepare_cached(RETIRE_UNLOCK_GENERATIONS.sqlite())?
                .execute(params![token_id, retire_below])?;
            if let Some(sealed) = legacy {
                tx.prepare_cached(OVERWRITE_FIRST_UNLOCK_SECRET.sqlite())?
                    .execute(params![token_id, sealed])?;
            }
            append_in(tx, &event)
        })
        .await
    }

    async fn count_refreshes(&self, serial: &str, since: i64) -> StoreResult<i64> {
        let serial = serial.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(COUNT_REFRESHES.sqlite())
                .and_then(|mut statement| {
                    statement.query_row(params![serial, since], |row| row.get(0))
                })
                .map_err(fail)
        })
        .await
    }
}
