//! `admin token …`: issuing tokens, their states, and the help desk's unlock code.

use clap::Subcommand;
use latchkey_core::{Admin, Mail, StockToken, TokenKind, TokenState};
use serde_json::{Value, json};

use super::{Failure, issued_json, print, text, usage};
use crate::{App, Config};

/// `admin token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a user
    Issue {
        /// User name
        user: String,
        /// latchkey (soft token, activated with a code), totp or hotp (generic apps)
        #[arg(long, default_value = "latchkey", value_parser = text::one_of::<TokenKind>(TokenKind::NAMES))]
        kind: TokenKind,
        /// Print JSON
        #[arg(long)]
        json: bool,
        /// Print the key URI as a QR code in the terminal too, for a phone
        /// app to scan (totp and hotp tokens)
        #[arg(long, conflicts_with = "json")]
        qr: bool,
    },
    /// List tokens
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
        /// List the unassigned hardware tokens (from a PSKC import) instead
        #[arg(long)]
        unassigned: bool,
    },
    /// Hand an unassigned hardware token to a user (active at once; the
    /// user is told by mail)
    Assign {
        /// The token's Latchkey serial, or the vendor's serial printed on it
        serial: String,
        /// User name
        user: String,
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
    /// Move an HOTP token's counter to where two consecutive codes are
    /// (RFC 4226 §7.4), after it ran ahead of the server
    Resync {
        /// Serial
        serial: String,
        /// A code from the token
        otp1: String,
        /// The code after it
        otp2: String,
    },
}

/// Runs one `TokenCommand` with the operator's rights.
pub(super) async fn run(
    app: &App,
    admin: &Admin,
    config: &Config,
    command: TokenCommand,
) -> Result<(), Failure> {
    match command {
        TokenCommand::Issue {
            user,
            kind,
            json,
            qr,
        } => {
            if qr && kind == TokenKind::Latchkey {
                return Err(usage(
                    "--qr shows a key URI for phone apps: use it with --kind totp or --kind hotp",
                ));
            }
            let issued = app.issue_token(admin, &user, kind).await?;
            print(json, issued_json(&issued), || {
                let mut out = format!("Serial: {}", issued.serial);
                if let Some(code) = &issued.activation_code {
                    out.push_str(&format!("\nActivation code: {}", code.grouped()));
                }
                if let Some(uri) = &issued.otpauth_uri {
                    out.push_str(&format!("\nKey URI: {}", uri.as_str()));
                    if qr {
                        out.push_str("\nScan it with the app:\n");
                        out.push_str(&terminal_qr(uri.as_str()));
                    }
                }
                out
            });
        }
        TokenCommand::List {
            json,
            unassigned: true,
        } => {
            let stock = app.list_stock(admin).await?;
            let value = Value::Array(stock.iter().map(stock_json).collect());
            print(json, value, || {
                let rows: Vec<Vec<String>> = stock
                    .iter()
                    .map(|t| {
                        vec![
                            text::serial(&t.serial),
                            t.vendor_serial.clone(),
                            t.kind.to_string(),
                            t.digits.to_string(),
                            text::time(t.created_at),
                        ]
                    })
                    .collect();
                text::table(
                    &["Serial", "Vendor serial", "Kind", "Digits", "Imported"],
                    &rows,
                )
            });
        }
        TokenCommand::Assign { serial, user, json } => {
            let (token, owner, mail) = app.assign_stock_token(admin, &serial, &user).await?;
            if let Some(mail) = mail {
                send_mail(config, mail).await;
            }
            let value = crate::http::token_json(&token, Some(owner.username.as_str()));
            print(json, value, || {
                format!(
                    "Token {} ({serial}) is {}'s now, active.",
                    text::serial(&token.serial),
                    owner.username
                )
            });
        }
        TokenCommand::List { json, .. } => {
            let tokens = app.list_tokens(admin).await?;
            let value = Value::Array(
                tokens
                    .iter()
                    .map(|(t, u)| {
                        crate::http::token_json(t, u.as_ref().map(|u| u.username.as_str()))
                    })
                    .collect(),
            );
            print(json, value, || {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|(t, u)| {
                        vec![
                            text::serial(&t.serial),
                            u.as_ref().map_or("-", |u| u.username.as_str()).to_owned(),
                            t.kind.to_string(),
                            t.state.to_string(),
                            if t.locked { "locked" } else { "-" }.to_owned(),
                        ]
                    })
                    .collect();
                text::table(&["Serial", "User", "Kind", "State", "Server lock"], &rows)
            });
        }
        TokenCommand::Show { serial, json } => {
            let (token, owner) = app.show_token_with_owner(admin, &serial).await?;
            let owner = owner.as_ref().map(|u| u.username.as_str());
            let value = crate::http::token_json(&token, owner);
            print(json, value, || {
                format!(
                    "Serial: {}\nUser: {}\nKind: {}\nState: {}\nFailures: {}\nServer lock: {}\nCreated: {}",
                    text::serial(&token.serial),
                    owner.unwrap_or("-"),
                    token.kind,
                    token.state,
                    token.failures,
                    if token.locked { "locked" } else { "no" },
                    text::time(token.created_at),
                )
            });
        }
        TokenCommand::Suspend { serial } => {
            app.set_token_state(admin, &serial, TokenState::Suspended)
                .await?;
            println!("Suspended {serial}.");
        }
        TokenCommand::Resume { serial } => {
            app.set_token_state(admin, &serial, TokenState::Active)
                .await?;
            println!("Resumed {serial}.");
        }
        TokenCommand::Revoke { serial } => {
            app.set_token_state(admin, &serial, TokenState::Revoked)
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
        TokenCommand::Resync { serial, otp1, otp2 } => {
            let next = app
                .resync_hotp(&admin.helpdesk(), &serial, &otp1, &otp2)
                .await?;
            println!(
                "Token {}: in step again; its next code is number {next}.",
                text::serial(&serial)
            );
        }
    }
    Ok(())
}

/// `text` as a QR code in Unicode half blocks (two rows of modules per
/// line), with its quiet zone: light modules are drawn and dark ones left
/// blank, so that on a terminal with light text on a dark background the
/// code shows the right way round (the qrcode crate's own advice).
fn terminal_qr(text: &str) -> String {
    use qrcode::render::unicode::Dense1x2;
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        // A key URI is far below a QR code's capacity.
        Err(e) => format!("(no QR code: {e})"),
    }
}

/// An unassigned token, as `token list --unassigned --json` shows it.
fn stock_json(token: &StockToken) -> Value {
    json!({
        "algorithm": token.algorithm,
        "created_at": token.created_at,
        "digits": token.digits,
        "kind": token.kind.as_str(),
        "period": token.period,
        "serial": token.serial,
        "state": "unassigned",
        "vendor_serial": token.vendor_serial,
    })
}

/// Sends one mail the way the server does (SMTP, or the outbox folder);
/// a failure is reported and does not undo what was done.
async fn send_mail(config: &Config, mail: Mail) {
    let mailer = match crate::mail::PortalMailer::new(
        &config.mail_from,
        config.smtp_url.as_deref(),
        config.outbox(),
    ) {
        Ok(mailer) => mailer,
        Err(e) => {
            eprintln!("warning: the user was not told by mail: {e}");
            return;
        }
    };
    let mailer = crate::mail::WithHelpdeskContact::wrap(
        std::sync::Arc::new(mailer),
        config.helpdesk_contact.as_deref(),
    );
    if let Err(e) = mailer.send(mail).await {
        eprintln!("warning: the user was not told by mail: {e}");
    }
}
