//! The self-service portal's rules: sessions that advance factor by factor,
//! security questions, password recovery by mail, and the self-service
//! actions. The HTTP pages call these and nothing below them.
//!
//! A session is a capability: [`PortalSession`] exists only after the
//! store confirmed the cookie, and each operation takes the stage-typed
//! session it needs ([`PendingSession`], [`FullSession`],
//! [`RecoverySession`]), so no stage check can be forgotten. Security questions never complete a sign-in (S28): they lead to a
//! [`SessionStage::Recovery`] session, which reaches the recovery actions
//! (unlock a soft token, report a token lost) and nothing else.

mod challenge;
mod console_otp;
mod recovery;
mod self_service;
mod session;

pub use recovery::ResetLinkIssued;

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::capability::Actor;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{SessionStage, User};
use crate::policy::PortalPolicy;
use crate::ports::{CipherError, Mail, Store, StoreError};

/// A portal operation refused. The words a page shows are the server's
/// (written once, where it maps each variant to a status); these say what
/// happened, for logs and tests.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Unknown user, wrong password, wrong OTP, disabled or throttled
    /// account: one refusal for all (S39).
    #[error("sign-in refused")]
    SignInRefused,
    /// The answers did not all match.
    #[error("the security answers do not match")]
    AnswersRefused,
    /// The user has no security answers to be challenged with.
    #[error("no security answers are set")]
    NoAnswers,
    /// The session has ended or never was.
    #[error("the session has ended")]
    SessionEnded,
    /// A field is wrong; the page shows the message beside it.
    #[error("{message}")]
    Field {
        /// The form field.
        field: &'static str,
        /// What to do.
        message: String,
    },
    /// The link is unknown, used or expired.
    #[error("the reset link is unknown, used or expired")]
    LinkInvalid,
    /// As many soft tokens as may wait for activation are waiting (L4).
    #[error("{pending} soft tokens wait for activation already")]
    PendingSoftTokens {
        /// How many wait.
        pending: usize,
    },
    /// As many tokens as may wait for activation or for an authenticator
    /// app's first code are waiting (L4).
    #[error("{pending} tokens wait for activation or confirmation already")]
    PendingEnrolments {
        /// How many wait.
        pending: usize,
    },
    /// Every serial tried for a new token was taken (a race, or bad luck).
    #[error("no free serial was found for a new token")]
    NoFreeSerial,
    /// An authenticator app's enrolment ended after too many wrong codes.
    #[error("the enrolment was cancelled after too many wrong codes")]
    EnrolmentCancelled,
    /// The enrolment was confirmed or ended meanwhile.
    #[error("the enrolment is no longer waiting for a code")]
    EnrolmentNotWaiting,
    /// No enrolment of the user's with that serial waits for a code.
    #[error("the enrolment expired or was cancelled")]
    EnrolmentGone,
    /// The token operation behind the page (an unlock code, a new soft
    /// token) refused, for a reason the user should hear.
    #[error(transparent)]
    TokenRefused(AdminError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

impl PortalError {
    /// A new password that breaks a rule, said as the portal's other
    /// field messages are (a sentence; the CLI's words are its own).
    fn password_rule(rule: crate::PasswordRuleError) -> Self {
        use crate::PasswordRuleError as Rule;
        let message = match rule {
            Rule::TooShort => "A password needs at least 8 characters.",
            Rule::TooLong => "A password has at most 1024 characters.",
            Rule::TooCommon => "That password is too common. Choose another.",
            Rule::ContainsUsername => "A password may not contain your user name.",
        };
        Self::field("password", message)
    }

    fn field(field: &'static str, message: impl Into<String>) -> Self {
        PortalError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<AdminError> for PortalError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Store(e) => PortalError::Store(e),
            AdminError::Cipher(e) => PortalError::Cipher(e),
            refused => PortalError::TokenRefused(refused),
        }
    }
}

/// A session id as the cookie carries it: 256 random bits. Only its hash
/// is stored.
pub struct SessionId(Zeroizing<String>);

/// 256 random bits as base64url, and their SHA-256 (what is stored).
fn random_token() -> (Zeroizing<String>, Vec<u8>) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::Rng::fill_bytes(&mut rand::rng(), bytes.as_mut());
    let token = Zeroizing::new(BASE64URL_NOPAD.encode(bytes.as_ref()));
    let hash = digest(token.as_bytes());
    (token, hash)
}

