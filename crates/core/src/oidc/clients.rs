//! Registered relying parties: who may ask for a code, where it may be
//! sent, and the secret a confidential client authenticates with.

use zeroize::Zeroizing;

use super::{NewOidcClient, OidcClient, OidcStore, SigningAlgorithm, random_id, secret_aad};
use crate::capability::Admin;
use crate::context::Latchkey;
use crate::model::{AuditAction, Outcome};
use crate::ports::{Store, StoreError};

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
