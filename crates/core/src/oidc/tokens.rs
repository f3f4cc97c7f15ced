//! The token endpoint's rules (client authentication, the code exchange,
//! refresh rotation with reuse detection), userinfo and revocation.

use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{
    ACCESS_TOKEN_LIFETIME, ACR, AMR, CodeUse, ID_TOKEN_LIFETIME, NewOidcToken, OidcClient,
    OidcGrant, OidcKeyError, OidcStore, OidcTokenKind, REFRESH_TOKEN_LIFETIME, RefreshUse, hash,
    random_secret, secret_aad, token_actor, verifier_matches,
};
use crate::capability::Actor;
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome, UserStatus};
use crate::ports::{CipherError, Store, StoreError};

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

impl<S: Store + OidcStore> Latchkey<S> {
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

    /// Records that the token endpoint refused `source` for the rest of a
    /// window, after too many failed requests from it (S52): the server
    /// calls this once per window, not once per refused request.
    pub async fn oidc_token_throttled(&self, source: &str) -> Result<(), StoreError> {
        let event = self.event(
            &Actor::anonymous(source),
            AuditAction::OidcTokenThrottle,
            source,
            Outcome::Denied,
            "too many failed token requests from this address: refused until the window ends",
        );
        self.store.append(event).await
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
}
