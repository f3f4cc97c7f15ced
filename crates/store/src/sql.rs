//! The ports over PostgreSQL, through sqlx. (SQLite has its own backend,
//! `sqlite.rs`, for group commit.)

use std::str::FromStr;
use std::time::Duration;

use latchkey_core::audit::row_hash;
use latchkey_core::*;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use tokio::sync::{mpsc, oneshot};

use crate::{Backend, migrations};

mod checks;

/// The stores over one PostgreSQL connection pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    /// OTP checks, taken in groups (see `checks.rs`).
    checks: mpsc::UnboundedSender<checks::Check>,
}

fn fail(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        let message = db.message().to_ascii_lowercase();
        if db.is_unique_violation()
            || message.contains("unique")
            || message.contains("duplicate key")
        {
            return StoreError::Conflict(db.message().to_owned());
        }
    }
    StoreError::Backend(Box::new(error))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored {what} is not valid").into())
}

impl SqlStore {
    /// Connects to `url` (`postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
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
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(fail)?;
        let checks = checks::start(pool.clone());
        let store = SqlStore { pool, checks };
        store.migrate().await?;
        Ok(store)
    }

    /// Which database this is: always PostgreSQL.
    pub fn backend(&self) -> Backend {
        Backend::Postgres
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
        let record = migrations::dollar_placeholders(migrations::RECORD);
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

    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool.begin().await.map_err(fail)
    }
}

fn redact_url(url: &str) -> String {
    match url.split_once('@') {
        Some((head, tail)) => format!("{}://…@{tail}", head.split("://").next().unwrap_or("")),
        None => url.to_owned(),
    }
}

/// Appends an audit row inside `tx`, after the change it records.
async fn append_in(
    tx: &mut Transaction<'static, Any>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    append_all_in(tx, std::slice::from_ref(event)).await
}

/// Audit rows one INSERT carries at most (ten parameters each; PostgreSQL
/// takes 65,535 per statement).
const AUDIT_ROWS_PER_INSERT: usize = 500;

/// Appends `events`, in order, inside `tx`: the head moves once for all of
/// them, so its row lock (which orders every writer of the log, on every
/// node) is taken as late and held as briefly as the transaction allows.
async fn append_all_in(
    tx: &mut Transaction<'static, Any>,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head = sqlx::query(
        "UPDATE audit_head SET last_id = last_id + $1 WHERE id = 1 RETURNING last_id, last_hash",
    )
    .bind(events.len() as i64)
    .fetch_one(&mut **tx)
    .await
    .map_err(fail)?;
    let last_id: i64 = head.try_get(0).map_err(fail)?;
    let mut prev: Vec<u8> = head.try_get(1).map_err(fail)?;
    let mut id = last_id - events.len() as i64;
    for chunk in events.chunks(AUDIT_ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash) VALUES ",
        );
        for row in 0..chunk.len() {
            let p = row * 10;
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 8,
                p + 9,
                p + 10
            ));
        }
        let mut insert = sqlx::query(&sql);
        for event in chunk {
            id += 1;
            let hash = row_hash(id, event, &prev);
            insert = insert
                .bind(id)
                .bind(event.at)
                .bind(&event.actor)
                .bind(&event.action)
                .bind(&event.subject)
                .bind(&event.source)
                .bind(&event.outcome)
                .bind(&event.detail)
                .bind(std::mem::replace(&mut prev, hash.clone()))
                .bind(hash);
        }
        insert.execute(&mut **tx).await.map_err(fail)?;
    }
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(prev)
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
    Ok(())
}

/// Accepts step or counter `used` if it is later than the last one
/// accepted and the token is active and unlocked, and records `event` if so.
async fn accept_otp_in(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    used: i64,
    drift: i64,
    event: &AuditEvent,
) -> Result<bool, StoreError> {
    let changed = accept_otp_row(tx, id, used, drift).await?;
    if changed {
        append_in(tx, event).await?;
    }
    Ok(changed)
}

/// [`accept_otp_in`]'s change of the token row alone.
async fn accept_otp_row(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    used: i64,
    drift: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE tokens SET last_used = $2, drift = $3, failures = 0 \
         WHERE id = $1 AND last_used < $2 AND locked = 0 AND state = 'active'",
    )
    .bind(id)
    .bind(used)
    .bind(drift)
    .execute(&mut **tx)
    .await
    .map_err(fail)?
    .rows_affected()
        > 0)
}

