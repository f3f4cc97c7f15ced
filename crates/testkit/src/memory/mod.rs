//! An in-memory fake of every store port.
//!
//! Each method takes the one lock, checks, changes and audits, and lets go:
//! so each is atomic as the real stores' transactions are, and
//! [`TokenStore::check_user_otp`] reads, judges and records under a single
//! acquisition. The conditions are the real stores' `WHERE` clauses
//! (crates/store/src/queries.rs), written as Rust.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use latchkey_core::audit::{GENESIS, row_hash};
use latchkey_core::*;
use latchkey_core::{AuditAction, Outcome};

/// The questions a fresh database offers (the migrations' seed).
const SEED_QUESTIONS: [&str; 10] = [
    "What was the name of your first pet?",
    "In which town or city did your parents meet?",
    "What was the first name of your childhood best friend?",
    "What was the make of your first car or bicycle?",
    "What is the name of the street you grew up on?",
    "What was the name of your first school?",
    "In which town or city was your first job?",
    "What is your oldest cousin's first name?",
    "What was the first concert you went to?",
    "What is the middle name of your oldest sibling?",
];

/// An in-memory store of users, tokens, API keys, the audit chain, portal
/// sessions, security questions and answers, and reset links: a fake of
/// every port of `latchkey-core`, for tests. Clones share one state, as
/// clones of the real stores share one database. A fresh one holds the
/// question pool a fresh database holds.
///
/// Faithful to the ports' contracts: unique user names, serials, API-key
/// names and prefixes, question texts and session ids give
/// [`StoreError::Conflict`]; a token, session, answer or reset link for an
/// unknown user (or answer for an unknown question) gives
/// [`StoreError::Backend`], as a foreign key does; changes audit only when
/// they happened; the audit log is a hash chain from
/// [`latchkey_core::audit::GENESIS`].
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    next_id: i64,
    users: BTreeMap<i64, User>,
    tokens: BTreeMap<i64, Token>,
    api_keys: BTreeMap<i64, ApiKey>,
    audit: Vec<AuditRow>,
    sessions: HashMap<Vec<u8>, WebSession>,
    questions: BTreeMap<i64, Question>,
    /// By (user, question).
    answers: BTreeMap<(i64, i64), Answer>,
    reset_links: HashMap<Vec<u8>, ResetLink>,
    radius: radius::RadiusState,
    unlock: unlock_generations::GenerationState,
    /// Directory links by user id.
    directory_links: BTreeMap<i64, DirectoryLink>,
    /// Unassigned hardware tokens by id.
    stock: BTreeMap<i64, StockToken>,
    /// Wrong passwords by (user, address): the count and its wait (S47).
    source_failures: HashMap<(i64, String), (u32, i64)>,
}

struct ResetLink {
    user_id: i64,
    created_at: i64,
    expires_at: i64,
    used: bool,
}

fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

/// What a foreign key refuses.
fn missing(what: &str) -> StoreError {
    StoreError::Backend(format!("FOREIGN KEY constraint failed: no such {what}").into())
}

impl State {
    fn with_seed_questions() -> Self {
        let mut state = State::default();
        for text in SEED_QUESTIONS {
            let id = state.new_id();
            state.questions.insert(
                id,
                Question {
                    id,
                    text: text.into(),
                    active: true,
                },
            );
        }
        state
    }

    /// Row ids, from 1, never reused (one sequence for every table is
    /// enough: nothing may assume ids of different tables line up).
    fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn append(&mut self, event: AuditEvent) {
        let (id, prev_hash) = match self.audit.last() {
            Some(last) => (last.id + 1, last.hash.clone()),
            None => (1, GENESIS.to_vec()),
        };
        let hash = row_hash(id, &event, &prev_hash);
        self.audit.push(AuditRow {
            id,
            event,
            prev_hash,
            hash,
        });
    }

    /// Audits `event` if `changed`; returns `changed`.
    fn audit_if(&mut self, changed: bool, event: AuditEvent) -> bool {
        if changed {
            self.append(event);
        }
        changed
    }

    fn user_named(&self, username: &Username) -> Option<&User> {
        self.users.values().find(|u| u.username == *username)
    }

