//! The tokens port and the OTP check it records.

use std::future::Future;

use super::StoreResult;
use crate::model::*;

/// A token to create.
#[derive(Clone)]
pub struct NewToken {
    /// The serial.
    pub serial: Serial,
    /// Whose.
    pub user_id: i64,
    /// Kind.
    pub kind: TokenKind,
    /// Initial state (`new` when an activation code is outstanding).
    pub state: TokenState,
    /// How it makes its codes.
    pub otp: OtpParams,
    /// Sealed seed.
    pub sealed_seed: Vec<u8>,
    /// Sealed unlock secret.
    pub sealed_unlock_secret: Option<Vec<u8>>,
    /// Keyed hash of the activation code.
    pub activation_hash: Option<Vec<u8>>,
    /// Activation expiry.
    pub activation_expires: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// Tokens. Every method that changes a token writes its audit events in
/// the same transaction, and only when the change happened.
pub trait TokenStore: Send + Sync {
    /// Adds a token.
    fn insert_token(
        &self,
        token: NewToken,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Finds a token by serial.
    fn token_by_serial(
        &self,
        serial: &str,
    ) -> impl Future<Output = StoreResult<Option<Token>>> + Send;
    /// A user's tokens.
    fn tokens_of_user(&self, user_id: i64) -> impl Future<Output = StoreResult<Vec<Token>>> + Send;
    /// An OTP check in one trip to the database: in one transaction, reads
    /// the API key with the prefix `api_key` (when given: the caller's, so
    /// that a key revoked before the check is refused by it), the user named
    /// `username` and that user's tokens (by id; locked against concurrent
    /// changes until the end), hands them to `judge` and records the steps
    /// it returns, in order. Returns whether an [`OtpStep::Accept`] was
    /// recorded, or the judge's error (then nothing is recorded).
    fn check_user_otp<J, E>(
        &self,
        api_key: Option<&str>,
        username: &Username,
        judge: J,
    ) -> impl Future<Output = StoreResult<Result<bool, E>>> + Send
    where
        J: FnOnce(Option<&ApiKey>, Option<&User>, &[Token]) -> Result<Vec<OtpStep>, E>
            + Send
            + 'static,
        E: Send + 'static;
    /// Every token.
    fn list_tokens(&self) -> impl Future<Output = StoreResult<Vec<Token>>> + Send;
    /// `new` → `active` and the activation code spent, if it still was outstanding.
    fn activate_token(
        &self,
        id: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Counts a wrong activation code; at `limit` the code is void. Returns the count.
    fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<u32>> + Send;
    /// Clears the failure count and the lock.
    fn reset_token(
        &self,
        id: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Moves a token to another state.
    fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Moves an HOTP counter after a resynchronisation.
    fn resync_counter(
        &self,
        id: i64,
        last_used: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// One thing an OTP check records (see [`TokenStore::check_user_otp`]).
#[derive(Debug, Clone)]
pub enum OtpStep {
    /// Appends an event and nothing else.
    Record(AuditEvent),
    /// Counts a failed OTP unless the token is locked already, and locks
    /// it at `limit` (recording `lock_event` too then).
    Fail {
        /// The token.
        token_id: i64,
        /// Failures that lock it.
        limit: u32,
        /// The failure.
        event: AuditEvent,
        /// Recorded too if this failure locks the token.
        lock_event: AuditEvent,
    },
    /// Accepts the OTP for step or counter `used`, only if it is later than
    /// the last one accepted and the token is active and not locked
    /// (`UPDATE … WHERE last_used < used`); if the token no longer takes
    /// `used` (another request won), `lost` is recorded instead. Nothing
    /// after an acceptance is recorded.
    Accept {
        /// The token.
        token_id: i64,
        /// The step or counter accepted.
        used: i64,
        /// The drift to remember.
        drift: i64,
        /// The acceptance.
        event: AuditEvent,
        /// What to record when the acceptance does not apply.
        lost: Box<OtpStep>,
    },
}
