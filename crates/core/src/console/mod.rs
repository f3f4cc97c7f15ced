//! The admin console's reads — users found by part of a name or address,
//! a user's whole picture, tokens by what they are, the audit log by
//! filter — and the two account actions the CLI gained with it (a user's
//! role, ending a user's sessions). Reads take an [`Auditor`], changes an
//! [`Admin`]; the other actions are the CLI's own operations.
//!
//! Split by theme: `reads` (what every page shows), `import` (the
//! JSON-lines import), `accounts` (the account actions and the recorded
//! directory sync) and `stock` (unassigned hardware tokens).

mod accounts;
mod import;
mod reads;
mod stock;

use std::future::Future;

use crate::capability::{Admin, Auditor};
use crate::import::ImportedAccount;
use crate::model::{
    AuditEvent, AuditRow, Role, Token, TokenKind, TokenState, User, Username, WebSession,
};
use crate::ports::StoreResult;

pub use self::import::{CONSOLE_IMPORT_LIMIT, ImportLine, ImportReport};

/// Which tokens a search wants: every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSearch {
    /// Digits the serial contains; empty for any.
    pub serial_part: String,
    /// The kind, if one.
    pub kind: Option<TokenKind>,
    /// The state, if one.
    pub state: Option<TokenState>,
    /// The owner's row id, if one.
    pub owner_id: Option<i64>,
}

/// Which audit rows a search wants: every non-empty field must match
/// exactly (`user` by the row's subject being the user or one of their
/// tokens), and the time lies in `from..until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSearch {
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive.
    pub until: i64,
    /// Who acted.
    pub actor: String,
    /// A user name: rows about the user or about one of their tokens.
    pub user: String,
    /// The subject, as a serial's digits.
    pub serial: String,
    /// What happened, e.g. `token.suspend`.
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// The client address.
    pub source: String,
}

impl Default for AuditSearch {
    fn default() -> Self {
        AuditSearch {
            from: i64::MIN,
            until: i64::MAX,
            actor: String::new(),
            user: String::new(),
            serial: String::new(),
            action: String::new(),
            outcome: String::new(),
            source: String::new(),
        }
    }
}

