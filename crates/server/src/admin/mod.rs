//! `latchkey admin …`: administration straight on the configured database.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use latchkey_core::{AdminError, AdminErrorKind, ApiKey, AuditRow, IssuedToken, StoreError, User};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::{App, Config, Operator, views};

mod api_keys;
mod audit;
mod backup;
mod directory;
pub(crate) mod import;
mod oidc;
mod questions;
mod radius;
mod rotate;
mod text;
mod tokens;
mod users;

pub use api_keys::ApiKeyCommand;
pub use audit::AuditCommand;
pub use backup::{BackupArgs, RestoreArgs, restore};
pub use directory::DirectoryCommand;
pub use oidc::{OidcClientCommand, OidcKeyCommand};
pub use questions::QuestionsCommand;
pub use radius::RadiusClientCommand;
pub use tokens::TokenCommand;
pub use users::UserCommand;

/// Administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Security questions: the pool users choose from, and users' answers
    #[command(subcommand)]
    Questions(QuestionsCommand),
    /// Users
    #[command(subcommand)]
    User(UserCommand),
    /// Tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// API keys for relying applications
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// The audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// RADIUS clients (VPNs, firewalls, Wi-Fi controllers)
    #[command(subcommand)]
    RadiusClient(RadiusClientCommand),
    /// Import users with a TOTP/HOTP token each from JSON lines (known seeds)
    Import(import::ImportArgs),
    /// Directory users (LDAP / Active Directory): test the configuration, sync the accounts
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Copy the SQLite database to FILE while the server runs (not the master key)
    Backup(BackupArgs),
    /// Put a backup in place of the SQLite database (stop the service first)
    Restore(RestoreArgs),
    /// Re-seal every sealed value under the new master key (resumable)
    RotateMasterKey(rotate::RotateArgs),
    /// OpenID Connect clients (web applications signing their users in)
    #[command(subcommand)]
    OidcClient(OidcClientCommand),
    /// OpenID Connect signing keys
    #[command(subcommand)]
    OidcKey(OidcKeyCommand),
}

/// A failed command: the message and the exit status.
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub status: u8,
    /// What to tell the operator.
    pub message: String,
}

impl From<AdminError> for Failure {
    fn from(error: AdminError) -> Self {
        let status = match error.kind() {
            AdminErrorKind::Malformed => 2,
            _ => 1,
        };
        Failure {
            status,
            message: error.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure {
            status: 1,
            message: crate::report::error_chain(&error),
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        status: 2,
        message: message.into(),
    }
}

fn read_password(from_stdin: bool) -> Result<Zeroizing<String>, Failure> {
    if from_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_owned());
        return Ok(trimmed);
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "no terminal to ask for the password; use --password-stdin",
        ));
    }
    let first =
        Zeroizing::new(rpassword::prompt_password("Password: ").map_err(|e| usage(e.to_string()))?);
    let again = Zeroizing::new(
        rpassword::prompt_password("Password again: ").map_err(|e| usage(e.to_string()))?,
    );
    if *first != *again {
        return Err(usage("the two passwords differ"));
    }
    Ok(first)
}

fn print(json_wanted: bool, value: Value, text: impl FnOnce() -> String) {
    if json_wanted {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}

/// The JSON of a token just issued: the API's view of it.
pub fn issued_json(issued: &IssuedToken) -> Value {
    views::to_json(&views::issued_view(issued))
}

/// An API key's public face, as the API shows it.
pub fn api_key_json(key: &ApiKey) -> Value {
    views::to_json(&views::api_key_view(key))
}

/// One audit row, as the API shows it.
pub fn audit_json(row: &AuditRow) -> Value {
    views::to_json(&views::audit_view(row))
}

/// A user, as the API shows it (with `created_at`: the CLI's `--json` and
/// the API agree on what a user is).
fn user_json(user: &User) -> Value {
    views::to_json(&views::user_view(user))
}

/// Runs one admin command with the operator's rights.
pub async fn run(
    app: &App,
    operator: &Operator,
    config: &Config,
    command: AdminCommand,
) -> Result<(), Failure> {
    let admin = operator.admin.clone();
    match command {
        AdminCommand::Questions(command) => questions::run(app, &admin, command).await?,
        AdminCommand::User(command) => users::run(app, &admin, command).await?,
        AdminCommand::Token(command) => tokens::run(app, &admin, config, command).await?,
        AdminCommand::Apikey(command) => api_keys::run(app, &admin, command).await?,
        AdminCommand::Import(args) => import::run(app, operator, config, args).await?,
        AdminCommand::Audit(command) => audit::run(app, &admin, command).await?,
        AdminCommand::RadiusClient(command) => radius::run(app, &admin, command).await?,
        AdminCommand::Directory(command) => {
            directory::run(app, &admin, operator.directory(), command).await?
        }
        AdminCommand::Backup(args) => backup::backup(app, operator, config, args).await?,
        AdminCommand::RotateMasterKey(args) => rotate::run(operator, config, args).await?,
        // Replacing the database under an open connection would corrupt
        // it: `main` runs `restore` before the database is opened.
        AdminCommand::Restore(_) => {
            return Err(usage(
                "restore runs before the database is opened, from `latchkey admin restore FILE`",
            ));
        }
        AdminCommand::OidcClient(command) => oidc::run_client(app, &admin, command).await?,
        AdminCommand::OidcKey(command) => oidc::run_key(app, &admin, command).await?,
    }
    Ok(())
}
