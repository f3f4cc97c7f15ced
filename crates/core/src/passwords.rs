//! Passwords: the rules a new one must meet, and the first factor under
//! the S16 throttle.

use zeroize::Zeroizing;

use crate::capability::Actor;
use crate::context::Latchkey;
use crate::error::PasswordRuleError;
use crate::model::{User, Username};
use crate::ports::{Store, StoreError};

/// The password rules of SECURITY.md S24/S25: 8 to 1024 characters, no
/// composition rules, and not a common or context-derived password.
pub fn check_password(password: &str, username: &Username) -> Result<(), PasswordRuleError> {
    const COMMON: &[&str] = &[
        "password",
        "password1",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou",
        "11111111",
        "abc12345",
        "qwerty123",
        "letmein1",
        "welcome1",
        "sunshine",
        "football",
        "princess",
        "passw0rd",
        "baseball",
        "trustno1",
        "superman",
        "1q2w3e4r",
        "zaq12wsx",
        "latchkey",
    ];
    let count = password.chars().count();
    if count < 8 {
        return Err(PasswordRuleError::TooShort);
    }
    if count > 1024 {
        return Err(PasswordRuleError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) || lower.contains("latchkey") {
        return Err(PasswordRuleError::TooCommon);
    }
    if lower.contains(username.as_str()) {
        return Err(PasswordRuleError::ContainsUsername);
    }
    Ok(())
}

impl<S: Store> Latchkey<S> {
    /// The first factor: the password, under the S16 throttle. Unknown users
    /// cost a hash too, so timing says nothing; every outcome is audited.
    ///
    /// A right password never clears the account's failure count, on any
    /// entry point (S44): someone who has the password must not be able to
    /// reset the count of wrong answers or wrong passwords by passing this
    /// step again. Only a complete success clears it, and the entry point
    /// that reaches one says so with [`Latchkey::complete_success`].
    pub(crate) async fn check_password_factor(
        &self,
        actor: &Actor,
        name: &Username,
        user: Option<&User>,
        password: Zeroizing<String>,
    ) -> Result<bool, StoreError> {
        let ok = self
            .hasher
            .verify(password, user.and_then(|u| u.password_hash.clone()))
            .await;
        // S16: after a run of wrong passwords the account waits; while it
        // waits no password is accepted and none is counted, so a
        // stranger's flood delays the owner by the throttle's maximum at
        // most. The hash is still checked, so timing says nothing.
        let now = self.now();
        match user {
            Some(u) if u.password_blocked_until > now => {
                let detail = format!("throttled for {} s more", u.password_blocked_until - now);
                self.store
                    .append(self.event(actor, "password.verify", name.as_str(), "denied", detail))
                    .await?;
                Ok(false)
            }
            Some(u) if !ok => {
                let event = self.event(actor, "password.verify", name.as_str(), "failure", "");
                self.store
                    .record_password_failure(u.id, now, self.policy.password_throttle, event)
                    .await?;
                Ok(false)
            }
            Some(_) => Ok(true),
            None => {
                self.store
                    .append(self.event(actor, "password.verify", name.as_str(), "failure", ""))
                    .await?;
                Ok(false)
            }
        }
    }

    /// The one rule that ends a run of failures (S44): `user` proved
    /// themselves completely — a password and an accepted OTP, or a
    /// password and the right security answers — so the account's
    /// wrong-password count and the wrong-answer count start again. Nothing
    /// less calls this: not a password alone, not an OTP alone. Every entry
    /// point (portal, API, and those to come) goes through here.
    pub(crate) async fn complete_success(&self, user: &User) -> Result<(), StoreError> {
        if user.password_failures > 0 || user.password_blocked_until > 0 {
            self.store.clear_password_failures(user.id).await?;
        }
        if user.answer_failures > 0 || user.answer_blocked_until > 0 {
            self.store.clear_answer_failures(user.id).await?;
        }
        Ok(())
    }
}
