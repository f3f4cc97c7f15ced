//! The admin console's port, handed to the backend.

use latchkey_core::console::{AuditSearch, ConsoleStore, HourCount, TokenSearch};
use latchkey_core::import::ImportedAccount;
use latchkey_core::*;

use super::Database;

impl ConsoleStore for Database {
    async fn search_users(&self, part: &str, after: &str, limit: i64) -> StoreResult<Vec<User>> {
        delegate!(self, s => s.search_users(part, after, limit))
    }
    async fn search_tokens(
        &self,
        search: &TokenSearch,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Token>> {
        delegate!(self, s => s.search_tokens(search, after, limit))
    }
    async fn search_audit(
        &self,
        search: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        delegate!(self, s => s.search_audit(search, before, limit))
    }
    async fn token_state_counts(&self) -> StoreResult<Vec<(TokenState, i64)>> {
        delegate!(self, s => s.token_state_counts())
    }
    async fn users_without_second_factor(&self, limit: i64) -> StoreResult<Vec<User>> {
        delegate!(self, s => s.users_without_second_factor(limit))
    }
    async fn sessions_of_user(&self, user_id: i64) -> StoreResult<Vec<WebSession>> {
        delegate!(self, s => s.sessions_of_user(user_id))
    }
    async fn console_confirmed_at(&self, session_hash: &[u8]) -> StoreResult<Option<i64>> {
        delegate!(self, s => s.console_confirmed_at(session_hash))
    }
    async fn set_console_confirmed(&self, session_hash: &[u8], at: i64) -> StoreResult<()> {
        delegate!(self, s => s.set_console_confirmed(session_hash, at))
    }
    async fn set_user_role(&self, id: i64, role: Role, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.set_user_role(id, role, event))
    }
    async fn audit_hours(&self, from_hour: i64) -> StoreResult<Vec<HourCount>> {
        delegate!(self, s => s.audit_hours(from_hour))
    }
    async fn activations_expiring(
        &self,
        now: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<Token>> {
        delegate!(self, s => s.activations_expiring(now, until, limit))
    }
    async fn import_accounts(
        &self,
        accounts: Vec<ImportedAccount>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        delegate!(self, s => s.import_accounts(accounts, event))
    }
}
