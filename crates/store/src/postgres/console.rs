//! The admin console's reads (and a user's role) on PostgreSQL.

use latchkey_core::console::{AuditSearch, ConsoleStore, TokenSearch};
use latchkey_core::*;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, fail, parse, token_from, user_from};
use crate::queries::{
    CONSOLE_CONFIRMED_AT, SEARCH_AUDIT, SEARCH_TOKENS, SEARCH_USERS, SESSIONS_OF_USER,
    SET_CONSOLE_CONFIRMED, SET_USER_ROLE, TOKEN_STATE_COUNTS, USERS_WITHOUT_SECOND_FACTOR,
    contains_pattern,
};

fn audit_row_from(row: &PgRow) -> StoreResult<AuditRow> {
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
}

fn session_from(row: &PgRow) -> StoreResult<WebSession> {
    Ok(WebSession {
        id_hash: row.try_get("id_hash").map_err(fail)?,
        user_id: row.try_get("user_id").map_err(fail)?,
        stage: parse(row.try_get("stage").map_err(fail)?, "session stage")?,
        created_at: row.try_get("created_at").map_err(fail)?,
        last_seen: row.try_get("last_seen").map_err(fail)?,
    })
}

impl ConsoleStore for PostgresStore {
    async fn search_users(&self, part: &str, after: &str, limit: i64) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(SEARCH_USERS.postgres())
            .bind(contains_pattern(part))
            .bind(after.to_owned())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(user_from).collect()
    }

    async fn search_tokens(
        &self,
        search: &TokenSearch,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query(SEARCH_TOKENS.postgres())
            .bind(contains_pattern(&search.serial_part))
            .bind(search.kind.map_or("", TokenKind::as_str))
            .bind(search.state.map_or("", TokenState::as_str))
            .bind(search.owner_id.unwrap_or(0))
            .bind(after.to_owned())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(token_from).collect()
    }

    async fn search_audit(
        &self,
        search: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(SEARCH_AUDIT.postgres())
            .bind(before)
            .bind(search.from)
            .bind(search.until)
            .bind(search.actor.clone())
            .bind(search.user.clone())
            .bind(search.serial.clone())
            .bind(search.action.clone())
            .bind(search.outcome.clone())
            .bind(search.source.clone())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(audit_row_from).collect()
    }

    async fn token_state_counts(&self) -> StoreResult<Vec<(TokenState, i64)>> {
        let rows = sqlx::query(TOKEN_STATE_COUNTS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse(row.try_get(0).map_err(fail)?, "token state")?,
                    row.try_get::<i64, _>(1).map_err(fail)?,
                ))
            })
            .collect()
    }

    async fn users_without_second_factor(&self, limit: i64) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(USERS_WITHOUT_SECOND_FACTOR.postgres())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(user_from).collect()
    }

    async fn sessions_of_user(&self, user_id: i64) -> StoreResult<Vec<WebSession>> {
        let rows = sqlx::query(SESSIONS_OF_USER.postgres())
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(session_from).collect()
    }

    async fn console_confirmed_at(&self, session_hash: &[u8]) -> StoreResult<Option<i64>> {
        let row = sqlx::query(CONSOLE_CONFIRMED_AT.postgres())
            .bind(session_hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|row| row.try_get::<i64, _>(0).map_err(fail))
            .transpose()
    }

    async fn set_console_confirmed(&self, session_hash: &[u8], at: i64) -> StoreResult<()> {
        sqlx::query(SET_CONSOLE_CONFIRMED.postgres())
            .bind(session_hash.to_vec())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn set_user_role(&self, id: i64, role: Role, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(SET_USER_ROLE.postgres())
                .bind(role.as_str())
                .bind(id),
            event,
        )
        .await
    }
}
