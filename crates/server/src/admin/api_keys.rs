//! `admin apikey …`: the relying applications' keys.

use clap::Subcommand;
use latchkey_core::model::ApiKeyName;
use latchkey_core::{Admin, ApiRole};
use serde_json::{Value, json};

use super::text::one_of;
use super::{Failure, api_key_json, print};
use crate::App;

/// `admin apikey …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is shown once
    Create {
        /// Name: 1–64 letters, digits, - _ or .
        name: ApiKeyName,
        /// authenticate (may call /api/v1/authenticate only) or admin
        #[arg(long, default_value = "authenticate", value_parser = one_of::<ApiRole>(ApiRole::NAMES))]
        role: ApiRole,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List keys
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key
    Revoke {
        /// Name
        name: String,
    },
}

/// Runs one `ApiKeyCommand` with the operator's rights.
pub(super) async fn run(app: &App, admin: &Admin, command: ApiKeyCommand) -> Result<(), Failure> {
    match command {
        ApiKeyCommand::Create { name, role, json } => {
            let key = app.create_api_key(admin, name.as_str(), role).await?;
            print(
                json,
                json!({ "name": name.as_str(), "role": role.as_str(), "key": key.as_str() }),
                || {
                    format!(
                        "API key {name} ({role}); it is shown only now:\n{}",
                        key.as_str()
                    )
                },
            );
        }
        ApiKeyCommand::List { json } => {
            let keys = app.list_api_keys(admin).await?;
            print(
                json,
                Value::Array(keys.iter().map(api_key_json).collect()),
                || {
                    keys.iter()
                        .map(|k| {
                            format!(
                                "{}\t{}\t{}",
                                k.name,
                                k.role,
                                if k.revoked { "revoked" } else { "active" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        ApiKeyCommand::Revoke { name } => {
            app.revoke_api_key(admin, &name).await?;
            println!("Revoked API key {name}.");
        }
    }
    Ok(())
}
