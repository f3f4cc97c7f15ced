//! Portal sessions, security questions and reset links on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, append_in, fail, parse};
use crate::queries::{
    ANSWERS_OF, CLEAR_ASKED, COUNT_ASKED, COUNT_RESET_LINKS, DELETE_ANSWERS, DELETE_OTHER_SESSIONS,
    DELETE_SESSION, INSERT_ANSWER, INSERT_QUESTION, INSERT_RESET_LINK, INSERT_SESSION, MARK_ASKED,
    QUESTIONS, RESET_LINK_USER, RETIRE_QUESTION, REVOKE_OIDC_GRANTS_OF_USER, SESSION_BY_ID,
    TAKE_RESET_LINK, TOUCH_SESSION, VOID_RESET_LINKS,
};

fn session_from(row: &PgRow) -> StoreResult<WebSession> {
    Ok(WebSession {
        id_hash: row.try_get("id_hash").map_err(fail)?,
        user_id: row.try_get("user_id").map_err(fail)?,
        stage: parse(row.try_get("stage").map_err(fail)?, "session stage")?,
        created_at: row.try_get("created_at").map_err(fail)?,
        last_seen: row.try_get("last_seen").map_err(fail)?,
    })
}

impl PortalStore for PostgresStore {
    async fn insert_session(
        &self,
        session: NewSession,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if let Some(previous) = previous {
            sqlx::query(DELETE_SESSION.postgres())
                .bind(previous)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        sqlx::query(INSERT_SESSION.postgres())
            .bind(session.id_hash)
            .bind(session.user_id)
            .bind(session.stage.as_str())
            .bind(session.created_at)
            .bind(session.last_seen)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<WebSession>> {
        let row = sqlx::query(SESSION_BY_ID.postgres())
            .bind(id_hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn touch_session(&self, id_hash: &[u8], now: i64) -> StoreResult<()> {
        sqlx::query(TOUCH_SESSION.postgres())
            .bind(id_hash.to_vec())
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(DELETE_SESSION.postgres())
            .bind(id_hash.to_vec())
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn delete_sessions_of_user(
        &self,
        user_id: i64,
        keep: Option<Vec<u8>>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(DELETE_OTHER_SESSIONS.postgres())
            .bind(user_id)
            .bind(keep.unwrap_or_default())
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(done.rows_affected())
    }

    async fn revoke_oidc_grants_of_user(
        &self,
        user_id: i64,
        keep_sid: Option<String>,
        event: impl FnOnce(u64) -> AuditEvent + Send + 'static,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(REVOKE_OIDC_GRANTS_OF_USER.postgres())
            .bind(user_id)
            .bind(keep_sid.unwrap_or_default())
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        if revoked > 0 {
            append_in(&mut tx, &event(revoked)).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(revoked)
    }

    async fn questions(&self) -> StoreResult<Vec<Question>> {
        let rows = sqlx::query(QUESTIONS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(Question {
                    id: row.try_get("id").map_err(fail)?,
                    text: row.try_get("text").map_err(fail)?,
                    active: row.try_get("active").map_err(fail)?,
                })
            })
            .collect()
    }

    async fn insert_question(&self, text: String, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_QUESTION.postgres())
            .bind(text)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn retire_question(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(sqlx::query(RETIRE_QUESTION.postgres()).bind(id), event)
            .await
    }

    async fn answers_of(&self, user_id: i64) -> StoreResult<Vec<Answer>> {
        let rows = sqlx::query(ANSWERS_OF.postgres())
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(Answer {
                    question_id: row.try_get("question_id").map_err(fail)?,
                    answer_hash: row.try_get("answer_hash").map_err(fail)?,
                    asked: row.try_get("asked").map_err(fail)?,
                })
            })
            .collect()
    }

    async fn set_answers(
        &self,
        user_id: i64,
        answers: Vec<(i64, String)>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(DELETE_ANSWERS.postgres())
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        for (question_id, hash) in answers {
            sqlx::query(INSERT_ANSWER.postgres())
                .bind(user_id)
                .bind(question_id)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn mark_asked(&self, user_id: i64, question_ids: Vec<i64>) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // The user's row lock orders challenges chosen on different nodes.
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let already: i64 = sqlx::query(COUNT_ASKED.postgres())
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?
            .try_get(0)
            .map_err(fail)?;
        if already > 0 {
            tx.rollback().await.map_err(fail)?;
            return Ok(false);
        }
        for id in question_ids {
            sqlx::query(MARK_ASKED.postgres())
                .bind(user_id)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn clear_asked(&self, user_id: i64, event: AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(CLEAR_ASKED.postgres())
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
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
        let mut tx = self.begin().await?;
        // The user's row lock makes count-then-insert atomic across nodes.
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let made: i64 = sqlx::query(COUNT_RESET_LINKS.postgres())
            .bind(user_id)
            .bind(since)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?
            .try_get(0)
            .map_err(fail)?;
        if made >= limit {
            tx.rollback().await.map_err(fail)?;
            return Ok(false);
        }
        sqlx::query(INSERT_RESET_LINK.postgres())
            .bind(token_hash)
            .bind(user_id)
            .bind(event.at)
            .bind(expires_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn reset_link_user(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query(RESET_LINK_USER.postgres())
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|row| row.try_get::<i64, _>(0).map_err(fail))
            .transpose()
    }

    async fn take_reset_link(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query(TAKE_RESET_LINK.postgres())
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|row| row.try_get::<i64, _>(0).map_err(fail))
            .transpose()
    }

    async fn void_reset_links(&self, user_id: i64) -> StoreResult<u64> {
        let done = sqlx::query(VOID_RESET_LINKS.postgres())
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(done.rows_affected())
    }
}
