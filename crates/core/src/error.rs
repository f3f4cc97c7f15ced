//! The errors of the administration and help-desk operations, and the
//! password rules' (shared by users, the portal and recovery).

use latchkey_oath::CodeError;

use crate::model::{ApiKeyNameError, QuestionTextError, TokenState, UsernameError};
use crate::ports::{CipherError, StoreError};

/// An operation failed for a reason the caller should hear.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such user.
    #[error("no user named {0}")]
    NoSuchUser(String),
    /// No such token.
    #[error("no token with serial {0}")]
    NoSuchToken(String),
    /// No such API key.
    #[error("no API key named {0}")]
    NoSuchKey(String),
    /// No such security question.
    #[error("no security question {0}")]
    NoSuchQuestion(i64),
    /// The name is taken.
    #[error("{0} exists already")]
    Exists(String),
    /// The user name is not a valid one.
    #[error(transparent)]
    BadUsername(#[from] UsernameError),
    /// The serial is not 10 digits with a valid check digit.
    #[error("the serial is not valid: {0}")]
    BadSerial(CodeError),
    /// The PIN Reset Code is not 12 digits with a valid check digit.
    #[error("the PIN Reset Code is not valid: {0}")]
    BadResetCode(CodeError),
    /// An API key name breaks the naming rule.
    #[error("{}", ApiKeyNameError)]
    BadApiKeyName,
    /// A mail address that is not one (S56, L9).
    #[error(
        "the e-mail address is not valid: write it as name@example.org (letters, digits and . _ % + - before the @, a domain name after it, at most 254 characters)"
    )]
    BadEmail,
    /// A new user name outside the safe set (S54, L5).
    #[error(
        "a new user name may use only the letters a–z (with accents, such as é or ü), the digits 0–9 and . _ - @, so that no two names look alike"
    )]
    ConfusableUsername,
    /// A security question is too short or too long.
    #[error("{}", QuestionTextError)]
    BadQuestionText,
    /// The new password breaks a rule.
    #[error(transparent)]
    Password(#[from] PasswordRuleError),
    /// The token's state does not allow that change.
    #[error("token {serial} is {state}; that change is not possible")]
    StateChangeRefused {
        /// The token.
        serial: String,
        /// Its state now.
        state: TokenState,
    },
    /// Unlock codes exist only for Latchkey soft tokens.
    #[error("token {0} is not a Latchkey soft token and has no unlock codes")]
    NotASoftToken(String),
    /// Only an active token can be unlocked.
    #[error("token {serial} is {state}; only an active token can be unlocked")]
    NotActive {
        /// The token.
        serial: String,
        /// Its state now.
        state: TokenState,
    },
    /// Only HOTP counters are resynchronised.
    #[error("token {0} is not an HOTP token; only HOTP counters are resynchronised")]
    NotHotp(String),
    /// The two codes are not consecutive codes of the token in the window.
    #[error(
        "those two codes are not consecutive codes of token {serial} within the next {window} counters: press the token's button twice, type both new codes in order and try again"
    )]
    ResyncNoMatch {
        /// The token.
        serial: String,
        /// Counters searched past the last accepted one.
        window: u64,
    },
    /// The question is retired already.
    #[error("question {0} is retired already")]
    QuestionRetired(i64),
    /// Retiring it would leave fewer active questions than a user chooses.
    #[error("users choose {0} questions: the pool keeps at least that many active (add one first)")]
    PoolTooSmall(usize),
    /// A help-desk user may not act on this account (an admin's or another
    /// help-desk user's, S49).
    #[error(
        "the help desk cannot act on the account {0}: it belongs to an administrator or the help desk; ask an administrator"
    )]
    BeyondHelpdesk(String),
    /// The user has no e-mail address to send an activation code to.
    #[error(
        "{0} has no e-mail address for the activation code: add one, or let them enrol a token in the portal"
    )]
    NoMailAddress(String),
    /// The PIN Reset Code belongs to unlock slots a refresh replaced (S45).
    #[error(
        "that PIN Reset Code belongs to unlock slots that were replaced since; the token shows its current one under \"Forgot PIN\""
    )]
    RetiredResetCode,
    /// Too many unlock codes for this token today.
    #[error(
        "too many unlock codes were issued for this token today; try again tomorrow or reset the token"
    )]
    RateLimited,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The directory could not be asked about a user.
    #[error(transparent)]
    Directory(#[from] crate::user_source::DirectoryUnavailable),
}

impl From<ApiKeyNameError> for AdminError {
    fn from(_: ApiKeyNameError) -> Self {
        AdminError::BadApiKeyName
    }
}

impl From<QuestionTextError> for AdminError {
    fn from(_: QuestionTextError) -> Self {
        AdminError::BadQuestionText
    }
}

/// What sort of refusal an [`AdminError`] is: each edge (the API, the
/// help-desk page, the CLI) turns the kind into its status once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminErrorKind {
    /// The user, token, key or question does not exist.
    NotFound,
    /// It exists already, or its state does not allow the change.
    Conflict,
    /// A value the caller gave is malformed or breaks a rule.
    Malformed,
    /// A rate limit was reached.
    RateLimited,
    /// The caller's right does not reach it.
    Forbidden,
    /// Storage or a sealed secret failed: not the caller's doing.
    Unexpected,
}

impl AdminError {
    /// What sort of refusal this is.
    pub fn kind(&self) -> AdminErrorKind {
        match self {
            AdminError::NoSuchUser(_)
            | AdminError::NoSuchToken(_)
            | AdminError::NoSuchKey(_)
            | AdminError::NoSuchQuestion(_) => AdminErrorKind::NotFound,
            AdminError::Exists(_)
            | AdminError::StateChangeRefused { .. }
            | AdminError::NotASoftToken(_)
            | AdminError::NotActive { .. }
            | AdminError::NotHotp(_)
            | AdminError::QuestionRetired(_)
            | AdminError::PoolTooSmall(_)
            | AdminError::NoMailAddress(_)
            | AdminError::RetiredResetCode => AdminErrorKind::Conflict,
            AdminError::BadUsername(_)
            | AdminError::BadSerial(_)
            | AdminError::BadResetCode(_)
            | AdminError::BadApiKeyName
            | AdminError::BadEmail
            | AdminError::ConfusableUsername
            | AdminError::BadQuestionText
            | AdminError::ResyncNoMatch { .. }
            | AdminError::Password(_) => AdminErrorKind::Malformed,
            AdminError::RateLimited => AdminErrorKind::RateLimited,
            AdminError::BeyondHelpdesk(_) => AdminErrorKind::Forbidden,
            AdminError::Store(_) | AdminError::Cipher(_) | AdminError::Directory(_) => {
                AdminErrorKind::Unexpected
            }
        }
    }
}

/// Why a new password is refused (SECURITY.md S24/S25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    /// Fewer than 8 characters.
    #[error("a password needs at least 8 characters")]
    TooShort,
    /// More than 1024 characters.
    #[error("a password has at most 1024 characters")]
    TooLong,
    /// A common password, or one made from the product's name.
    #[error("that password is too common; choose another")]
    TooCommon,
    /// The user name is part of it.
    #[error("a password may not contain the user name")]
    ContainsUsername,
}