/// Counts a failed OTP unless the token is locked, locks it at `limit`, and
/// records `event` (and `lock_event` if this failure locked it).
async fn otp_failure_in(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    limit: u32,
    event: &AuditEvent,
    lock_event: &AuditEvent,
) -> Result<(u32, bool), StoreError> {
    let (count, locked_now) = otp_failure_row(tx, id, limit).await?;
    append_in(tx, event).await?;
    if locked_now {
        append_in(tx, lock_event).await?;
    }
    Ok((count, locked_now))
}

/// [`otp_failure_in`]'s change of the token row alone: the count, and
/// whether this failure locked the token.
async fn otp_failure_row(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    limit: u32,
) -> Result<(u32, bool), StoreError> {
    let row = sqlx::query(
        "UPDATE tokens SET failures = failures + 1, locked = CASE WHEN failures + 1 >= $2 THEN 1 ELSE 0 END \
         WHERE id = $1 AND locked = 0 RETURNING failures, locked",
    )
    .bind(id)
    .bind(i64::from(limit))
    .fetch_optional(&mut **tx)
    .await
    .map_err(fail)?;
    Ok(match row {
        Some(row) => (
            row.try_get::<i64, _>(0).map_err(fail)? as u32,
            row.try_get::<i64, _>(1).map_err(fail)? != 0,
        ),
        None => (limit, false),
    })
}

/// The user named `username`, on the pool or inside a transaction.
async fn user_named<'e>(
    executor: impl Executor<'e, Database = Any>,
    username: &str,
) -> StoreResult<Option<User>> {
    sqlx::query("SELECT * FROM users WHERE username = $1")
        .bind(username.to_owned())
        .fetch_optional(executor)
        .await
        .map_err(fail)?
        .as_ref()
        .map(user_from)
        .transpose()
}

/// The API key with `prefix`, on the pool or inside a transaction.
async fn api_key_with_prefix<'e>(
    executor: impl Executor<'e, Database = Any>,
    prefix: &str,
) -> StoreResult<Option<ApiKey>> {
    sqlx::query("SELECT * FROM api_keys WHERE prefix = $1")
        .bind(prefix.to_owned())
        .fetch_optional(executor)
        .await
        .map_err(fail)?
        .as_ref()
        .map(api_key_from)
        .transpose()
}

fn parse<T: FromStr>(text: String, what: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| corrupt(what))
}

fn user_from(row: &AnyRow) -> Result<User, StoreError> {
    user_from_columns(row, "")
}

/// A user from the columns named `prefix` + the users table's own names.
fn user_from_columns(row: &AnyRow, prefix: &str) -> Result<User, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(User {
        id: row.try_get(column("id").as_str()).map_err(fail)?,
        username: parse(
            row.try_get(column("username").as_str()).map_err(fail)?,
            "user name",
        )?,
        email: row.try_get(column("email").as_str()).map_err(fail)?,
        role: parse(row.try_get(column("role").as_str()).map_err(fail)?, "role")?,
        status: parse(
            row.try_get(column("status").as_str()).map_err(fail)?,
            "status",
        )?,
        password_hash: row
            .try_get(column("password_hash").as_str())
            .map_err(fail)?,
        password_failures: u32::try_from(
            row.try_get::<i64, _>(column("password_failures").as_str())
                .map_err(fail)?,
        )
        .unwrap_or(u32::MAX),
        password_blocked_until: row
            .try_get(column("password_blocked_until").as_str())
            .map_err(fail)?,
        created_at: row.try_get(column("created_at").as_str()).map_err(fail)?,
    })
}

/// The users table's columns, each named `u_` + its own name, for a join
/// with the tokens table (whose names they share in part).
const USER_COLUMNS_AS_U: &str = "u.id AS u_id, u.username AS u_username, u.email AS u_email, \
     u.role AS u_role, u.status AS u_status, u.password_hash AS u_password_hash, \
     u.password_failures AS u_password_failures, u.password_blocked_until AS u_password_blocked_until, \
     u.created_at AS u_created_at";

const TOKEN_COLUMNS: &str = "id, serial, user_id, kind, state, algorithm, digits, period, sealed_seed, sealed_unlock_secret, \
     last_used, drift, failures, locked, activation_hash, activation_expires, activation_failures, created_at";

