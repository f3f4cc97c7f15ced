//! The errors of the administration and help-desk operations, and the
//! password rules' (shared by users, the portal and recovery).

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
    /// A value is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The new password breaks a rule.
    #[error(transparent)]
    Password(#[from] PasswordRuleError),
    /// Not possible in the token's state.
    #[error("{0}")]
    WrongState(String),
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
