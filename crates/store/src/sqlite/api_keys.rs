//! API keys on SQLite.

use super::{
    SqliteStore, api_key_from, api_key_with_prefix, append_in, query_all, update_and_audit,
};
use crate::queries::{INSERT_API_KEY, LIST_API_KEYS, REVOKE_API_KEY};
use latchkey_core::*;
use rusqlite::params;

impl ApiKeyStore for SqliteStore {
    async fn insert_api_key(&self, key: NewApiKey, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_API_KEY.sqlite())?.query_row(
                params![
                    key.name,
                    key.prefix,
                    key.hash,
                    key.role.as_str(),
                    key.created_at,
                ],
                |row| row.get(0),
            )?;
            append_in(tx, &event)?;
            tx.keys.forget();
            Ok(id)
        })
        .await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
        let prefix = prefix.to_owned();
        self.read(move |conn| api_key_with_prefix(conn, &prefix))
            .await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.read(|conn| query_all(conn, LIST_API_KEYS.sqlite(), [], api_key_from))
            .await
    }

    async fn revoke_api_key(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |tx| {
            tx.keys.forget();
            update_and_audit(tx, REVOKE_API_KEY.sqlite(), [name], &event)
        })
        .await
    }
}
