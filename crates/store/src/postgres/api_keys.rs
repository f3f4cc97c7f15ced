//! API keys on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;

use super::{PostgresStore, api_key_from, api_key_with_prefix, append_in, fail};
use crate::queries::{INSERT_API_KEY, LIST_API_KEYS, REVOKE_API_KEY};

impl ApiKeyStore for PostgresStore {
    async fn insert_api_key(&self, key: NewApiKey, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_API_KEY.postgres())
            .bind(key.name)
            .bind(key.prefix)
            .bind(key.hash)
            .bind(key.role.as_str())
            .bind(key.created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
        api_key_with_prefix(&self.pool, prefix).await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(LIST_API_KEYS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(api_key_from).collect()
    }

    async fn revoke_api_key(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(REVOKE_API_KEY.postgres()).bind(name.to_owned()),
            event,
        )
        .await
    }
}
