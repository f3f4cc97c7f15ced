//! # latchkey-server
//!
//! The authentication server (`latchkey serve`): the JSON API for soft
//! tokens and relying applications, health and metrics; and the admin CLI
//! (`latchkey admin`), which works straight on the configured database.
//! Both are thin callers of `latchkey-core`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod config;
pub mod hasher;
pub mod http;
pub mod import;
pub mod mail;

use std::sync::Arc;

use latchkey_core::{Latchkey, Policy, SystemClock};
use latchkey_store::{Database, MasterKeyCipher};

pub use config::Config;

/// The domain over the configured database (SQLite or PostgreSQL), as the
/// server runs it.
pub type App = Latchkey<Database>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data folder could not be made.
    #[error("cannot create the data folder {0}: {1}")]
    DataDir(std::path::PathBuf, std::io::Error),
    /// The master key could not be had.
    #[error(transparent)]
    MasterKey(#[from] latchkey_store::MasterKeyError),
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Database(#[source] latchkey_core::StoreError),
}

/// Opens the data folder, the master key and the database (running the
/// migrations), and puts the domain together.
pub async fn open(config: &Config) -> Result<App, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
    restrict(&config.data_dir);
    let cipher = master_key_cipher(config)?;
    let store = Database::connect(&config.database_url())
        .await
        .map_err(StartError::Database)?;
    let policy = Policy {
        issuer: config.issuer.clone(),
        otp_failure_limit: config.otp_failure_limit,
        ..Policy::default()
    };
    Ok(Latchkey::new(
        store,
        Arc::new(SystemClock),
        Arc::new(cipher),
        Arc::new(hasher::Argon2Hasher::new(config.hash_parallelism)),
        policy,
    ))
}

/// The master-key cipher the configuration names: the key from
/// `LATCHKEY_MASTER_KEY`, else the key file in the data folder (made if
/// missing).
pub fn master_key_cipher(config: &Config) -> Result<MasterKeyCipher, StartError> {
    Ok(match &config.master_key {
        Some(hex) => MasterKeyCipher::from_hex(hex)?,
        None => MasterKeyCipher::load_or_create(&config.data_dir.join("master.key"))?,
    })
}

fn restrict(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}
