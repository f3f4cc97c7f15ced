//! The error of the administration and help-desk operations.

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
