//! Unlock-secret generations on PostgreSQL (SECURITY.md S45).

use latchkey_core::*;
use sqlx::Row;

use super::{PostgresStore, append_in, fail};
use crate::queries::{
    COUNT_REFRESHES, INSERT_UNLOCK_GENERATION, OVERWRITE_FIRST_UNLOCK_SECRET,
    RETIRE_UNLOCK_GENERATIONS, UNLOCK_GENERATIONS,
};

impl UnlockGenerationStore for PostgresStore {
    async fn unlock_generations(&self, token_id: i64) -> StoreResult<Vec<UnlockGeneration>> {
        let rows = sqlx::query(UNLOCK_GENERATIONS.postgres())
            .bind(token_id)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(UnlockGeneration {
                    generation: row.try_get("generation").map_err(fail)?,
                    sealed_secret: row.try_get("sealed_secret").map_err(fail)?,
                    created_at: row.try_get("created_at").map_err(fail)?,
                })
            })
            .collect()
    }

    async fn add_unlock_generation(
        &self,
        token_id: i64,
        generation: UnlockGeneration,
        retire_below: i64,
        legacy: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(INSERT_UNLOCK_GENERATION.postgres())
            .bind(token_id)
            .bind(generation.generation)
            .bind(generation.sealed_secret)
            .bind(generation.created_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(RETIRE_UNLOCK_GENERATIONS.postgres())
            .bind(token_id)
            .bind(retire_below)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        if let Some(sealed) = legacy {
            sqlx::query(OVERWRITE_FIRST_UNLOCK_SECRET.postgres())
                .bind(token_id)
                .bind(sealed)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn count_refreshes(&self, serial: &str, since: i64) -> StoreResult<i64> {
        let row = sqlx::query(COUNT_REFRESHES.postgres())
            .bind(serial.to_owned())
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?;
        row.try_get::<i64, _>(0).map_err(fail)
    }
}
