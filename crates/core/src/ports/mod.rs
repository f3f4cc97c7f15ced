//! The ports: what the domain needs from the world, as narrow traits.
//! `latchkey-store` implements the stores and the cipher; the server
//! supplies the clock and the password hasher.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::user_source::DirectoryStore;
use zeroize::Zeroizing;

mod api_keys;
mod portal;
mod radius;
mod stock;
mod tokens;
mod users;

pub use api_keys::*;
pub use portal::*;
pub use radius::*;
pub use stock::*;
pub use tokens::*;
pub use users::*;

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
