//! # latchkey-store
//!
//! The ports of `latchkey-core` over SQLite (the embedded default) and
//! PostgreSQL, with migrations per backend. Filled in by the server issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use latchkey_core as core;
