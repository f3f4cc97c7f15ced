//! `admin audit …`: reading and verifying the audit log.

use clap::Subcommand;
use latchkey_core::Admin;
use serde_json::Value;

use super::{Failure, audit_json, print, text};
use crate::App;

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

/// Runs one `AuditCommand` with the operator's rights.
pub(super) async fn run(app: &App, admin: &Admin, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::List { after, limit, json } => {
            let rows = app
                .audit_rows(admin, after, limit.clamp(1, 100_000))
                .await?;
            print(
                json,
                Value::Array(rows.iter().map(audit_json).collect()),
                || {
                    let rows: Vec<Vec<String>> = rows
                        .iter()
                        .map(|r| {
                            let e = &r.event;
                            vec![
                                r.id.to_string(),
                                text::time(e.at),
                                e.actor.to_string(),
                                e.action.to_string(),
                                e.subject.to_string(),
                                e.source.to_string(),
                                e.outcome.to_string(),
                                e.detail.to_string(),
                            ]
                        })
                        .collect();
                    text::table(
                        &[
                            "Row",
                            "Time (UTC)",
                            "Actor",
                            "Action",
                            "Subject",
                            "Source",
                            "Outcome",
                            "Detail",
                        ],
                        &rows,
                    )
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
    }
    Ok(())
}
