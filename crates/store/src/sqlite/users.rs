//! Users on SQLite.

use super::{SqliteStore, append_in, query_all, query_one, update_and_audit, user_from};
use crate::queries::{
    CLEAR_ANSWER_FAILURES, CLEAR_PASSWORD_FAILURES, CLEAR_SOURCE_PASSWORD_FAILURES,
    COUNT_ANSWER_FAILURE, COUNT_PASSWORD_FAILURE, COUNT_SOURCE_PASSWORD_FAILURE, INSERT_USER,
    LIST_USERS, SET_ANSWER_BLOCKED_UNTIL, SET_PASSWORD_BLOCKED_UNTIL, SET_PASSWORD_HASH,
    SET_SOURCE_PASSWORD_BLOCKED_UNTIL, SET_USER_STATUS, SOURCE_PASSWORD_BLOCKED_UNTIL, USER_BY_ID,
    USER_BY_NAME,
};
use latchkey_core::*;
use rusqlite::{OptionalExtension, params};

impl UserStore for SqliteStore {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_USER.sqlite())?.query_row(
                params![
                    user.username.as_str(),
                    user.email,
                    user.role.as_str(),
                    UserStatus::Active.as_str(),
                    user.password_hash,
                    event.at,
                ],
                |row| row.get(0),
            )?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        let username = username.as_str().to_owned();
        self.read(move |conn| query_one(conn, USER_BY_NAME.sqlite(), [username], user_from))
            .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(move |conn| query_one(conn, USER_BY_ID.sqlite(), [id], user_from))
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| query_all(conn, LIST_USERS.sqlite(), [], user_from))
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
                SET_USER_STATUS.sqlite(),
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
            update_and_audit(tx, SET_PASSWORD_HASH.sqlite(), params![hash, id], &event)
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
                .prepare_cached(COUNT_PASSWORD_FAILURE.sqlite())?
                .query_row(params![id], |row| row.get(0))
                .optional()?;
            let delay = throttle.delay(u32::try_from(failures.unwrap_or(0)).unwrap_or(u32::MAX));
            let blocked_until = if delay > 0 { now + delay } else { 0 };
            tx.prepare_cached(SET_PASSWORD_BLOCKED_UNTIL.sqlite())?
                .execute(params![id, blocked_until])?;
            append_in(tx, &event)?;
            Ok(blocked_until)
        })
        .await
    }

    async fn clear_password_failures(&self, id: i64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(CLEAR_PASSWORD_FAILURES.sqlite())?
                .execute(params![id])?;
            tx.prepare_cached(CLEAR_SOURCE_PASSWORD_FAILURES.sqlite())?
                .execute(params![id])?;
            Ok(())
        })
        .await
    }

    async fn source_password_blocked_until(&self, id: i64, source: &str) -> StoreResult<i64> {
        let source = source.to_owned();
        self.read(move |conn| {
            query_one(
                conn,
                SOURCE_PASSWORD_BLOCKED_UNTIL.sqlite(),
                params![id, source],
                |row| super::rows::get(row, 0),
            )
        })
        .await
        .map(Option::unwrap_or_default)
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
        let source = source.to_owned();
        self.write(move |tx| {
            let wait = |throttle: Throttle, count: i64| {
                let delay = throttle.delay(u32::try_from(count).unwrap_or(u32::MAX));
                if delay > 0 { now + delay } else { 0 }
            };
            let from_source: i64 = tx
                .prepare_cached(COUNT_SOURCE_PASSWORD_FAILURE.sqlite())?
                .query_row(params![id, source], |row| row.get(0))?;
            let source_until = wait(per_source, from_source);
            tx.prepare_cached(SET_SOURCE_PASSWORD_BLOCKED_UNTIL.sqlite())?
                .execute(params![id, source, source_until])?;
            if from_source <= i64::from(per_source.free_failures.max(1)) {
                let failures: Option<i64> = tx
                    .prepare_cached(COUNT_PASSWORD_FAILURE.sqlite())?
                    .query_row(params![id], |row| row.get(0))
                    .optional()?;
                tx.prepare_cached(SET_PASSWORD_BLOCKED_UNTIL.sqlite())?
                    .execute(params![id, wait(account, failures.unwrap_or(0))])?;
            }
            append_in(tx, &event)?;
            Ok(source_until)
        })
        .await
    }

    async fn record_answer_failure(
        &self,
        id: i64,
        now: i64,
        account: Throttle,
        answers: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let counts: Option<(i64, i64)> = tx
                .prepare_cached(COUNT_ANSWER_FAILURE.sqlite())?
                .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let (account_count, answer_count) = counts.unwrap_or((0, 0));
            let wait = |throttle: Throttle, count: i64| {
                let delay = throttle.delay(u32::try_from(count).unwrap_or(u32::MAX));
                if delay > 0 { now + delay } else { 0 }
            };
            let answers_until = wait(answers, answer_count);
            tx.prepare_cached(SET_ANSWER_BLOCKED_UNTIL.sqlite())?
                .execute(params![id, wait(account, account_count), answers_until])?;
            append_in(tx, &event)?;
            Ok(answers_until)
        })
        .await
    }

    async fn clear_answer_failures(&self, id: i64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(CLEAR_ANSWER_FAILURES.sqlite())?
                .execute(params![id])?;
            Ok(())
        })
        .await
    }
}