    fn tokens_of(&self, user_id: i64) -> Vec<Token> {
        self.tokens
            .values()
            .filter(|t| t.user_id == user_id)
            .cloned()
            .collect()
    }

    /// `ACCEPT_OTP`: only later than the last, active and unlocked.
    fn accept_otp(&mut self, id: i64, used: i64, drift: i64, event: AuditEvent) -> bool {
        let changed = match self.tokens.get_mut(&id) {
            Some(t) if t.last_used < used && !t.locked && t.state == TokenState::Active => {
                t.last_used = used;
                t.drift = drift;
                t.failures = 0;
                true
            }
            _ => false,
        };
        self.audit_if(changed, event)
    }

    /// `COUNT_OTP_FAILURE`: counted unless locked, locked at `limit`; the
    /// failure is recorded either way, the lock when this one locked it.
    fn otp_failure(
        &mut self,
        id: i64,
        limit: u32,
        event: AuditEvent,
        lock_event: AuditEvent,
    ) -> (u32, bool) {
        let (count, locked_now) = match self.tokens.get_mut(&id) {
            Some(t) if !t.locked => {
                t.failures += 1;
                t.locked = t.failures >= limit;
                (t.failures, t.locked)
            }
            _ => (limit, false),
        };
        self.append(event);
        if locked_now {
            self.append(lock_event);
        }
        (count, locked_now)
    }
}

