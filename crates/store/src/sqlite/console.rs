//! The admin console's reads (and a user's role) on SQLite.

use latchkey_core::console::{AuditSearch, ConsoleStore, HourCount, TokenSearch};
use latchkey_core::import::ImportedAccount;
use latchkey_core::*;
use rusqlite::{Row, params};

use super::engine::SUBJECTS_THROUGH;
use super::{
    SqliteStore, append_in, get, parse, query_all, query_one, token_from, update_and_audit,
    user_from,
};
use crate::queries::{
    self, ACTIVATIONS_EXPIRING, AUDIT_HOURS, AuditParam, AuditScope, CONSOLE_CONFIRMED_AT,
    IMPORT_TOKEN, IMPORT_USER, SEARCH_TOKENS, SEARCH_USERS, SESSIONS_OF_USER,
    SET_CONSOLE_CONFIRMED, SET_USER_ROLE, TOKEN_STATE_COUNTS, USERS_WITHOUT_SECOND_FACTOR,
    contains_pattern,
};

fn audit_row_from(row: &Row<'_>) -> StoreResult<AuditRow> {
    Ok(AuditRow {
        id: get(row, 0)?,
        event: AuditEvent {
            at: get(row, 1)?,
            actor: get(row, 2)?,
            action: parse(get(row, 3)?, "audit action")?,
            subject: get(row, 4)?,
            source: get(row, 5)?,
            outcome: parse(get(row, 6)?, "audit outcome")?,
            detail: get(row, 7)?,
        },
        prev_hash: get(row, 8)?,
        hash: get(row, 9)?,
    })
}

/// The rows one audit search statement finds.
fn audit_rows(
    conn: &rusqlite::Connection,
    search: &AuditSearch,
    before: i64,
    limit: i64,
    scope: AuditScope,
) -> StoreResult<Vec<AuditRow>> {
    let (sql, values) = queries::search_audit(search, before, limit, scope);
    let values: Vec<&dyn rusqlite::ToSql> = values
        .iter()
        .map(|value| match value {
            AuditParam::Int(n) => n as &dyn rusqlite::ToSql,
            AuditParam::Text(text) => text as &dyn rusqlite::ToSql,
        })
        .collect();
    query_all(
        conn,
        &sql,
        rusqlite::params_from_iter(values),
        audit_row_from,
    )
}

impl ConsoleStore for SqliteStore {
    async fn search_users(&self, part: &str, after: &str, limit: i64) -> StoreResult<Vec<User>> {
        let pattern = contains_pattern(part);
        let after = after.to_owned();
        self.read(move |conn| {
            query_all(
                conn,
                SEARCH_USERS.sqlite(),
                params![pattern, after, limit],
                user_from,
            )
        })
        .await
    }

