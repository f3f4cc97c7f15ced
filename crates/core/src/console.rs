//! The admin console's reads — users found by part of a name or address,
//! a user's whole picture, tokens by what they are, the audit log by
//! filter — and the two account actions the CLI gained with it (a user's
//! role, ending a user's sessions). Reads take an [`Auditor`], changes an
//! [`Admin`]; the other actions are the CLI's own operations.

use std::future::Future;

use crate::capability::{Admin, Auditor};
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{
    AuditEvent, AuditRow, Role, Token, TokenKind, TokenState, User, Username, WebSession,
};
use crate::ports::{Store, StoreError, StoreResult};

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

/// How many audit rows a user's page shows.
const RECENT_ROWS: i64 = 20;
/// How many users without a second factor the dashboard lists.
const DASHBOARD_USERS: i64 = 50;

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// Users whose name or mail address contains `part`, by name, after
    /// `after`, at most `limit` (1–500).
    pub async fn console_search_users(
        &self,
        _auditor: &Auditor,
        part: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        self.store
            .search_users(&part.trim().to_lowercase(), after, limit.clamp(1, 500))
            .await
    }

    /// Everything the console shows about the user named `name`; `None` for
    /// a name that is not valid or not taken.
    pub async fn console_user(
        &self,
        auditor: &Auditor,
        name: &str,
    ) -> Result<Option<UserPage>, StoreError> {
        let Ok(username) = name.parse::<Username>() else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_name(&username).await? else {
            return Ok(None);
        };
        let mut tokens = Vec::new();
        for token in self.store.tokens_of_user(user.id).await? {
            tokens.push(
                self.token_status(token, Some(user.username.clone()))
                    .await?,
            );
        }
        let has_answers = !self.store.answers_of(user.id).await?.is_empty();
        let sessions = self.store.sessions_of_user(user.id).await?;
        let recent = self
            .console_audit(
                auditor,
                &AuditSearch {
                    user: user.username.to_string(),
                    ..AuditSearch::default()
                },
                i64::MAX,
                RECENT_ROWS,
            )
            .await?;
        Ok(Some(UserPage {
            user,
            tokens,
            has_answers,
            sessions,
            recent,
        }))
    }

    /// Tokens matching `search` with their owners, by serial, after the
    /// serial `after`, at most `limit` (1–500).
    pub async fn console_search_tokens(
        &self,
        _auditor: &Auditor,
        search: &TokenSearch,
        after: &str,
        limit: i64,
    ) -> Result<Vec<TokenStatus>, StoreError> {
        let tokens = self
            .store
            .search_tokens(search, after, limit.clamp(1, 500))
            .await?;
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let owner = self
                .store
                .user_by_id(token.user_id)
                .await?
                .map(|user| user.username);
            out.push(self.token_status(token, owner).await?);
        }
        Ok(out)
    }

    /// The owner named `name`'s row id, for a token search by owner;
    /// `None` for a name that is not valid or not taken.
    pub async fn console_owner_id(
        &self,
        _auditor: &Auditor,
        name: &str,
    ) -> Result<Option<i64>, StoreError> {
        let Ok(username) = name.parse::<Username>() else {
            return Ok(None);
        };
        Ok(self.store.user_by_name(&username).await?.map(|u| u.id))
    }

    /// Audit rows matching `search`, newest first, with ids below `before`,
    /// at most `limit` (1–10,000).
    pub async fn console_audit(
        &self,
        _auditor: &Auditor,
        search: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.store
            .search_audit(search, before, limit.clamp(1, 10_000))
            .await
    }

    /// Records that `auditor` exported `rows` audit rows as `format`, with
    /// the filter they gave (as text, cut to 200 characters): who took a
    /// copy of the log is itself a security event.
    pub async fn console_record_export(
        &self,
        auditor: &Auditor,
        format: &str,
        rows: usize,
        filter: &str,
    ) -> Result<(), StoreError> {
        let filter: String = filter.chars().take(200).collect();
        self.store
            .append(self.event(
                auditor.actor(),
                "audit.export",
                "audit",
                "success",
                format!("{format} rows={rows} filter={filter}"),
            ))
            .await
    }

    /// Verifies the whole audit chain; the number of rows, or where it breaks.
    pub async fn console_verify_audit(
        &self,
        _auditor: &Auditor,
    ) -> Result<Result<u64, crate::audit::ChainError>, StoreError> {
        self.verify_audit().await
    }

    /// The console's front page.
    pub async fn console_dashboard(&self, _auditor: &Auditor) -> Result<Dashboard, StoreError> {
        Ok(Dashboard {
            tokens_by_state: self.store.token_state_counts().await?,
            users_without_second_factor: self
                .store
                .users_without_second_factor(DASHBOARD_USERS)
                .await?,
        })
    }

    /// Gives the user named `name` the role `role`. Their open sessions
    /// keep running with the new role: rights are read from the user's row
    /// on every request.
    pub async fn set_user_role(
        &self,
        admin: &Admin,
        name: &str,
        role: Role,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        if user.role == role {
            return Ok(());
        }
        let event = self.event(
            admin.actor(),
            "user.role",
            user.username.as_str(),
            "success",
            format!("{} -> {}", user.role, role),
        );
        self.store.set_user_role(user.id, role, event).await?;
        Ok(())
    }

    /// Ends every portal session of the user named `name`; how many.
    pub async fn end_user_sessions(&self, admin: &Admin, name: &str) -> Result<u64, AdminError> {
        let user = self.user(name).await?;
        let ended = self.store.delete_sessions_of_user(user.id, None).await?;
        self.store
            .append(self.event(
                admin.actor(),
                "session.end-all",
                user.username.as_str(),
                "success",
                format!("ended={ended}"),
            ))
            .await?;
        Ok(ended)
    }

    /// Ends the one portal session of the user named `name` whose id hash
    /// is `id_hash`; whether there was one (it may have ended meanwhile).
    pub async fn end_user_session(
        &self,
        admin: &Admin,
        name: &str,
        id_hash: &[u8],
    ) -> Result<bool, AdminError> {
        let user = self.user(name).await?;
        let sessions = self.store.sessions_of_user(user.id).await?;
        if !sessions.iter().any(|s| s.id_hash == id_hash) {
            return Ok(false);
        }
        self.store.delete_session(id_hash).await?;
        self.store
            .append(self.event(
                admin.actor(),
                "session.end",
                user.username.as_str(),
                "success",
                "one session",
            ))
            .await?;
        Ok(true)
    }

    async fn token_status(
        &self,
        token: Token,
        owner: Option<Username>,
    ) -> Result<TokenStatus, StoreError> {
        let mut unlock_issued_at = None;
        if token.sealed_unlock_secret.is_some() {
            let search = AuditSearch {
                serial: token.serial.clone(),
                action: "unlock.issue".into(),
                outcome: "success".into(),
                ..AuditSearch::default()
            };
            unlock_issued_at = self
                .store
                .search_audit(&search, i64::MAX, 1)
                .await?
                .first()
                .map(|row| row.event.at);
        }
        let pin_locked = unlock_issued_at.is_some_and(|at| unlock_code_unused(&token, at));
        Ok(TokenStatus {
            token,
            owner,
            unlock_issued_at,
            pin_locked,
        })
    }
}

/// Whether no code of a time step after `issued_at`'s began was accepted
/// from `token`: the soft token has not been opened with the unlock code
/// issued then, as far as the server can tell.
fn unlock_code_unused(token: &Token, issued_at: i64) -> bool {
    let period = token.period.max(1) as i64;
    token.last_used < issued_at / period
}
