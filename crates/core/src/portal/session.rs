//! Signing in factor by factor, the session a cookie names, signing out.

use zeroize::Zeroizing;

use super::{
    FullSession, KnownDevice, PendingSession, PortalError, PortalSession, SessionId, digest,
};
use crate::capability::{Actor, Helpdesk, Reach};
use crate::context::Latchkey;
use crate::model::{
    AuditAction, AuditEvent, Outcome, Role, SessionStage, User, UserStatus, Username,
};
use crate::ports::{NewSession, Store};

impl<S: Store> Latchkey<S> {
    pub(super) async fn open_session(
        &self,
        user: &User,
        stage: SessionStage,
        created_at: i64,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> Result<SessionId, PortalError> {
        let (id, id_hash) = SessionId::generate();
        let session = NewSession {
            id_hash,
            user_id: user.id,
            stage,
            created_at,
            last_seen: self.now(),
        };
        self.store.insert_session(session, previous, event).await?;
        Ok(id)
    }

    /// The first factor. A new session id either way (S35); unknown user,
    /// wrong password, disabled and throttled accounts look the same (S39).
    #[tracing::instrument(level = "debug", skip_all, fields(username = %username, source = %source))]
    pub async fn portal_sign_in(
        &self,
        username: &str,
        password: Zeroizing<String>,
        source: &str,
    ) -> Result<SessionId, PortalError> {
        self.portal_sign_in_on_device(username, password, source, None)
            .await
    }

    /// [`Latchkey::portal_sign_in`] from a browser that sent `device`, its
    /// known-device cookie ([`KnownDevice`]) if it has one: a known device
    /// of the account passes the account-wide password wait that strangers'
    /// failures from several addresses set (S47), never its own address's.
    #[tracing::instrument(level = "debug", skip_all, fields(username = %username, source = %source))]
    pub async fn portal_sign_in_on_device(
        &self,
        username: &str,
        password: Zeroizing<String>,
        source: &str,
        device: Option<&str>,
    ) -> Result<SessionId, PortalError> {
        let actor = Actor::anonymous(source);
        let Ok(name) = crate::typed_username(username).parse::<Username>() else {
            self.hasher.verify(password, None).await;
            return Err(PortalError::SignInRefused);
        };
        let Some(user) = self
            .password_factor_on(&actor, &name, password, device)
            .await?
        else {
            return Err(PortalError::SignInRefused);
        };
        if user.status != UserStatus::Active {
            self.store
                .append(self.event(
                    &actor,
                    AuditAction::PortalPassword,
                    name.as_str(),
                    Outcome::Denied,
                    "user disabled",
                ))
                .await?;
            return Err(PortalError::SignInRefused);
        }
        let event = self.event(
            &actor,
            AuditAction::PortalPassword,
            name.as_str(),
            Outcome::Success,
            "",
        );
        self.open_session(&user, SessionStage::Password, self.now(), None, event)
            .await
    }

    /// The session a cookie names, if it is still good: not signed out, not
    /// idle or too old (S37), its user still active. Expired sessions are
    /// removed on sight.
    pub async fn portal_session(&self, id: &str) -> Result<Option<PortalSession>, PortalError> {
        if id.is_empty() || id.len() > 128 {
            return Ok(None);
        }
        let id_hash = digest(id.as_bytes());
        let Some(session) = self.store.session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        let policy = self.portal();
        let expired = now - session.last_seen > policy.idle_timeout
            || now - session.created_at > policy.absolute_timeout
            || (session.stage == SessionStage::Password
                && now - session.created_at > policy.pending_timeout);
        let user = self.store.user_by_id(session.user_id).await?;
        let user = match user {
            Some(user) if !expired && user.status == UserStatus::Active => user,
            _ => {
                self.store.delete_session(&id_hash).await?;
                return Ok(None);
            }
        };
        // Activity is written at most once a minute: reading a page should
        // not cost a commit every time.
        if now - session.last_seen >= 60 {
            self.store.touch_session(&id_hash, now).await?;
        }
        Ok(Some(PortalSession {
            id_hash,
            stage: session.stage,
            created_at: session.created_at,
            user,
        }))
    }

    /// Signs out: the session is gone server-side (S37).
    pub async fn portal_sign_out(
        &self,
        session: &PortalSession,
        source: &str,
    ) -> Result<(), PortalError> {
        self.store.delete_session(&session.id_hash).await?;
        self.store
            .append(self.event(
                &session.actor(source),
                AuditAction::PortalSignOut,
                session.user.username.as_str(),
                Outcome::Success,
                "",
            ))
            .await?;
        Ok(())
    }

    /// The second factor: an OTP from one of the user's active tokens. A
    /// full session under a new id (S35).
    #[tracing::instrument(level = "debug", skip_all, fields(source = %source))]
    pub async fn portal_second_factor(
        &self,
        session: &PendingSession,
        otp: &str,
        source: &str,
    ) -> Result<SessionId, PortalError> {
        self.portal_second_factor_on_device(session, otp, source)
            .await
            .map(|(id, _)| id)
    }

    /// [`Latchkey::portal_second_factor`], and the known-device cookie this
    /// complete sign-in earns the browser (S47).
    pub async fn portal_second_factor_on_device(
        &self,
        session: &PendingSession,
        otp: &str,
        source: &str,
    ) -> Result<(SessionId, KnownDevice), PortalError> {
        let actor = session.actor(source);
        if !self
            .check_own_otp(&session.user, None, otp, &actor)
            .await??
        {
            return Err(PortalError::SignInRefused);
        }
        self.complete_success(&session.user).await?;
        let event = self.event(
            &actor,
            AuditAction::PortalSignIn,
            session.user.username.as_str(),
            Outcome::Success,
            "password and OTP",
        );
        let id = self
            .open_session(
                &session.user,
                SessionStage::Full,
                session.created_at,
                Some(session.id_hash.clone()),
                event,
            )
            .await?;
        Ok((id, KnownDevice(self.known_device_token(&session.user))))
    }

    /// Help-desk rights, for a helpdesk or admin user who signed in fully:
    /// a help-desk user's reach only users (S49), an admin's everyone.
    pub fn portal_helpdesk(&self, session: &FullSession, source: &str) -> Option<Helpdesk> {
        let reach = match session.user.role {
            Role::Helpdesk => Reach::Users,
            Role::Admin => Reach::Everyone,
            Role::User | Role::Auditor => return None,
        };
        Some(Helpdesk(session.actor(source), reach))
    }
}
