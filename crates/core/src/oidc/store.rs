//! What the OpenID provider keeps, and the store port that keeps it. Codes
//! and tokens appear here only as hashes.

use std::future::Future;

use super::jose::SigningAlgorithm;
use crate::model::AuditEvent;
use crate::ports::StoreResult;

/// A relying party to register.
#[derive(Clone)]
pub struct NewOidcClient {
    /// Its unique name (what the admin types).
    pub name: String,
    /// The `client_id` it presents: random, unique.
    pub client_id: String,
    /// Its secret, sealed with the master key; `None` for a public client.
    pub sealed_secret: Option<Vec<u8>>,
    /// The redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to.
    pub post_logout_uris: Vec<String>,
    /// How its ID tokens are signed.
    pub id_token_algorithm: SigningAlgorithm,
    /// Unix seconds.
    pub created_at: i64,
}

/// A registered relying party, as stored.
#[derive(Clone)]
pub struct OidcClient {
    /// Row id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The `client_id` it presents.
    pub client_id: String,
    /// Its secret, sealed; `None` for a public client.
    pub sealed_secret: Option<Vec<u8>>,
    /// The redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to.
    pub post_logout_uris: Vec<String>,
    /// How its ID tokens are signed.
    pub id_token_algorithm: SigningAlgorithm,
    /// Unix seconds.
    pub created_at: i64,
}

impl OidcClient {
    /// Whether it has no secret (a browser or native app, PKCE alone).
    pub fn is_public(&self) -> bool {
        self.sealed_secret.is_none()
    }
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("public", &self.is_public())
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

/// A signing key to keep.
#[derive(Clone)]
pub struct NewOidcKey {
    /// The `kid` in JWS headers and the JWK Set.
    pub kid: String,
    /// What it signs with.
    pub algorithm: SigningAlgorithm,
    /// The PKCS#8 private key, sealed with the master key.
    pub sealed_private_key: Vec<u8>,
    /// The public JWK, as JSON text.
    pub public_jwk: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds from which it signs (published before).
    pub signs_from: i64,
}

/// A signing key, as stored.
#[derive(Clone)]
pub struct OidcKey {
    /// Row id.
    pub id: i64,
    /// The `kid`.
    pub kid: String,
    /// What it signs with.
    pub algorithm: SigningAlgorithm,
    /// The PKCS#8 private key, sealed.
    pub sealed_private_key: Vec<u8>,
    /// The public JWK, as JSON text.
    pub public_jwk: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds from which it signs.
    pub signs_from: i64,
}

impl std::fmt::Debug for OidcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("signs_from", &self.signs_from)
            .finish_non_exhaustive()
    }
}

/// An authorization request that waits for its user to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAuthorization {
    /// The client's row id.
    pub client_id: i64,
    /// The redirect URI it named (one of the client's).
    pub redirect_uri: String,
    /// The scopes asked for, space-separated.
    pub scope: String,
    /// The client's `state`.
    pub state: String,
    /// The client's `nonce`, if any.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// A sign-in older than this (Unix seconds) does not do
    /// (`prompt=login`, `max_age`).
    pub signed_in_after: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// One sign-in given to one client: the family its code, access tokens
/// and refresh tokens belong to.
#[derive(Debug, Clone)]
pub struct NewOidcGrant {
    /// The client's row id.
    pub client_id: i64,
    /// Whose sign-in.
    pub user_id: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// The client's `nonce`, for the ID tokens.
    pub nonce: Option<String>,
    /// The portal sign-in it came from (the ID token's `sid`).
    pub sid: String,
    /// Unix seconds of that sign-in's first factor.
    pub auth_time: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A grant, as stored.
#[derive(Debug, Clone)]
pub struct OidcGrant {
    /// Row id.
    pub id: i64,
    /// The client's row id.
    pub client_id: i64,
    /// Whose sign-in.
    pub user_id: i64,
    /// The scopes granted.
    pub scope: String,
    /// The client's `nonce`.
    pub nonce: Option<String>,
    /// The portal sign-in it came from.
    pub sid: String,
    /// Unix seconds of the sign-in.
    pub auth_time: i64,
    /// Whether it was revoked (code reuse, refresh reuse, revocation,
    /// logout): nothing of it works any more.
    pub revoked: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// An authorization code to keep with its grant.
#[derive(Debug, Clone)]
pub struct NewOidcCode {
    /// SHA-256 of the code.
    pub code_hash: Vec<u8>,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A code presented at the token endpoint, as the store found it.
#[derive(Debug, Clone)]
pub enum CodeUse {
    /// Its first use (now marked used).
    First {
        /// Its grant.
        grant: OidcGrant,
        /// The redirect URI it was sent to.
        redirect_uri: String,
        /// The PKCE challenge.
        code_challenge: String,
        /// Unix seconds.
        expires_at: i64,
    },
    /// Used before: its grant is now revoked.
    Again,
    /// No such code.
    Unknown,
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcTokenKind {
    /// Presented at userinfo.
    Access,
    /// Presented at the token endpoint for new tokens.
    Refresh,
}

impl OidcTokenKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OidcTokenKind::Access => "access",
            OidcTokenKind::Refresh => "refresh",
        }
    }
}

impl std::str::FromStr for OidcTokenKind {
    type Err = crate::model::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "access" => Ok(OidcTokenKind::Access),
            "refresh" => Ok(OidcTokenKind::Refresh),
            other => Err(crate::model::UnknownValue(other.into())),
        }
    }
}