    async fn search_tokens(
        &self,
        search: &TokenSearch,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Token>> {
        let pattern = contains_pattern(&search.serial_part);
        let kind = search.kind.map_or("", TokenKind::as_str);
        let state = search.state.map_or("", TokenState::as_str);
        let owner = search.owner_id.unwrap_or(0);
        let after = after.to_owned();
        self.read(move |conn| {
            query_all(
                conn,
                SEARCH_TOKENS.sqlite(),
                params![pattern, kind, state, owner, after, limit],
                token_from,
            )
        })
        .await
    }

    async fn search_audit(
        &self,
        search: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        let search = search.clone();
        self.read(move |conn| {
            if search.user.is_empty() && search.serial.is_empty() {
                return audit_rows(conn, &search, before, limit, AuditScope::Rows);
            }
            // By subject: the rows `audit_subjects` may not hold yet from
            // the log itself, then the rest through it. Rows only ever
            // join it in order, so the two parts meet wherever a catch-up
            // between them moves `through`.
            let through: i64 = conn
                .prepare_cached(SUBJECTS_THROUGH)
                .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                .map_err(super::fail)?;
            let mut rows = audit_rows(conn, &search, before, limit, AuditScope::After(through))?;
            let left = limit - rows.len() as i64;
            if left > 0 {
                rows.extend(audit_rows(
                    conn,
                    &search,
                    before.min(through.saturating_add(1)),
                    left,
                    AuditScope::Subjects,
                )?);
            }
            Ok(rows)
        })
        .await
    }

    async fn token_state_counts(&self) -> StoreResult<Vec<(TokenState, i64)>> {
        self.read(|conn| {
            query_all(conn, TOKEN_STATE_COUNTS.sqlite(), [], |row| {
                Ok((parse(get(row, 0)?, "token state")?, get(row, 1)?))
            })
        })
        .await
    }

    async fn users_without_second_factor(&self, limit: i64) -> StoreResult<Vec<User>> {
        self.read(move |conn| {
            query_all(
                conn,
                USERS_WITHOUT_SECOND_FACTOR.sqlite(),
                [limit],
                user_from,
            )
        })
        .await
    }

    async fn sessions_of_user(&self, user_id: i64) -> StoreResult<Vec<WebSession>> {
        self.read(move |conn| {
            query_all(conn, SESSIONS_OF_USER.sqlite(), [user_id], |row| {
                Ok(WebSession {
                    id_hash: get(row, 0)?,
                    user_id: get(row, 1)?,
                    stage: parse(get(row, 2)?, "session stage")?,
                    created_at: get(row, 3)?,
                    last_seen: get(row, 4)?,
                })
            })
        })
        .await
    }

    async fn console_confirmed_at(&self, session_hash: &[u8]) -> StoreResult<Option<i64>> {
        let session_hash = session_hash.to_vec();
        self.read(move |conn| {
            query_one(conn, CONSOLE_CONFIRMED_AT.sqlite(), [session_hash], |row| {
                get(row, 0)
            })
        })
        .await
    }

    async fn set_console_confirmed(&self, session_hash: &[u8], at: i64) -> StoreResult<()> {
        let session_hash = session_hash.to_vec();
        self.write(move |tx| {
            tx.prepare_cached(SET_CONSOLE_CONFIRMED.sqlite())?
                .execute(params![session_hash, at])?;
            Ok(())
        })
        .await
    }

    async fn set_user_role(&self, id: i64, role: Role, event: AuditEvent) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                SET_USER_ROLE.sqlite(),
                params![role.as_str(), id],
                &event,
            )
        })
        .await
    }

    async fn audit_hours(&self, from_hour: i64) -> StoreResult<Vec<HourCount>> {
        self.read(move |conn| {
            query_all(conn, AUDIT_HOURS.sqlite(), [from_hour], |row| {
                Ok(HourCount {
                    hour: get(row, 0)?,
                    action: get(row, 1)?,
                    outcome: get(row, 2)?,
                    count: get(row, 3)?,
                })
            })
        })
        .await
    }

    async fn activations_expiring(
        &self,
        now: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<Token>> {
        self.read(move |conn| {
            query_all(
                conn,
                ACTIVATIONS_EXPIRING.sqlite(),
                params![now, until, limit],
                token_from,
            )
        })
        .await
    }

    async fn import_accounts(
        &self,
        accounts: Vec<ImportedAccount>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            {
                let mut add_user = tx.prepare_cached(IMPORT_USER.sqlite())?;
                let mut add_token = tx.prepare_cached(IMPORT_TOKEN.sqlite())?;
                for account in &accounts {
                    let (user, token) = (&account.user, &account.token);
                    let user_id: i64 = add_user.query_row(
                        params![
                            user.username.as_str(),
                            user.email,
                            user.role.as_str(),
                            UserStatus::Active.as_str(),
                            user.password_hash,
                            token.created_at,
                        ],
                        |row| row.get(0),
                    )?;
                    add_token.execute(params![
                        token.serial.as_str(),
                        user_id,
                        token.kind.as_str(),
                        token.state.as_str(),
                        token.otp.algorithm.name(),
                        token.otp.digits.get(),
                        token.otp.period as i64,
                        token.sealed_seed,
                        account.last_used,
                        token.created_at,
                    ])?;
                }
            }
            append_in(tx, &event)
        })
        .await
    }
}
