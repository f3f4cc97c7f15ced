//! Users: adding, enabling and disabling, password resets, listings.

use zeroize::Zeroizing;

use crate::capability::Admin;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{Role, Token, User, UserStatus, Username};
use crate::passwords::check_password;
use crate::ports::{NewUser, Store, StoreError};

impl<S: Store> Latchkey<S> {
    /// Adds a user.
    #[tracing::instrument(level = "debug", skip_all, fields(name = %name))]
    pub async fn add_user(
        &self,
        admin: &Admin,
        name: &str,
        email: Option<String>,
        role: Role,
        password: Option<Zeroizing<String>>,
    ) -> Result<User, AdminError> {
        let username: Username = name.parse().map_err(AdminError::BadUsername)?;
        let password_hash = match password {
            Some(password) => {
                check_password(&password, &username)?;
                Some(self.hasher.hash(password).await)
            }
            None => None,
        };
        let event = self.event(
            admin.actor(),
            "user.add",
            username.as_str(),
            "success",
            format!("role={role}"),
        );
        let new = NewUser {
            username: username.clone(),
            email,
            role,
            password_hash,
        };
        match self.store.insert_user(new, event).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AdminError::Exists(format!("a user named {username}")));
            }
            Err(e) => return Err(e.into()),
        }
        self.user(username.as_str()).await
    }

    /// Enables or disables a user. A disable ends every session of the
    /// user at once (S48), so enabling again later brings none back.
    pub async fn set_user_status(
        &self,
        admin: &Admin,
        name: &str,
        status: UserStatus,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        let action = if status == UserStatus::Active {
            "user.enable"
        } else {
            "user.disable"
        };
        let event = self.event(admin.actor(), action, user.username.as_str(), "success", "");
        self.store.set_user_status(user.id, status, event).await?;
        if status == UserStatus::Disabled {
            self.store.delete_sessions_of_user(user.id, None).await?;
        }
        Ok(())
    }

    /// Sets a new password: every session of the user ends at once and
    /// every outstanding reset link is void (S48), since a reset is how a
    /// compromised account is cleaned up.
    #[tracing::instrument(level = "debug", skip_all, fields(name = %name))]
    pub async fn reset_password(
        &self,
        admin: &Admin,
        name: &str,
        password: Zeroizing<String>,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        check_password(&password, &user.username)?;
        let hash = self.hasher.hash(password).await;
        let event = self.event(
            admin.actor(),
            "user.password-reset",
            user.username.as_str(),
            "success",
            "",
        );
        self.store.set_password_hash(user.id, hash, event).await?;
        self.store.delete_sessions_of_user(user.id, None).await?;
        self.store.void_reset_links(user.id).await?;
        Ok(())
    }

    /// One user.
    pub async fn show_user(
        &self,
        _admin: &Admin,
        name: &str,
    ) -> Result<(User, Vec<Token>), AdminError> {
        let user = self.user(name).await?;
        let tokens = self.store.tokens_of_user(user.id).await?;
        Ok((user, tokens))
    }

    /// Every user, by name.
    pub async fn list_users(&self, _admin: &Admin) -> Result<Vec<User>, StoreError> {
        self.store.list_users().await
    }
}
