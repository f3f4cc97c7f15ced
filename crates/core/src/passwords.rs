//! Passwords: the rules a new one must meet, and the first factor under
//! the S16 throttle.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::capability::Actor;
use crate::context::Latchkey;
use crate::error::PasswordRuleError;
use crate::model::{AuditAction, Outcome, User, Username};
use crate::ports::{NewUser, Store, StoreError};
use crate::user_source::{DirectoryEntry, DirectoryLink, UserDirectory};

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

/// The purpose the known-device cookie's MAC key is derived for (S47).
const KNOWN_DEVICE: &str = "portal-known-device";

/// Seconds a known-device cookie stands for: about half a year.
pub const KNOWN_DEVICE_LIFETIME: i64 = 180 * 24 * 3600;

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
        self.check_password_factor_on(actor, name, user, password, false)
            .await
    }

    /// [`Latchkey::check_password_factor`] from a browser that is or is not
    /// a known device of `user` (S47, [`Latchkey::known_device`]).
    pub(crate) async fn check_password_factor_on(
        &self,
        actor: &Actor,
        name: &Username,
        user: Option<&User>,
        password: Zeroizing<String>,
        known_device: bool,
    ) -> Result<bool, StoreError> {
        let ok = self
            .hasher
            .verify(password, user.and_then(|u| u.password_hash.clone()))
            .await;
        // S16, S47: after a run of wrong passwords from one address, that
        // address waits for that account; after failures from several, the
        // whole account waits (but not for a known device). While it waits
        // no password is accepted and none is counted, so a stranger's
        // flood delays only the stranger. The hash is still checked, so
        // timing says nothing.
        let now = self.now();
        let waits = match user {
            Some(u) => self.password_waits(actor, u, now, known_device).await?,
            None => false,
        };
        match user {
            Some(_) if waits => Ok(false),
            Some(u) if !ok => {
                self.password_refused(actor, name, Some(u), "").await?;
                Ok(false)
            }
            Some(_) => Ok(true),
            None => {
                self.store
                    .append(self.event(
                        actor,
                        AuditAction::PasswordVerify,
                        name.as_str(),
                        Outcome::Failure,
                        "",
                    ))
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

    /// The first factor for the name typed, from whichever source holds
    /// the user: the local hash, or the directory (search, then bind) for
    /// a directory user — one whose account is linked to an entry, or who
    /// has no account yet while a directory is configured. The user whose
    /// password was right (a directory user's account made at first use),
    /// or none. Every entry point that takes a password comes here.
    pub(crate) async fn password_factor(
        &self,
        actor: &Actor,
        name: &Username,
        password: Zeroizing<String>,
    ) -> Result<Option<User>, StoreError> {
        self.password_factor_on(actor, name, password, None).await
    }

    /// [`Latchkey::password_factor`] from a browser that shows `device`, the
    /// value of its known-device cookie if it has one (S47): a known device
    /// of the account passes the account-wide wait (never its address's).
    pub(crate) async fn password_factor_on(
        &self,
        actor: &Actor,
        name: &Username,
        password: Zeroizing<String>,
        device: Option<&str>,
    ) -> Result<Option<User>, StoreError> {
        let user = self.store.user_by_name(name).await?;
        let known_device = user.as_ref().is_some_and(|u| self.known_device(device, u));
        if let Some(directory) = self.directory_for(user.as_ref()).await? {
            return Ok(self
                .directory_password_on(&directory, actor, name, user, vec![password], known_device)
                .await?
                .map(|(user, _)| user));
        }
        let ok = self
            .check_password_factor_on(actor, name, user.as_ref(), password, known_device)
            .await?;
        Ok(if ok { user } else { None })
    }

    /// A known-device cookie's value for `user`, made after a complete
    /// sign-in (S47): the user's id and the time, under a MAC keyed from
    /// the master key, so every node verifies it and nobody forges it.
    pub(crate) fn known_device_token(&self, user: &User) -> String {
        let claim = format!("{}.{}", user.id, self.now());
        let mac = self.cipher.keyed_hash(KNOWN_DEVICE, claim.as_bytes());
        format!("{claim}.{}", data_encoding::BASE64URL_NOPAD.encode(&mac))
    }

    /// Whether `device` is a known-device cookie [`Latchkey::known_device_token`]
    /// made for `user` within [`KNOWN_DEVICE_LIFETIME`]. Compared in
    /// constant time.
    pub(crate) fn known_device(&self, device: Option<&str>, user: &User) -> bool {
        let Some(device) = device.filter(|d| d.len() <= 128) else {
            return false;
        };
        let Some((claim, mac)) = device.rsplit_once('.') else {
            return false;
        };
        let Some((id, issued)) = claim.split_once('.') else {
            return false;
        };
        let (Ok(id), Ok(issued)) = (id.parse::<i64>(), issued.parse::<i64>()) else {
            return false;
        };
        let Ok(mac) = data_encoding::BASE64URL_NOPAD.decode(mac.as_bytes()) else {
            return false;
        };
        let expected = self.cipher.keyed_hash(KNOWN_DEVICE, claim.as_bytes());
        let genuine: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_slice(), mac.as_slice()).into();
        let now = self.now();
        genuine && id == user.id && issued <= now && now - issued <= KNOWN_DEVICE_LIFETIME
    }

    /// The directory that checks `user`'s password: none for a local
    /// account (a same-named local account stays local) or when no
    /// directory is configured.
    pub(crate) async fn directory_for(
        &self,
        user: Option<&User>,
    ) -> Result<Option<Arc<dyn UserDirectory>>, StoreError> {
        let Some(directory) = &self.directory else {
            return Ok(None);
        };
        let linked = match user {
            None => true,
            Some(user) => self.store.directory_link_of(user.id).await?.is_some(),
        };
        Ok(linked.then(|| directory.clone()))
    }

    /// A directory user's first factor, each of `candidates` being one
    /// reading of what was typed (RADIUS one-step splits password and OTP
    /// more than one way): the account and which candidate was right.
    ///
    /// The S16 throttle comes first, so a waiting account asks nothing of
    /// the directory and a flood cannot lock the organisation's accounts;
    /// a blank password binds nothing (an empty simple bind "succeeds"
    /// anonymously). One wrong request counts one failure, however many
    /// candidates it had. The directory down refuses, audited with the
    /// cause.
    pub(crate) async fn directory_password(
        &self,
        directory: &Arc<dyn UserDirectory>,
        actor: &Actor,
        name: &Username,
        user: Option<User>,
        candidates: Vec<Zeroizing<String>>,
    ) -> Result<Option<(User, usize)>, StoreError> {
        self.directory_password_on(directory, actor, name, user, candidates, false)
            .await
    }

    /// [`Latchkey::directory_password`] from a browser that is or is not a
    /// known device of the account (S47).
    pub(crate) async fn directory_password_on(
        &self,
        directory: &Arc<dyn UserDirectory>,
        actor: &Actor,
        name: &Username,
        user: Option<User>,
        candidates: Vec<Zeroizing<String>>,
        known_device: bool,
    ) -> Result<Option<(User, usize)>, StoreError> {
        let now = self.now();
        if let Some(user) = &user
            && self.password_waits(actor, user, now, known_device).await?
        {
            return Ok(None);
        }
        if candidates.iter().all(|c| c.trim().is_empty()) {
            self.password_refused(actor, name, user.as_ref(), "empty password")
                .await?;
            return Ok(None);
        }
        let entry = match directory.find(name.as_str()).await {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                // As long as a wrong password for a known name takes.
                if let Some(first) = candidates.into_iter().next() {
                    directory.equalise(first).await;
                }
                self.password_refused(actor, name, user.as_ref(), "no directory entry")
                    .await?;
                return Ok(None);
            }
            Err(down) => {
                self.directory_down(actor, name, &down.0).await?;
                return Ok(None);
            }
        };
        let throttle_checked = user.as_ref().map(|u| u.id);
        let Some(account) = self.directory_account(actor, name, user, &entry).await? else {
            return Ok(None);
        };
        // A renamed entry's account was found by its id, not by the name
        // typed: its throttle is checked now, still before any bind.
        if throttle_checked != Some(account.id)
            && self.password_waits(actor, &account, now, false).await?
        {
            return Ok(None);
        }
        if let Some(reason) = &entry.refusal {
            tracing::info!(user = %account.username, %reason, "directory account state refuses the sign-in");
            self.store
                .append(self.event(
                    actor,
                    AuditAction::PasswordVerify,
                    account.username.as_str(),
                    Outcome::Denied,
                    format!("directory account state: {reason}"),
                ))
                .await?;
            return Ok(None);
        }
        for (index, candidate) in candidates.into_iter().enumerate() {
            if candidate.trim().is_empty() {
                continue;
            }
            match directory.verify(&entry, candidate).await {
                Ok(true) => return Ok(Some((account, index))),
                Ok(false) => {}
                Err(down) => {
                    self.directory_down(actor, &account.username, &down.0)
                        .await?;
                    return Ok(None);
                }
            }
        }
        self.password_refused(actor, &account.username, Some(&account), "")
            .await?;
        Ok(None)
    }

    /// Whether `user`'s passwords from `actor`'s address wait (S16, S47):
    /// that address's own wait, or the account's, which a known device
    /// passes. Audited when they do.
    async fn password_waits(
        &self,
        actor: &Actor,
        user: &User,
        now: i64,
        known_device: bool,
    ) -> Result<bool, StoreError> {
        let from_here = self
            .store
            .source_password_blocked_until(user.id, &actor.source)
            .await?;
        let (until, whose) = if from_here > now {
            (from_here, "this address")
        } else if user.password_blocked_until > now && !known_device {
            (user.password_blocked_until, "the account")
        } else {
            return Ok(false);
        };
        let detail = format!("throttled for {} s more ({whose})", until - now);
        self.store
            .append(self.event(
                actor,
                AuditAction::PasswordVerify,
                user.username.as_str(),
                Outcome::Denied,
                detail,
            ))
            .await?;
        Ok(true)
    }

    /// A wrong password: counted on the account and its address if there
    /// is one (S47).
    async fn password_refused(
        &self,
        actor: &Actor,
        name: &Username,
        user: Option<&User>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let event = self.event(
            actor,
            AuditAction::PasswordVerify,
            name.as_str(),
            Outcome::Failure,
            detail,
        );
        match user {
            Some(user) => {
                self.store
                    .record_source_password_failure(
                        user.id,
                        &actor.source,
                        self.now(),
                        self.policy.password_throttle,
                        self.policy.account_password_throttle,
                        event,
                    )
                    .await?;
            }
            None => self.store.append(event).await?,
        }
        Ok(())
    }

    async fn directory_down(
        &self,
        actor: &Actor,
        name: &Username,
        cause: &str,
    ) -> Result<(), StoreError> {
        tracing::warn!(%cause, "a directory user was refused: the directory is unavailable");
        self.store
            .append(self.event(
                actor,
                AuditAction::PasswordVerify,
                name.as_str(),
                Outcome::Denied,
                format!("directory unavailable: {cause}"),
            ))
            .await
    }

    /// The account linked to `entry`, made at first use. Linked by the
    /// entry's id, never its DN or name: a renamed entry keeps its account
    /// (and tokens), which takes the new name. None (audited) when the
    /// entry's name is no Latchkey name, or is taken by an account that is
    /// not this entry's.
    pub(crate) async fn directory_account(
        &self,
        actor: &Actor,
        typed: &Username,
        by_name: Option<User>,
        entry: &DirectoryEntry,
    ) -> Result<Option<User>, StoreError> {
        let refuse = |detail: String| {
            self.event(
                actor,
                AuditAction::DirectoryLink,
                typed.as_str(),
                Outcome::Denied,
                detail,
            )
        };
        let Ok(username) = entry.username.parse::<Username>() else {
            let event = refuse(format!(
                "the entry's name {:?} is not a user name",
                entry.username
            ));
            self.store.append(event).await?;
            return Ok(None);
        };
        if let Some(linked) = self.store.user_by_directory_id(&entry.id).await? {
            if let Some(other) = &by_name
                && other.id != linked.id
            {
                let event = refuse("the name belongs to another directory entry's account".into());
                self.store.append(event).await?;
                return Ok(None);
            }
            return self
                .align_directory_user(actor, linked, &username, entry)
                .await;
        }
        if by_name.is_some() {
            // Linked to another id: that entry is gone and someone else has
            // the name now. Never merged silently.
            let event = refuse("the account is linked to another directory entry".into());
            self.store.append(event).await?;
            return Ok(None);
        }
        let new = NewUser {
            username: username.clone(),
            email: entry.email.clone(),
            role: entry.role,
            password_hash: None,
        };
        let event = self.event(
            actor,
            AuditAction::UserAdd,
            username.as_str(),
            Outcome::Success,
            format!("from the directory, role={}", entry.role),
        );
        match self
            .store
            .insert_directory_user(
                new,
                DirectoryLink {
                    directory_id: entry.id.clone(),
                    display_name: entry.display_name.clone(),
                },
                event,
            )
            .await
        {
            Ok(_) => {}
            // Another node made it a moment ago, or a local account has the
            // entry's spelling of the name.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        match self.store.user_by_directory_id(&entry.id).await? {
            Some(user) => Ok(Some(user)),
            None => {
                let event = refuse("a local account has the entry's name".into());
                self.store.append(event).await?;
                Ok(None)
            }
        }
    }

    /// Brings a linked account's name, mail and role in line with its
    /// entry (audited when anything changed).
    pub(crate) async fn align_directory_user(
        &self,
        actor: &Actor,
        user: User,
        username: &Username,
        entry: &DirectoryEntry,
    ) -> Result<Option<User>, StoreError> {
        let display_name = self
            .store
            .directory_link_of(user.id)
            .await?
            .and_then(|link| link.display_name);
        if user.username == *username
            && user.email == entry.email
            && user.role == entry.role
            && display_name == entry.display_name
        {
            return Ok(Some(user));
        }
        let mut changes = Vec::new();
        if user.username != *username {
            changes.push(format!("name {} -> {username}", user.username));
        }
        if user.email != entry.email {
            changes.push("mail".to_owned());
        }
        if user.role != entry.role {
            changes.push(format!("role {} -> {}", user.role, entry.role));
        }
        if display_name != entry.display_name {
            changes.push("display name".to_owned());
        }
        let event = self.event(
            actor,
            AuditAction::DirectoryUpdate,
            username.as_str(),
            Outcome::Success,
            changes.join(", "),
        );
        match self
            .store
            .update_directory_user(
                user.id,
                username.clone(),
                entry.email.clone(),
                entry.role,
                entry.display_name.clone(),
                event,
            )
            .await
        {
            Ok(_) => self.store.user_by_id(user.id).await,
            Err(StoreError::Conflict(_)) => {
                let event = self.event(
                    actor,
                    AuditAction::DirectoryUpdate,
                    user.username.as_str(),
                    Outcome::Denied,
                    format!("the entry's new name {username} is taken by a local account"),
                );
                self.store.append(event).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