fn token_from(row: &AnyRow) -> Result<Token, StoreError> {
    let get_i64 =
        |name: &str| -> Result<i64, StoreError> { row.try_get::<i64, _>(name).map_err(fail) };
    Ok(Token {
        id: get_i64("id")?,
        serial: row.try_get("serial").map_err(fail)?,
        user_id: get_i64("user_id")?,
        kind: parse(row.try_get("kind").map_err(fail)?, "token kind")?,
        state: parse(row.try_get("state").map_err(fail)?, "token state")?,
        algorithm: row.try_get("algorithm").map_err(fail)?,
        digits: u8::try_from(get_i64("digits")?).map_err(|_| corrupt("digit count"))?,
        period: u64::try_from(get_i64("period")?).map_err(|_| corrupt("period"))?,
        sealed_seed: row.try_get("sealed_seed").map_err(fail)?,
        sealed_unlock_secret: row.try_get("sealed_unlock_secret").map_err(fail)?,
        last_used: get_i64("last_used")?,
        drift: get_i64("drift")?,
        failures: u32::try_from(get_i64("failures")?).unwrap_or(u32::MAX),
        locked: get_i64("locked")? != 0,
        activation_hash: row.try_get("activation_hash").map_err(fail)?,
        activation_expires: get_i64("activation_expires")?,
        activation_failures: u32::try_from(get_i64("activation_failures")?).unwrap_or(u32::MAX),
        created_at: get_i64("created_at")?,
    })
}

fn api_key_from(row: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.try_get("id").map_err(fail)?,
        name: row.try_get("name").map_err(fail)?,
        prefix: row.try_get("prefix").map_err(fail)?,
        hash: row.try_get("hash").map_err(fail)?,
        role: parse(row.try_get("role").map_err(fail)?, "API role")?,
        revoked: row.try_get::<i64, _>("revoked").map_err(fail)? != 0,
        created_at: row.try_get("created_at").map_err(fail)?,
    })
}

impl UserStore for SqlStore {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO users (username, email, role, status, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.username.as_str().to_owned())
        .bind(user.email)
        .bind(user.role.as_str())
        .bind(UserStatus::Active.as_str())
        .bind(user.password_hash)
        .bind(event.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        user_named(&self.pool, username.as_str()).await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(user_from).collect()
    }

