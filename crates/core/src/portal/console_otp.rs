//! The fresh OTP the admin console asks for before a destructive action
//! (disabling a user, revoking a token, removing answers): checked on the
//! one OTP path, so it counts toward the token's lock like any other, and
//! remembered for the session for a few minutes.

use super::{FullSession, PortalError};
use crate::capability::Actor;
use crate::console::ConsoleStore;
use crate::context::Latchkey;
use crate::ports::{Store, StoreError};

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// Whether this session confirmed a console action with a fresh OTP
    /// within the last [`crate::PortalPolicy::console_confirm_ttl`] seconds.
    pub async fn console_recently_confirmed(
        &self,
        session: &FullSession,
    ) -> Result<bool, StoreError> {
        let at = self.store.console_confirmed_at(&session.id_hash).await?;
        Ok(at.is_some_and(|at| self.now() - at < self.portal().console_confirm_ttl))
    }

    /// Checks `otp` from one of the session's user's own tokens and, if it
    /// is right, remembers the confirmation for the session. A wrong code
    /// is audited and counted like any other wrong OTP; either way a
    /// `console.confirm` row records what the code was for.
    pub async fn console_confirm_otp(
        &self,
        session: &FullSession,
        otp: &str,
        source: &str,
    ) -> Result<bool, PortalError> {
        let actor = Actor {
            name: session.user.username.to_string(),
            source: source.to_owned(),
        };
        let right = self
            .check_own_otp(&session.user, None, otp, &actor)
            .await??;
        // The OTP check recorded its verdict on the token; this row says
        // what the code was given for.
        let outcome = if right { "success" } else { "failure" };
        self.store
            .append(self.event(
                &actor,
                "console.confirm",
                session.user.username.as_str(),
                outcome,
                "fresh OTP before a destructive console action",
            ))
            .await?;
        if right {
            self.store
                .set_console_confirmed(&session.id_hash, self.now())
                .await?;
        }
        Ok(right)
    }
}
