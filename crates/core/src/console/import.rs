//! The console's import: JSON lines as `latchkey admin import` reads them,
//! checked line by line, all or nothing, with a dry run.

use super::ConsoleStore;
use crate::capability::Admin;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::import::{ImportRequest, ImportedAccount, prepare_account};
use crate::model::{AuditAction, Outcome, TokenKind};
use crate::ports::{Store, StoreError};

/// One line of an import, as the console reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// Its line number in the upload, from 1.
    pub number: usize,
    /// The user name it gives.
    pub username: String,
    /// The serial the token gets: the one given, or a random one.
    pub serial: Option<String>,
    /// `totp` or `hotp`, once the key URI is read.
    pub kind: Option<TokenKind>,
    /// Why it cannot be imported, if it cannot.
    pub problem: Option<String>,
}

/// What an import did, or (in a dry run) would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Every line, in order.
    pub lines: Vec<ImportLine>,
    /// How many accounts were stored: 0 in a dry run or when any line has
    /// a problem (an import is all or nothing).
    pub imported: usize,
}

impl ImportReport {
    /// Whether every line can be imported.
    pub fn clean(&self) -> bool {
        self.lines.iter().all(|line| line.problem.is_none())
    }
}

/// Accounts the console imports in one go at most.
pub const CONSOLE_IMPORT_LIMIT: usize = 1_000;
/// How often an import is tried again with new random serials when one
/// of them was taken meanwhile.
const IMPORT_SERIAL_RETRIES: usize = 5;

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// Imports `lines` (their line numbers and what they ask), as `admin
    /// import` does, all or nothing: every line is checked and sealed, the
    /// user names and serials must be new (in the upload and in the
    /// database), and only when every line passes, and this is not a
    /// `dry_run`, are the accounts stored, in one transaction with one
    /// `user.import` audit row. A dry run changes nothing.
    pub async fn console_import(
        &self,
        admin: &Admin,
        lines: Vec<(usize, ImportRequest)>,
        dry_run: bool,
    ) -> Result<ImportReport, AdminError> {
        let mut attempt = 0;
        loop {
            let (mut report, accounts) = self.check_import(&lines).await?;
            if dry_run || !report.clean() || accounts.is_empty() {
                return Ok(report);
            }
            let (first, last) = (
                report.lines[0].number,
                report.lines[report.lines.len() - 1].number,
            );
            let event = self.event(
                admin.actor(),
                AuditAction::UserImport,
                accounts[0].user.username.as_str(),
                Outcome::Success,
                format!(
                    "{} users with a token each, lines {first}-{last}, last user {}, from the console",
                    accounts.len(),
                    accounts[accounts.len() - 1].user.username
                ),
            );
            let count = accounts.len();
            match self.store.import_accounts(accounts, event).await {
                Ok(()) => {
                    report.imported = count;
                    return Ok(report);
                }
                // A random serial (or a name) taken since the check: checked
                // again, so the report says which line it was.
                Err(StoreError::Conflict(_)) if attempt < IMPORT_SERIAL_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn check_import(
        &self,
        lines: &[(usize, ImportRequest)],
    ) -> Result<(ImportReport, Vec<ImportedAccount>), StoreError> {
        let now = self.now();
        let mut report = ImportReport {
            lines: Vec::with_capacity(lines.len()),
            imported: 0,
        };
        let mut accounts = Vec::with_capacity(lines.len());
        let mut names = std::collections::HashSet::new();
        let mut serials = std::collections::HashSet::new();
        for (number, request) in lines {
            let mut line = ImportLine {
                number: *number,
                username: request.username.clone(),
                serial: request.serial.clone(),
                kind: None,
                problem: None,
            };
            if report.lines.len() >= CONSOLE_IMPORT_LIMIT {
                line.problem = Some(format!(
                    "the console imports at most {CONSOLE_IMPORT_LIMIT} accounts at a time; use latchkey admin import for more"
                ));
                report.lines.push(line);
                continue;
            }
            match prepare_account(self.cipher.as_ref(), request.clone(), now) {
                Err(error) => line.problem = Some(error.to_string()),
                Ok(account) => {
                    line.username = account.user.username.to_string();
                    line.serial = Some(account.token.serial.to_string());
                    line.kind = Some(account.token.kind);
                    line.problem = if !names.insert(account.user.username.clone()) {
                        Some("the user name is on an earlier line too".into())
                    } else if !serials.insert(account.token.serial.clone()) {
                        Some("the serial is on an earlier line too".into())
                    } else if self
                        .store
                        .user_by_name(&account.user.username)
                        .await?
                        .is_some()
                    {
                        Some("a user with this name exists already".into())
                    } else if self
                        .store
                        .token_by_serial(&account.token.serial)
                        .await?
                        .is_some()
                    {
                        Some("a token with this serial exists already".into())
                    } else {
                        None
                    };
                    accounts.push(account);
                }
            }
            report.lines.push(line);
        }
        Ok((report, accounts))
    }
}
