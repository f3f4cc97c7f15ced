//! What a signed-in user does with their own account: see their tokens,
//! unlock a soft token, report one lost, enrol a new one, change the password.

use latchkey_oath::{CodeError, ResetCode, UnlockCode};
use zeroize::Zeroizing;

use super::{FullSession, PortalError, RecoverySession, password_changed_mail};
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome, Token, TokenKind, TokenState};
use crate::passwords::check_password;
use crate::ports::{Mail, Store};
use crate::tokens::IssuedToken;

/// Soft tokens a user may have waiting for activation at once (L4).
const PENDING_TOKENS: usize = 2;

impl<S: Store> Latchkey<S> {
    /// The user's tokens.
    pub async fn portal_tokens(
        &self,
        session: &RecoverySession,
    ) -> Result<Vec<Token>, PortalError> {
        Ok(self.store.tokens_of_user(session.user.id).await?)
    }

    async fn own_token(
        &self,
        session: &RecoverySession,
        serial: &str,
    ) -> Result<Token, PortalError> {
        let tokens = self.store.tokens_of_user(session.user.id).await?;
        let wanted: String = serial.chars().filter(char::is_ascii_digit).collect();
        tokens
            .into_iter()
            .find(|t| t.serial == wanted)
            .ok_or_else(|| PortalError::field("serial", "Choose one of your tokens."))
    }

