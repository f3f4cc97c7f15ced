//! Tokens on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;

use tokio::sync::oneshot;

use super::{PostgresStore, append_in, checks, fail, token_from};
use crate::queries::{
    ACTIVATE_TOKEN, COUNT_ACTIVATION_FAILURE, INSERT_TOKEN, LIST_TOKENS, RESET_TOKEN,
    RESYNC_COUNTER, SET_TOKEN_STATE, TOKEN_BY_SERIAL, TOKENS_OF_USER,
};

impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: NewToken, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_TOKEN.postgres())
            .bind(token.serial.as_str())
            .bind(token.user_id)
            .bind(token.kind.as_str())
            .bind(token.state.as_str())
            .bind(token.otp.algorithm.name())
            .bind(i64::from(token.otp.digits.get()))
            .bind(token.otp.period as i64)
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
        let row = sqlx::query(TOKEN_BY_SERIAL.postgres())
            .bind(serial.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens_of_user(&self, user_id: i64) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query(TOKENS_OF_USER.postgres())
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
        let rows = sqlx::query(LIST_TOKENS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(token_from).collect()
    }

    async fn activate_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(sqlx::query(ACTIVATE_TOKEN.postgres()).bind(id), event)
            .await
    }

    async fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> StoreResult<u32> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(COUNT_ACTIVATION_FAILURE.postgres())
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

    async fn reset_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(sqlx::query(RESET_TOKEN.postgres()).bind(id), event)
            .await
    }

    async fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(SET_TOKEN_STATE.postgres())
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
            sqlx::query(RESYNC_COUNTER.postgres())
                .bind(id)
                .bind(last_used),
            event,
        )
        .await
    }
}
