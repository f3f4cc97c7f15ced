//! # latchkey-store
//!
//! The store ports of `latchkey-core` over SQLite (the embedded default:
//! one file, WAL, `synchronous=FULL`) and PostgreSQL, through one SQL
//! implementation on sqlx's `Any` driver, with migrations per backend run
//! at start-up. Also the master-key cipher that seals secrets at rest.
//!
//! Every change and its audit row are written in one transaction. The
//! audit chain's head is a row that each transaction updates first among
//! audit writes (`UPDATE audit_head … RETURNING`), which serialises the chain
//! across connections and nodes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cipher;
mod sql;

pub use cipher::{MasterKeyCipher, MasterKeyError};
pub use sql::{Backend, SqlStore};