impl MemoryStore {
    /// An empty store but for the question pool a fresh database holds.
    pub fn new() -> Self {
        MemoryStore {
            state: Arc::new(Mutex::new(State::with_seed_questions())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already;
        // the state is still readable for the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes a stored user in place, below the domain, as a test's
    /// direct SQL would (for states the domain cannot reach quickly).
    pub fn edit_user(&self, id: i64, change: impl FnOnce(&mut User)) -> bool {
        self.lock().users.get_mut(&id).map(change).is_some()
    }

    /// Changes a stored token in place, below the domain.
    pub fn edit_token(&self, id: i64, change: impl FnOnce(&mut Token)) -> bool {
        self.lock().tokens.get_mut(&id).map(change).is_some()
    }

    /// Every audit event so far, in order.
    pub fn audit_events(&self) -> Vec<AuditEvent> {
        self.lock().audit.iter().map(|r| r.event.clone()).collect()
    }
}

impl UserStore for MemoryStore {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        let mut s = self.lock();
        if s.user_named(&user.username).is_some() {
            return Err(conflict(format!("user {}", user.username)));
        }
        let id = s.new_id();
        s.users.insert(
            id,
            User {
                id,
                username: user.username,
                email: user.email,
                role: user.role,
                status: UserStatus::Active,
                password_hash: user.password_hash,
                password_failures: 0,
                password_blocked_until: 0,
                answer_failures: 0,
                answer_blocked_until: 0,
                created_at: event.at,
            },
        );
        s.append(event);
        Ok(id)
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        Ok(self.lock().user_named(username).cloned())
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        Ok(self.lock().users.get(&id).cloned())
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut users: Vec<User> = self.lock().users.values().cloned().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    async fn set_user_status(
        &self,
        id: i64,
        status: UserStatus,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = s.users.get_mut(&id).map(|u| u.status = status).is_some();
        Ok(s.audit_if(changed, event))
    }

    async fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = s
            .users
            .get_mut(&id)
            .map(|u| u.password_hash = Some(hash))
            .is_some();
        Ok(s.audit_if(changed, event))
    }

    async fn record_password_failure(
        &self,
        id: i64,
        now: i64,
        throttle: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut s = self.lock();
        let blocked_until = match s.users.get_mut(&id) {
            Some(user) => {
                user.password_failures += 1;
                let delay = throttle.delay(user.password_failures);
                user.password_blocked_until = if delay > 0 { now + delay } else { 0 };
                user.password_blocked_until
            }
            None => 0,
        };
        s.append(event);
        Ok(blocked_until)
    }

    async fn clear_password_failures(&self, id: i64) -> StoreResult<()> {
        let mut s = self.lock();
        if let Some(user) = s.users.get_mut(&id) {
            user.password_failures = 0;
            user.password_blocked_until = 0;
        }
        s.source_failures.retain(|(user, _), _| *user != id);
        Ok(())
    }

    async fn source_password_blocked_until(&self, id: i64, source: &str) -> StoreResult<i64> {
        Ok(self
            .lock()
            .source_failures
            .get(&(id, source.to_owned()))
            .map_or(0, |(_, until)| *until))
    }

    async fn record_source_password_failure(
        &self,
        id: i64,
        source: &str,
        now: i64,
        per_source: Throttle,
        account: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let wait = |throttle: Throttle, count: u32| {
            let delay = throttle.delay(count);
            if delay > 0 { now + delay } else { 0 }
        };
        let mut s = self.lock();
        let entry = s
            .source_failures
            .entry((id, source.to_owned()))
            .or_default();
        entry.0 += 1;
        entry.1 = wait(per_source, entry.0);
        let (from_source, source_until) = *entry;
        if from_source <= per_source.free_failures.max(1)
            && let Some(user) = s.users.get_mut(&id)
        {
            user.password_failures += 1;
            user.password_blocked_until = wait(account, user.password_failures);
        }
        s.append(event);
        Ok(source_until)
    }

    async fn record_answer_failure(
        &self,
        id: i64,
        now: i64,
        account: Throttle,
        answers: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut s = self.lock();
        let blocked_until = match s.users.get_mut(&id) {
            Some(user) => {
                user.password_failures += 1;
                user.answer_failures += 1;
                let wait = |delay: i64| if delay > 0 { now + delay } else { 0 };
                user.password_blocked_until = wait(account.delay(user.password_failures));
                user.answer_blocked_until = wait(answers.delay(user.answer_failures));
                user.answer_blocked_until
            }
            None => 0,
        };
        s.append(event);
        Ok(blocked_until)
    }

    async fn clear_answer_failures(&self, id: i64) -> StoreResult<()> {
        if let Some(user) = self.lock().users.get_mut(&id) {
            user.answer_failures = 0;
            user.answer_blocked_until = 0;
        }
        Ok(())
    }
}

impl TokenStore for MemoryStore {
    async fn insert_token(&self, token: NewToken, event: AuditEvent) -> StoreResult<i64> {
        let mut s = self.lock();
        if s.tokens.values().any(|t| t.serial == token.serial) {
            return Err(conflict(format!("token {}", token.serial)));
        }
        if !s.users.contains_key(&token.user_id) {
            return Err(missing("user"));
        }
        let id = s.new_id();
        s.tokens.insert(
            id,
            Token {
                id,
                serial: token.serial,
                user_id: token.user_id,
                kind: token.kind,
                state: token.state,
                otp: token.otp,
                sealed_seed: token.sealed_seed,
                sealed_unlock_secret: token.sealed_unlock_secret,
                last_used: -1,
                drift: 0,
                failures: 0,
                locked: false,
                activation_hash: token.activation_hash,
                activation_expires: token.activation_expires,
                activation_failures: 0,
                created_at: token.created_at,
            },
        );
        s.append(event);
        Ok(id)
    }

    async fn token_by_serial(&self, serial: &str) -> StoreResult<Option<Token>> {
        Ok(self
            .lock()
            .tokens
            .values()
            .find(|t| t.serial == serial)
            .cloned())
    }

    async fn tokens_of_user(&self, user_id: i64) -> StoreResult<Vec<Token>> {
        Ok(self.lock().tokens_of(user_id))
    }

    async fn check_user_otp<J, E>(
        &self,
        api_key: Option<&str>,
        username: &Username,
        judge: J,
    ) -> StoreResult<Result<bool, E>>
    where
        J: FnOnce(Option<&ApiKey>, Option<&User>, &[Token]) -> Result<Vec<OtpStep>, E>
            + Send
            + 'static,
        E: Send + 'static,
    {
        // One acquisition for the read, the verdict and its record: no
        // other change comes between them, as in the real transaction.
        let mut s = self.lock();
        let key =
            api_key.and_then(|prefix| s.api_keys.values().find(|k| k.prefix == prefix).cloned());
        let user = s.user_named(username).cloned();
        let tokens = user.as_ref().map(|u| s.tokens_of(u.id)).unwrap_or_default();
        let steps = match judge(key.as_ref(), user.as_ref(), &tokens) {
            Ok(steps) => steps,
            Err(error) => return Ok(Err(error)),
        };
        let mut walk = OtpStepWalk::new(steps);
        while let Some(change) = walk.next_change() {
            match change {
                RowChange::Record(event) => s.append(event),
                RowChange::CountFailure {
                    token_id,
                    limit,
                    event,
                    lock_event,
                } => {
                    s.otp_failure(token_id, limit, event, lock_event);
                }
                RowChange::Accept {
                    token_id,
                    used,
                    drift,
                    event,
                } => {
                    if s.accept_otp(token_id, used, drift, event) {
                        walk.accept_applied();
                    }
                }
            }
        }
        Ok(Ok(walk.accepted()))
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        Ok(self.lock().tokens.values().cloned().collect())
    }

    async fn activate_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = match s.tokens.get_mut(&id) {
            Some(t) if t.state == TokenState::New && t.activation_hash.is_some() => {
                t.state = TokenState::Active;
                t.activation_hash = None;
                true
            }
            _ => false,
        };
        Ok(s.audit_if(changed, event))
    }

    async fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> StoreResult<u32> {
        let mut s = self.lock();
        let count = match s.tokens.get_mut(&id) {
            Some(t) => {
                t.activation_failures += 1;
                if t.activation_failures >= limit {
                    t.activation_hash = None;
                }
                t.activation_failures
            }
            None => 0,
        };
        s.append(event);
        Ok(count)
    }

    async fn reset_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = s
            .tokens
            .get_mut(&id)
            .map(|t| {
                t.failures = 0;
                t.locked = false;
            })
            .is_some();
        Ok(s.audit_if(changed, event))
    }