    async fn set_user_status(
        &self,
        id: i64,
        status: UserStatus,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id),
            event,
        )
        .await
    }

    async fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id),
            event,
        )
        .await
    }

    async fn record_password_failure(
        &self,
        id: i64,
        now: i64,
        throttle: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        // The UPDATE takes the row lock, so concurrent failures on other
        // nodes count one after another.
        let row = sqlx::query("UPDATE users SET password_failures = password_failures + 1 WHERE id = $1 RETURNING password_failures")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let failures = match row {
            Some(row) => row.try_get::<i64, _>(0).map_err(fail)?,
            None => 0,
        };
        let delay = throttle.delay(u32::try_from(failures).unwrap_or(u32::MAX));
        let blocked_until = if delay > 0 { now + delay } else { 0 };
        sqlx::query("UPDATE users SET password_blocked_until = $2 WHERE id = $1")
            .bind(id)
            .bind(blocked_until)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(blocked_until)
    }

    async fn clear_password_failures(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_failures = 0, password_blocked_until = 0 WHERE id = $1 AND password_failures > 0")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

impl SqlStore {
    /// Runs one UPDATE and, if it changed a row, records `event` with it.
    async fn update_and_audit(&self, update: AnyQuery<'_>, event: AuditEvent) -> StoreResult<bool> {
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

impl TokenStore for SqlStore {
    async fn insert_token(&self, token: NewToken, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, sealed_seed, sealed_unlock_secret, \
             activation_hash, activation_expires, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(token.serial)
        .bind(token.user_id)
        .bind(token.kind.as_str())
        .bind(token.state.as_str())
        .bind(token.algorithm)
        .bind(i64::from(token.digits))
        .bind(token.period as i64)
        .bind(token.sealed_seed)
        .bind(token.sealed_unlock_secret)
        .bind(token.activation_hash)
        .bind(token.activation_expires)
        .bind(token.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn token_by_serial(&self, serial: &str) -> StoreResult<Option<Token>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE serial = $1"
        ))
        .bind(serial.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens_of_user(&self, user_id: i64) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter().map(token_from).collect()
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
        let (refused, refusal) = oneshot::channel();
        let judge: checks::Judge =
            Box::new(move |key, user, tokens| match judge(key, user, tokens) {
                Ok(steps) => Some(steps),
                Err(judged) => {
                    let _ = refused.send(judged);
                    None
                }
            });
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Backend("the OTP check queue has stopped".into());
        self.checks
            .send(checks::Check {
                api_key: api_key.map(str::to_owned),
                username: username.as_str().to_owned(),
                judge,
                reply,
            })
            .map_err(|_| stopped())?;
        match answer.await.map_err(|_| stopped())?? {
            Some(accepted) => Ok(Ok(accepted)),
            None => Ok(Err(refusal.await.map_err(|_| stopped())?)),
        }
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(token_from).collect()
    }

    async fn activate_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query("UPDATE tokens SET state = 'active', activation_hash = NULL WHERE id = $1 AND state = 'new' AND activation_hash IS NOT NULL")
                .bind(id),
            event,
        )
        .await
    }

    async fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> StoreResult<u32> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE tokens SET activation_failures = activation_failures + 1, \
             activation_hash = CASE WHEN activation_failures + 1 >= $2 THEN NULL ELSE activation_hash END \
             WHERE id = $1 RETURNING activation_failures",
        )
        .bind(id)
        .bind(i64::from(limit))
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let count = match row {
            Some(row) => row.try_get::<i64, _>(0).map_err(fail)? as u32,
            None => 0,
        };
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(count)
    }

    async fn accept_otp(
        &self,
        id: i64,
        used: i64,
        drift: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let changed = accept_otp_in(&mut tx, id, used, drift, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(changed)
    }

    async fn record_otp_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
        lock_event: AuditEvent,
    ) -> StoreResult<(u32, bool)> {
        let mut tx = self.begin().await?;
        let counted = otp_failure_in(&mut tx, id, limit, &event, &lock_event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(counted)
    }

    async fn reset_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query("UPDATE tokens SET failures = 0, locked = 0 WHERE id = $1").bind(id),
            event,
        )
        .await
    }

    async fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query("UPDATE tokens SET state = $1 WHERE id = $2")
                .bind(state.as_str())
                .bind(id),
            event,
        )
        .await
    }

    async fn resync_counter(
        &self,
        id: i64,
        last_used: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(
                "UPDATE tokens SET last_used = $2, failures = 0 WHERE id = $1 AND last_used < $2",
            )
            .bind(id)
            .bind(last_used),
            event,
        )
        .await
    }
}

impl ApiKeyStore for SqlStore {
    async fn insert_api_key(&self, key: NewApiKey, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("INSERT INTO api_keys (name, prefix, hash, role, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
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
        let rows = sqlx::query("SELECT * FROM api_keys ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(api_key_from).collect()
    }

    async fn revoke_api_key(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query("UPDATE api_keys SET revoked = 1 WHERE name = $1 AND revoked = 0")
                .bind(name.to_owned()),
            event,
        )
        .await
    }
}

impl AuditLog for SqlStore {
    async fn append(&self, event: AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    id: row.try_get("id").map_err(fail)?,
                    event: AuditEvent {
                        at: row.try_get("at").map_err(fail)?,
                        actor: row.try_get("actor").map_err(fail)?,
                        action: row.try_get("action").map_err(fail)?,
                        subject: row.try_get("subject").map_err(fail)?,
                        source: row.try_get("source").map_err(fail)?,
                        outcome: row.try_get("outcome").map_err(fail)?,
                        detail: row.try_get("detail").map_err(fail)?,
                    },
                    prev_hash: row.try_get("prev_hash").map_err(fail)?,
                    hash: row.try_get("hash").map_err(fail)?,
                })
            })
            .collect()
    }

    async fn count_unlock_issues(&self, serial: &str, since: i64) -> StoreResult<i64> {
        // The literal action and outcome let the partial index serve it.
        let row = sqlx::query("SELECT COUNT(*) FROM audit WHERE action = 'unlock.issue' AND outcome = 'success' AND subject = $1 AND at >= $2")
            .bind(serial.to_owned())
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?;
        row.try_get::<i64, _>(0).map_err(fail)
    }
}

mod portal;
