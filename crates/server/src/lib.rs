//! # latchkey-server
//!
//! The authentication server (`latchkey serve`), its portal and JSON API,
//! and the admin CLI (`latchkey admin`). Filled in by the server issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use latchkey_core as core;
pub use latchkey_store as store;