/// What the console reads beyond the domain's other ports.
pub trait ConsoleStore: Send + Sync {
    /// Users whose name or mail address contains `part` (any case; `%` and
    /// `_` are plain characters), by name, after the name `after`, at most
    /// `limit`.
    fn search_users(
        &self,
        part: &str,
        after: &str,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Tokens matching `search`, by serial, after the serial `after`, at
    /// most `limit`.
    fn search_tokens(
        &self,
        search: &TokenSearch,
        after: &str,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<Token>>> + Send;
    /// Audit rows matching `search`, newest first, with ids below
    /// `before`, at most `limit`.
    fn search_audit(
        &self,
        search: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<AuditRow>>> + Send;
    /// How many tokens are in each state that has any.
    fn token_state_counts(
        &self,
    ) -> impl Future<Output = StoreResult<Vec<(TokenState, i64)>>> + Send;
    /// Active users with no active, unlocked token, by name, at most `limit`.
    fn users_without_second_factor(
        &self,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// A user's portal sessions, newest first.
    fn sessions_of_user(
        &self,
        user_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<WebSession>>> + Send;
    /// When the session `session_hash` last confirmed a console action
    /// with a fresh OTP, if it did.
    fn console_confirmed_at(
        &self,
        session_hash: &[u8],
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// The session `session_hash` confirmed a console action at `at`.
    fn set_console_confirmed(
        &self,
        session_hash: &[u8],
        at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Role `role` for user `id`, with `event`; whether a row changed.
    fn set_user_role(
        &self,
        id: i64,
        role: Role,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The hourly summary of the audit log (kept up in the transaction of
    /// each audit row) for the hours from `from_hour` on (Unix seconds of
    /// the hour's start), by hour.
    fn audit_hours(
        &self,
        from_hour: i64,
    ) -> impl Future<Output = StoreResult<Vec<HourCount>>> + Send;
    /// Tokens waiting for activation whose code expires in `now..until`,
    /// soonest first, at most `limit`.
    fn activations_expiring(
        &self,
        now: i64,
        until: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<Token>>> + Send;
    /// Stores `accounts` (users with a token each) and `event` in one
    /// transaction: all or nothing. A user name or serial that exists
    /// already is a [`StoreError::Conflict`](crate::StoreError::Conflict).
    fn import_accounts(
        &self,
        accounts: Vec<ImportedAccount>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// One row of the audit log's hourly summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// The hour's start, Unix seconds (a multiple of 3600).
    pub hour: i64,
    /// The rows' action.
    pub action: String,
    /// The rows' outcome.
    pub outcome: String,
    /// How many rows.
    pub count: i64,
}

/// A token as the console shows it.
#[derive(Debug, Clone)]
pub struct TokenStatus {
    /// The token.
    pub token: Token,
    /// Its owner's name, if the owner is known.
    pub owner: Option<Username>,
    /// When the latest unlock code for it was issued, if ever.
    pub unlock_issued_at: Option<i64>,
    /// Whether the soft token is PIN-locked as far as the server knows: an
    /// unlock code was issued for it and no code of a later time step was
    /// accepted since, so the code has not been used yet.
    pub pin_locked: bool,
}

/// A user as the console's user page shows them.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The account (its throttle counts among its fields).
    pub user: User,
    /// Its tokens.
    pub tokens: Vec<TokenStatus>,
    /// Whether security answers are set.
    pub has_answers: bool,
    /// Its portal sessions, newest first.
    pub sessions: Vec<WebSession>,
    /// The latest audit rows about the user or their tokens, newest first.
    pub recent: Vec<AuditRow>,
}

/// The console's front page.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// How many tokens are in each state.
    pub tokens_by_state: Vec<(TokenState, i64)>,
    /// Active users with no usable second factor (the first few).
    pub users_without_second_factor: Vec<User>,
    /// The last 24 hours, oldest first, the current hour last.
    pub hours: Vec<HourOfEvents>,
    /// Tokens whose activation code expires within 24 hours, soonest
    /// first, with their owners.
    pub activations_expiring: Vec<TokenStatus>,
}

/// What one hour of the audit log holds, as the dashboard charts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourOfEvents {
    /// The hour's start, Unix seconds.
    pub hour: i64,
    /// Codes accepted (`otp.verify` success).
    pub accepted: i64,
    /// Codes refused (`otp.verify` failure or denied).
    pub refused: i64,
    /// Tokens locked after too many wrong codes (`token.lock`).
    pub lockouts: i64,
    /// Unlock codes issued (`unlock.issue` success).
    pub unlock_codes: i64,
    /// Recovery sign-ins (`portal.recovery` success).
    pub recoveries: i64,
}

impl HourOfEvents {
    fn add(&mut self, count: &HourCount) {
        let slot = match (count.action.as_str(), count.outcome.as_str()) {
            ("otp.verify", "success") => &mut self.accepted,
            ("otp.verify", "failure" | "denied") => &mut self.refused,
            ("token.lock", "success") => &mut self.lockouts,
            ("unlock.issue", "success") => &mut self.unlock_codes,
            ("portal.recovery", "success") => &mut self.recoveries,
            _ => return,
        };
        *slot += count.count;
    }
}

/// The directory as the console shows it.
#[derive(Debug, Clone)]
pub struct DirectoryOverview {
    /// Whether users come from a directory too.
    pub configured: bool,
    /// Accounts linked to directory entries.
    pub accounts: usize,
    /// The latest `directory.sync` audit row, if any.
    pub last_sync: Option<AuditRow>,
}

/// What a console visitor may do: read, or also change.
#[derive(Debug, Clone)]
pub enum ConsoleRight {
    /// An admin: every page and every action.
    Admin(Admin),
    /// An auditor: every page, no action.
    Auditor(Auditor),
}

impl ConsoleRight {
    /// The right to read, which both have.
    pub fn auditor(&self) -> Auditor {
        match self {
            ConsoleRight::Admin(admin) => admin.auditor(),
            ConsoleRight::Auditor(auditor) => auditor.clone(),
        }
    }
    /// The right to change, if this is an admin's.
    pub fn admin(&self) -> Option<&Admin> {
        match self {
            ConsoleRight::Admin(admin) => Some(admin),
            ConsoleRight::Auditor(_) => None,
        }
    }
}
