//! # latchkey-core
//!
//! Latchkey's domain rules — who may sign in with what, when a token locks,
//! how an OTP is accepted exactly once, what an unlock-code issuance
//! requires, how the audit chain is kept — and the narrow traits (ports)
//! they need: stores, a clock, a secret cipher, a password hasher. It knows
//! no HTTP and no SQL: `latchkey-store` implements the store ports and
//! `latchkey-server` calls [`Latchkey`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod import;
pub mod model;
mod portal;
pub mod ports;
mod service;

pub use latchkey_oath as oath;
pub use model::*;
pub use portal::*;
pub use ports::*;
pub use service::*;
