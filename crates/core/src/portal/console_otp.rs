//! The admin console from a portal session: the console right an admin or
//! auditor user's full sign-in gives, and the fresh OTP the console asks
//! for before a destructive action (disabling a user, revoking a token,
//! removing answers): checked on the one OTP path, so it counts toward the
//! token's lock like any other, and remembered for the session for a few
//! minutes.

use super::{FullSession, PortalError};
use crate::capability::{Admin, Auditor};
use crate::console::{ConsoleRight, ConsoleStore};
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome, Role};
use crate::ports::{Store, StoreError};

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// Console rights for an admin or auditor user who signed in fully
    /// (password and OTP); none for anyone else.
    pub fn portal_console(&self, session: &FullSession, source: &str) -> Option<ConsoleRight> {
        let actor = session.actor(source);
        match session.user().role {
            Role::Admin => Some(ConsoleRight::Admin(Admin(actor))),
            Role::Auditor => Some(ConsoleRight::Auditor(Auditor(actor))),
            Role::User | Role::Helpdesk => None,
        }
    }

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
        let actor = session.actor(source);
        let right = self
            .check_own_otp(&session.user, None, otp, &actor)
            .await??;
        // The OTP check recorded its verdict on the token; this row says
        // what the code was given for.
        let outcome = if right {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.store
            .append(self.event(
                &actor,
                AuditAction::ConsoleConfirm,
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
