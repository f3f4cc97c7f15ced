//! # latchkey-core
//!
//! Latchkey's domain rules — when a token locks, what a question & answer
//! challenge accepts, what an unlock issuance requires — and the narrow
//! traits (ports) they need: stores, clock, secret cipher, mailer. It knows
//! no HTTP and no SQL; `latchkey-store` implements its ports and
//! `latchkey-server` calls it.
//!
//! The domain is filled in by the server issue; this crate exists now so
//! that the dependency arrows point the right way from the start.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use latchkey_oath as oath;
