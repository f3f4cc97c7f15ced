//! Users: adding, enabling and disabling, password resets, listings.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::capability::{Actor, Admin};
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{AuditAction, AuditEvent, Outcome, Role, Token, User, UserStatus, Username};
use crate::passwords::check_password;
use crate::portal::PortalSession;
use crate::ports::{NewUser, Store, StoreError};
use crate::user_source::{AccountLink, DirectoryEntry, DirectorySync, SyncChange};

/// What a typed user name means (S54, L5): NFKC-normalised (fullwidth
/// letters, the Kelvin sign, `ⅷ` become their plain forms; decomposed
/// accents are composed, so `jose\u{301}` is `josé`), lower-cased, the dot
/// Turkish `İ` leaves on its `i` dropped. Every entry point reads a typed
/// name through this before it looks the account up.
pub fn typed_username(text: &str) -> String {
    let lower: String = text.trim().nfkc().collect::<String>().to_lowercase();
    let mut name = String::with_capacity(lower.len());
    for c in lower.nfc() {
        if c == '\u{307}' && name.ends_with('i') {
            continue;
        }
        name.push(c);
    }
    name
}

/// Whether `c` is in the safe set a new user name is made of (S54): ASCII
/// letters and digits, `. _ - @`, and the accented Latin letters of
/// Latin-1 and Latin Extended-A — one script, so no name can mix in a
/// Cyrillic `а` or Arabic-Indic digits to look like another. `ß`, the
/// dotless `ı` and the long `ſ` are left out: each reads as another name.
fn safe_in_username(c: char) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || matches!(c, '.' | '_' | '-' | '@')
        || (('\u{e0}'..='\u{17f}').contains(&c)
            && c != '\u{f7}'
            && c != '\u{df}'
            && c != '\u{131}'
            && c != '\u{17f}'
            && c.is_lowercase())
}

/// A new account's name (S54): read as every entry point reads one
/// ([`typed_username`]), then held to the safe set.
pub(crate) fn new_username(text: &str) -> Result<Username, AdminError> {
    let name = typed_username(text);
    let username: Username = name.parse().map_err(AdminError::BadUsername)?;
    if !username.as_str().chars().all(safe_in_username) {
        return Err(AdminError::ConfusableUsername);
    }
    Ok(username)
}

