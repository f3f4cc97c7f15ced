//! `latchkey admin …`: administration straight on the configured database.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use latchkey_core::{
    AdminError, AdminErrorKind, ApiKey, ApiRole, AuditRow, IssuedToken, Role, StoreError,
    TokenKind, TokenState, User, UserStatus,
};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::{App, Config, Operator};

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
    /// Import users with a TOTP/HOTP token each from JSON lines (known seeds)
    Import(crate::import::ImportArgs),
}

/// `admin questions …`
#[derive(Debug, Subcommand)]
pub enum QuestionsCommand {
    /// List the questions of the pool
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Add a question to the pool
    Add {
        /// The question as users will read it
        text: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Retire a question: no one may choose it any more (answers given to it stay)
    Retire {
        /// The question's id, as `questions list` shows it
        id: i64,
    },
    /// Remove a user's answers: they choose new ones at their next sign-in
    Reset {
        /// User name
        user: String,
    },
}

/// `admin user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (the password comes from the terminal, or --password-stdin)
    Add {
        /// User name
        name: String,
        /// Mail address
        #[arg(long)]
        email: Option<String>,
        /// user, helpdesk or admin
        #[arg(long, default_value = "user")]
        role: String,
        /// Read the password from standard input
        #[arg(long)]
        password_stdin: bool,
        /// Add the user without a password
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List users
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a user and their tokens
    Show {
        /// User name
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop a user from signing in
    Disable {
        /// User name
        name: String,
    },
    /// Let a user sign in again
    Enable {
        /// User name
        name: String,
    },
    /// Set a new password
    ResetPassword {
        /// User name
        name: String,
        /// Read the password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `admin token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a user
    Issue {
        /// User name
        user: String,
        /// latchkey (soft token, activated with a code), totp or hotp (generic apps)
        #[arg(long, default_value = "latchkey")]
        kind: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List tokens
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a token
    Show {
        /// Serial
        serial: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Suspend a token
    Suspend {
        /// Serial
        serial: String,
    },
    /// Resume a suspended token
    Resume {
        /// Serial
        serial: String,
    },
    /// Revoke a token for good
    Revoke {
        /// Serial
        serial: String,
    },
    /// Clear a token's failure count and lock
    Reset {
        /// Serial
        serial: String,
    },
    /// The unlock code for the PIN Reset Code a locked soft token shows
    UnlockCode {
        /// Serial
        serial: String,
        /// The PIN Reset Code the user reads out
        reset_code: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// `admin apikey …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is shown once
    Create {
        /// Name
        name: String,
        /// authenticate (may call /api/v1/authenticate only) or admin
        #[arg(long, default_value = "authenticate")]
        role: String,
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

/// `admin audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events
    List {
        /// Only events after this row
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain; names the first altered or missing row
    Verify,
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

/// The JSON of a token just issued: serial, activation code, key URI.
pub fn issued_json(issued: &IssuedToken) -> Value {
    let mut value = json!({ "serial": issued.serial.digits() });
    if let Some(code) = &issued.activation_code {
        value["activation_code"] = json!(code.digits());
    }
    if let Some(uri) = &issued.otpauth_uri {
        value["otpauth_uri"] = json!(uri.as_str());
    }
    value
}

/// An API key's public face: never the key or its hash.
pub fn api_key_json(key: &ApiKey) -> Value {
    json!({ "name": key.name, "prefix": key.prefix, "role": key.role.as_str(), "revoked": key.revoked, "created_at": key.created_at })
}

/// One audit row.
pub fn audit_json(row: &AuditRow) -> Value {
    let e = &row.event;
    json!({
        "id": row.id, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
        "source": e.source, "outcome": e.outcome, "detail": e.detail,
        "hash": data_encoding::HEXLOWER.encode(&row.hash),
    })
}

fn user_json(user: &User) -> Value {
    json!({ "username": user.username.as_str(), "email": user.email, "role": user.role.as_str(), "status": user.status.as_str() })
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
        AdminCommand::Questions(command) => match command {
            QuestionsCommand::List { json } => {
                let pool = app.list_questions(&admin).await?;
                print(
                    json,
                    Value::Array(
                        pool.iter()
                            .map(|q| json!({ "id": q.id, "text": q.text, "active": q.active }))
                            .collect(),
                    ),
                    || {
                        pool.iter()
                            .map(|q| {
                                let retired = if q.active { "" } else { "\t(retired)" };
                                format!("{}\t{}{retired}", q.id, q.text)
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    },
                );
            }
            QuestionsCommand::Add { text, json } => {
                let id = app.add_question(&admin, &text).await?;
                print(json, json!({ "id": id }), || {
                    format!("Added question {id}.")
                });
            }
            QuestionsCommand::Retire { id } => {
                app.retire_question(&admin, id).await?;
                println!("Retired question {id}; users who answered it keep their answers.");
            }
            QuestionsCommand::Reset { user } => {
                app.reset_answers(&admin.helpdesk(), &user).await?;
                println!(
                    "Removed the security answers of {user}; they choose new ones at their next sign-in."
                );
            }
        },
        AdminCommand::User(command) => match command {
            UserCommand::Add {
                name,
                email,
                role,
                password_stdin,
                no_password,
                json,
            } => {
                let role: Role = role
                    .parse()
                    .map_err(|_| usage("--role must be user, helpdesk or admin"))?;
                let password = if no_password {
                    None
                } else {
                    Some(read_password(password_stdin)?)
                };
                let user = app.add_user(&admin, &name, email, role, password).await?;
                print(json, user_json(&user), || {
                    format!("Added {} ({}).", user.username, user.role)
                });
            }
            UserCommand::List { json } => {
                let users = app.list_users(&admin).await?;
                print(
                    json,
                    Value::Array(users.iter().map(user_json).collect()),
                    || {
                        users
                            .iter()
                            .map(|u| format!("{}\t{}\t{}", u.username, u.role, u.status))
                            .collect::<Vec<_>>()
                            .join("\n")
                    },
                );
            }
            UserCommand::Show { name, json } => {
                let (user, tokens) = app.show_user(&admin, &name).await?;
                let mut value = user_json(&user);
                value["tokens"] = Value::Array(
                    tokens
                        .iter()
                        .map(|t| crate::http::token_json(t, Some(user.username.as_str())))
                        .collect(),
                );
                print(json, value, || {
                    let mut out = format!("{} ({}, {})", user.username, user.role, user.status);
                    for t in &tokens {
                        out.push_str(&format!(
                            "\n  {} {} {}{}",
                            t.serial,
                            t.kind,
                            t.state,
                            if t.locked { " locked" } else { "" }
                        ));
                    }
                    out
                });
            }
            UserCommand::Disable { name } => {
                app.set_user_status(&admin, &name, UserStatus::Disabled)
                    .await?;
                println!("Disabled {name}.");
            }
            UserCommand::Enable { name } => {
                app.set_user_status(&admin, &name, UserStatus::Active)
                    .await?;
                println!("Enabled {name}.");
            }
            UserCommand::ResetPassword {
                name,
                password_stdin,
            } => {
                app.reset_password(&admin, &name, read_password(password_stdin)?)
                    .await?;
                println!("The password of {name} is changed.");
            }
        },
        AdminCommand::Token(command) => match command {
            TokenCommand::Issue { user, kind, json } => {
                let kind: TokenKind = kind
                    .parse()
                    .map_err(|_| usage("--kind must be latchkey, totp or hotp"))?;
                let issued = app.issue_token(&admin, &user, kind).await?;
                print(json, issued_json(&issued), || {
                    let mut out = format!("Serial: {}", issued.serial);
                    if let Some(code) = &issued.activation_code {
                        out.push_str(&format!("\nActivation code: {}", code.grouped()));
                    }
                    if let Some(uri) = &issued.otpauth_uri {
                        out.push_str(&format!("\nKey URI: {}", uri.as_str()));
                    }
                    out
                });
            }
            TokenCommand::List { json } => {
                let tokens = app.list_tokens(&admin).await?;
                let value = Value::Array(
                    tokens
                        .iter()
                        .map(|(t, u)| {
                            crate::http::token_json(t, u.as_ref().map(|u| u.username.as_str()))
                        })
                        .collect(),
                );
                print(json, value, || {
                    tokens
                        .iter()
                        .map(|(t, u)| {
                            let user = u.as_ref().map_or("?", |u| u.username.as_str());
                            format!(
                                "{}\t{}\t{}\t{}{}",
                                t.serial,
                                user,
                                t.kind,
                                t.state,
                                if t.locked { "\tlocked" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            }
            TokenCommand::Show { serial, json } => {
                let token = app.show_token(&admin, &serial).await?;
                let value = crate::http::token_json(&token, None);
                print(json, value.clone(), || {
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                });
            }
            TokenCommand::Suspend { serial } => {
                app.set_token_state(&admin, &serial, TokenState::Suspended)
                    .await?;
                println!("Suspended {serial}.");
            }
            TokenCommand::Resume { serial } => {
                app.set_token_state(&admin, &serial, TokenState::Active)
                    .await?;
                println!("Resumed {serial}.");
            }
            TokenCommand::Revoke { serial } => {
                app.set_token_state(&admin, &serial, TokenState::Revoked)
                    .await?;
                println!("Revoked {serial}.");
            }
            TokenCommand::Reset { serial } => {
                app.reset_token(&admin.helpdesk(), &serial).await?;
                println!("Token {serial}: failures cleared and lock lifted.");
            }
            TokenCommand::UnlockCode {
                serial,
                reset_code,
                json,
            } => {
                let code = app
                    .issue_unlock_code(&admin.helpdesk(), &serial, &reset_code)
                    .await?;
                print(json, json!({ "unlock_code": code.digits() }), || {
                    format!("Unlock code: {}", code.grouped())
                });
            }
        },
        AdminCommand::Apikey(command) => match command {
            ApiKeyCommand::Create { name, role, json } => {
                let role: ApiRole = role
                    .parse()
                    .map_err(|_| usage("--role must be authenticate or admin"))?;
                let key = app.create_api_key(&admin, &name, role).await?;
                print(
                    json,
                    json!({ "name": name, "role": role.as_str(), "key": key.as_str() }),
                    || {
                        format!(
                            "API key {name} ({role}); it is shown only now:\n{}",
                            key.as_str()
                        )
                    },
                );
            }
            ApiKeyCommand::List { json } => {
                let keys = app.list_api_keys(&admin).await?;
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
                app.revoke_api_key(&admin, &name).await?;
                println!("Revoked API key {name}.");
            }
        },
        AdminCommand::Import(args) => crate::import::run(operator, config, args).await?,
        AdminCommand::Audit(command) => match command {
            AuditCommand::List { after, limit, json } => {
                let rows = app
                    .audit_rows(&admin, after, limit.clamp(1, 100_000))
                    .await?;
                print(
                    json,
                    Value::Array(rows.iter().map(audit_json).collect()),
                    || {
                        rows.iter()
                            .map(|r| {
                                let e = &r.event;
                                format!(
                                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                                    r.id,
                                    e.at,
                                    e.actor,
                                    e.action,
                                    e.subject,
                                    e.source,
                                    e.outcome,
                                    e.detail
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    },
                );
            }
            AuditCommand::Verify => match app.verify_audit().await? {
                Ok(rows) => println!("The audit log is intact: {rows} rows."),
                Err(broken) => {
                    return Err(Failure {
                        status: 1,
                        message: format!("The audit log is NOT intact: {broken}."),
                    });
                }
            },
        },
    }
    Ok(())
}
