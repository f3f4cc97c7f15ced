//! # latchkey-core
//!
//! Latchkey's domain rules — who may sign in with what, when a token locks,
//! how an OTP is accepted exactly once, what an unlock-code issuance
//! requires, how the audit chain is kept — and the narrow traits (ports)
//! they need: stores, a clock, a secret cipher, a password hasher. It knows
//! no HTTP and no SQL: `latchkey-store` implements the store ports and
//! `latchkey-server` calls [`Latchkey`].
//!
//! The modules layer one way. At the bottom are [`model`], [`ports`],
//! `policy`, `capability`, `error` and `context` (the [`Latchkey`] value
//! and its shared helpers); the operation modules (`users`, `tokens`,
//! `activation`, `api_keys`, `passwords`, `otp`, `authenticate`, [`audit`],
//! `questions`, `helpdesk`, [`console`], `portal`) each add an `impl
//! Latchkey` block and use only modules below them.

mod activation;
mod api_keys;
pub mod audit;
mod authenticate;
mod backups;
mod capability;
pub mod console;
mod context;
mod enrolment;
mod error;
pub mod generations;
mod helpdesk;
pub mod import;
pub mod model;
pub mod oidc;
mod otp;
mod otp_steps;
mod passwords;
mod policy;
mod portal;
pub mod ports;
mod questions;
pub mod radius;
pub mod rotation;
pub mod stock;
mod tokens;
pub mod user_source;
mod users;
pub use users::{checked_email, typed_username};

pub use latchkey_oath as oath;

pub use activation::{ActivateError, ActivationGrant, REFRESHES_PER_DAY, RefreshError, Refreshed};
pub use authenticate::Decision;
pub use backups::{DatabaseCopy, SealedCheck};
pub use capability::{Actor, Admin, ApiPrincipal, Auditor, Helpdesk};
pub use context::Latchkey;
pub use enrolment::{AppEnrolment, ENROLMENT_TTL};
pub use error::{AdminError, AdminErrorKind, PasswordRuleError};
pub use generations::{UnlockGeneration, UnlockGenerationStore};
pub use helpdesk::UserOverview;
pub use model::{
    Answer, ApiKey, ApiRole, AuditAction, AuditEvent, AuditRow, OtpParams, Outcome, Question, Role,
    Serial, SessionStage, Token, TokenKind, TokenState, UnknownValue, User, UserStatus, Username,
    UsernameError, WebSession,
};
pub use otp_steps::{OtpStepWalk, RowChange};
pub use passwords::{KNOWN_DEVICE_LIFETIME, check_password};
pub use policy::{Policy, PortalPolicy};
pub use portal::{
    FullSession, KnownDevice, PendingSession, PortalError, PortalSession, RecoverySession,
    ResetLinkIssued, SessionId,
};
pub use ports::{
    ApiKeyStore, AuditLog, BoxFuture, CipherError, Clock, Mail, MailError, Mailer, ManualClock,
    NewApiKey, NewSession, NewToken, NewUser, OtpStep, PasswordHasher, PortalStore, SecretCipher,
    Store, StoreError, StoreResult, SystemClock, Throttle, TokenStore, UserStore,
};
pub use ports::{NewStockToken, StockStore, StockToken};
pub use questions::normalise_answer;
pub use tokens::IssuedToken;
pub use user_source::{
    AccountLink, DirectoryEntry, DirectoryLink, DirectoryLookup, DirectoryStore, DirectorySync,
    DirectoryUnavailable, SyncChange, UserDirectory,
};