impl SessionId {
    fn generate() -> (Self, Vec<u8>) {
        let (token, hash) = random_token();
        (SessionId(token), hash)
    }
    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

fn digest(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// The value of a known-device cookie (S47): given to a browser after a
/// complete sign-in, it lets that browser through the account-wide
/// password wait that strangers' failures set. It grants nothing else: the
/// password and the second factor are still asked.
pub struct KnownDevice(String);

impl KnownDevice {
    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KnownDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KnownDevice(..)")
    }
}

/// A session the store confirmed, with its user as of this request.
#[derive(Debug, Clone)]
pub struct PortalSession {
    id_hash: Vec<u8>,
    stage: SessionStage,
    created_at: i64,
    user: User,
}

impl PortalSession {
    /// How far the session has come.
    pub fn stage(&self) -> SessionStage {
        self.stage
    }
    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.user
    }
    /// The session as one at the password step, if it is one.
    pub fn pending(&self) -> Option<PendingSession> {
        (self.stage == SessionStage::Password).then(|| PendingSession(self.clone()))
    }
    /// The session as a full one, if it is one.
    pub fn full(&self) -> Option<FullSession> {
        (self.stage == SessionStage::Full).then(|| FullSession(self.clone()))
    }
    /// The session as one that may take the recovery actions: a full one,
    /// or one opened by the security questions.
    pub fn recovery(&self) -> Option<RecoverySession> {
        matches!(self.stage, SessionStage::Full | SessionStage::Recovery)
            .then(|| RecoverySession(self.clone()))
    }
    /// Unix seconds of the sign-in's first factor (an ID token's
    /// `auth_time`).
    pub(crate) fn created_at(&self) -> i64 {
        self.created_at
    }
    /// The stored key of the session (what an OIDC `sid` is derived from).
    pub(crate) fn id_hash(&self) -> &[u8] {
        &self.id_hash
    }
    fn actor(&self, source: &str) -> Actor {
        Actor {
            name: self.user.username.to_string(),
            source: source.to_owned(),
        }
    }
}

/// A session at the password step: the second factor or the security
/// questions come next ([`PortalSession::pending`]).
#[derive(Debug, Clone)]
pub struct PendingSession(PortalSession);

/// A session with the password and the second factor: the whole account
/// ([`PortalSession::full`]).
#[derive(Debug, Clone)]
pub struct FullSession(PortalSession);

/// A session that may take the recovery actions (see the tokens, unlock a
/// soft token, report one lost): one opened by the security questions
/// (S28), or a full one ([`PortalSession::recovery`]).
#[derive(Debug, Clone)]
pub struct RecoverySession(PortalSession);

// Each stage-typed session is a confirmed session known to be at that
// stage: it reads like one, and the operations that need the stage take
// the type, so the check cannot be forgotten (STYLE rule 7).
macro_rules! session_at_stage {
    ($($name:ident),*) => {$(
        impl std::ops::Deref for $name {
            type Target = PortalSession;
            fn deref(&self) -> &PortalSession {
                &self.0
            }
        }
    )*};
}
session_at_stage!(PendingSession, FullSession, RecoverySession);

impl From<&FullSession> for RecoverySession {
    /// A full session may take the recovery actions too.
    fn from(full: &FullSession) -> Self {
        RecoverySession(full.0.clone())
    }
}

impl<S: Store> Latchkey<S> {
    /// A MAC of `data` under a key derived from the master key for
    /// `purpose` (the portal's CSRF tokens): the same on every node.
    pub fn keyed_digest(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.cipher.keyed_hash(purpose, data)
    }

    /// Unix seconds on the domain's clock (what the edge's per-address
    /// limits count in, so a test's moved clock moves them too).
    pub fn clock_now(&self) -> i64 {
        self.now()
    }

    fn portal(&self) -> &PortalPolicy {
        &self.policy.portal
    }
}

fn password_changed_mail(to: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your password was changed".into(),
        body:
            "The password of your account was changed, and every other session was signed out.\n\n\
               If this was not you, tell your help desk at once.\n"
                .into(),
    }
}
