//! The portal port: sessions, questions, answers and reset links.

use std::future::Future;

use super::StoreResult;
use crate::model::*;

/// A session about to be stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the session id.
    pub id_hash: Vec<u8>,
    /// Whose session.
    pub user_id: i64,
    /// How far it has come.
    pub stage: SessionStage,
    /// Unix seconds of the first factor.
    pub created_at: i64,
    /// Unix seconds now.
    pub last_seen: i64,
}

/// Portal sessions, security questions and answers, and password-reset
/// links. Each change that matters to security carries its audit event and
/// commits with it.
pub trait PortalStore: Send + Sync {
    /// Stores a session; replaces `previous` (its hash) in the same
    /// transaction when given, so a session id changes without a gap.
    fn insert_session(
        &self,
        session: NewSession,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The session with this id hash.
    fn session(
        &self,
        id_hash: &[u8],
    ) -> impl Future<Output = StoreResult<Option<WebSession>>> + Send;
    /// Records activity on a session.
    fn touch_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends one session.
    fn delete_session(&self, id_hash: &[u8]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends every session of a user except `keep` (a session id hash); the
    /// number ended.
    fn delete_sessions_of_user(
        &self,
        user_id: i64,
        keep: Option<Vec<u8>>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Revokes every standing OIDC grant of a user except those of the
    /// sign-in `keep_sid` (their codes, access and refresh tokens stop
    /// working with them), so that no relying party keeps a user whose
    /// account was cleaned up (S48). When there were any, the event
    /// `event` makes of their number is appended in the same transaction.
    /// The number revoked. A store without an OIDC provider has none.
    fn revoke_oidc_grants_of_user(
        &self,
        user_id: i64,
        keep_sid: Option<String>,
        event: impl FnOnce(u64) -> AuditEvent + Send + 'static,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The question pool, active and retired.
    fn questions(&self) -> impl Future<Output = StoreResult<Vec<Question>>> + Send;
    /// Adds a question to the pool.
    fn insert_question(
        &self,
        text: String,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Retires an active question: no one may choose it any more (answers
    /// given to it stay). False if it is not active (retired already, or
    /// no such question).
    fn retire_question(
        &self,
        id: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// A user's answers.
    fn answers_of(&self, user_id: i64) -> impl Future<Output = StoreResult<Vec<Answer>>> + Send;
    /// Replaces a user's answers (an empty list removes them).
    fn set_answers(
        &self,
        user_id: i64,
        answers: Vec<(i64, String)>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Marks the questions of a challenge as asked, so the same ones are
    /// asked until answered; false when another challenge got there first.
    fn mark_asked(
        &self,
        user_id: i64,
        question_ids: Vec<i64>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Clears the asked marks after a challenge was answered.
    fn clear_asked(
        &self,
        user_id: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores a password-reset link (its hash), unless `limit` links were
    /// made for the user since `since`: checked and stored in one
    /// transaction, so concurrent requests cannot pass the limit together.
    /// Whether it was stored.
    fn insert_reset_link(
        &self,
        token_hash: Vec<u8>,
        user_id: i64,
        expires_at: i64,
        since: i64,
        limit: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The user a link is for, if it is unused and has not expired at `now`;
    /// the link stays usable.
    fn reset_link_user(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Uses a link once: the user it was for, if it was unused and had not
    /// expired at `now`. A second call for the same link finds nothing.
    fn take_reset_link(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Voids every unused reset link of a user (they count toward the rate
    /// limit still); the number voided.
    fn void_reset_links(&self, user_id: i64) -> impl Future<Output = StoreResult<u64>> + Send;
}
