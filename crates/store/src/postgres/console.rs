//! The admin console's reads (and a user's role) on PostgreSQL.

use latchkey_core::console::{AuditSearch, ConsoleStore, HourCount, TokenSearch};
use latchkey_core::import::ImportedAccount;
use latchkey_core::*;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, append_in, fail, parse, token_from, user_from};
use crate::queries::{
    self, ACTIVATIONS_EXPIRING, AUDIT_HOURS, AuditParam, CONSOLE_CONFIRMED_AT, IMPORT_TOKEN,
    IMPORT_USER, SEARCH_TOKENS, SEARCH_USERS, SESSIONS_OF_USER, SET_CONSOLE_CONFIRMED,
    SET_USER_ROLE, TOKEN_STATE_COUNTS, USERS_WITHOUT_SECOND_FACTOR, contains_pattern,
};

fn audit_row_from(row: &PgRow) -> StoreResult<AuditRow> {
    Ok(AuditRow {
        id: row.try_get("id").map_err(fail)?,
        event: AuditEvent {
            at: row.try_get("at").map_err(fail)?,
            actor: row.try_get("actor").map_err(fail)?,
            action: parse(row.try_get("action").map_err(fail)?, "audit action")?,
            subject: row.try_get("subject").map_err(fail)?,
            source: row.try_get("source").map_err(fail)?,
            outcome: parse(row.try_get("outcome").map_err(fail)?, "audit outcome")?,
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
        let (sql, values) = queries::search_audit(search, before, limit, queries::AuditScope::Rows);
        let sql = queries::dollar_placeholders(&sql);
        let mut query = sqlx::query(&sql);
        for value in values {
            query = match value {
                AuditParam::Int(n) => query.bind(n),
                AuditParam::Text(text) => query.bind(text),
            };
        }
        let rows = query.fetch_all(&self.pool).await.map_err(fail)?;
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

    async fn audit_hours(&self, from_hour: i64) -> StoreResult<Vec<HourCount>> {
        let rows = sqlx::query(AUDIT_HOURS.postgres())
            .bind(from_hour)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(HourCount {
                    hour: row.try_get("hour").map_err(fail)?,
                    action: row.try_get("action").map_err(fail)?,
                    outcome: row.try_get("outcome").map_err(fail)?,
                    count: row.try_get("count").map_err(fail)?,
                })
            })
            .collect()
    }

    async fn activations_expiring(
        &self,
        now: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query(ACTIVATIONS_EXPIRING.postgres())
            .bind(now)
            .bind(until)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(token_from).collect()
    }

    async fn import_accounts(
        &self,
        accounts: Vec<ImportedAccount>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for account in &accounts {
            let (user, token) = (&account.user, &account.token);
            let row = sqlx::query(IMPORT_USER.postgres())
                .bind(user.username.as_str())
                .bind(user.email.clone())
                .bind(user.role.as_str())
                .bind(UserStatus::Active.as_str())
                .bind(user.password_hash.clone())
                .bind(token.created_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
            let user_id: i64 = row.try_get(0).map_err(fail)?;
            sqlx::query(IMPORT_TOKEN.postgres())
                .bind(token.serial.to_string())
                .bind(user_id)
                .bind(token.kind.as_str())
                .bind(token.state.as_str())
                .bind(token.otp.algorithm.name())
                .bind(i64::from(token.otp.digits.get()))
                .bind(token.otp.period as i64)
                .bind(token.sealed_seed.clone())
                .bind(account.last_used)
                .bind(token.created_at)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }
}
