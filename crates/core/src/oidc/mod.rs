//! The OpenID Connect provider's rules (DESIGN.md, "OpenID Connect
//! provider"): registered clients, the authorization request, codes that
//! are single use for 60 s and bound to client, redirect URI, PKCE S256
//! challenge, nonce and sign-in; opaque access and refresh tokens stored
//! hashed, refresh tokens rotating with a reused one revoking its family;
//! ID tokens signed with keys that live sealed in the database, so every
//! node signs alike. The wire (form fields, JSON, error words, redirects)
//! is the server's.
//!
//! A code is issued only for a [`FullSession`] (password and OTP): a
//! recovery session (security questions) cannot be turned into one, so it
//! never yields a code.

mod jose;
mod store;

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::capability::{Actor, Admin};
use crate::context::Latchkey;
use crate::model::{AuditAction, AuditEvent, Outcome, SessionStage, UserStatus};
use crate::portal::{FullSession, PortalSession};
use crate::ports::{CipherError, Store, StoreError};

pub use jose::{BadSigningKey, SigningAlgorithm};
pub use store::{
    CodeUse, HeldAuthorization, NewOidcClient, NewOidcCode, NewOidcGrant, NewOidcKey, NewOidcToken,
    OidcClient, OidcGrant, OidcKey, OidcStore, OidcTokenKind, RefreshUse,
};

/// How long a code may be exchanged, in seconds.
pub const CODE_LIFETIME: i64 = 60;
/// How long an access token works at userinfo, in seconds.
pub const ACCESS_TOKEN_LIFETIME: i64 = 300;
/// How long an ID token is valid, in seconds.
pub const ID_TOKEN_LIFETIME: i64 = 300;
/// How long a refresh token may be used, in seconds (each use gives a new
/// one with a new lifetime).
pub const REFRESH_TOKEN_LIFETIME: i64 = 1800;
/// How long a request waits for its user to sign in, in seconds: long
/// enough for the recovery journey (security questions, unlock, sign in).
pub const REQUEST_LIFETIME: i64 = 1800;
/// How long a rotated key is published before it signs, in seconds, so
/// relying parties that cache the key set have fetched it by then.
pub const KEY_PUBLISH_LEAD: i64 = 600;
/// The `amr` of every sign-in that yields a code (RFC 8176): a password
/// and a one-time password.
pub const AMR: [&str; 2] = ["pwd", "otp"];
/// The `acr`: level 2, two factors.
pub const ACR: &str = "2";

/// What a client's sealed secret is bound to.
pub(crate) fn secret_aad(client_id: &str) -> String {
    format!("oidc-client:{client_id}:secret")
}

/// What a signing key's sealed private half is bound to.
pub(crate) fn key_aad(kid: &str) -> String {
    format!("oidc-key:{kid}")
}

/// 256 random bits as base64url, and their SHA-256 (what is stored).
fn random_secret() -> (Zeroizing<String>, Vec<u8>) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::Rng::fill_bytes(&mut rand::rng(), bytes.as_mut());
    let text = Zeroizing::new(BASE64URL_NOPAD.encode(bytes.as_ref()));
    let hash = hash(&text);
    (text, hash)
}

fn hash(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn random_id(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut random);
    BASE64URL_NOPAD.encode(&random)
}

