//! The admin console's reads — users found by part of a name or address,
//! a user's whole picture, tokens by what they are, the audit log by
//! filter — and the two account actions the CLI gained with it (a user's
//! role, ending a user's sessions). Reads take an [`Auditor`], changes an
//! [`Admin`]; the other actions are the CLI's own operations.

use std::future::Future;

use crate::capability::{Admin, Auditor};
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::import::{ImportRequest, ImportedAccount, prepare_account};
use crate::model::{
    ApiKey, AuditEvent, AuditRow, Question, Role, Token, TokenKind, TokenState, User, Username,
    WebSession,
};
use crate::oidc::{OidcClient, OidcClientError, OidcStore};
use crate::ports::{RadiusClient, RadiusStore};
use crate::ports::{Store, StoreError, StoreResult};
use crate::radius::RadiusClientError;
use crate::user_source::DirectorySync;

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
    /// already is a [`StoreError::Conflict`].
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

/// One line of an import, as the console reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// Its line number in the upload, from 1.
    pub number: usize,
    /// The user name it gives.
    pub username: String,
    /// The serial the token gets: the one given, or a random one.
    pub serial: Option<String>,
    /// `totp` or `hotp`, once the key URI is read.
    pub kind: Option<TokenKind>,
    /// Why it cannot be imported, if it cannot.
    pub problem: Option<String>,
}

/// What an import did, or (in a dry run) would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Every line, in order.
    pub lines: Vec<ImportLine>,
    /// How many accounts were stored: 0 in a dry run or when any line has
    /// a problem (an import is all or nothing).
    pub imported: usize,
}

impl ImportReport {
    /// Whether every line can be imported.
    pub fn clean(&self) -> bool {
        self.lines.iter().all(|line| line.problem.is_none())
    }
}

