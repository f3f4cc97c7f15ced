//! The help desk's operations on other users' accounts.

use crate::capability::{Auditor, Helpdesk};
use crate::console::{AuditSearch, ConsoleStore, TokenStatus};
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{AuditAction, AuditRow, Outcome, TokenKind, User};
use crate::ports::{Mail, Store, StoreError};
use latchkey_oath::Serial;

/// A user as the help desk sees them: what the console's user page reads,
/// so both say the same about a soft token's PIN lock (UX-REVIEW F30).
#[derive(Debug, Clone)]
pub struct UserOverview {
    /// The account (its mail address and throttle counts among its fields).
    pub user: User,
    /// Its tokens, each with its PIN lock as far as the server knows.
    pub tokens: Vec<TokenStatus>,
    /// Whether security answers are set.
    pub has_answers: bool,
    /// When the user last signed in with both factors, if ever.
    pub last_sign_in: Option<i64>,
    /// Whether this help-desk right may act on the account (S49).
    pub within_reach: bool,
    /// The latest audit rows about the user or their tokens, newest first;
    /// empty for an account beyond reach, whose events (addresses, times)
    /// are no business of the help desk.
    pub recent: Vec<AuditRow>,
}

/// How many audit rows the help desk's user card shows.
const RECENT_ROWS: usize = 10;

impl<S: Store> Latchkey<S> {
    /// Removes a user's security answers, so they choose new ones at their
    /// next full sign-in.
    pub async fn reset_answers(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<(), AdminError> {
        let user = self.user(username).await?;
        helpdesk.reaches(&user)?;
        let event = self.event(
            helpdesk.actor(),
            AuditAction::QuestionsReset,
            user.username.as_str(),
            Outcome::Success,
            "",
        );
        self.store.set_answers(user.id, Vec::new(), event).await?;
        Ok(())
    }

    /// Clears a user's password and answer throttles and every token lock.
    pub async fn clear_lockouts(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<(), AdminError> {
        let user = self.user(username).await?;
        helpdesk.reaches(&user)?;
        self.store.clear_password_failures(user.id).await?;
        self.store.clear_answer_failures(user.id).await?;
        self.store
            .append(self.event(
                helpdesk.actor(),
                AuditAction::PasswordUnthrottle,
                user.username.as_str(),
                Outcome::Success,
                "",
            ))
            .await?;
        for token in self.store.tokens_of_user(user.id).await? {
            if token.locked || token.failures > 0 {
                self.reset_token(helpdesk, &token.serial).await?;
            }
        }
        Ok(())
    }

    /// Issues a soft token for a user from the help-desk pages. Its
    /// activation code goes to the user, by mail, never to the help desk's
    /// screen (S49): whoever activates it holds a second factor of the
    /// account. The serial, and the mail to send.
    pub async fn helpdesk_issue_token(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<(Serial, Mail), AdminError> {
        let user = self.user(username).await?;
        helpdesk.reaches(&user)?;
        let Some(to) = user.email.clone() else {
            return Err(AdminError::NoMailAddress(user.username.to_string()));
        };
        let issued = self
            .issue_token_for(helpdesk.actor(), username, TokenKind::Latchkey)
            .await?;
        let code = issued
            .activation_code
            .as_ref()
            .map(|c| c.grouped())
            .unwrap_or_default();
        let days = self.policy.activation_ttl / (24 * 3600);
        let mail = Mail {
            to,
            subject: "Activate your new soft token".into(),
            body: format!(
                "The help desk ({}) added a soft token to your account {}.\n\n\
                 Serial:          {}\n\
                 Activation code: {code}\n\n\
                 Activate it with latchkey-token within {days} days; the code works once.\n\
                 If you did not ask for a token, tell your help desk at once.\n",
                helpdesk.actor().name,
                user.username,
                issued.serial.grouped(),
            ),
        };
        Ok((issued.serial, mail))
    }

    /// Whether the help desk may act on the account named `username`: it
    /// exists and lies within reach (S49). Asked before a destructive
    /// action's confirmation is shown, so a refusal comes at once.
    pub async fn helpdesk_reaches(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<(), AdminError> {
        let user = self.user(username).await?;
        helpdesk.reaches(&user)
    }
}

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// Users whose name or mail address contains `part` (any case), by
    /// name, after the name `after`, at most `limit` (1–500): the console's
    /// search (UX-REVIEW F29).
    pub async fn helpdesk_search_users(
        &self,
        helpdesk: &Helpdesk,
        part: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        self.console_search_users(&reader(helpdesk), part, after, limit)
            .await
    }

    /// The user named `name` as the help desk sees them: the console's
    /// user page, with the last full sign-in. `None` for a name that is not
    /// valid or not taken.
    pub async fn helpdesk_find_user(
        &self,
        helpdesk: &Helpdesk,
        name: &str,
    ) -> Result<Option<UserOverview>, StoreError> {
        let reader = reader(helpdesk);
        let Some(page) = self.console_user(&reader, name).await? else {
            return Ok(None);
        };
        let last_sign_in = self
            .console_audit(
                &reader,
                &AuditSearch {
                    user: page.user.username.to_string(),
                    action: AuditAction::PortalSignIn.to_string(),
                    outcome: Outcome::Success.to_string(),
                    ..AuditSearch::default()
                },
                i64::MAX,
                1,
            )
            .await?
            .first()
            .map(|row| row.event.at);
        let within_reach = helpdesk.reaches(&page.user).is_ok();
        let mut recent = if within_reach {
            page.recent
        } else {
            Vec::new()
        };
        recent.truncate(RECENT_ROWS);
        Ok(Some(UserOverview {
            user: page.user,
            tokens: page.tokens,
            has_answers: page.has_answers,
            last_sign_in,
            within_reach,
            recent,
        }))
    }
}

/// The right to read what the console reads, for the help desk's own
/// lookups only: it never leaves this module, so the help desk gets no
/// console pages from it.
fn reader(helpdesk: &Helpdesk) -> Auditor {
    Auditor(helpdesk.actor().clone())
}
