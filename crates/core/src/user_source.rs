//! Where a user's password is checked (DESIGN.md "Directory users"): the
//! local Argon2id hash, or an organisation's directory (LDAP / Active
//! Directory) by search, then bind.
//!
//! The directory is a port: the server hands the domain an adapter that
//! speaks LDAP, the domain keeps every rule — the throttle before the
//! directory is asked, accounts created at first use and linked by the
//! entry's immutable id (never its DN or name), a same-named local account
//! left local, and only a complete success clearing a run of failures.

use crate::model::{AuditEvent, Role, User, Username};
use crate::ports::{BoxFuture, NewUser, StoreResult};
use zeroize::Zeroizing;

/// A directory entry, as the domain needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The immutable identity (`id_attribute`) the account is linked by.
    pub id: String,
    /// The entry's DN, which a rename changes; the bind uses it.
    pub dn: String,
    /// The user name as the entry spells it.
    pub username: String,
    /// The mail address.
    pub email: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// The role its groups give.
    pub role: Role,
    /// Why the entry's account state refuses a sign-in (AD: disabled,
    /// expired, locked out), for the log only; none when it does not.
    pub refusal: Option<String>,
}

/// No directory server could answer; the cause, for the log and the audit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the directory is unavailable: {0}")]
pub struct DirectoryUnavailable(pub String);

/// What a directory lookup answers.
pub type DirectoryLookup = Result<Option<DirectoryEntry>, DirectoryUnavailable>;

/// The organisation's directory.
pub trait UserDirectory: Send + Sync + 'static {
    /// The one entry `username` names; none if no entry (or more than one)
    /// matches.
    fn find(&self, username: &str) -> BoxFuture<'static, DirectoryLookup>;
    /// The entry whose immutable id is `id`, if it still exists and the
    /// user filter still accepts it.
    fn find_by_id(&self, id: &str) -> BoxFuture<'static, DirectoryLookup>;
    /// Whether `password` is the entry's: a bind as its DN on a connection
    /// of its own. Never called with a blank password.
    fn verify(
        &self,
        entry: &DirectoryEntry,
        password: Zeroizing<String>,
    ) -> BoxFuture<'static, Result<bool, DirectoryUnavailable>>;
    /// Costs what a refused bind costs, for a name with no entry, so that
    /// timing does not tell which names the directory knows.
    fn equalise(&self, password: Zeroizing<String>) -> BoxFuture<'static, ()>;
}

/// What links an account to its directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryLink {
    /// The entry's immutable id (`id_attribute`).
    pub directory_id: String,
    /// The entry's display name (`name_attribute`), as last seen.
    pub display_name: Option<String>,
}

/// Accounts linked to directory entries. Each change carries its audit
/// event and commits with it.
pub trait DirectoryStore: Send + Sync {
    /// What the account is linked to; none for a local account.
    fn directory_link_of(
        &self,
        user_id: i64,
    ) -> impl Future<Output = StoreResult<Option<DirectoryLink>>> + Send;
    /// The account linked to the entry with this id.
    fn user_by_directory_id(
        &self,
        directory_id: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Creates an account linked to a directory entry (no local password);
    /// a taken name or id is a [`crate::StoreError::Conflict`].
    fn insert_directory_user(
        &self,
        user: NewUser,
        link: DirectoryLink,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Brings a linked account in line with its entry: name (after a
    /// rename), mail address, role and display name.
    fn update_directory_user(
        &self,
        user_id: i64,
        username: Username,
        email: Option<String>,
        role: Role,
        display_name: Option<String>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Every linked account with its link, by name.
    fn directory_users(
        &self,
    ) -> impl Future<Output = StoreResult<Vec<(User, DirectoryLink)>>> + Send;
}

/// What `directory sync` did to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncChange {
    /// Disabled: its entry is gone (or out of the user filter).
    DisabledGone,
    /// Disabled: the directory says the account is disabled or expired.
    DisabledRefused,
    /// Its name, mail address or role changed to the entry's.
    Updated,
}

impl SyncChange {
    /// A stable name for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncChange::DisabledGone => "disabled-gone",
            SyncChange::DisabledRefused => "disabled-refused",
            SyncChange::Updated => "updated",
        }
    }
}

/// What one `directory sync` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectorySync {
    /// Linked accounts looked at.
    pub checked: usize,
    /// The accounts changed (by their name after the change), and how.
    pub changes: Vec<(String, SyncChange)>,
}

/// How an entry relates to the accounts, for `directory test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountLink {
    /// No account yet: one is made at first use.
    None,
    /// The account linked to the entry (by its id), under this name.
    Linked(String),
    /// A local account has the entry's name: it stays local, and the entry
    /// cannot sign in under that name.
    LocalSameName(String),
    /// An account with the entry's name is linked to another entry.
    LinkedToOther(String),
}

impl AccountLink {
    /// A stable name for JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountLink::None => "none",
            AccountLink::Linked(_) => "linked",
            AccountLink::LocalSameName(_) => "local-same-name",
            AccountLink::LinkedToOther(_) => "linked-to-another-entry",
        }
    }

    /// A sentence for the operator.
    pub fn describe(&self) -> String {
        match self {
            AccountLink::None => "none yet (made at first use)".into(),
            AccountLink::Linked(name) => format!("{name}, linked to this entry"),
            AccountLink::LocalSameName(name) => format!(
                "{name} is a LOCAL account with the same name: it stays local, and this entry cannot sign in as {name}"
            ),
            AccountLink::LinkedToOther(name) => {
                format!("{name} is linked to another directory entry")
            }
        }
    }
}
