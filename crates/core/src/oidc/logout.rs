//! The end of a sign-in: RP-initiated logout, and the grants a portal
//! sign-in gave ending with it.

use serde_json::Value;

use super::{OidcKeyError, OidcStore, jose, user_actor};
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome};
use crate::portal::PortalSession;
use crate::ports::{Store, StoreError};

/// What RP-initiated logout found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTarget {
    /// Back to this registered post-logout URI, with `state`.
    Redirect(String),
    /// Nowhere registered: the provider's own page.
    Page,
}

/// Why a logout request is refused.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// `id_token_hint` is not an ID token this provider signed.
    #[error("id_token_hint is not an ID token from this provider")]
    BadHint,
    /// `post_logout_redirect_uri` is not registered for the client.
    #[error("post_logout_redirect_uri is not registered for the client")]
    UnregisteredRedirect,
    /// The hint names another sign-in than the browser's session: the user
    /// is asked rather than signed out by a token that is not theirs.
    #[error("id_token_hint names another sign-in")]
    OtherSession,
    /// Keys could not be read.
    #[error(transparent)]
    Key(#[from] OidcKeyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<S: Store + OidcStore> Latchkey<S> {
    /// The portal sign-in `session` ended (signed out): the grants it gave
    /// end with it, so that no client's refresh token outlives the sign-in
    /// it came from. Audited when there were any; how many.
    pub async fn oidc_end_sign_in(
        &self,
        session: &PortalSession,
        source: &str,
    ) -> Result<u64, StoreError> {
        let event = self.event(
            &user_actor(session, source),
            AuditAction::OidcGrantRevoke,
            session.user().username.as_str(),
            Outcome::Success,
            "the portal sign-in ended",
        );
        self.store.end_oidc_sign_in(self.sid(session), event).await
    }

    /// RP-initiated logout: checks the hint and where to go back to, then
    /// ends `session` (if any) and revokes what its sign-in gave.
    pub async fn oidc_logout(
        &self,
        session: Option<&PortalSession>,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        issuer: &str,
        source: &str,
    ) -> Result<LogoutTarget, LogoutError> {
        let mut client = None;
        if let Some(hint) = id_token_hint.filter(|h| !h.is_empty()) {
            let keys = self.store.oidc_keys().await.map_err(OidcKeyError::from)?;
            let jwks: Vec<Value> = keys
                .iter()
                .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
                .collect();
            let claims = jose::verify(hint, &jwks).ok_or(LogoutError::BadHint)?;
            if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
                return Err(LogoutError::BadHint);
            }
            if let Some(session) = session
                && claims.get("sid").and_then(Value::as_str) != Some(self.sid(session).as_str())
            {
                return Err(LogoutError::OtherSession);
            }
            let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
            client = Some(
                self.store
                    .oidc_client(aud)
                    .await?
                    .ok_or(LogoutError::BadHint)?,
            );
        }
        let target = match (post_logout_redirect_uri.filter(|u| !u.is_empty()), &client) {
            (None, _) => LogoutTarget::Page,
            (Some(uri), Some(client)) if client.post_logout_uris.iter().any(|u| u == uri) => {
                LogoutTarget::Redirect(uri.to_owned())
            }
            (Some(_), _) => return Err(LogoutError::UnregisteredRedirect),
        };
        if let Some(session) = session {
            let sid = self.sid(session);
            let event = self.event(
                &user_actor(session, source),
                AuditAction::OidcLogout,
                session.user().username.as_str(),
                Outcome::Success,
                client
                    .as_ref()
                    .map_or(String::new(), |c| format!("client {}", c.name)),
            );
            self.store.revoke_oidc_sign_in(sid, event).await?;
            self.store.delete_session(session.id_hash()).await?;
        }
        Ok(target)
    }
}
