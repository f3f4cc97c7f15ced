//! # latchkey-store
//!
//! The store ports of `latchkey-core` over SQLite (the embedded default:
//! one file, WAL, every commit fsynced before it is answered) and PostgreSQL, with migrations per
//! backend run at start-up. Also the master-key cipher that seals secrets
//! at rest. [`Database`] picks the backend from the URL.
//!
//! - [`SqliteStore`] (rusqlite) funnels every change through one writer
//!   thread that commits whatever is waiting as one transaction — group
//!   commit — and a second thread that fsyncs the WAL once for every batch
//!   committed meanwhile and only then answers their callers: one fsync for
//!   many accepted OTPs, each answered only once it is on disk, and the
//!   writer never waits for the disk. Reads use separate connections.
//! - [`PostgresStore`] (sqlx) serves PostgreSQL, one transaction per change.
//!
//! Every change and its audit row are written in one transaction. The
//! audit chain's head is a row that each transaction updates first among
//! audit writes (`UPDATE audit_head … RETURNING`), which serialises the chain
//! across connections, processes and nodes.

#[macro_use]
mod queries;

mod cipher;
mod database;
mod decode;
mod errors;
mod import;
pub mod metrics;
mod migrations;
mod postgres;
mod reseal;
mod sqlite;

pub use cipher::{MasterKeyCipher, MasterKeyError};
pub use database::{Backend, Database};
pub use import::Importer;
pub use migrations::MigrationError;
pub use postgres::PostgresStore;
pub use reseal::Resealer;
pub use sqlite::{CopyError, DatabaseInUse, NotLatchkeyDatabase, copy_database, take_offline};
pub use sqlite::{MAX_BATCH, SqliteStore};
