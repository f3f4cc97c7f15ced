//! The authorization request: checked, answered by what the visitor's
//! session allows, held while its user signs in, and turned into a code
//! bound to the client, redirect URI, PKCE challenge, nonce and sign-in.

use zeroize::Zeroizing;

use super::{
    CODE_LIFETIME, HeldAuthorization, NewOidcCode, NewOidcGrant, OidcClient, OidcStore,
    REQUEST_LIFETIME, hash, random_secret, user_actor, valid_challenge,
};
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome, SessionStage};
use crate::portal::{FullSession, PortalSession};
use crate::ports::{Store, StoreError};

/// The authorization request as the browser brought it.
#[derive(Debug, Default, Clone)]
pub struct AuthorizationParams {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
}

/// An authorization request that names a registered client and one of its
/// redirect URIs, and asks for what is allowed.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: OidcClient,
    /// One of its redirect URIs, exactly.
    pub redirect_uri: String,
    /// The scopes, `openid` among them.
    pub scope: String,
    /// The client's `state`.
    pub state: String,
    /// The client's `nonce`.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// `prompt=none`: no page may be shown.
    pub prompt_none: bool,
    /// `prompt=login`: a fresh sign-in is needed.
    pub prompt_login: bool,
    /// `max_age`: a sign-in older than this many seconds does not do.
    pub max_age: Option<i64>,
}

/// Why an authorization request is answered with an error.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// No client has this `client_id` (shown on a page, never redirected).
    #[error("the client is not registered")]
    UnknownClient,
    /// The `redirect_uri` is not exactly one of the client's (shown on a
    /// page, never redirected).
    #[error("the redirect URI is not registered for the client")]
    UnregisteredRedirect,
    /// The request is wrong in a way the client hears about at its
    /// redirect URI.
    #[error("{refusal}")]
    Refused {
        /// Where the answer goes.
        redirect_uri: String,
        /// The client's `state`, echoed.
        state: Option<String>,
        /// What was wrong.
        refusal: AuthorizeRefusal,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was wrong with a request from a known client to a registered
/// redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeRefusal {
    /// `response_type` is not `code`.
    #[error("only response_type=code is supported")]
    ResponseTypeNotCode,
    /// `scope` lacks `openid`.
    #[error("the scope must include openid")]
    NoOpenidScope,
    /// No PKCE challenge.
    #[error("PKCE is required: send code_challenge with code_challenge_method=S256")]
    PkceMissing,
    /// A PKCE method other than S256 (`plain` among them).
    #[error("only code_challenge_method=S256 is supported")]
    PkceNotS256,
    /// A challenge that is not a base64url SHA-256.
    #[error("code_challenge is not a base64url SHA-256 value")]
    BadChallenge,
    /// No `state`.
    #[error("state is required")]
    StateMissing,
    /// `prompt` asks for what cannot be done together, or is unknown.
    #[error("prompt must be none or login")]
    BadPrompt,
    /// `max_age` is not a number of seconds.
    #[error("max_age must be a number of seconds")]
    BadMaxAge,
    /// `prompt=none` and a sign-in is needed.
    #[error("the user must sign in")]
    LoginRequired,
}

/// What the authorization endpoint does with a request, given the session.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// Issue a code now.
    Issue(FullSession),
    /// Hold the request and send the browser to sign in. With
    /// `end_session`, the current session is ended first (a fresh sign-in
    /// is asked for); `signed_in_after` is how recent the sign-in must be.
    SignIn {
        /// Unix seconds.
        signed_in_after: i64,
        /// End the current session first.
        end_session: bool,
    },
    /// Hold the request and send the browser to finish the password step's
    /// second factor.
    SecondFactor,
    /// A recovery session: hold the request and send the browser through
    /// the unlock journey; no code until a real sign-in.
    Recovery,
}

/// A code issued, and where it goes.
pub struct IssuedCode {
    /// The client's redirect URI.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: String,
    /// The code.
    pub code: Zeroizing<String>,
}

