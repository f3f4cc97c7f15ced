//! The account actions the CLI gained with the console (a user's role,
//! ending a user's sessions) and the recorded directory sync.

use super::ConsoleStore;
use crate::capability::Admin;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{AuditAction, Outcome, Role};
use crate::ports::Store;
use crate::user_source::DirectorySync;

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// `directory sync`, recorded (the console's "sync now" and `serve`'s
    /// schedule): the sync, then a `directory.sync` audit
    /// row saying who asked, how many accounts were checked and changed
    /// (or that it failed), which is what the console shows as the last
    /// sync.
    pub async fn sync_directory_recorded(
        &self,
        actor: &crate::capability::Actor,
    ) -> Result<DirectorySync, AdminError> {
        let done = self.sync_directory().await;
        let (outcome, detail) = match &done {
            Ok(report) => (
                Outcome::Success,
                format!(
                    "checked={} changed={}",
                    report.checked,
                    report.changes.len()
                ),
            ),
            Err(error) => (Outcome::Failure, error.to_string()),
        };
        self.store
            .append(self.event(
                actor,
                AuditAction::DirectorySync,
                "directory",
                outcome,
                detail,
            ))
            .await?;
        done
    }

    /// Gives the user named `name` the role `role`. Their open sessions
    /// keep running with the new role: rights are read from the user's row
    /// on every request.
    pub async fn set_user_role(
        &self,
        admin: &Admin,
        name: &str,
        role: Role,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        if user.role == role {
            return Ok(());
        }
        let event = self.event(
            admin.actor(),
            AuditAction::UserRole,
            user.username.as_str(),
            Outcome::Success,
            format!("{} -> {}", user.role, role),
        );
        self.store.set_user_role(user.id, role, event).await?;
        Ok(())
    }

    /// Ends every portal session of the user named `name`; how many.
    pub async fn end_user_sessions(&self, admin: &Admin, name: &str) -> Result<u64, AdminError> {
        let user = self.user(name).await?;
        let ended = self.store.delete_sessions_of_user(user.id, None).await?;
        self.store
            .append(self.event(
                admin.actor(),
                AuditAction::SessionEndAll,
                user.username.as_str(),
                Outcome::Success,
                format!("ended={ended}"),
            ))
            .await?;
        Ok(ended)
    }

    /// Ends the one portal session of the user named `name` whose id hash
    /// is `id_hash`; whether there was one (it may have ended meanwhile).
    pub async fn end_user_session(
        &self,
        admin: &Admin,
        name: &str,
        id_hash: &[u8],
    ) -> Result<bool, AdminError> {
        let user = self.user(name).await?;
        let sessions = self.store.sessions_of_user(user.id).await?;
        if !sessions.iter().any(|s| s.id_hash == id_hash) {
            return Ok(false);
        }
        self.store.delete_session(id_hash).await?;
        self.store
            .append(self.event(
                admin.actor(),
                AuditAction::SessionEnd,
                user.username.as_str(),
                Outcome::Success,
                "one session",
            ))
            .await?;
        Ok(true)
    }
}
