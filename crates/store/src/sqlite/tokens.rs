//! Tokens on SQLite.

use super::{
    SqliteStore, append_in, query_all, query_one, record_otp_steps, token_from, update_and_audit,
    user_with_tokens,
};
use crate::queries::{
    ACTIVATE_TOKEN, COUNT_ACTIVATION_FAILURE, INSERT_TOKEN, LIST_TOKENS, RESET_TOKEN,
    RESYNC_COUNTER, SET_TOKEN_STATE, TOKEN_BY_SERIAL, TOKENS_OF_USER,
};
use latchkey_core::*;
use rusqlite::{OptionalExtension, params};

impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: NewToken, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_TOKEN.sqlite())?.query_row(
                params![
                    token.serial.as_str(),
                    token.user_id,
                    token.kind.as_str(),
                    token.state.as_str(),
                    token.otp.algorithm.name(),
                    i64::from(token.otp.digits.get()),
                    // Stored as SQLite's signed integer, as the SQL store does.
                    token.otp.period as i64,
                    token.sealed_seed,
                    token.sealed_unlock_secret,
                    token.activation_hash,
                    token.activation_expires,
                    token.created_at,
                ],
                |row| row.get(0),
            )?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn token_by_serial(&self, serial: &str) -> StoreResult<Option<Token>> {
        let serial = serial.to_owned();
        self.read(move |conn| query_one(conn, TOKEN_BY_SERIAL.sqlite(), [serial], token_from))
            .await
    }

    async fn tokens_of_user(&self, user_id: i64) -> StoreResult<Vec<Token>> {
        self.read(move |conn| query_all(conn, TOKENS_OF_USER.sqlite(), [user_id], token_from))
            .await
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
        let username = username.as_str().to_owned();
        let api_key = api_key.map(str::to_owned);
        // All on the writer, inside its transaction: it holds the database's
        // write lock, so no change by anyone comes between the read and the
        // record, and the check costs one hand-over instead of one per query.
        // Unguarded: it reads, updates token counters and appends audit rows
        // at the head it holds, none of which can break a constraint.
        self.write_unguarded(move |tx| {
            // A stored row that does not parse: nothing is written yet.
            let key = match api_key.map(|prefix| tx.api_key(&prefix)).transpose() {
                Ok(key) => key.flatten(),
                Err(error) => return Ok(Err(error)),
            };
            let (user, tokens) = match user_with_tokens(tx, &username) {
                Ok(Some((user, tokens))) => (Some(user), tokens),
                Ok(None) => (None, Vec::new()),
                Err(error) => return Ok(Err(error)),
            };
            Ok(Ok(match judge(key.as_ref(), user.as_ref(), &tokens) {
                Ok(steps) => Ok(record_otp_steps(tx, steps)?),
                Err(judged) => Err(judged),
            }))
        })
        .await?
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        self.read(|conn| query_all(conn, LIST_TOKENS.sqlite(), [], token_from))
            .await
    }

    async fn activate_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.write(move |tx| update_and_audit(tx, ACTIVATE_TOKEN.sqlite(), [id], &event))
            .await
    }

    async fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> StoreResult<u32> {
        self.write(move |tx| {
            let count: Option<i64> = tx
                .prepare_cached(COUNT_ACTIVATION_FAILURE.sqlite())?
                .query_row(params![id, i64::from(limit)], |row| row.get(0))
                .optional()?;
            append_in(tx, &event)?;
            Ok(count.map_or(0, |count| count as u32))
        })
        .await
    }

    async fn reset_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.write(move |tx| update_and_audit(tx, RESET_TOKEN.sqlite(), [id], &event))
            .await
    }

    async fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                SET_TOKEN_STATE.sqlite(),
                params![state.as_str(), id],
                &event,
            )
        })
        .await
    }

    async fn resync_counter(
        &self,
        id: i64,
        last_used: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(tx, RESYNC_COUNTER.sqlite(), params![id, last_used], &event)
        })
        .await
    }
}
