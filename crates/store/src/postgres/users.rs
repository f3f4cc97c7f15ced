//! Users on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;

use super::{PostgresStore, append_in, fail, user_from, user_named};
use crate::queries::{
    CLEAR_ANSWER_FAILURES, CLEAR_PASSWORD_FAILURES, CLEAR_SOURCE_PASSWORD_FAILURES,
    COUNT_ANSWER_FAILURE, COUNT_PASSWORD_FAILURE, COUNT_SOURCE_PASSWORD_FAILURE, INSERT_USER,
    LIST_USERS, SET_ANSWER_BLOCKED_UNTIL, SET_PASSWORD_BLOCKED_UNTIL, SET_PASSWORD_HASH,
    SET_SOURCE_PASSWORD_BLOCKED_UNTIL, SET_USER_STATUS, SOURCE_PASSWORD_BLOCKED_UNTIL, USER_BY_ID,
};

impl UserStore for PostgresStore {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_USER.postgres())
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
        let row = sqlx::query(USER_BY_ID.postgres())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(LIST_USERS.postgres())
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
            sqlx::query(SET_USER_STATUS.postgres())
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
            sqlx::query(SET_PASSWORD_HASH.postgres())
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
        let row = sqlx::query(COUNT_PASSWORD_FAILURE.postgres())
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
        sqlx::query(SET_PASSWORD_BLOCKED_UNTIL.postgres())
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
        let mut tx = self.begin().await?;
        for statement in [&CLEAR_PASSWORD_FAILURES, &CLEAR_SOURCE_PASSWORD_FAILURES] {
            sqlx::query(statement.postgres())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(())
    }

    async fn source_password_blocked_until(&self, id: i64, source: &str) -> StoreResult<i64> {
        let row = sqlx::query(SOURCE_PASSWORD_BLOCKED_UNTIL.postgres())
            .bind(id)
            .bind(source)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        match row {
            Some(row) => row.try_get::<i64, _>(0).map_err(fail),
            None => Ok(0),
        }
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
        let wait = |throttle: Throttle, count: i64| {
            let delay = throttle.delay(u32::try_from(count).unwrap_or(u32::MAX));
            if delay > 0 { now + delay } else { 0 }
        };
        let mut tx = self.begin().await?;
        // The upsert and the UPDATE take their rows' locks, so concurrent
        // failures on other nodes count one after another.
        let from_source: i64 = sqlx::query(COUNT_SOURCE_PASSWORD_FAILURE.postgres())
            .bind(id)
            .bind(source)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?
            .try_get(0)
            .map_err(fail)?;
        let source_until = wait(per_source, from_source);
        sqlx::query(SET_SOURCE_PASSWORD_BLOCKED_UNTIL.postgres())
            .bind(id)
            .bind(source)
            .bind(source_until)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        if from_source <= i64::from(per_source.free_failures.max(1)) {
            let failures = match sqlx::query(COUNT_PASSWORD_FAILURE.postgres())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?
            {
                Some(row) => row.try_get::<i64, _>(0).map_err(fail)?,
                None => 0,
            };
            sqlx::query(SET_PASSWORD_BLOCKED_UNTIL.postgres())
                .bind(id)
                .bind(wait(account, failures))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(source_until)
    }

    async fn record_answer_failure(
        &self,
        id: i64,
        now: i64,
        account: Throttle,
        answers: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        // The UPDATE takes the row lock, as for a wrong password.
        let row = sqlx::query(COUNT_ANSWER_FAILURE.postgres())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let (account_count, answer_count) = match row {
            Some(row) => (
                row.try_get::<i64, _>(0).map_err(fail)?,
                row.try_get::<i64, _>(1).map_err(fail)?,
            ),
            None => (0, 0),
        };
        let wait = |throttle: Throttle, count: i64| {
            let delay = throttle.delay(u32::try_from(count).unwrap_or(u32::MAX));
            if delay > 0 { now + delay } else { 0 }
        };
        let answers_until = wait(answers, answer_count);
        sqlx::query(SET_ANSWER_BLOCKED_UNTIL.postgres())
            .bind(id)
            .bind(wait(account, account_count))
            .bind(answers_until)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(answers_until)
    }

    async fn clear_answer_failures(&self, id: i64) -> StoreResult<()> {
        sqlx::query(CLEAR_ANSWER_FAILURES.postgres())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }
}
