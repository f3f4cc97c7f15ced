//! # latchkey-token
//!
//! The soft token: a PIN-protected vault file and the `latchkey-token`
//! command. Filled in by the soft-token issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use latchkey_oath as oath;