/// Accounts the console imports in one go at most.
pub const CONSOLE_IMPORT_LIMIT: usize = 1_000;
/// How often an import is tried again with new random serials when one
/// of them was taken meanwhile.
const IMPORT_SERIAL_RETRIES: usize = 5;
/// How many expiring activation codes the dashboard lists.
const DASHBOARD_ACTIVATIONS: i64 = 50;

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

    /// The console's front page. The hours come from the audit log's
    /// hourly summary, not from its rows, so the page costs the same over
    /// ten rows or ten million.
    pub async fn console_dashboard(&self, _auditor: &Auditor) -> Result<Dashboard, StoreError> {
        let now = self.now();
        let this_hour = now - now.rem_euclid(3600);
        let first = this_hour - 23 * 3600;
        let mut hours: Vec<HourOfEvents> = (0..24)
            .map(|i| HourOfEvents {
                hour: first + i * 3600,
                ..HourOfEvents::default()
            })
            .collect();
        for count in self.store.audit_hours(first).await? {
            let index = (count.hour - first).div_euclid(3600);
            if let Some(hour) = usize::try_from(index).ok().and_then(|i| hours.get_mut(i)) {
                hour.add(&count);
            }
        }
        let mut activations_expiring = Vec::new();
        for token in self
            .store
            .activations_expiring(now, now + 24 * 3600, DASHBOARD_ACTIVATIONS)
            .await?
        {
            let owner = self
                .store
                .user_by_id(token.user_id)
                .await?
                .map(|user| user.username);
            activations_expiring.push(TokenStatus {
                token,
                owner,
                unlock_issued_at: None,
                pin_locked: false,
            });
        }
        Ok(Dashboard {
            tokens_by_state: self.store.token_state_counts().await?,
            users_without_second_factor: self
                .store
                .users_without_second_factor(DASHBOARD_USERS)
                .await?,
            hours,
            activations_expiring,
        })
    }

    /// The directory's side of the console: whether one is configured,
    /// how many accounts are linked to it, and its last sync.
    pub async fn console_directory(
        &self,
        _auditor: &Auditor,
    ) -> Result<DirectoryOverview, StoreError> {
        let accounts = self.store.directory_users().await?.len();
        let last_sync = self
            .store
            .search_audit(
                &AuditSearch {
                    action: "directory.sync".into(),
                    ..AuditSearch::default()
                },
                i64::MAX,
                1,
            )
            .await?
            .pop();
        Ok(DirectoryOverview {
            configured: self.directory.is_some(),
            accounts,
            last_sync,
        })
    }

    /// `directory sync`, recorded (the console's "sync now" and `serve`'s
    /// schedule): the sync, then a `directory.sync` audit
    /// row saying who asked, how many accounts were checked and changed
    /// (or that it failed), which is what the console shows as the last
    /// sync.
    pub async fn sync_directory_recorded(
        &self,
        actor: &crate::capability::Actor,
    ) -> Result<DirectorySync, AdminError> {
        let done = self.sync_directory().await;
        let (outcome, detail) = match &done {
            Ok(report) => (
                "success",
                format!(
                    "checked={} changed={}",
                    report.checked,
                    report.changes.len()
                ),
            ),
            Err(error) => ("failure", error.to_string()),
        };
        self.store
            .append(self.event(actor, "directory.sync", "directory", outcome, detail))
            .await?;
        done
    }

    /// Imports `lines` (their line numbers and what they ask), as `admin
    /// import` does, all or nothing: every line is checked and sealed, the
    /// user names and serials must be new (in the upload and in the
    /// database), and only when every line passes, and this is not a
    /// `dry_run`, are the accounts stored, in one transaction with one
    /// `user.import` audit row. A dry run changes nothing.
    pub async fn console_import(
        &self,
        admin: &Admin,
        lines: Vec<(usize, ImportRequest)>,
        dry_run: bool,
    ) -> Result<ImportReport, AdminError> {
        let mut attempt = 0;
        loop {
            let (mut report, accounts) = self.check_import(&lines).await?;
            if dry_run || !report.clean() || accounts.is_empty() {
                return Ok(report);
            }
            let (first, last) = (
                report.lines[0].number,
                report.lines[report.lines.len() - 1].number,
            );
            let event = self.event(
                admin.actor(),
                "user.import",
                accounts[0].user.username.as_str(),
                "success",
                format!(
                    "{} users with a token each, lines {first}-{last}, last user {}, from the console",
                    accounts.len(),
                    accounts[accounts.len() - 1].user.username
                ),
            );
            let count = accounts.len();
            match self.store.import_accounts(accounts, event).await {
                Ok(()) => {
                    report.imported = count;
                    return Ok(report);
                }
                // A random serial (or a name) taken since the check: checked
                // again, so the report says which line it was.
                Err(StoreError::Conflict(_)) if attempt < IMPORT_SERIAL_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn check_import(
        &self,
        lines: &[(usize, ImportRequest)],
    ) -> Result<(ImportReport, Vec<ImportedAccount>), StoreError> {
        let now = self.now();
        let mut report = ImportReport {
            lines: Vec::with_capacity(lines.len()),
            imported: 0,
        };
        let mut accounts = Vec::with_capacity(lines.len());
        let mut names = std::collections::HashSet::new();
        let mut serials = std::collections::HashSet::new();
        for (number, request) in lines {
            let mut line = ImportLine {
                number: *number,
                username: request.username.clone(),
                serial: request.serial.clone(),
                kind: None,
                problem: None,
            };
            if report.lines.len() >= CONSOLE_IMPORT_LIMIT {
                line.problem = Some(format!(
                    "the console imports at most {CONSOLE_IMPORT_LIMIT} accounts at a time; use latchkey admin import for more"
                ));
                report.lines.push(line);
                continue;
            }
            match prepare_account(self.cipher.as_ref(), request.clone(), now) {
                Err(error) => line.problem = Some(error.to_string()),
                Ok(account) => {
                    line.username = account.user.username.to_string();
                    line.serial = Some(account.token.serial.clone());
                    line.kind = Some(account.token.kind);
                    line.problem = if !names.insert(account.user.username.clone()) {
                        Some("the user name is on an earlier line too".into())
                    } else if !serials.insert(account.token.serial.clone()) {
                        Some("the serial is on an earlier line too".into())
                    } else if self
                        .store
                        .user_by_name(&account.user.username)
                        .await?
                        .is_some()
                    {
                        Some("a user with this name exists already".into())
                    } else if self
                        .store
                        .token_by_serial(&account.token.serial)
                        .await?
                        .is_some()
                    {
                        Some("a token with this serial exists already".into())
                    } else {
                        None
                    };
                    accounts.push(account);
                }
            }
            report.lines.push(line);
        }
        Ok((report, accounts))
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

impl<S: Store> Latchkey<S> {
    /// Every API key, for the console's page (names, roles, whether
    /// revoked; the hashes stay in the store's rows).
    pub async fn console_api_keys(&self, _auditor: &Auditor) -> Result<Vec<ApiKey>, StoreError> {
        self.store.list_api_keys().await
    }

    /// The security-question pool, for the console's page.
    pub async fn console_questions(&self, _auditor: &Auditor) -> Result<Vec<Question>, StoreError> {
        self.store.questions().await
    }
}

impl<S: Store + RadiusStore> Latchkey<S> {
    /// Every RADIUS client, by name, for the console's page (the secrets
    /// stay sealed).
    pub async fn console_radius_clients(
        &self,
        _auditor: &Auditor,
    ) -> Result<Vec<RadiusClient>, RadiusClientError> {
        Ok(self.store.radius_clients().await?)
    }
}

impl<S: Store + OidcStore> Latchkey<S> {
    /// Every OIDC client, by name, for the console's page (the secrets
    /// stay sealed).
    pub async fn console_oidc_clients(
        &self,
        _auditor: &Auditor,
    ) -> Result<Vec<OidcClient>, OidcClientError> {
        Ok(self.store.oidc_clients().await?)
    }
}
