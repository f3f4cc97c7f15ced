//! `admin oidc-client …` and `admin oidc-key rotate`: the relying parties
//! that sign their users in through Latchkey, and the ID-token signing
//! keys.

use clap::Subcommand;
use latchkey_core::Admin;
use latchkey_core::oidc::{OidcClientError, OidcKeyError, SigningAlgorithm};
use serde_json::{Value, json};

use super::{Failure, print, usage};
use crate::App;

/// `admin oidc-client …`
#[derive(Debug, Subcommand)]
pub enum OidcClientCommand {
    /// Register a client; a confidential client's secret is made and shown once
    Add {
        /// Name
        name: String,
        /// Where the client receives codes (exact match; repeat for more)
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may send the browser back (repeat for more)
        #[arg(long = "post-logout-uri", value_name = "URI")]
        post_logout_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE alone
        #[arg(long)]
        public: bool,
        /// Sign this client's ID tokens ES256 instead of RS256
        #[arg(long)]
        es256: bool,
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
    /// Remove a client, with every sign-in and token it was given
    Remove {
        /// Name
        name: String,
    },
}

/// `admin oidc-key …`
#[derive(Debug, Subcommand)]
pub enum OidcKeyCommand {
    /// New RS256 and ES256 signing keys: published now, signing in 10 minutes
    Rotate {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

impl From<OidcClientError> for Failure {
    fn from(error: OidcClientError) -> Self {
        let status = match error {
            OidcClientError::BadName
            | OidcClientError::NoRedirectUri
            | OidcClientError::BadRedirectUri(_) => 2,
            _ => 1,
        };
        Failure {
            status,
            message: crate::report::error_chain(&error),
        }
    }
}

impl From<OidcKeyError> for Failure {
    fn from(error: OidcKeyError) -> Self {
        Failure {
            status: 1,
            message: crate::report::error_chain(&error),
        }
    }
}

/// Runs one `OidcClientCommand` with the operator's rights.
pub(super) async fn run_client(
    app: &App,
    admin: &Admin,
    command: OidcClientCommand,
) -> Result<(), Failure> {
    match command {
        OidcClientCommand::Add {
            name,
            redirect_uris,
            post_logout_uris,
            public,
            es256,
            json,
        } => {
            if redirect_uris.is_empty() {
                return Err(usage("give at least one --redirect-uri"));
            }
            let algorithm = if es256 {
                SigningAlgorithm::Es256
            } else {
                SigningAlgorithm::Rs256
            };
            let added = app
                .add_oidc_client(
                    admin,
                    &name,
                    &redirect_uris,
                    &post_logout_uris,
                    public,
                    algorithm,
                )
                .await?;
            let mut value = json!({ "client_id": added.client_id });
            if let Some(secret) = &added.client_secret {
                value["client_secret"] = Value::String(secret.to_string());
            }
            print(json, value, || match &added.client_secret {
                Some(secret) => format!(
                    "OIDC client {name}: client_id {}\nits client_secret is shown only now:\n{}",
                    added.client_id,
                    secret.as_str()
                ),
                None => format!("OIDC client {name} (public): client_id {}", added.client_id),
            });
        }
        OidcClientCommand::List { json } => {
            let clients = app.list_oidc_clients(admin).await?;
            print(
                json,
                Value::Array(
                    clients
                        .iter()
                        .map(|c| {
                            json!({
                                "name": c.name,
                                "client_id": c.client_id,
                                "public": c.is_public(),
                                "redirect_uris": c.redirect_uris,
                                "post_logout_uris": c.post_logout_uris,
                                "id_token_algorithm": c.id_token_algorithm.as_str(),
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
                                "{}\t{}\t{}\t{}",
                                c.name,
                                c.client_id,
                                if c.is_public() {
                                    "public"
                                } else {
                                    "confidential"
                                },
                                c.redirect_uris.join(" ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        OidcClientCommand::Remove { name } => {
            app.remove_oidc_client(admin, &name).await?;
            println!("Removed OIDC client {name}.");
        }
    }
    Ok(())
}

/// Runs one `OidcKeyCommand` with the operator's rights.
pub(super) async fn run_key(
    app: &App,
    admin: &Admin,
    command: OidcKeyCommand,
) -> Result<(), Failure> {
    match command {
        OidcKeyCommand::Rotate { json } => {
            let rsa = tokio::task::spawn_blocking(crate::oidc::generate_rsa_pkcs8)
                .await
                .map_err(|e| Failure {
                    status: 1,
                    message: format!("the RSA key could not be made: {e}"),
                })?;
            let kids = app.rotate_oidc_keys(admin, &rsa).await?;
            print(json, json!({ "kids": kids }), || {
                format!(
                    "New signing keys {}: published now, signing from {} seconds on.",
                    kids.join(", "),
                    latchkey_core::oidc::KEY_PUBLISH_LEAD
                )
            });
        }
    }
    Ok(())
}
