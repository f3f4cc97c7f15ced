//! Portal sessions, security questions and reset links on SQLite.

use latchkey_core::*;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, append_in, get, parse, query_all, query_one, update_and_audit};
use crate::queries::{
    ANSWERS_OF, CLEAR_ASKED, COUNT_ASKED, COUNT_RESET_LINKS, DELETE_ANSWERS, DELETE_OTHER_SESSIONS,
    DELETE_SESSION, INSERT_ANSWER, INSERT_QUESTION, INSERT_RESET_LINK, INSERT_SESSION, MARK_ASKED,
    QUESTIONS, RESET_LINK_USER, RETIRE_QUESTION, REVOKE_OIDC_GRANTS_OF_USER, SESSION_BY_ID,
    TAKE_RESET_LINK, TOUCH_SESSION, VOID_RESET_LINKS,
};

impl PortalStore for SqliteStore {
    async fn insert_session(
        &self,
        session: NewSession,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            if let Some(previous) = previous {
                tx.prepare_cached(DELETE_SESSION.sqlite())?
                    .execute(params![previous])?;
            }
            tx.prepare_cached(INSERT_SESSION.sqlite())?
                .execute(params![
                    session.id_hash,
                    session.user_id,
                    session.stage.as_str(),
                    session.created_at,
                    session.last_seen,
                ])?;
            append_in(tx, &event)
        })
        .await
    }

    async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<WebSession>> {
        let id_hash = id_hash.to_vec();
        self.read(move |conn| {
            query_one(conn, SESSION_BY_ID.sqlite(), [id_hash], |row| {
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

    async fn touch_session(&self, id_hash: &[u8], now: i64) -> StoreResult<()> {
        let id_hash = id_hash.to_vec();
        self.write(move |tx| {
            tx.prepare_cached(TOUCH_SESSION.sqlite())?
                .execute(params![id_hash, now])?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
        let id_hash = id_hash.to_vec();
        self.write(move |tx| {
            tx.prepare_cached(DELETE_SESSION.sqlite())?
                .execute(params![id_hash])?;
            Ok(())
        })
        .await
    }

    async fn delete_sessions_of_user(
        &self,
        user_id: i64,
        keep: Option<Vec<u8>>,
    ) -> StoreResult<u64> {
        self.write(move |tx| {
            let keep = keep.unwrap_or_default();
            let ended = tx
                .prepare_cached(DELETE_OTHER_SESSIONS.sqlite())?
                .execute(params![user_id, keep])?;
            Ok(ended as u64)
        })
        .await
    }

    async fn revoke_oidc_grants_of_user(
        &self,
        user_id: i64,
        keep_sid: Option<String>,
        event: impl FnOnce(u64) -> AuditEvent + Send + 'static,
    ) -> StoreResult<u64> {
        self.write(move |tx| {
            let revoked = tx
                .prepare_cached(REVOKE_OIDC_GRANTS_OF_USER.sqlite())?
                .execute(params![user_id, keep_sid.unwrap_or_default()])?
                as u64;
            if revoked > 0 {
                append_in(tx, &event(revoked))?;
            }
            Ok(revoked)
        })
        .await
    }

    async fn questions(&self) -> StoreResult<Vec<Question>> {
        self.read(|conn| {
            query_all(conn, QUESTIONS.sqlite(), [], |row| {
                Ok(Question {
                    id: get(row, 0)?,
                    text: get(row, 1)?,
                    active: get::<i64>(row, 2)? != 0,
                })
            })
        })
        .await
    }

    async fn insert_question(&self, text: String, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx
                .prepare_cached(INSERT_QUESTION.sqlite())?
                .query_row(params![text], |row| row.get(0))?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn retire_question(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.write(move |tx| update_and_audit(tx, RETIRE_QUESTION.sqlite(), [id], &event))
            .await
    }

    async fn answers_of(&self, user_id: i64) -> StoreResult<Vec<Answer>> {
        self.read(move |conn| {
            query_all(conn, ANSWERS_OF.sqlite(), [user_id], |row| {
                Ok(Answer {
                    question_id: get(row, 0)?,
                    answer_hash: get(row, 1)?,
                    asked: get::<i64>(row, 2)? != 0,
                })
            })
        })
        .await
    }

    async fn set_answers(
        &self,
        user_id: i64,
        answers: Vec<(i64, String)>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(DELETE_ANSWERS.sqlite())?
                .execute(params![user_id])?;
            for (question_id, hash) in &answers {
                tx.prepare_cached(INSERT_ANSWER.sqlite())?.execute(params![
                    user_id,
                    question_id,
                    hash
                ])?;
            }
            append_in(tx, &event)
        })
        .await
    }

    async fn mark_asked(&self, user_id: i64, question_ids: Vec<i64>) -> StoreResult<bool> {
        self.write(move |tx| {
            let already: i64 = tx
                .prepare_cached(COUNT_ASKED.sqlite())?
                .query_row(params![user_id], |row| row.get(0))?;
            if already > 0 {
                return Ok(false);
            }
            for id in &question_ids {
                tx.prepare_cached(MARK_ASKED.sqlite())?
                    .execute(params![user_id, id])?;
            }
            Ok(true)
        })
        .await
    }

    async fn clear_asked(&self, user_id: i64, event: AuditEvent) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(CLEAR_ASKED.sqlite())?
                .execute(params![user_id])?;
            append_in(tx, &event)
        })
        .await
    }

    async fn insert_reset_link(
        &self,
        token_hash: Vec<u8>,
        user_id: i64,
        expires_at: i64,
        since: i64,
        limit: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        // The one writer runs this whole closure at a time: count and insert
        // cannot interleave with another request's.
        self.write(move |tx| {
            let made: i64 = tx
                .prepare_cached(COUNT_RESET_LINKS.sqlite())?
                .query_row(params![user_id, since], |row| row.get(0))?;
            if made >= limit {
                return Ok(false);
            }
            tx.prepare_cached(INSERT_RESET_LINK.sqlite())?
                .execute(params![token_hash, user_id, event.at, expires_at])?;
            append_in(tx, &event)?;
            Ok(true)
        })
        .await
    }

    async fn reset_link_user(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        self.read(move |conn| {
            query_one(
                conn,
                RESET_LINK_USER.sqlite(),
                params![token_hash, now],
                |row| get(row, 0),
            )
        })
        .await
    }

    async fn take_reset_link(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        self.write(move |tx| {
            tx.prepare_cached(TAKE_RESET_LINK.sqlite())?
                .query_row(params![token_hash, now], |row| row.get(0))
                .optional()
        })
        .await
    }

    async fn void_reset_links(&self, user_id: i64) -> StoreResult<u64> {
        self.write(move |tx| {
            let voided = tx
                .prepare_cached(VOID_RESET_LINKS.sqlite())?
                .execute(params![user_id])?;
            Ok(voided as u64)
        })
        .await
    }
}
