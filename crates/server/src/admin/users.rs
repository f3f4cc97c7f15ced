//! `admin user …`: users, their status and passwords.

use clap::Subcommand;
use latchkey_core::{Admin, Role, UserStatus};
use serde_json::Value;

use super::text::one_of;
use super::{Failure, print, read_password, user_json};
use crate::App;

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
        /// user, helpdesk, auditor or admin
        #[arg(long, default_value = "user", value_parser = one_of::<Role>(Role::NAMES))]
        role: Role,
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
    /// Give a user another role
    SetRole {
        /// User name
        name: String,
        /// user, helpdesk, auditor or admin
        #[arg(value_parser = one_of::<Role>(Role::NAMES))]
        role: Role,
    },
}

/// Runs one `UserCommand` with the operator's rights.
pub(super) async fn run(app: &App, admin: &Admin, command: UserCommand) -> Result<(), Failure> {
    match command {
        UserCommand::Add {
            name,
            email,
            role,
            password_stdin,
            no_password,
            json,
        } => {
            let password = if no_password {
                None
            } else {
                Some(read_password(password_stdin)?)
            };
            let user = app.add_user(admin, &name, email, role, password).await?;
            print(json, user_json(&user), || {
                format!("Added {} ({}).", user.username, user.role)
            });
        }
        UserCommand::List { json } => {
            let users = app.list_users(admin).await?;
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
            let (user, tokens) = app.show_user(admin, &name).await?;
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
            app.set_user_status(admin, &name, UserStatus::Disabled)
                .await?;
            println!("Disabled {name}.");
        }
        UserCommand::Enable { name } => {
            app.set_user_status(admin, &name, UserStatus::Active)
                .await?;
            println!("Enabled {name}.");
        }
        UserCommand::ResetPassword {
            name,
            password_stdin,
        } => {
            app.reset_password(admin, &name, read_password(password_stdin)?)
                .await?;
            println!("The password of {name} is changed.");
        }
        UserCommand::SetRole { name, role } => {
            app.set_user_role(admin, &name, role).await?;
            println!("{name} has the role {role}.");
        }
    }
    Ok(())
}
