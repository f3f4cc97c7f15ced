//! Who acts, and the capabilities that admit them to operations (STYLE rule
//! 7): [`Admin`], [`Helpdesk`] and [`Auditor`] cannot be made outside this
//! crate except from a verified principal ([`ApiPrincipal::admin`], a
//! help-desk, auditor or admin user's full portal sign-in) or by the
//! composition root that opened the database itself
//! ([`crate::Latchkey::with_local_operator`]).

use crate::error::AdminError;
use crate::model::{ApiRole, Role, User};

/// Who is acting and from where, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// A user name, `api:NAME` or `cli`.
    pub name: String,
    /// A client address or `cli`.
    pub source: String,
}

impl Actor {
    /// An anonymous caller from `source`.
    pub fn anonymous(source: impl Into<String>) -> Self {
        Actor {
            name: "anonymous".into(),
            source: source.into(),
        }
    }
}

/// The capability to administer: obtained only from a verified admin API key
/// or by the composition root that opened the database
/// ([`crate::Latchkey::with_local_operator`]), never by a flag check in a
/// handler.
#[derive(Debug, Clone)]
pub struct Admin(pub(crate) Actor);

/// The capability to help users (unlock codes, lock resets): admins have it
/// too. A help-desk user's reaches only users: not admins, not other help
/// desk users (S49); an admin's reaches every account.
#[derive(Debug, Clone)]
pub struct Helpdesk(pub(crate) Actor, pub(crate) Reach);

/// The right to read what the admin console shows — users, tokens, the
/// audit log — and to change nothing: an `auditor` user's, after a full
/// portal sign-in, and every admin's ([`Admin::auditor`]).
#[derive(Debug, Clone)]
pub struct Auditor(pub(crate) Actor);

impl Auditor {
    /// Who reads.
    pub fn actor(&self) -> &Actor {
        &self.0
    }
}

/// Whose accounts a [`Helpdesk`] right may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Accounts with the role `user` only.
    Users,
    /// Every account.
    Everyone,
}

impl Helpdesk {
    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.0
    }

    /// Whether this right reaches `user`'s account (S49).
    pub(crate) fn reaches(&self, user: &User) -> Result<(), AdminError> {
        match (self.1, user.role) {
            (Reach::Everyone, _) | (Reach::Users, Role::User) => Ok(()),
            _ => Err(AdminError::BeyondHelpdesk(user.username.to_string())),
        }
    }
}

impl Admin {
    /// Help-desk rights follow from admin rights.
    pub fn helpdesk(&self) -> Helpdesk {
        Helpdesk(self.0.clone(), Reach::Everyone)
    }
    /// Whoever may change everything may read everything.
    pub fn auditor(&self) -> Auditor {
        Auditor(self.0.clone())
    }
    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.0
    }
}

/// A verified API key. Its fields are private: a principal cannot be made,
/// or its role raised, outside this crate.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    name: String,
    role: ApiRole,
    source: String,
}

impl ApiPrincipal {
    /// The principal of a key that was just verified.
    pub(crate) fn verified(name: String, role: ApiRole, source: String) -> Self {
        ApiPrincipal { name, role, source }
    }
    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What it may call.
    pub fn role(&self) -> ApiRole {
        self.role
    }
    /// Admin rights, if the key has the admin role.
    pub fn admin(&self) -> Option<Admin> {
        (self.role == ApiRole::Admin).then(|| Admin(self.actor()))
    }
    /// The audit actor for this key.
    pub fn actor(&self) -> Actor {
        Actor {
            name: format!("api:{}", self.name),
            source: self.source.clone(),
        }
    }
}
