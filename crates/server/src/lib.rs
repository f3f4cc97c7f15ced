//! # latchkey-server
//!
//! The authentication server (`latchkey serve`): the JSON API for soft
//! tokens and relying applications, health and metrics; and the admin CLI
//! (`latchkey admin`), which works straight on the configured database.
//! Both are thin callers of `latchkey-core`.

pub mod admin;
pub mod config;
pub mod directory;
pub mod hasher;
pub mod http;
pub mod mail;
pub mod oidc;
pub mod radius;
pub mod report;
pub mod tls;
pub mod views;

use std::sync::Arc;

use latchkey_core::{Admin, Clock, Latchkey, PasswordHasher, Policy, SecretCipher, SystemClock};
use latchkey_store::{Backend, Database, MasterKeyCipher};

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
    #[error("cannot open the database")]
    Database(#[source] latchkey_core::StoreError),
    /// The `[directory]` table is not valid.
    #[error(transparent)]
    Directory(#[from] latchkey_directory::ConfigError),
}

/// The database's life, not its contents: whether it answers, which
/// backend it is, closing it at shutdown. None of this reads or writes a
/// row, so the HTTP layer may hold it (the readiness probe) without holding
/// the store.
#[derive(Clone, Debug)]
pub struct Lifecycle(Database, Option<directory::DirectoryPort>);

impl Lifecycle {
    /// The directory, when users come from one too.
    pub fn directory(&self) -> Option<&directory::DirectoryPort> {
        self.1.as_ref()
    }
    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.0.backend()
    }
    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        self.0.ping().await
    }
    /// Whether writes are failing although the database answers reads
    /// (a full disk): the readiness probe says so (SECURITY-REVIEW L2).
    pub fn writer_failing(&self) -> bool {
        self.0.writer_failing()
    }
    /// The database's series for `/metrics`.
    pub fn render_metrics(&self) -> String {
        self.0.render_metrics()
    }
    /// Closes the connections, after what was queued has committed.
    pub async fn close(&self) {
        self.0.close().await
    }
}

/// The operator at the server's own command line (`latchkey admin …`),
/// who opened the database directly: admin rights, and the raw database
/// for the one job that works below the domain, the bulk import
/// ([`latchkey_store::Importer`] writes large transactions itself). Only
/// [`open_as_operator`] makes one; `serve` never does.
pub struct Operator {
    /// The operator's admin right.
    pub admin: Admin,
    database: Database,
    directory: Option<directory::DirectoryPort>,
}

impl Operator {
    /// The directory, when users come from one too.
    pub fn directory(&self) -> Option<&directory::DirectoryPort> {
        self.directory.as_ref()
    }

    /// The database, for [`latchkey_store::Importer::open`].
    pub fn database(&self) -> &Database {
        &self.database
    }
}

/// Opens the data folder, the master key and the database (running the
/// migrations), and puts the domain together, with no admin right: what
/// `serve` runs.
pub async fn open(config: &Config) -> Result<(App, Lifecycle), StartError> {
    open_with_clock(config, Arc::new(SystemClock)).await
}

/// Like [`open`], on `clock` instead of the machine's: the server's own
/// scenario tests move time with a [`latchkey_core::ManualClock`] rather
/// than sleep into the next OTP step.
pub async fn open_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(App, Lifecycle), StartError> {
    let parts = Parts::open(config, clock).await?;
    let database = parts.database.clone();
    let directory = parts.directory.clone();
    let app = with_directory(
        Latchkey::new(
            parts.database,
            parts.clock,
            parts.cipher,
            parts.hasher,
            parts.policy,
        ),
        &directory,
    );
    Ok((app, Lifecycle(database, directory)))
}

/// Like [`open`], for the operator at the command line: the domain with
/// the operator's [`Admin`] right (see [`Operator`]).
pub async fn open_as_operator(config: &Config) -> Result<(App, Lifecycle, Operator), StartError> {
    let parts = Parts::open(config, Arc::new(SystemClock)).await?;
    let database = parts.database.clone();
    let directory = parts.directory.clone();
    let (app, admin) = Latchkey::with_local_operator(
        parts.database,
        parts.clock,
        parts.cipher,
        parts.hasher,
        parts.policy,
    );
    let app = with_directory(app, &directory);
    let operator = Operator {
        admin,
        database: database.clone(),
        directory: directory.clone(),
    };
    Ok((app, Lifecycle(database, directory), operator))
}

/// What the domain is put together from.
struct Parts {
    database: Database,
    clock: Arc<dyn Clock>,
    cipher: Arc<dyn SecretCipher>,
    hasher: Arc<dyn PasswordHasher>,
    policy: Policy,
    directory: Option<directory::DirectoryPort>,
}

fn with_directory(app: App, directory: &Option<directory::DirectoryPort>) -> App {
    match directory {
        Some(port) => app.with_directory(Arc::new(port.clone())),
        None => app,
    }
}

impl Parts {
    async fn open(config: &Config, clock: Arc<dyn Clock>) -> Result<Parts, StartError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
        restrict(&config.data_dir);
        // Checked before anything is opened: a bad `[directory]` table
        // stops the start with its message.
        let directory = match &config.directory {
            Some(table) => Some(directory::DirectoryPort::new(
                latchkey_directory::Directory::new(table)?,
            )),
            None => None,
        };
        let cipher = master_key_cipher(config)?;
        let database = Database::connect(&config.database_url())
            .await
            .map_err(StartError::Database)?;
        Ok(Parts {
            database,
            clock,
            cipher: Arc::new(cipher),
            directory,
            hasher: Arc::new(hasher::Argon2Hasher::new(config.hash_parallelism)),
            policy: Policy {
                issuer: config.issuer.clone(),
                otp_failure_limit: config.otp_failure_limit,
                ..Policy::default()
            },
        })
    }
}

/// The master-key cipher the configuration names: the key from
/// `LATCHKEY_MASTER_KEY`, else the key file in the data folder (made if
/// missing).
pub fn master_key_cipher(config: &Config) -> Result<MasterKeyCipher, StartError> {
    let cipher = own_master_key_cipher(config)?;
    let previous_file = config.data_dir.join("master.key.previous");
    // During a rotation (`admin rotate-master-key`), values still sealed
    // under the key being replaced open too.
    Ok(match &config.previous_master_key {
        Some(hex) => cipher.with_previous(MasterKeyCipher::from_hex(hex)?),
        None if previous_file.exists() => {
            cipher.with_previous(MasterKeyCipher::load_or_create(&previous_file)?)
        }
        None => cipher,
    })
}

/// The cipher of the configured master key alone, without the previous
/// key of a rotation: what every value is sealed under once it is done.
pub fn own_master_key_cipher(config: &Config) -> Result<MasterKeyCipher, StartError> {
    Ok(match &config.master_key {
        Some(hex) => MasterKeyCipher::from_hex(hex)?,
        None => MasterKeyCipher::load_or_create(&config.data_dir.join("master.key"))?,
    })
}

fn restrict(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}
