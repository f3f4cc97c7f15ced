//! Users on SQLite.

use super::{SqliteStore, append_in, query_all, query_one, update_and_audit, user_from};
use latchkey_core::*;
use rusqlite::{OptionalExtension, params};

impl UserStore for SqliteStore {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO users (username, email, role, status, password_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                user.username.as_str(),
                user.email,
                user.role.as_str(),
                UserStatus::Active.as_str(),
                user.password_hash,
                event.at,
            ])?;
            let id = tx.last_insert_rowid();
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        let username = username.as_str().to_owned();
        self.read(move |conn| {
            query_one(
                conn,
                concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE username = ?1"
                ),
                [username],
                user_from,
            )
        })
        .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(move |conn| {
            query_one(
                conn,
                concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1"),
                [id],
                user_from,
            )
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            query_all(
                conn,
                concat!("SELECT ", user_columns!(), " FROM users ORDER BY username"),
                [],
                user_from,
            )
        })
        .await
    }

    async fn set_user_status(
        &self,
        id: i64,
        status: UserStatus,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE users SET status = ?1 WHERE id = ?2",
                params![status.as_str(), id],
                &event,
            )
        })
        .await
    }

    async fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, id],
                &event,
            )
        })
        .await
    }

    async fn record_password_failure(
        &self,
        id: i64,
        now: i64,
        throttle: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let failures: Option<i64> = tx
                .prepare_cached(
                    "UPDATE users SET password_failures = password_failures + 1 WHERE id = ?1 RETURNING password_failures",
                )?
                .query_row(params![id], |row| row.get(0))
                .optional()?;
            let delay = throttle.delay(u32::try_from(failures.unwrap_or(0)).unwrap_or(u32::MAX));
            let blocked_until = if delay > 0 { now + delay } else { 0 };
            tx.prepare_cached("UPDATE users SET password_blocked_until = ?2 WHERE id = ?1")?
                .execute(params![id, blocked_until])?;
            append_in(tx, &event)?;
            Ok(blocked_until)
        })
        .await
    }

    async fn clear_password_failures(&self, id: i64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE users SET password_failures = 0, password_blocked_until = 0 WHERE id = ?1 AND password_failures > 0",
            )?
            .execute(params![id])?;
            Ok(())
        })
        .await
    }
}
