//! The ports: what the domain needs from the world, as narrow traits.
//! `latchkey-store` implements the stores and the cipher; the server
//! supplies the clock and the password hasher.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::user_source::DirectoryStore;
use zeroize::Zeroizing;

use crate::model::*;

/// A boxed future, for the ports that must be object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where time comes from. Tests move it.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds.
    fn now(&self) -> u64;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that tests set and move.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn at(now: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(now)))
    }
    /// Moves the clock by `seconds` (negative moves it back).
    pub fn advance(&self, seconds: i64) {
        let now = self.0.load(Ordering::SeqCst);
        self.0
            .store(now.saturating_add_signed(seconds), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A sealed value could not be opened: wrong master key, or tampering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret could not be opened (wrong master key, or the row was tampered with)")]
pub struct CipherError;

/// Encryption of secrets at rest with the master key.
pub trait SecretCipher: Send + Sync + 'static {
    /// Encrypts `plaintext`, binding it to `aad` (the row's identity).
    fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8>;
    /// Decrypts what [`SecretCipher::seal`] made for the same `aad`.
    fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError>;
    /// A keyed hash (HMAC with a key derived from the master key), for
    /// values that must be compared but never recovered, such as
    /// activation codes: a database dump alone cannot brute-force them.
    fn keyed_hash(&self, purpose: &str, data: &[u8]) -> [u8; 32];
}

/// Password hashing (Argon2id), run off the request path on a bounded pool.
pub trait PasswordHasher: Send + Sync + 'static {
    /// A PHC string with a fresh salt and the current parameters.
    fn hash(&self, password: Zeroizing<String>) -> BoxFuture<'static, String>;
    /// Whether `password` matches `hash`. With no hash, checks against a
    /// dummy one, so that an unknown user costs the same time.
    fn verify(&self, password: Zeroizing<String>, hash: Option<String>)
    -> BoxFuture<'static, bool>;
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value exists already (a user name, a serial, a key name).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The backend failed; the cause is kept for the log, never shown.
    #[error("storage failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What storing a result returns.
pub type StoreResult<T> = Result<T, StoreError>;

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

/// A token to create.
#[derive(Clone)]
pub struct NewToken {
    /// The serial.
    pub serial: String,
    /// Whose.
    pub user_id: i64,
    /// Kind.
    pub kind: TokenKind,
    /// Initial state (`new` when an activation code is outstanding).
    pub state: TokenState,
    /// Hash name.
    pub algorithm: String,
    /// Digits.
    pub digits: u8,
    /// Period (TOTP) or 0.
    pub period: u64,
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

/// An API key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Name.
    pub name: String,
    /// Public prefix.
    pub prefix: String,
    /// SHA-256 of the key.
    pub hash: Vec<u8>,
    /// Role.
    pub role: ApiRole,
    /// Unix seconds.
    pub created_at: i64,
}

/// API keys.
pub trait ApiKeyStore: Send + Sync {
    /// Adds a key.
    fn insert_api_key(
        &self,
        key: NewApiKey,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Finds a key by its public prefix.
    fn api_key_by_prefix(
        &self,
        prefix: &str,
    ) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;
    /// Every key.
    fn list_api_keys(&self) -> impl Future<Output = StoreResult<Vec<ApiKey>>> + Send;
    /// Revokes a key by name.
    fn revoke_api_key(
        &self,
        name: &str,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// The audit log.
pub trait AuditLog: Send + Sync {
    /// Appends an event on its own.
    fn append(&self, event: AuditEvent) -> impl Future<Output = StoreResult<()>> + Send;
    /// Rows with id greater than `after`, in order, at most `limit`.
    fn audit_rows(
        &self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<AuditRow>>> + Send;
    /// How many unlock codes were issued for the token `serial` since
    /// `since` (successful `unlock.issue` events): the per-token rate limit.
    fn count_unlock_issues(
        &self,
        serial: &str,
        since: i64,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// How many refreshes failed for the serial `serial` (known or not)
    /// since `since` (failed `token.refresh` events): the refresh's own
    /// throttle (S46).
    fn count_refresh_failures(
        &self,
        serial: &str,
        since: i64,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
}

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

/// A mail to one user.
#[derive(Clone)]
pub struct Mail {
    /// The address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// Plain text.
    pub body: String,
}

impl std::fmt::Debug for Mail {
    // A body may carry a password-reset link: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Delivers mail (SMTP, or files in an outbox folder).
pub trait Mailer: Send + Sync + 'static {
    /// Sends one mail.
    fn send(&self, mail: Mail) -> BoxFuture<'static, Result<(), MailError>>;
}

/// A mail could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("the mail could not be delivered: {0}")]
pub struct MailError(pub String);

/// Everything the domain keeps.
pub trait Store:
    UserStore
    + TokenStore
    + ApiKeyStore
    + AuditLog
    + PortalStore
    + DirectoryStore
    + crate::generations::UnlockGenerationStore
    + Clone
    + 'static
{
}

impl<
    T: UserStore
        + TokenStore
        + ApiKeyStore
        + AuditLog
        + PortalStore
        + DirectoryStore
        + crate::generations::UnlockGenerationStore
        + Clone
        + 'static,
> Store for T
{
}

/// How a RADIUS client's users prove themselves (DESIGN.md, "RADIUS").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadiusMode {
    /// User-Password is the password followed by the OTP; a right password
    /// alone is answered with an Access-Challenge.
    OneStep,
    /// The password, an Access-Challenge, then the OTP with its State.
    TwoStep,
    /// The OTP alone: the device checked the password itself.
    OtpOnly,
}

impl RadiusMode {
    /// The name stored and typed (`one-step`, `two-step`, `otp-only`).
    pub fn as_str(self) -> &'static str {
        match self {
            RadiusMode::OneStep => "one-step",
            RadiusMode::TwoStep => "two-step",
            RadiusMode::OtpOnly => "otp-only",
        }
    }
}

impl std::fmt::Display for RadiusMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RadiusMode {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "one-step" => Ok(RadiusMode::OneStep),
            "two-step" => Ok(RadiusMode::TwoStep),
            "otp-only" => Ok(RadiusMode::OtpOnly),
            other => Err(UnknownValue(other.into())),
        }
    }
}

/// A RADIUS client to register.
#[derive(Clone)]
pub struct NewRadiusClient {
    /// Its unique name.
    pub name: String,
    /// The address or CIDR block its requests come from.
    pub address: String,
    /// How its users prove themselves.
    pub mode: RadiusMode,
    /// The shared secret, sealed with the master key.
    pub sealed_secret: Vec<u8>,
    /// False only for an old device exempted from Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// A registered RADIUS client, as stored.
#[derive(Clone)]
pub struct RadiusClient {
    /// Row id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The address or CIDR block its requests come from.
    pub address: String,
    /// How its users prove themselves.
    pub mode: RadiusMode,
    /// The shared secret, sealed with the master key.
    pub sealed_secret: Vec<u8>,
    /// False only for an old device exempted from Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for RadiusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadiusClient")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("mode", &self.mode)
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .finish_non_exhaustive()
    }
}

/// An Access-Challenge's State, as stored: single use, bound to a client
/// and a user, valid until `expires_at`.
#[derive(Debug, Clone)]
pub struct NewRadiusState {
    /// Keyed hash of the State value (the value itself is never stored).
    pub state_hash: Vec<u8>,
    /// The client that was challenged.
    pub client_id: i64,
    /// The user whose password was right.
    pub user_id: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// RADIUS clients and Access-Challenge states. Each change carries its
/// audit event and commits with it.
pub trait RadiusStore: Send + Sync {
    /// Registers a client; a taken name is a [`StoreError::Conflict`].
    fn insert_radius_client(
        &self,
        client: NewRadiusClient,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Every client, by name.
    fn radius_clients(&self) -> impl Future<Output = StoreResult<Vec<RadiusClient>>> + Send;
    /// Removes a client by name, and its outstanding states. False if there
    /// was none.
    fn remove_radius_client(
        &self,
        name: &str,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Stores a challenge's state (and forgets the states expired at
    /// `now`), with its audit event.
    fn insert_radius_state(
        &self,
        state: NewRadiusState,
        now: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Uses a state once: the user it was made for, if it exists for this
    /// client and had not expired at `now`. A second call finds nothing.
    fn take_radius_state(
        &self,
        state_hash: Vec<u8>,
        client_id: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
}

/// A hardware token to put in the stock of unassigned ones (PSKC import).
#[derive(Clone)]
pub struct NewStockToken {
    /// The Latchkey serial it is given (10 digits, Luhn).
    pub serial: String,
    /// The vendor's serial (printed on the device), else the file's key id.
    pub vendor_serial: String,
    /// TOTP or HOTP.
    pub kind: TokenKind,
    /// HMAC hash name.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step (TOTP); 0 for HOTP.
    pub period: u64,
    /// The seed, sealed under the Latchkey serial.
    pub sealed_seed: Vec<u8>,
    /// The last counter used (HOTP: the file's counter − 1); −1 for none.
    pub last_used: i64,
    /// Clock drift in steps (TOTP), from the file.
    pub drift: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A hardware token in the stock, as stored.
#[derive(Clone)]
pub struct StockToken {
    /// Row id.
    pub id: i64,
    /// The Latchkey serial.
    pub serial: String,
    /// The vendor's serial.
    pub vendor_serial: String,
    /// TOTP or HOTP.
    pub kind: TokenKind,
    /// HMAC hash name.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step (TOTP); 0 for HOTP.
    pub period: u64,
    /// The sealed seed.
    pub sealed_seed: Vec<u8>,
    /// The last counter used; −1 for none.
    pub last_used: i64,
    /// Clock drift in steps.
    pub drift: i64,
    /// Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for StockToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StockToken")
            .field("serial", &self.serial)
            .field("vendor_serial", &self.vendor_serial)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The stock of hardware tokens not yet handed to anyone.
pub trait StockStore: Send + Sync {
    /// Adds tokens to the stock, all or none, with one audit event in the
    /// same transaction; a serial or vendor serial taken already is a
    /// [`StoreError::Conflict`] and adds nothing.
    fn insert_stock(
        &self,
        tokens: Vec<NewStockToken>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every token in the stock, oldest first.
    fn stock(&self) -> impl Future<Output = StoreResult<Vec<StockToken>>> + Send;
    /// The token in the stock with this Latchkey serial or vendor serial.
    fn stock_token(
        &self,
        serial: &str,
    ) -> impl Future<Output = StoreResult<Option<StockToken>>> + Send;
    /// Hands the stocked token `stock_id` to user `user_id` as an active
    /// token, in one transaction with its audit event: false if it is no
    /// longer in the stock (someone else assigned it first).
    fn assign_stock(
        &self,
        stock_id: i64,
        user_id: i64,
        now: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