    async fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = s.tokens.get_mut(&id).map(|t| t.state = state).is_some();
        Ok(s.audit_if(changed, event))
    }

    async fn resync_counter(
        &self,
        id: i64,
        last_used: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = match s.tokens.get_mut(&id) {
            Some(t) if t.last_used < last_used => {
                t.last_used = last_used;
                t.failures = 0;
                true
            }
            _ => false,
        };
        Ok(s.audit_if(changed, event))
    }
}

impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: NewApiKey, event: AuditEvent) -> StoreResult<i64> {
        let mut s = self.lock();
        if s.api_keys.values().any(|k| k.name == key.name) {
            return Err(conflict(format!("API key {}", key.name)));
        }
        if s.api_keys.values().any(|k| k.prefix == key.prefix) {
            return Err(conflict(format!("API key prefix {}", key.prefix)));
        }
        let id = s.new_id();
        s.api_keys.insert(
            id,
            ApiKey {
                id,
                name: key.name,
                prefix: key.prefix,
                hash: key.hash,
                role: key.role,
                revoked: false,
                created_at: key.created_at,
            },
        );
        s.append(event);
        Ok(id)
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
        Ok(self
            .lock()
            .api_keys
            .values()
            .find(|k| k.prefix == prefix)
            .cloned())
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self.lock().api_keys.values().cloned().collect();
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    async fn revoke_api_key(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = match s.api_keys.values_mut().find(|k| k.name == name) {
            Some(k) if !k.revoked => {
                k.revoked = true;
                true
            }
            _ => false,
        };
        Ok(s.audit_if(changed, event))
    }
}

impl AuditLog for MemoryStore {
    async fn append(&self, event: AuditEvent) -> StoreResult<()> {
        self.lock().append(event);
        Ok(())
    }

    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        // SQL's `LIMIT` with a negative count has none.
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|r| r.id > after)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn count_unlock_issues(&self, serial: &str, since: i64) -> StoreResult<i64> {
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|r| {
                r.event.action == AuditAction::UnlockIssue
                    && r.event.outcome == Outcome::Success
                    && r.event.subject == serial
                    && r.event.at >= since
            })
            .count() as i64)
    }

    async fn count_refresh_failures(&self, serial: &str, since: i64) -> StoreResult<i64> {
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|r| {
                r.event.action == AuditAction::TokenRefresh
                    && r.event.outcome == Outcome::Failure
                    && r.event.subject == serial
                    && r.event.at >= since
            })
            .count() as i64)
    }
}

mod directory;
mod portal;
mod radius;
mod stock;
mod unlock_generations;
