//! The [`Latchkey`] value and what every operation module shares: the
//! clock, audit events, and finding a user or a token by what a caller typed.

use std::sync::Arc;

use latchkey_oath::Serial;

use crate::capability::{Actor, Admin};
use crate::error::AdminError;
use crate::model::{AuditAction, AuditEvent, Outcome, Token, User, Username};
use crate::policy::Policy;
use crate::ports::{Clock, PasswordHasher, SecretCipher, Store};
use crate::user_source::UserDirectory;

/// What a token's sealed seed is bound to.
pub(crate) fn seed_aad(serial: &str) -> String {
    format!("token:{serial}:seed")
}

/// What a token's sealed unlock secret is bound to.
pub(crate) fn unlock_aad(serial: &str) -> String {
    format!("token:{serial}:unlock-secret")
}

/// The Latchkey domain over a store.
#[derive(Clone)]
pub struct Latchkey<S: Store> {
    /// Reached only by this crate's operations: callers get what they may
    /// read through operations that take the capability they need.
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cipher: Arc<dyn SecretCipher>,
    pub(crate) hasher: Arc<dyn PasswordHasher>,
    pub(crate) policy: Arc<Policy>,
    /// The organisation's directory, when users come from one too.
    pub(crate) directory: Option<Arc<dyn UserDirectory>>,
}

impl<S: Store> Latchkey<S> {
    /// Puts the domain together.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        cipher: Arc<dyn SecretCipher>,
        hasher: Arc<dyn PasswordHasher>,
        policy: Policy,
    ) -> Self {
        Latchkey {
            store,
            clock,
            cipher,
            hasher,
            policy: Arc::new(policy),
            directory: None,
        }
    }

    /// The same domain with directory users: their passwords are checked by
    /// `directory`, their accounts made at first use.
    pub fn with_directory(mut self, directory: Arc<dyn UserDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Puts the domain together for the operator at the server's own
    /// command line, who opened the database directly (the admin CLI, the
    /// import): the domain and the operator's [`Admin`] right. The proof
    /// is the store itself: whoever passes it here could change any row
    /// anyway, so the right adds nothing they lacked. HTTP handlers hold a
    /// `Latchkey`, never its store, so they cannot get one this way; `serve`
    /// uses [`Latchkey::new`], which yields none.
    pub fn with_local_operator(
        store: S,
        clock: Arc<dyn Clock>,
        cipher: Arc<dyn SecretCipher>,
        hasher: Arc<dyn PasswordHasher>,
        policy: Policy,
    ) -> (Self, Admin) {
        let operator = Admin(Actor {
            name: "cli".into(),
            source: "cli".into(),
        });
        (
            Latchkey::new(store, clock, cipher, hasher, policy),
            operator,
        )
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now() as i64
    }

    pub(crate) fn event(
        &self,
        actor: &Actor,
        action: AuditAction,
        subject: &str,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor: actor.name.clone(),
            action,
            subject: subject.into(),
            source: actor.source.clone(),
            outcome,
            detail: detail.into(),
        }
    }

    pub(crate) async fn user(&self, name: &str) -> Result<User, AdminError> {
        let username: Username = name.parse().map_err(AdminError::BadUsername)?;
        self.store
            .user_by_name(&username)
            .await?
            .ok_or_else(|| AdminError::NoSuchUser(username.to_string()))
    }

    pub(crate) async fn token(&self, serial: &str) -> Result<Token, AdminError> {
        let serial: Serial = serial.parse().map_err(AdminError::BadSerial)?;
        self.store
            .token_by_serial(serial.digits())
            .await?
            .ok_or_else(|| AdminError::NoSuchToken(serial.to_string()))
    }
}
