//! The signing keys: made and rotated here, kept sealed in the database
//! (so every node signs alike), published as a JWK Set.

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{
    BadSigningKey, ID_TOKEN_LIFETIME, KEY_PUBLISH_LEAD, NewOidcKey, OidcKey, OidcStore,
    SigningAlgorithm, jose, key_aad, random_id,
};
use crate::capability::{Actor, Admin};
use crate::context::Latchkey;
use crate::model::{AuditAction, AuditEvent, Outcome};
use crate::ports::{CipherError, Store, StoreError};

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

impl<S: Store + OidcStore> Latchkey<S> {
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

    /// `claims` signed with the newest key of `algorithm` that signs now.
    pub(super) async fn sign(
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
}