/// An access or refresh token to keep.
#[derive(Debug, Clone)]
pub struct NewOidcToken {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// What it is for.
    pub kind: OidcTokenKind,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A refresh token presented at the token endpoint, as the store found it.
#[derive(Debug, Clone)]
pub enum RefreshUse {
    /// Its first use by its own client, unexpired, its grant standing (now
    /// marked used).
    First(OidcGrant),
    /// Used before: its whole family is now revoked.
    Again,
    /// No such token for this client, expired, or its grant revoked.
    Unknown,
}

/// Clients, keys, held requests, grants, codes and tokens. Each change
/// carries its audit event and commits with it.
pub trait OidcStore: Send + Sync {
    /// Registers a client; a taken name is a [`crate::StoreError::Conflict`].
    fn insert_oidc_client(
        &self,
        client: NewOidcClient,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Every client, by name.
    fn oidc_clients(&self) -> impl Future<Output = StoreResult<Vec<OidcClient>>> + Send;
    /// The client presenting `client_id`.
    fn oidc_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Option<OidcClient>>> + Send;
    /// Removes a client by name with everything it was given. False if
    /// there was none.
    fn remove_oidc_client(
        &self,
        name: &str,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Keeps a signing key.
    fn insert_oidc_key(
        &self,
        key: NewOidcKey,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Every signing key, newest first.
    fn oidc_keys(&self) -> impl Future<Output = StoreResult<Vec<OidcKey>>> + Send;
    /// Forgets a key no token signed with it can still be valid for.
    fn delete_oidc_key(&self, id: i64) -> impl Future<Output = StoreResult<()>> + Send;
    /// Holds a request until its user has signed in (and forgets the
    /// requests expired at `now`).
    fn insert_oidc_request(
        &self,
        request_hash: Vec<u8>,
        request: HeldAuthorization,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A held request, unexpired at `now`, taken (single use).
    fn take_oidc_request(
        &self,
        request_hash: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<HeldAuthorization>>> + Send;
    /// A new grant with its code.
    fn insert_oidc_grant(
        &self,
        grant: NewOidcGrant,
        code: NewOidcCode,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Uses a code: the first use marks it used; a later one revokes its
    /// grant and records `reuse`.
    fn use_oidc_code(
        &self,
        code_hash: Vec<u8>,
        reuse: AuditEvent,
    ) -> impl Future<Output = StoreResult<CodeUse>> + Send;
    /// Tokens for a grant.
    fn insert_oidc_tokens(
        &self,
        grant_id: i64,
        tokens: Vec<NewOidcToken>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Uses a refresh token of client `client_id` at `now`: the first use
    /// marks it used; a later one revokes its family and records `reuse`.
    fn use_oidc_refresh_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        now: i64,
        reuse: AuditEvent,
    ) -> impl Future<Output = StoreResult<RefreshUse>> + Send;
    /// The grant of an access token unexpired at `now`, if the grant stands.
    fn oidc_access_grant(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<OidcGrant>>> + Send;
    /// Revokes a token of client `client_id`: an access token alone, a
    /// refresh token with its whole family. False if it is no token of
    /// that client's.
    fn revoke_oidc_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Revokes every grant given from the portal sign-in `sid`; how many.
    fn revoke_oidc_sign_in(
        &self,
        sid: String,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// As [`OidcStore::revoke_oidc_sign_in`], but `event` is recorded only
    /// when a grant was revoked (the sign-in had given any): for the
    /// portal's own sign-out, which most sign-ins end with.
    fn end_oidc_sign_in(
        &self,
        sid: String,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}