impl<S: Store + OidcStore> Latchkey<S> {
    /// Checks an authorization request. A wrong client or redirect URI is
    /// never answered at the redirect URI.
    pub async fn oidc_authorization(
        &self,
        params: &AuthorizationParams,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let client_id = params.client_id.as_deref().unwrap_or("");
        let client = match client_id {
            "" => None,
            id => self.store.oidc_client(id).await?,
        }
        .ok_or(AuthorizeError::UnknownClient)?;
        let redirect_uri = params
            .redirect_uri
            .as_deref()
            .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
            .ok_or(AuthorizeError::UnregisteredRedirect)?
            .to_owned();
        let refuse = |refusal| AuthorizeError::Refused {
            redirect_uri: redirect_uri.clone(),
            state: params.state.clone(),
            refusal,
        };
        if params.response_type.as_deref() != Some("code") {
            return Err(refuse(AuthorizeRefusal::ResponseTypeNotCode));
        }
        let scope = params.scope.clone().unwrap_or_default();
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(refuse(AuthorizeRefusal::NoOpenidScope));
        }
        let Some(code_challenge) = params.code_challenge.clone().filter(|c| !c.is_empty()) else {
            return Err(refuse(AuthorizeRefusal::PkceMissing));
        };
        if params.code_challenge_method.as_deref() != Some("S256") {
            return Err(refuse(AuthorizeRefusal::PkceNotS256));
        }
        if !valid_challenge(&code_challenge) {
            return Err(refuse(AuthorizeRefusal::BadChallenge));
        }
        let Some(state) = params.state.clone().filter(|s| !s.is_empty()) else {
            return Err(refuse(AuthorizeRefusal::StateMissing));
        };
        let prompts: Vec<&str> = params
            .prompt
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty())
            .collect();
        let prompt_none = prompts.contains(&"none");
        let prompt_login = prompts.contains(&"login");
        if (prompt_none && prompts.len() > 1)
            || prompts
                .iter()
                .any(|p| !matches!(*p, "none" | "login" | "consent"))
        {
            return Err(refuse(AuthorizeRefusal::BadPrompt));
        }
        let max_age = match params.max_age.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| refuse(AuthorizeRefusal::BadMaxAge))?,
            ),
        };
        Ok(AuthorizationRequest {
            client,
            redirect_uri,
            scope,
            state,
            nonce: params.nonce.clone().filter(|n| !n.is_empty()),
            code_challenge,
            prompt_none,
            prompt_login,
            max_age,
        })
    }

    /// What to do with a checked request for a visitor with `session`.
    pub fn oidc_authorize_step(
        &self,
        request: &AuthorizationRequest,
        session: Option<&PortalSession>,
    ) -> Result<AuthorizeStep, AuthorizeRefusal> {
        let now = self.now();
        let login_required = || {
            if request.prompt_none {
                Err(AuthorizeRefusal::LoginRequired)
            } else {
                Ok(())
            }
        };
        let stale = |session: &PortalSession| {
            request.prompt_login
                || request
                    .max_age
                    .is_some_and(|age| now - session.created_at() > age)
        };
        match session {
            Some(session) if session.stage() == SessionStage::Full => {
                if stale(session) {
                    login_required()?;
                    Ok(AuthorizeStep::SignIn {
                        signed_in_after: now,
                        end_session: true,
                    })
                } else {
                    session
                        .full()
                        .map(AuthorizeStep::Issue)
                        .ok_or(AuthorizeRefusal::LoginRequired)
                }
            }
            Some(session) if session.stage() == SessionStage::Recovery => {
                login_required()?;
                Ok(AuthorizeStep::Recovery)
            }
            Some(_) if !request.prompt_login => {
                login_required()?;
                Ok(AuthorizeStep::SecondFactor)
            }
            other => {
                login_required()?;
                Ok(AuthorizeStep::SignIn {
                    signed_in_after: if request.prompt_login || request.max_age.is_some() {
                        now
                    } else {
                        0
                    },
                    end_session: other.is_some(),
                })
            }
        }
    }

    /// Holds a request until its user has signed in; the handle the
    /// browser carries (only its hash is stored).
    pub async fn oidc_hold(
        &self,
        request: &AuthorizationRequest,
        signed_in_after: i64,
    ) -> Result<Zeroizing<String>, StoreError> {
        let (handle, handle_hash) = random_secret();
        let now = self.now();
        let held = HeldAuthorization {
            client_id: request.client.id,
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            signed_in_after,
            expires_at: now + REQUEST_LIFETIME,
        };
        self.store
            .insert_oidc_request(handle_hash, held, now)
            .await?;
        Ok(handle)
    }

    /// After a full sign-in, the held request `handle` names gets its
    /// code; `None` if it is unknown, expired, or the sign-in is older than
    /// it asked.
    pub async fn oidc_resume(
        &self,
        handle: &str,
        session: &FullSession,
        source: &str,
    ) -> Result<Option<IssuedCode>, StoreError> {
        let now = self.now();
        let Some(held) = self.store.take_oidc_request(hash(handle), now).await? else {
            return Ok(None);
        };
        if session.created_at() < held.signed_in_after {
            return Ok(None);
        }
        let Some(client) = self
            .store
            .oidc_clients()
            .await?
            .into_iter()
            .find(|c| c.id == held.client_id)
        else {
            return Ok(None);
        };
        let request = AuthorizationRequest {
            client,
            redirect_uri: held.redirect_uri,
            scope: held.scope,
            state: held.state,
            nonce: held.nonce,
            code_challenge: held.code_challenge,
            prompt_none: false,
            prompt_login: false,
            max_age: None,
        };
        self.oidc_issue_code(session, &request, source)
            .await
            .map(Some)
    }

    /// A code for a full sign-in: the grant it starts and the code, bound
    /// to the client, redirect URI, PKCE challenge, nonce and sign-in.
    pub async fn oidc_issue_code(
        &self,
        session: &FullSession,
        request: &AuthorizationRequest,
        source: &str,
    ) -> Result<IssuedCode, StoreError> {
        let now = self.now();
        let (code, code_hash) = random_secret();
        let grant = NewOidcGrant {
            client_id: request.client.id,
            user_id: session.user().id,
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            sid: self.sid(session),
            auth_time: session.created_at(),
            created_at: now,
        };
        let code_row = NewOidcCode {
            code_hash,
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            expires_at: now + CODE_LIFETIME,
        };
        let event = self.event(
            &user_actor(session, source),
            AuditAction::OidcCode,
            session.user().username.as_str(),
            Outcome::Success,
            format!("client {}", request.client.name),
        );
        self.store.insert_oidc_grant(grant, code_row, event).await?;
        Ok(IssuedCode {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            code,
        })
    }
}
