//! Portal storage, delegated to the backend in use.

use latchkey_core::*;

use super::Database;

impl PortalStore for Database {
    async fn insert_session(
        &self,
        session: NewSession,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        delegate!(self, s => s.insert_session(session, previous, event))
    }
    async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<WebSession>> {
        delegate!(self, s => s.session(id_hash))
    }
    async fn touch_session(&self, id_hash: &[u8], now: i64) -> StoreResult<()> {
        delegate!(self, s => s.touch_session(id_hash, now))
    }
    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
        delegate!(self, s => s.delete_session(id_hash))
    }
    async fn delete_sessions_of_user(
        &self,
        user_id: i64,
        keep: Option<Vec<u8>>,
    ) -> StoreResult<u64> {
        delegate!(self, s => s.delete_sessions_of_user(user_id, keep))
    }
    async fn revoke_oidc_grants_of_user(
        &self,
        user_id: i64,
        keep_sid: Option<String>,
        event: impl FnOnce(u64) -> AuditEvent + Send + 'static,
    ) -> StoreResult<u64> {
        delegate!(self, s => s.revoke_oidc_grants_of_user(user_id, keep_sid, event))
    }
    async fn questions(&self) -> StoreResult<Vec<Question>> {
        delegate!(self, s => s.questions())
    }
    async fn insert_question(&self, text: String, event: AuditEvent) -> StoreResult<i64> {
        delegate!(self, s => s.insert_question(text, event))
    }
    async fn retire_question(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.retire_question(id, event))
    }
    async fn answers_of(&self, user_id: i64) -> StoreResult<Vec<Answer>> {
        delegate!(self, s => s.answers_of(user_id))
    }
    async fn set_answers(
        &self,
        user_id: i64,
        answers: Vec<(i64, String)>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        delegate!(self, s => s.set_answers(user_id, answers, event))
    }
    async fn mark_asked(&self, user_id: i64, question_ids: Vec<i64>) -> StoreResult<bool> {
        delegate!(self, s => s.mark_asked(user_id, question_ids))
    }
    async fn clear_asked(&self, user_id: i64, event: AuditEvent) -> StoreResult<()> {
        delegate!(self, s => s.clear_asked(user_id, event))
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
        delegate!(self, s => s.insert_reset_link(token_hash, user_id, expires_at, since, limit, event))
    }
    async fn reset_link_user(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        delegate!(self, s => s.reset_link_user(token_hash, now))
    }
    async fn take_reset_link(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        delegate!(self, s => s.take_reset_link(token_hash, now))
    }
    async fn void_reset_links(&self, user_id: i64) -> StoreResult<u64> {
        delegate!(self, s => s.void_reset_links(user_id))
    }
}
