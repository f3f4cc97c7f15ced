//! `admin radius-client …`: the RADIUS clients (VPN concentrators,
//! firewalls, Wi-Fi controllers) and their shared secrets.

use std::io::BufRead;

use clap::Subcommand;
use latchkey_core::Admin;
use latchkey_core::radius::{RadiusClientError, RadiusMode};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{Failure, print, usage};
use crate::App;

/// `admin radius-client …`
#[derive(Debug, Subcommand)]
pub enum RadiusClientCommand {
    /// Register a client; without --secret-stdin a random secret is made and shown once
    Add {
        /// Name
        name: String,
        /// The IP address or CIDR block its requests come from
        #[arg(long, value_name = "IP_OR_CIDR")]
        address: String,
        /// one-step (password then OTP in User-Password), two-step (Access-Challenge) or otp-only
        #[arg(long, default_value = "one-step")]
        mode: String,
        /// Read the shared secret from standard input
        #[arg(long)]
        secret_stdin: bool,
        /// Accept this device's requests without Message-Authenticator (unsafe: Blast-RADIUS)
        #[arg(long)]
        legacy_no_message_authenticator: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List clients
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a client
    Remove {
        /// Name
        name: String,
    },
}

impl From<RadiusClientError> for Failure {
    fn from(error: RadiusClientError) -> Self {
        let status = match error {
            RadiusClientError::BadName
            | RadiusClientError::BadAddress(_)
            | RadiusClientError::BadSecret => 2,
            _ => 1,
        };
        Failure {
            status,
            message: crate::report::error_chain(&error),
        }
    }
}

fn read_secret() -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\n', '\r']).as_bytes().to_vec(),
    ))
}

/// Runs one `RadiusClientCommand` with the operator's rights.
pub(super) async fn run(
    app: &App,
    admin: &Admin,
    command: RadiusClientCommand,
) -> Result<(), Failure> {
    match command {
        RadiusClientCommand::Add {
            name,
            address,
            mode,
            secret_stdin,
            legacy_no_message_authenticator,
            json,
        } => {
            let mode: RadiusMode = mode
                .parse()
                .map_err(|_| usage("--mode must be one-step, two-step or otp-only"))?;
            let secret = if secret_stdin {
                Some(read_secret()?)
            } else {
                None
            };
            if legacy_no_message_authenticator {
                eprintln!(
                    "warning: {name} may send requests without Message-Authenticator; such \
                     requests can be forged (Blast-RADIUS, CVE-2024-3596)"
                );
            }
            let made = app
                .add_radius_client(
                    admin,
                    &name,
                    &address,
                    mode,
                    secret,
                    !legacy_no_message_authenticator,
                )
                .await?;
            let mut value = json!({ "name": name, "address": address, "mode": mode.as_str() });
            if let Some(secret) = &made {
                value["secret"] = Value::String(secret.to_string());
            }
            print(json, value, || match &made {
                Some(secret) => format!(
                    "RADIUS client {name} ({address}, {mode}); its secret is shown only now:\n{}",
                    secret.as_str()
                ),
                None => format!("RADIUS client {name} ({address}, {mode}) added."),
            });
        }
        RadiusClientCommand::List { json } => {
            let clients = app.list_radius_clients(admin).await?;
            print(
                json,
                Value::Array(
                    clients
                        .iter()
                        .map(|c| {
                            json!({
                                "name": c.name,
                                "address": c.address,
                                "mode": c.mode.as_str(),
                                "message_authenticator_required": c.require_message_authenticator,
                                "created_at": c.created_at,
                            })
                        })
                        .collect(),
                ),
                || {
                    clients
                        .iter()
                        .map(|c| {
                            format!(
                                "{}\t{}\t{}{}",
                                c.name,
                                c.address,
                                c.mode,
                                if c.require_message_authenticator {
                                    ""
                                } else {
                                    "\tno Message-Authenticator (legacy)"
                                }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        RadiusClientCommand::Remove { name } => {
            app.remove_radius_client(admin, &name).await?;
            println!("Removed RADIUS client {name}.");
        }
    }
    Ok(())
}
