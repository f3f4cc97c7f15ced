//! The help desk's operations on other users' accounts.

use crate::capability::Helpdesk;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{Token, TokenKind, User, Username};
use crate::ports::{Mail, Store, StoreError};
use latchkey_oath::Serial;

/// A user as the help desk sees them.
#[derive(Debug, Clone)]
pub struct UserOverview {
    /// The account.
    pub user: User,
    /// Its tokens.
    pub tokens: Vec<Token>,
    /// Whether security answers are set.
    pub has_answers: bool,
}

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
            "questions.reset",
            user.username.as_str(),
            "success",
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
                "password.unthrottle",
                user.username.as_str(),
                "success",
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

    /// The user named `name` as the help desk sees them: the account, its
    /// tokens and whether security answers are set. `None` for a name that
    /// is not valid or not taken.
    pub async fn helpdesk_find_user(
        &self,
        _helpdesk: &Helpdesk,
        name: &str,
    ) -> Result<Option<UserOverview>, StoreError> {
        let Ok(username) = name.parse::<Username>() else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_name(&username).await? else {
            return Ok(None);
        };
        let tokens = self.store.tokens_of_user(user.id).await?;
        let has_answers = !self.store.answers_of(user.id).await?.is_empty();
        Ok(Some(UserOverview {
            user,
            tokens,
            has_answers,
        }))
    }
}
