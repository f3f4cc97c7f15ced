//! The users port, and how wrong passwords slow an account down.

use std::future::Future;

use super::StoreResult;
use crate::model::*;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The name.
    pub username: Username,
    /// Mail address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
}

/// Users.
pub trait UserStore: Send + Sync {
    /// Adds a user (and the audit event, in one transaction).
    fn insert_user(
        &self,
        user: NewUser,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Finds a user by name.
    fn user_by_name(
        &self,
        username: &Username,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Finds a user by id.
    fn user_by_id(&self, id: i64) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Every user, by name.
    fn list_users(&self) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Enables or disables a user.
    fn set_user_status(
        &self,
        id: i64,
        status: UserStatus,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces a user's password hash.
    fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Counts a wrong password (atomically, for every node) and sets how
    /// long the account waits before its passwords are checked again, as
    /// `throttle` says for the new count. Returns that time.
    fn record_password_failure(
        &self,
        id: i64,
        now: i64,
        throttle: Throttle,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Clears the count after a complete success (never after a password
    /// alone, S44), and every address's count of the account (S47).
    fn clear_password_failures(&self, id: i64) -> impl Future<Output = StoreResult<()>> + Send;
    /// Until when passwords for account `id` typed from `source` wait
    /// (S47): 0 when they do not.
    fn source_password_blocked_until(
        &self,
        id: i64,
        source: &str,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Counts a wrong password for account `id` from `source`, atomically
    /// (S47): on that address's own count, with the wait `per_source`
    /// says; and, for the address's first `per_source.free_failures`
    /// (at least one), on the account's count too, with the wait `account`
    /// says. So one address's flood makes that address wait and adds only
    /// its first few to the account, whose wait stops everyone else.
    /// Returns until when the address waits. Clearing the account's count
    /// ([`UserStore::clear_password_failures`]) clears every address's.
    fn record_source_password_failure(
        &self,
        id: i64,
        source: &str,
        now: i64,
        per_source: Throttle,
        account: Throttle,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Counts a wrong security answer, atomically: once on the account's
    /// count as a wrong password does (S30), with the wait `account` says,
    /// and once on the answers' own count, with the wait `answers` says
    /// (S44). Returns until when answers wait.
    fn record_answer_failure(
        &self,
        id: i64,
        now: i64,
        account: Throttle,
        answers: Throttle,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Clears the wrong-answer count after the right answers or a complete
    /// sign-in.
    fn clear_answer_failures(&self, id: i64) -> impl Future<Output = StoreResult<()>> + Send;
}

/// How wrong passwords slow an account down (SECURITY.md S16): a growing
/// delay rather than a lock, so that a stranger's flood of wrong passwords
/// keeps the owner out for `max_delay` seconds at the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Wrong passwords in a row that cost nothing.
    pub free_failures: u32,
    /// The first delay, in seconds; it doubles with each further failure.
    pub base_delay: i64,
    /// The longest delay, in seconds.
    pub max_delay: i64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            free_failures: 5,
            base_delay: 1,
            max_delay: 300,
        }
    }
}

impl Throttle {
    /// The wait, in seconds, after `failures` wrong passwords in a row.
    pub fn delay(&self, failures: u32) -> i64 {
        match failures.checked_sub(self.free_failures + 1) {
            None => 0,
            Some(doublings) => self
                .base_delay
                .saturating_mul(1i64 << doublings.min(40))
                .min(self.max_delay),
        }
    }
}