fn valid_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A redirect URI a client may register: absolute, `https` (or `http` on
/// a loopback host, for native apps and tests), no fragment (RFC 6749
/// §3.1.2).
fn valid_redirect_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let host = rest
        .split(['/', '?'])
        .next()
        .unwrap_or("")
        .rsplit_once('@')
        .map_or(rest.split(['/', '?']).next().unwrap_or(""), |(_, h)| h);
    let loopback = ["127.0.0.1", "[::1]", "localhost"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    !uri.contains('#')
        && !host.is_empty()
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
        && (scheme == "https" || (scheme == "http" && loopback))
}

/// Why a client could not be added, listed or removed.
#[derive(Debug, thiserror::Error)]
pub enum OidcClientError {
    /// The name breaks the naming rule.
    #[error("an OIDC client name has 1–64 letters, digits, - _ or .")]
    BadName,
    /// No redirect URI was given.
    #[error("an OIDC client needs at least one --redirect-uri")]
    NoRedirectUri,
    /// A redirect URI is not one a client may have.
    #[error(
        "not a redirect URI a client may have (absolute https, or http on 127.0.0.1, [::1] or localhost; no fragment): {0}"
    )]
    BadRedirectUri(String),
    /// The name is taken.
    #[error("an OIDC client named {0} exists already")]
    Exists(String),
    /// No client has that name.
    #[error("no OIDC client named {0}")]
    NoSuchClient(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client just registered: its `client_id`, and its secret (shown this
/// once, kept only sealed), `None` for a public client.
pub struct AddedOidcClient {
    /// What it presents.
    pub client_id: String,
    /// Its secret, for a confidential client.
    pub client_secret: Option<Zeroizing<String>>,
}

/// Why the signing keys could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum OidcKeyError {
    /// A key would not be taken.
    #[error(transparent)]
    BadKey(#[from] BadSigningKey),
    /// A sealed key would not open.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// No key signs yet.
    #[error("no OIDC signing key exists yet")]
    NoKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

/// Why the token endpoint refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown client, wrong or missing secret, or a secret from a public
    /// client.
    #[error("client authentication failed")]
    InvalidClient,
    /// The code or refresh token does not work for this client.
    #[error("{0}")]
    InvalidGrant(GrantProblem),
    /// Signing failed.
    #[error(transparent)]
    Key(#[from] OidcKeyError),
    /// A sealed secret would not open.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was wrong with a code or a refresh token (all `invalid_grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    /// No such code.
    #[error("the code is not valid")]
    UnknownCode,
    /// The code was used before; what it gave is now revoked.
    #[error("the code was used already")]
    CodeReused,
    /// The code is older than 60 s.
    #[error("the code has expired")]
    CodeExpired,
    /// The code or token was issued to another client.
    #[error("the code was issued to another client")]
    OtherClient,
    /// `redirect_uri` differs from the request's.
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    /// No `code_verifier`.
    #[error("code_verifier is required")]
    VerifierMissing,
    /// The verifier does not match the challenge.
    #[error("code_verifier does not match the code_challenge")]
    VerifierWrong,
    /// The grant was revoked, or its user may no longer sign in.
    #[error("the grant is no longer valid")]
    GrantRevoked,
    /// No such refresh token for this client, or it expired.
    #[error("the refresh token is not valid")]
    UnknownRefreshToken,
    /// The refresh token was used before; its whole family is now revoked.
    #[error("the refresh token was used already")]
    RefreshReused,
}

/// What the token endpoint answers.
pub struct TokenSet {
    /// An opaque access token.
    pub access_token: Zeroizing<String>,
    /// An opaque refresh token (a new one at every refresh).
    pub refresh_token: Zeroizing<String>,
    /// The signed ID token.
    pub id_token: String,
    /// Seconds the access token works.
    pub expires_in: i64,
    /// The scopes granted.
    pub scope: String,
}

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

fn token_actor(client: &OidcClient, source: &str) -> Actor {
    Actor {
        name: format!("oidc:{}", client.name),
        source: source.to_owned(),
    }
}

fn user_actor(session: &PortalSession, source: &str) -> Actor {
    Actor {
        name: session.user().username.to_string(),
        source: source.to_owned(),
    }
}

/// Whether `challenge` is what S256 makes: 32 bytes in base64url.
fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && BASE64URL_NOPAD
            .decode(challenge.as_bytes())
            .is_ok_and(|b| b.len() == 32)
}

/// Whether `verifier` (RFC 7636 §4.1: 43–128 unreserved characters)
/// hashes to `challenge`.
fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let made = BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(made.as_bytes().ct_eq(challenge.as_bytes()))
}

impl<S: Store + OidcStore> Latchkey<S> {
    /// Registers a relying party. A confidential client's secret is made
    /// here and returned this once.
    pub async fn add_oidc_client(
        &self,
        admin: &Admin,
        name: &str,
        redirect_uris: &[String],
        post_logout_uris: &[String],
        public: bool,
        id_token_algorithm: SigningAlgorithm,
    ) -> Result<AddedOidcClient, OidcClientError> {
        let name = name.trim();
        if !valid_client_name(name) {
            return Err(OidcClientError::BadName);
        }
        if redirect_uris.is_empty() {
            return Err(OidcClientError::NoRedirectUri);
        }
        if let Some(bad) = redirect_uris
            .iter()
            .chain(post_logout_uris)
            .find(|uri| !valid_redirect_uri(uri))
        {
            return Err(OidcClientError::BadRedirectUri(bad.clone()));
        }
        let client_id = random_id(16);
        let client_secret = (!public).then(|| Zeroizing::new(random_id(32)));
        let client = NewOidcClient {
            name: name.to_owned(),
            client_id: client_id.clone(),
            sealed_secret: client_secret
                .as_ref()
                .map(|s| self.cipher.seal(&secret_aad(&client_id), s.as_bytes())),
            redirect_uris: redirect_uris.to_vec(),
            post_logout_uris: post_logout_uris.to_vec(),
            id_token_algorithm,
            created_at: self.now(),
        };
        let detail = format!(
            "client_id {client_id}, {}, redirect URIs {}",
            if public { "public" } else { "confidential" },
            redirect_uris.join(" ")
        );
        let event = self.event(
            admin.actor(),
            AuditAction::OidcClientAdd,
            name,
            Outcome::Success,
            detail,
        );
        match self.store.insert_oidc_client(client, event).await {
            Ok(_) => Ok(AddedOidcClient {
                client_id,
                client_secret,
            }),
            Err(StoreError::Conflict(_)) => Err(OidcClientError::Exists(name.to_owned())),
            Err(error) => Err(error.into()),
        }
    }

    /// Every registered client, by name (their secrets stay sealed).
    pub async fn list_oidc_clients(
        &self,
        _admin: &Admin,
    ) -> Result<Vec<OidcClient>, OidcClientError> {
        Ok(self.store.oidc_clients().await?)
    }

    /// Removes a client with every grant, code and token it was given.
    pub async fn remove_oidc_client(
        &self,
        admin: &Admin,
        name: &str,
    ) -> Result<(), OidcClientError> {
        let event = self.event(
            admin.actor(),
            AuditAction::OidcClientRemove,
            name,
            Outcome::Success,
            "",
        );
        if self.store.remove_oidc_client(name, event).await? {
            Ok(())
        } else {
            Err(OidcClientError::NoSuchClient(name.to_owned()))
        }
    }

    async fn keep_key(
        &self,
        algorithm: SigningAlgorithm,
        pkcs8: &[u8],
        signs_from: i64,
        event: AuditEvent,
    ) -> Result<String, OidcKeyError> {
        let kid = random_id(12);
        let jwk = jose::public_jwk(algorithm, pkcs8, &kid)?;
        let key = NewOidcKey {
            kid: kid.clone(),
            algorithm,
            sealed_private_key: self.cipher.seal(&key_aad(&kid), pkcs8),
            public_jwk: jwk.to_string(),
            created_at: self.now(),
            signs_from,
        };
        self.store.insert_oidc_key(key, event).await?;
        Ok(kid)
    }

    /// The first signing keys, when there are none: an RS256 key from
    /// `rsa_pkcs8` (made by the caller) and an ES256 key made here, both
    /// signing at once. Nothing happens if keys exist.
    pub async fn oidc_first_keys(&self, rsa_pkcs8: &[u8]) -> Result<(), OidcKeyError> {
        if !self.store.oidc_keys().await?.is_empty() {
            return Ok(());
        }
        let actor = Actor::anonymous("server");
        let now = self.now();
        for (algorithm, pkcs8) in [
            (SigningAlgorithm::Rs256, Zeroizing::new(rsa_pkcs8.to_vec())),
            (SigningAlgorithm::Es256, jose::generate_es256()),
        ] {
            let event = self.event(
                &actor,
                AuditAction::OidcKeyCreate,
                algorithm.as_str(),
                Outcome::Success,
                "",
            );
            self.keep_key(algorithm, &pkcs8, now, event).await?;
        }
        Ok(())
    }

    /// Whether any signing key exists (else [`Latchkey::oidc_first_keys`]).
    pub async fn oidc_has_keys(&self) -> Result<bool, OidcKeyError> {
        Ok(!self.store.oidc_keys().await?.is_empty())
    }

    /// New RS256 and ES256 keys, published now and signing after
    /// [`KEY_PUBLISH_LEAD`]; keys whose tokens can no longer be valid are
    /// forgotten. The new `kid`s.
    pub async fn rotate_oidc_keys(
        &self,
        admin: &Admin,
        rsa_pkcs8: &[u8],
    ) -> Result<Vec<String>, OidcKeyError> {
        let now = self.now();
        let mut kids = Vec::new();
        for (algorithm, pkcs8) in [
            (SigningAlgorithm::Rs256, Zeroizing::new(rsa_pkcs8.to_vec())),
            (SigningAlgorithm::Es256, jose::generate_es256()),
        ] {
            let detail = format!("signs from {}", now + KEY_PUBLISH_LEAD);
            let event = self.event(
                admin.actor(),
                AuditAction::OidcKeyRotate,
                algorithm.as_str(),
                Outcome::Success,
                detail,
            );
            kids.push(
                self.keep_key(algorithm, &pkcs8, now + KEY_PUBLISH_LEAD, event)
                    .await?,
            );
        }
        let keys = self.store.oidc_keys().await?;
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let same: Vec<&OidcKey> = keys.iter().filter(|k| k.algorithm == algorithm).collect();
            // Newest first: a key stopped signing when the next newer one
            // started, and its last ID token expired a lifetime after.
            for pair in same.windows(2) {
                let (newer, older) = (pair[0], pair[1]);
                if newer.signs_from + ID_TOKEN_LIFETIME < now {
                    self.store.delete_oidc_key(older.id).await?;
                }
            }
        }
        Ok(kids)
    }

    /// The published keys as a JWK Set.
    pub async fn oidc_jwks(&self) -> Result<Value, OidcKeyError> {
        let keys = self.store.oidc_keys().await?;
        let jwks: Vec<Value> = keys
            .iter()
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(json!({ "keys": jwks }))
    }

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

    /// The sign-in's `sid`: stable for the session, and no way back to its
    /// cookie.
    fn sid(&self, session: &PortalSession) -> String {
        BASE64URL_NOPAD.encode(&self.cipher.keyed_hash("oidc-sid", session.id_hash())[..16])
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

    /// The client presenting `client_id`, if `secret` is its secret (a
    /// public client presents none). A failure is audited.
    pub async fn oidc_authenticate_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
        source: &str,
    ) -> Result<OidcClient, TokenError> {
        let client = match client_id {
            "" => None,
            id => self.store.oidc_client(id).await?,
        };
        let authenticated = match &client {
            None => false,
            Some(client) => match (&client.sealed_secret, secret) {
                (None, None) => true,
                (Some(sealed), Some(given)) => {
                    let expected = self.cipher.open(&secret_aad(&client.client_id), sealed)?;
                    bool::from(expected.as_slice().ct_eq(given.as_bytes()))
                }
                _ => false,
            },
        };
        match client {
            Some(client) if authenticated => Ok(client),
            _ => {
                let subject: String = client_id.chars().take(64).collect();
                let event = self.event(
                    &Actor::anonymous(source),
                    AuditAction::OidcClientAuth,
                    &subject,
                    Outcome::Denied,
                    "unknown client or wrong secret",
                );
                self.store.append(event).await?;
                Err(TokenError::InvalidClient)
            }
        }
    }

    /// Records a refused code or refresh token; the error to answer.
    async fn refused_grant(
        &self,
        actor: &Actor,
        client: &OidcClient,
        action: AuditAction,
        problem: GrantProblem,
    ) -> TokenError {
        let event = self.event(
            actor,
            action,
            &client.name,
            Outcome::Denied,
            problem.to_string(),
        );
        match self.store.append(event).await {
            Ok(()) => TokenError::InvalidGrant(problem),
            Err(e) => TokenError::Store(e),
        }
    }

    /// Exchanges a code (RFC 6749 §4.1.3 with RFC 7636): once, by its
    /// client, to its redirect URI, with the verifier of its challenge,
    /// within 60 s. A second use revokes what the first gave.
    pub async fn oidc_exchange_code(
        &self,
        client: &OidcClient,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        issuer: &str,
        source: &str,
    ) -> Result<TokenSet, TokenError> {
        let actor = token_actor(client, source);
        let reuse = self.event(
            &actor,
            AuditAction::OidcCodeReuse,
            &client.name,
            Outcome::Denied,
            "a used code was presented again: its grant is revoked",
        );
        let (grant, sent_to, challenge, expires_at) =
            match self.store.use_oidc_code(hash(code), reuse).await? {
                CodeUse::First {
                    grant,
                    redirect_uri,
                    code_challenge,
                    expires_at,
                } => (grant, redirect_uri, code_challenge, expires_at),
                CodeUse::Again => return Err(TokenError::InvalidGrant(GrantProblem::CodeReused)),
                CodeUse::Unknown => {
                    return Err(self
                        .refused_grant(
                            &actor,
                            client,
                            AuditAction::OidcToken,
                            GrantProblem::UnknownCode,
                        )
                        .await);
                }
            };
        let refused = |problem| self.refused_grant(&actor, client, AuditAction::OidcToken, problem);
        if grant.client_id != client.id {
            return Err(refused(GrantProblem::OtherClient).await);
        }
        if self.now() >= expires_at {
            return Err(refused(GrantProblem::CodeExpired).await);
        }
        if redirect_uri != Some(sent_to.as_str()) {
            return Err(refused(GrantProblem::RedirectMismatch).await);
        }
        let Some(verifier) = code_verifier else {
            return Err(refused(GrantProblem::VerifierMissing).await);
        };
        if !verifier_matches(verifier, &challenge) {
            return Err(refused(GrantProblem::VerifierWrong).await);
        }
        self.issue_tokens(client, &grant, issuer, &actor, AuditAction::OidcToken)
            .await
    }

    /// Rotates a refresh token: new access, refresh and ID tokens; the
    /// presented one never works again, and presenting it again revokes
    /// the whole family.
    pub async fn oidc_refresh(
        &self,
        client: &OidcClient,
        refresh_token: &str,
        issuer: &str,
        source: &str,
    ) -> Result<TokenSet, TokenError> {
        let actor = token_actor(client, source);
        let reuse = self.event(
            &actor,
            AuditAction::OidcRefreshReuse,
            &client.name,
            Outcome::Denied,
            "a used refresh token was presented again: its family is revoked",
        );
        let used = self
            .store
            .use_oidc_refresh_token(hash(refresh_token), client.id, self.now(), reuse)
            .await?;
        match used {
            RefreshUse::First(grant) => {
                self.issue_tokens(client, &grant, issuer, &actor, AuditAction::OidcRefresh)
                    .await
            }
            RefreshUse::Again => Err(TokenError::InvalidGrant(GrantProblem::RefreshReused)),
            RefreshUse::Unknown => Err(self
                .refused_grant(
                    &actor,
                    client,
                    AuditAction::OidcRefresh,
                    GrantProblem::UnknownRefreshToken,
                )
                .await),
        }
    }

    async fn issue_tokens(
        &self,
        client: &OidcClient,
        grant: &OidcGrant,
        issuer: &str,
        actor: &Actor,
        action: AuditAction,
    ) -> Result<TokenSet, TokenError> {
        let revoked = || TokenError::InvalidGrant(GrantProblem::GrantRevoked);
        if grant.revoked {
            return Err(revoked());
        }
        let user = self
            .store
            .user_by_id(grant.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(revoked)?;
        let now = self.now();
        let mut claims = json!({
            "iss": issuer,
            "sub": user.id.to_string(),
            "aud": client.client_id,
            "azp": client.client_id,
            "exp": now + ID_TOKEN_LIFETIME,
            "iat": now,
            "auth_time": grant.auth_time,
            "sid": grant.sid,
            "amr": AMR,
            "acr": ACR,
        });
        if let Some(nonce) = &grant.nonce {
            claims["nonce"] = json!(nonce);
        }
        let id_token = self.sign(client.id_token_algorithm, &claims).await?;
        let (access_token, access_hash) = random_secret();
        let (refresh_token, refresh_hash) = random_secret();
        let tokens = vec![
            NewOidcToken {
                token_hash: access_hash,
                kind: OidcTokenKind::Access,
                expires_at: now + ACCESS_TOKEN_LIFETIME,
            },
            NewOidcToken {
                token_hash: refresh_hash,
                kind: OidcTokenKind::Refresh,
                expires_at: now + REFRESH_TOKEN_LIFETIME,
            },
        ];
        let event = self.event(
            actor,
            action,
            user.username.as_str(),
            Outcome::Success,
            format!("client {}, scope {}", client.name, grant.scope),
        );
        self.store
            .insert_oidc_tokens(grant.id, tokens, event)
            .await?;
        Ok(TokenSet {
            access_token,
            refresh_token,
            id_token,
            expires_in: ACCESS_TOKEN_LIFETIME,
            scope: grant.scope.clone(),
        })
    }

    /// `claims` signed with the newest key of `algorithm` that signs now.
    async fn sign(
        &self,
        algorithm: SigningAlgorithm,
        claims: &Value,
    ) -> Result<String, OidcKeyError> {
        let now = self.now();
        let keys = self.store.oidc_keys().await?;
        let key = keys
            .iter()
            .find(|k| k.algorithm == algorithm && k.signs_from <= now)
            .ok_or(OidcKeyError::NoKey)?;
        let pkcs8 = self
            .cipher
            .open(&key_aad(&key.kid), &key.sealed_private_key)?;
        Ok(jose::sign(algorithm, &pkcs8, &key.kid, claims)?)
    }

    /// The claims userinfo answers for an access token, by the scopes
    /// granted: `sub` always, `preferred_username` for `profile`, `email`
    /// for `email`. `None` if the token does not work.
    pub async fn oidc_userinfo(
        &self,
        access_token: &str,
    ) -> Result<Option<serde_json::Map<String, Value>>, StoreError> {
        let Some(grant) = self
            .store
            .oidc_access_grant(hash(access_token), self.now())
            .await?
        else {
            return Ok(None);
        };
        let Some(user) = self
            .store
            .user_by_id(grant.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
        else {
            return Ok(None);
        };
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), json!(user.id.to_string()));
        let scopes: Vec<&str> = grant.scope.split(' ').collect();
        if scopes.contains(&"profile") {
            claims.insert("preferred_username".into(), json!(user.username.as_str()));
            claims.insert("name".into(), json!(user.username.as_str()));
        }
        if scopes.contains(&"email")
            && let Some(email) = &user.email
        {
            claims.insert("email".into(), json!(email));
        }
        Ok(Some(claims))
    }

    /// Revokes a token of `client` (RFC 7009): an access token alone, a
    /// refresh token with its family. An unknown token is no error.
    pub async fn oidc_revoke(
        &self,
        client: &OidcClient,
        token: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        let event = self.event(
            &token_actor(client, source),
            AuditAction::OidcRevoke,
            &client.name,
            Outcome::Success,
            "",
        );
        self.store
            .revoke_oidc_token(hash(token), client.id, event)
            .await?;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636, Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(challenge, challenge));
        assert!(!verifier_matches("short", challenge));
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http_without_fragments() {
        assert!(valid_redirect_uri("https://app.example/cb"));
        assert!(valid_redirect_uri("http://127.0.0.1:8080/cb"));
        assert!(valid_redirect_uri("http://localhost/cb"));
        assert!(!valid_redirect_uri("http://app.example/cb"));
        assert!(!valid_redirect_uri("https://app.example/cb#x"));
        assert!(!valid_redirect_uri("app.example/cb"));
        assert!(!valid_redirect_uri("http://localhost.evil.example/cb"));
    }
}
