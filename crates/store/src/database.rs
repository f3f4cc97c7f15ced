//! One store type for the server, whichever database the URL names.

use latchkey_core::*;

use crate::{PostgresStore, SqliteStore};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file on this machine.
    Sqlite,
    /// A server shared by many nodes.
    Postgres,
}

/// The store the server runs on: SQLite (group commit over rusqlite) or
/// PostgreSQL (sqlx), chosen by the URL's scheme. Implements every port by
/// handing the call to the backend.
#[derive(Clone, Debug)]
pub enum Database {
    /// `sqlite://PATH`.
    Sqlite(SqliteStore),
    /// `postgres://…` or `postgresql://…`.
    Postgres(PostgresStore),
}

impl Database {
    /// Opens the database at `url` and runs its migrations: `sqlite://PATH`
    /// (`?mode=rwc` creates the file) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            SqliteStore::connect(url).await.map(Database::Sqlite)
        } else {
            // PostgresStore names the scheme it does not know, with the URL's
            // credentials left out.
            PostgresStore::connect(url).await.map(Database::Postgres)
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        match self {
            Database::Sqlite(store) => store.ping().await,
            Database::Postgres(store) => store.ping().await,
        }
    }

    /// Closes the connections, after SQLite's writer has committed what was
    /// queued.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(store) => store.close().await,
            Database::Postgres(store) => store.close().await,
        }
    }
}

/// `delegate!(self, store => store.method(args))`: awaits the call on
/// whichever backend this is.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Database::Sqlite($store) => $call.await,
            Database::Postgres($store) => $call.await,
        }
    };
}

impl UserStore for Database {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        delegate!(self, s => s.insert_user(user, event))
    }
    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        delegate!(self, s => s.user_by_name(username))
    }
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        delegate!(self, s => s.user_by_id(id))
    }
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        delegate!(self, s => s.list_users())
    }
    async fn set_user_status(
        &self,
        id: i64,
        status: UserStatus,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.set_user_status(id, status, event))
    }
    async fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.set_password_hash(id, hash, event))
    }
    async fn record_password_failure(
        &self,
        id: i64,
        now: i64,
        throttle: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.record_password_failure(id, now, throttle, event))
    }
    async fn clear_password_failures(&self, id: i64) -> StoreResult<()> {
        delegate!(self, s => s.clear_password_failures(id))
    }
    async fn source_password_blocked_until(&self, id: i64, source: &str) -> StoreResult<i64> {
        delegate!(self, s => s.source_password_blocked_until(id, source))
    }
    async fn record_source_password_failure(
        &self,
        id: i64,
        source: &str,
        now: i64,
        per_source: Throttle,
        account: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.record_source_password_failure(id, source, now, per_source, account, event))
    }
    async fn record_answer_failure(
        &self,
        id: i64,
        now: i64,
        account: Throttle,
        answers: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.record_answer_failure(id, now, account, answers, event))
    }
    async fn clear_answer_failures(&self, id: i64) -> StoreResult<()> {
        delegate!(self, s => s.clear_answer_failures(id))
    }
}

impl TokenStore for Database {
    async fn insert_token(&self, token: NewToken, event: AuditEvent) -> StoreResult<i64> {
        delegate!(self, s => s.insert_token(token, event))
    }
    async fn token_by_serial(&self, serial: &str) -> StoreResult<Option<Token>> {
        delegate!(self, s => s.token_by_serial(serial))
    }
    async fn tokens_of_user(&self, user_id: i64) -> StoreResult<Vec<Token>> {
        delegate!(self, s => s.tokens_of_user(user_id))
    }
    async fn check_user_otp<J, E>(
        &self,
        api_key: Option<&str>,
        username: &Username,
        judge: J,
    ) -> StoreResult<Result<bool, E>>
    where
        J: FnOnce(Option<&ApiKey>, Option<&User>, &[Token]) -> Result<Vec<OtpStep>, E>
            + Send
            + 'static,
        E: Send + 'static,
    {
        delegate!(self, s => s.check_user_otp(api_key, username, judge))
    }
    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        delegate!(self, s => s.list_tokens())
    }
    async fn activate_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.activate_token(id, event))
    }
    async fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> StoreResult<u32> {
        delegate!(self, s => s.record_activation_failure(id, limit, event))
    }
    async fn reset_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.reset_token(id, event))
    }
    async fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.set_token_state(id, state, event))
    }
    async fn resync_counter(
        &self,
        id: i64,
        last_used: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.resync_counter(id, last_used, event))
    }
}

impl ApiKeyStore for Database {
    async fn insert_api_key(&self, key: NewApiKey, event: AuditEvent) -> StoreResult<i64> {
        delegate!(self, s => s.insert_api_key(key, event))
    }
    async fn api_key_by_prefix(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
        delegate!(self, s => s.api_key_by_prefix(prefix))
    }
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        delegate!(self, s => s.list_api_keys())
    }
    async fn revoke_api_key(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.revoke_api_key(name, event))
    }
}

impl AuditLog for Database {
    async fn append(&self, event: AuditEvent) -> StoreResult<()> {
        delegate!(self, s => s.append(event))
    }
    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        delegate!(self, s => s.audit_rows(after, limit))
    }
    async fn count_unlock_issues(&self, serial: &str, since: i64) -> StoreResult<i64> {
        delegate!(self, s => s.count_unlock_issues(serial, since))
    }
    async fn count_refresh_failures(&self, serial: &str, since: i64) -> StoreResult<i64> {
        delegate!(self, s => s.count_refresh_failures(serial, since))
    }
}

mod console;
mod directory;
mod oidc;
mod portal;
mod radius;
mod stock;
mod unlock_generations;
