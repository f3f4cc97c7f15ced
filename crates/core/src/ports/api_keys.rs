//! The API-key and audit-log ports.

use std::future::Future;

use super::StoreResult;
use crate::model::*;

/// An API key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Name.
    pub name: String,
    /// Public prefix.
    pub prefix: String,
    /// SHA-256 of the key.
    pub hash: Vec<u8>,
    /// Role.
    pub role: ApiRole,
    /// Unix seconds.
    pub created_at: i64,
}

/// API keys.
pub trait ApiKeyStore: Send + Sync {
    /// Adds a key.
    fn insert_api_key(
        &self,
        key: NewApiKey,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Finds a key by its public prefix.
    fn api_key_by_prefix(
        &self,
        prefix: &str,
    ) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;
    /// Every key.
    fn list_api_keys(&self) -> impl Future<Output = StoreResult<Vec<ApiKey>>> + Send;
    /// Revokes a key by name.
    fn revoke_api_key(
        &self,
        name: &str,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// The audit log.
pub trait AuditLog: Send + Sync {
    /// Appends an event on its own.
    fn append(&self, event: AuditEvent) -> impl Future<Output = StoreResult<()>> + Send;
    /// Rows with id greater than `after`, in order, at most `limit`.
    fn audit_rows(
        &self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<AuditRow>>> + Send;
    /// How many unlock codes were issued for the token `serial` since
    /// `since` (successful `unlock.issue` events): the per-token rate limit.
    fn count_unlock_issues(
        &self,
        serial: &str,
        since: i64,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// How many refreshes failed for the serial `serial` (known or not)
    /// since `since` (failed `token.refresh` events): the refresh's own
    /// throttle (S46).
    fn count_refresh_failures(
        &self,
        serial: &str,
        since: i64,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
}
