//! `admin directory …`: checking the `[directory]` configuration, and
//! bringing the directory users' accounts in line with their entries.

use clap::Subcommand;
use latchkey_core::{Admin, DirectorySync, SyncChange};
use serde_json::{Value, json};

use super::{Failure, print};
use crate::App;
use crate::directory::{DirectoryPort, entry_of};

/// `admin directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Check the configuration (connect, search) and show what a user name resolves to
    Test {
        /// A user name to look up
        username: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Disable the accounts whose entry is gone, disabled or expired; update mail, name and role
    Sync {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn not_configured() -> Failure {
    Failure {
        status: 1,
        message: "no directory is configured (the [directory] table, or LATCHKEY_DIRECTORY_URL)"
            .into(),
    }
}

/// Runs one `admin directory` command.
pub async fn run(
    app: &App,
    admin: &Admin,
    directory: Option<&DirectoryPort>,
    command: DirectoryCommand,
) -> Result<(), Failure> {
    let port = directory.ok_or_else(not_configured)?;
    match command {
        DirectoryCommand::Test { username, json } => test(app, admin, port, username, json).await,
        DirectoryCommand::Sync { json } => {
            let report = app.sync_directory().await?;
            print_sync(&report, json);
            Ok(())
        }
    }
}

async fn test(
    app: &App,
    admin: &Admin,
    port: &DirectoryPort,
    username: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let directory = port.directory();
    let probe = username
        .clone()
        .unwrap_or_else(|| "latchkey-directory-test".to_owned());
    let probe = probe.as_str();
    let found = directory.lookup(probe).await;
    let entry = match found {
        Ok(user) => Some(entry_of(user)),
        Err(latchkey_directory::LookupError::Unavailable(down)) => {
            return Err(Failure {
                status: 1,
                message: format!("the directory did not answer: {down}"),
            });
        }
        Err(refused) => {
            if username.is_some() && !json {
                println!("the directory answered; {probe}: {refused}");
            }
            None
        }
    };
    let Some(name) = username else {
        print(json, json!({"directory": "answered"}), || {
            "the directory answered: connection, service account and search work".into()
        });
        return Ok(());
    };
    let Some(entry) = entry else {
        if json {
            println!(
                "{}",
                json!({"directory": "answered", "username": name, "entry": Value::Null})
            );
        }
        return Ok(());
    };
    let account = app.directory_account_of(admin, &name, &entry).await?;
    let value = json!({
        "directory": "answered",
        "username": name,
        "entry": {
            "dn": entry.dn,
            "id": entry.id,
            "username": entry.username,
            "email": entry.email,
            "display_name": entry.display_name,
            "role": entry.role.as_str(),
            "refusal": entry.refusal,
        },
        "account": account.as_str(),
    });
    print(json, value, || {
        let mut lines = vec![
            format!("dn:           {}", entry.dn),
            format!("id:           {}", entry.id),
            format!("user name:    {}", entry.username),
            format!("mail:         {}", entry.email.as_deref().unwrap_or("-")),
            format!(
                "display name: {}",
                entry.display_name.as_deref().unwrap_or("-")
            ),
            format!("role:         {}", entry.role),
        ];
        if let Some(refusal) = &entry.refusal {
            lines.push(format!("refused:      {refusal}"));
        }
        lines.push(format!("account:      {}", account.describe()));
        lines.join("\n")
    });
    Ok(())
}

fn print_sync(report: &DirectorySync, json_wanted: bool) {
    let changes: Vec<Value> = report
        .changes
        .iter()
        .map(|(name, change)| json!({"username": name, "change": change.as_str()}))
        .collect();
    let value = json!({"checked": report.checked, "changes": changes});
    print(json_wanted, value, || {
        let mut lines = vec![format!(
            "{} directory account(s) checked, {} changed",
            report.checked,
            report.changes.len()
        )];
        for (name, change) in &report.changes {
            lines.push(format!("{name}: {}", describe(*change)));
        }
        lines.join("\n")
    });
}

fn describe(change: SyncChange) -> &'static str {
    match change {
        SyncChange::DisabledGone => "disabled (the entry is gone)",
        SyncChange::DisabledRefused => "disabled (disabled or expired in the directory)",
        SyncChange::Updated => "updated (name, mail or role)",
    }
}
