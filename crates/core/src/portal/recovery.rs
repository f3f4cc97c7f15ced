//! "I've forgotten my password": a single-use link by mail (S31–S34).

use zeroize::Zeroizing;

use super::{PortalError, digest, password_changed_mail, random_token};
use crate::capability::Actor;
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome, UserStatus, Username};
use crate::passwords::check_password;
use crate::ports::{Mail, Store};

/// A password-reset link issued: what the mail that carries it needs. The
/// server, which owns the routes, makes the link's address from `token`.
pub struct ResetLinkIssued {
    /// Where the mail goes: the account's address.
    pub to: String,
    /// The account.
    pub username: Username,
    /// The link's secret part (only its hash is stored).
    pub token: Zeroizing<String>,
    /// Minutes the link works.
    pub valid_minutes: i64,
}

impl std::fmt::Debug for ResetLinkIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetLinkIssued")
            .field("to", &self.to)
            .field("username", &self.username)
            .field("token", &"..")
            .field("valid_minutes", &self.valid_minutes)
            .finish()
    }
}

impl ResetLinkIssued {
    /// The mail, with `link` the address that opens the link's form.
    pub fn mail(&self, link: &str) -> Mail {
        let (name, minutes) = (&self.username, self.valid_minutes);
        Mail {
            to: self.to.clone(),
            subject: "Reset your password".into(),
            body: format!(
                "Someone (we hope you) asked to reset the password of the account {name}.\n\n\
                 Open this link within {minutes} minutes to choose a new password; it works once:\n\n\
                 {link}\n\n\
                 You will still need your token to sign in. If you did not ask for this, ignore\n\
                 this mail: your password stays as it is.\n"
            ),
        }
    }
}

impl<S: Store> Latchkey<S> {
    /// "I've forgotten my password": a single-use link, if the account
    /// exists, is active, has an address and is under the rate limit
    /// (S34). The caller mails it, on the configured public URL, never a
    /// request header (S34), and answers the same whatever this returns
    /// (S31).
    #[tracing::instrument(level = "debug", skip_all, fields(username = %username, source = %source))]
    pub async fn portal_issue_reset_link(
        &self,
        username: &str,
        source: &str,
    ) -> Result<Option<ResetLinkIssued>, PortalError> {
        let actor = Actor::anonymous(source);
        let Ok(name) = crate::typed_username(username).parse::<Username>() else {
            return Ok(None);
        };
        let user = self.store.user_by_name(&name).await?;
        let refuse = |detail: &str| {
            self.event(
                &actor,
                AuditAction::PasswordResetRequest,
                name.as_str(),
                Outcome::Failure,
                detail,
            )
        };
        let Some(user) = user else {
            self.store.append(refuse("unknown user")).await?;
            return Ok(None);
        };
        // A directory user's password is the directory's, recovered where
        // the organisation says: a link here would set a Latchkey password
        // that is never asked for (DESIGN.md, "Directory users").
        if self.store.directory_link_of(user.id).await?.is_some() {
            self.store
                .append(refuse("directory user: the password is the directory's"))
                .await?;
            return Ok(None);
        }
        let Some(email) = user
            .email
            .clone()
            .filter(|_| user.status == UserStatus::Active)
        else {
            self.store
                .append(refuse("disabled or no e-mail address"))
                .await?;
            return Ok(None);
        };
        let now = self.now();
        let (link_token, link_hash) = random_token();
        let event = self.event(
            &actor,
            AuditAction::PasswordResetRequest,
            name.as_str(),
            Outcome::Success,
            "",
        );
        let stored = self
            .store
            .insert_reset_link(
                link_hash,
                user.id,
                now + self.portal().reset_link_ttl,
                now - 3600,
                self.portal().reset_links_per_hour,
                event,
            )
            .await?;
        if !stored {
            self.store
                .append(self.event(
                    &actor,
                    AuditAction::PasswordResetRequest,
                    name.as_str(),
                    Outcome::Denied,
                    "rate limit",
                ))
                .await?;
            return Ok(None);
        }
        Ok(Some(ResetLinkIssued {
            to: email,
            username: name,
            token: link_token,
            valid_minutes: self.portal().reset_link_ttl / 60,
        }))
    }

    /// Whether a reset link still works (to show its form, or say it does not).
    pub async fn portal_reset_link_works(&self, link_token: &str) -> Result<bool, PortalError> {
        if link_token.len() > 128 {
            return Ok(false);
        }
        Ok(self
            .store
            .reset_link_user(digest(link_token.as_bytes()), self.now())
            .await?
            .is_some())
    }

    /// Sets a new password through a reset link, once (S32). It signs no
    /// one in and ends every session of the user (S33).
    #[tracing::instrument(level = "debug", skip_all, fields(source = %source))]
    pub async fn portal_reset_password(
        &self,
        link_token: &str,
        new: Zeroizing<String>,
        confirm: Zeroizing<String>,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        let actor = Actor::anonymous(source);
        if link_token.len() > 128 {
            return Err(PortalError::LinkInvalid);
        }
        let hash = digest(link_token.as_bytes());
        let now = self.now();
        let user_id = self
            .store
            .reset_link_user(hash.clone(), now)
            .await?
            .ok_or(PortalError::LinkInvalid)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(PortalError::LinkInvalid)?;
        if *new != *confirm {
            return Err(PortalError::field(
                "password_confirm",
                "The two passwords differ. Type the same password twice.",
            ));
        }
        check_password(&new, &user.username).map_err(PortalError::password_rule)?;
        // Taken only now, when the new password is acceptable: a typo in
        // the form does not spend the link.
        if self.store.take_reset_link(hash, now).await? != Some(user.id) {
            return Err(PortalError::LinkInvalid);
        }
        let password_hash = self.hasher.hash(new).await;
        let event = self.event(
            &actor,
            AuditAction::PasswordReset,
            user.username.as_str(),
            Outcome::Success,
            "by e-mailed link",
        );
        self.store
            .set_password_hash(user.id, password_hash, event)
            .await?;
        self.end_sign_ins_of_user(
            &user,
            None,
            &actor,
            "the password was reset by e-mailed link",
        )
        .await?;
        // The other links sent before this one are void too (S48).
        self.store.void_reset_links(user.id).await?;
        Ok(user.email.as_ref().map(|to| password_changed_mail(to)))
    }
}