/// A mail address held to a lean rule (S56, L9): `local@domain`, at most
/// 254 characters; the local part 1–64 of ASCII letters, digits and
/// `. _ % + - ' !`, no leading, trailing or double dot; the domain at least
/// two labels of letters, digits and inner `-`, each 1–63. Refused: spaces,
/// line breaks, angle brackets, quotes, a second `@` — anything that would
/// make a header or fail at the mail server later. Trimmed.
pub fn checked_email(text: &str) -> Result<String, AdminError> {
    let text = text.trim();
    let (local, domain) = text.split_once('@').ok_or(AdminError::BadEmail)?;
    let local_ok = (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-'!".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !local_ok || !domain_ok || text.len() > 254 {
        return Err(AdminError::BadEmail);
    }
    Ok(text.to_owned())
}

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
        let username = new_username(name)?;
        let email = email.map(|e| checked_email(&e)).transpose()?;
        let password_hash = match password {
            Some(password) => {
                check_password(&password, &username)?;
                Some(self.hasher.hash(password).await)
            }
            None => None,
        };
        let event = self.event(
            admin.actor(),
            AuditAction::UserAdd,
            username.as_str(),
            Outcome::Success,
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

    /// Ends the user's sign-ins everywhere (S48): every portal session but
    /// `keep`, and every OIDC grant but those `keep` gave, so no relying
    /// party's refresh or access token outlives a password reset, a
    /// password change or a disable. Every clean-up of an account goes
    /// through here. The grants' end is audited, with their number, when
    /// there were any; `why` says what cleaned up.
    pub(crate) async fn end_sign_ins_of_user(
        &self,
        user: &User,
        keep: Option<&PortalSession>,
        actor: &Actor,
        why: &str,
    ) -> Result<(), StoreError> {
        // Sessions first: a grant can only come from a session, so one
        // given in between is revoked by the second statement.
        self.store
            .delete_sessions_of_user(user.id, keep.map(|s| s.id_hash().to_vec()))
            .await?;
        let event = self.event(
            actor,
            AuditAction::OidcGrantRevoke,
            user.username.as_str(),
            Outcome::Success,
            "",
        );
        let why = why.to_owned();
        self.store
            .revoke_oidc_grants_of_user(user.id, keep.map(|s| self.sid(s)), move |revoked| {
                AuditEvent {
                    detail: format!("{why}: {revoked} OIDC grant(s) revoked"),
                    ..event
                }
            })
            .await?;
        Ok(())
    }

    /// Enables or disables a user. A disable ends every session and every
    /// OIDC grant of the user at once (S48), so enabling again later brings
    /// none back.
    pub async fn set_user_status(
        &self,
        admin: &Admin,
        name: &str,
        status: UserStatus,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        let action = if status == UserStatus::Active {
            AuditAction::UserEnable
        } else {
            AuditAction::UserDisable
        };
        let event = self.event(
            admin.actor(),
            action,
            user.username.as_str(),
            Outcome::Success,
            "",
        );
        self.store.set_user_status(user.id, status, event).await?;
        if status == UserStatus::Disabled {
            self.end_sign_ins_of_user(&user, None, admin.actor(), "the account was disabled")
                .await?;
        }
        Ok(())
    }

    /// Sets a new password: every session of the user and every OIDC grant
    /// ends at once and every outstanding reset link is void (S48), since a
    /// reset is how a compromised account is cleaned up.
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
            AuditAction::UserPasswordReset,
            user.username.as_str(),
            Outcome::Success,
            "",
        );
        self.store.set_password_hash(user.id, hash, event).await?;
        self.end_sign_ins_of_user(
            &user,
            None,
            admin.actor(),
            "an administrator reset the password",
        )
        .await?;
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

    /// Whether the database has no active administrator yet: `serve` then
    /// says how to make the first (there are no default accounts). Needs
    /// no right: it tells nothing about any account.
    pub async fn needs_first_admin(&self) -> Result<bool, StoreError> {
        Ok(!self
            .store
            .list_users()
            .await?
            .iter()
            .any(|u| u.role == Role::Admin && u.status == UserStatus::Active))
    }

    /// The user `name` names; a directory user without an account gets
    /// one now (first use by `admin token issue`), linked to the entry.
    pub(crate) async fn user_at_first_use(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<User, AdminError> {
        let missing = match self.user(name).await {
            Err(AdminError::NoSuchUser(missing)) => missing,
            found => return found,
        };
        let Some(directory) = &self.directory else {
            return Err(AdminError::NoSuchUser(missing));
        };
        let username: Username = name.parse().map_err(AdminError::BadUsername)?;
        let Some(entry) = directory.find(username.as_str()).await? else {
            return Err(AdminError::NoSuchUser(missing));
        };
        self.directory_account(actor, &username, None, &entry)
            .await?
            .ok_or(AdminError::NoSuchUser(missing))
    }

    /// How `entry` relates to the accounts (for `directory test`).
    pub async fn directory_account_of(
        &self,
        _admin: &Admin,
        name: &str,
        entry: &DirectoryEntry,
    ) -> Result<AccountLink, AdminError> {
        if let Some(linked) = self.store.user_by_directory_id(&entry.id).await? {
            return Ok(AccountLink::Linked(linked.username.to_string()));
        }
        let entry_name = entry.username.parse::<Username>().ok();
        for candidate in [name.parse::<Username>().ok(), entry_name]
            .into_iter()
            .flatten()
        {
            if let Some(user) = self.store.user_by_name(&candidate).await? {
                return Ok(match self.store.directory_link_of(user.id).await? {
                    Some(_) => AccountLink::LinkedToOther(user.username.to_string()),
                    None => AccountLink::LocalSameName(user.username.to_string()),
                });
            }
        }
        Ok(AccountLink::None)
    }

    /// Brings every directory user's account in line with its entry:
    /// disables those whose entry is gone, disabled or expired (their
    /// sessions end), and updates name, mail and role. Needs no right: the
    /// directory is the authority it copies, and `serve` runs it on a
    /// schedule. A directory that does not answer stops it before anything
    /// changes for that account: an outage never disables anyone.
    pub async fn sync_directory(&self) -> Result<DirectorySync, AdminError> {
        let mut report = DirectorySync::default();
        let Some(directory) = self.directory.clone() else {
            return Ok(report);
        };
        let actor = Actor {
            name: "directory-sync".into(),
            source: "directory".into(),
        };
        for (user, link) in self.store.directory_users().await? {
            report.checked += 1;
            let entry = directory.find_by_id(&link.directory_id).await?;
            let (reason, change) = match &entry {
                None => (
                    "the directory entry is gone".to_owned(),
                    SyncChange::DisabledGone,
                ),
                Some(entry) => match &entry.refusal {
                    Some(refusal) => (refusal.clone(), SyncChange::DisabledRefused),
                    None => {
                        let Ok(username) = entry.username.parse::<Username>() else {
                            continue;
                        };
                        let before = (user.username.clone(), user.email.clone(), user.role);
                        if let Some(after) = self
                            .align_directory_user(&actor, user, &username, entry)
                            .await?
                            && ((after.username.clone(), after.email.clone(), after.role) != before
                                || link.display_name != entry.display_name)
                        {
                            report
                                .changes
                                .push((after.username.to_string(), SyncChange::Updated));
                        }
                        continue;
                    }
                },
            };
            if user.status != UserStatus::Active {
                continue;
            }
            let event = self.event(
                &actor,
                AuditAction::UserDisable,
                user.username.as_str(),
                Outcome::Success,
                format!("directory sync: {reason}"),
            );
            self.store
                .set_user_status(user.id, UserStatus::Disabled, event)
                .await?;
            self.end_sign_ins_of_user(&user, None, &actor, "directory sync disabled the account")
                .await?;
            report.changes.push((user.username.to_string(), change));
        }
        Ok(report)
    }
}