    /// "My soft token is locked": the unlock code for one of the user's
    /// own soft tokens (S22: the user proved themselves with a full or a
    /// recovery sign-in; issuance is rate-limited and audited; the mail
    /// tells the user).
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial, source = %source))]
    pub async fn portal_unlock(
        &self,
        session: &RecoverySession,
        serial: &str,
        reset_code: &str,
        source: &str,
    ) -> Result<(UnlockCode, Option<Mail>), PortalError> {
        let token = self.own_token(session, serial).await?;
        let reset_code = reset_code.trim();
        if let Err(typo) = reset_code.parse::<ResetCode>() {
            return Err(PortalError::field("reset_code", reset_code_typo(&typo)));
        }
        let code = self
            .issue_unlock_code_for(&session.actor(source), &token.serial, reset_code)
            .await?;
        let mail = session.user.email.as_ref().map(|to| Mail {
            to: to.clone(),
            subject: "An unlock code was issued for your soft token".into(),
            body: format!(
                "An unlock code for your soft token {} was issued on the self-service portal.\n\n\
                 If this was not you, tell your help desk at once: someone knows your password\n\
                 and your security answers.\n",
                token.serial
            ),
        });
        Ok((code, mail))
    }

    /// "My token is locked on the server": clears the failure count and the
    /// server-side lock of one of the user's own tokens, as the help desk
    /// can (S46; DESIGN: "until the user recovers it in self-service"). A
    /// recovery session suffices, since a locked token cannot give the OTP
    /// of a full one. Audited; the mail tells the user.
    pub async fn portal_reset_own_token(
        &self,
        session: &RecoverySession,
        serial: &str,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        let token = self.own_token(session, serial).await?;
        if !token.locked && token.failures == 0 {
            return Err(PortalError::field("serial", "That token is not locked."));
        }
        let event = self.event(
            &session.actor(source),
            AuditAction::TokenReset,
            &token.serial,
            Outcome::Success,
            "by its user in self-service",
        );
        self.store.reset_token(token.id, event).await?;
        Ok(session.user.email.as_ref().map(|to| Mail {
            to: to.clone(),
            subject: "Your token was unlocked".into(),
            body: format!(
                "Your token {} was unlocked on the self-service portal after too many wrong\n\
                 one-time passwords.\n\n\
                 If this was not you, tell your help desk at once: someone knows your password\n\
                 and your security answers.\n",
                token.serial
            ),
        }))
    }

    /// Reports one of the user's tokens lost: it is suspended at once.
    pub async fn portal_report_lost(
        &self,
        session: &RecoverySession,
        serial: &str,
        source: &str,
    ) -> Result<(), PortalError> {
        let token = self.own_token(session, serial).await?;
        if token.state != TokenState::Active && token.state != TokenState::New {
            return Err(PortalError::field(
                "serial",
                format!("That token is {} already.", token.state),
            ));
        }
        let event = self.event(
            &session.actor(source),
            AuditAction::TokenLost,
            &token.serial,
            Outcome::Success,
            "reported by its user",
        );
        self.store
            .set_token_state(token.id, TokenState::Suspended, event)
            .await?;
        Ok(())
    }

    /// A new soft token for the signed-in user, waiting for activation
    /// (full sessions only: the questions must not enrol a token), and the
    /// notice the user gets by mail in it (S49). At most `PENDING_TOKENS`
    /// may wait for activation at once (L4).
    pub async fn portal_issue_token(
        &self,
        session: &FullSession,
        source: &str,
    ) -> Result<IssuedToken, PortalError> {
        let pending = self
            .store
            .tokens_of_user(session.user.id)
            .await?
            .iter()
            .filter(|t| t.state == TokenState::New)
            .count();
        if pending >= PENDING_TOKENS {
            return Err(PortalError::PendingSoftTokens { pending });
        }
        Ok(self
            .issue_token_for(
                &session.actor(source),
                session.user.username.as_str(),
                TokenKind::Latchkey,
            )
            .await?)
    }

    /// Changes the password: the current one and a fresh OTP are needed
    /// (S27); every other session of the user ends.
    #[tracing::instrument(level = "debug", skip_all, fields(source = %source))]
    pub async fn portal_change_password(
        &self,
        session: &FullSession,
        current: Zeroizing<String>,
        otp: &str,
        new: Zeroizing<String>,
        confirm: Zeroizing<String>,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        let actor = session.actor(source);
        let user = self
            .store
            .user_by_id(session.user.id)
            .await?
            .ok_or(PortalError::SessionEnded)?;
        // A directory user's password is the directory's: changed there,
        // never here (nor counted here as a wrong one).
        if self.directory.is_some() && self.directory_for(Some(&user)).await?.is_some() {
            return Err(PortalError::field(
                "current_password",
                "Your password is your organisation's directory password: change it there.",
            ));
        }
        if *new != *confirm {
            return Err(PortalError::field(
                "password_confirm",
                "The two new passwords differ. Type the same password twice.",
            ));
        }
        check_password(&new, &user.username).map_err(PortalError::password_rule)?;
        if !self
            .check_password_factor(&actor, &user.username, Some(&user), current)
            .await?
        {
            return Err(PortalError::field(
                "current_password",
                "The current password is not right. Type it again.",
            ));
        }
        if !self.check_own_otp(&user, None, otp, &actor).await?? {
            return Err(PortalError::field(
                "otp",
                "The one-time password is not right. Type the code your token shows now.",
            ));
        }
        self.complete_success(&user).await?;
        let hash = self.hasher.hash(new).await;
        let event = self.event(
            &actor,
            AuditAction::PasswordChange,
            user.username.as_str(),
            Outcome::Success,
            "",
        );
        self.store.set_password_hash(user.id, hash, event).await?;
        // This session stays, and so do the grants it gave (S48).
        self.end_sign_ins_of_user(&user, Some(&**session), &actor, "the password was changed")
            .await?;
        // A link someone else asked for must not undo the change (S48).
        self.store.void_reset_links(user.id).await?;
        Ok(user.email.as_ref().map(|to| password_changed_mail(to)))
    }
}

/// What to tell someone whose typed PIN Reset Code is not one, by what is
/// wrong with it: a single wrong digit is the usual case, and telling them
/// the code "has 12 digits" when they typed 12 reads as a contradiction.
fn reset_code_typo(typo: &CodeError) -> String {
    match typo {
        CodeError::Empty { .. } => {
            "Type the PIN Reset Code your locked token shows, like 1234-5678-9012.".into()
        }
        CodeError::InvalidCharacter => {
            "A PIN Reset Code has digits only (spaces and dashes are fine), like 1234-5678-9012."
                .into()
        }
        CodeError::WrongLength { expected, found } => format!(
            "A PIN Reset Code has {expected} digits, like 1234-5678-9012; {found} were typed. Compare each group with the token."
        ),
        CodeError::CheckDigit => {
            "One digit is wrong, or two are swapped (the last digit checks the others). Compare each group with the token and type it again."
                .into()
        }
    }
}
