//! API keys: created and revoked by admins, presented by relying
//! applications and admin clients; only their hash is kept (S43).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::capability::{Admin, ApiPrincipal};
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{ApiKey, ApiKeyName, ApiRole, AuditAction, Outcome};
use crate::ports::{NewApiKey, Store, StoreError};

/// The public part of an API key (`lk_PREFIX_SECRET`), which finds its row.
pub(crate) fn api_key_prefix(key: &str) -> Option<&str> {
    key.strip_prefix("lk_")
        .and_then(|rest| rest.split('_').next())
}

/// The caller `key` proves to be, if `stored` (found by its prefix) is that
/// key and not revoked (S43). The hash is compared in constant time.
pub(crate) fn principal_of(stored: &ApiKey, key: &str, source: &str) -> Option<ApiPrincipal> {
    let hash = Sha256::digest(key.as_bytes());
    (!stored.revoked && bool::from(stored.hash.ct_eq(&hash[..])))
        .then(|| ApiPrincipal::verified(stored.name.clone(), stored.role, source.into()))
}

impl<S: Store> Latchkey<S> {
    /// Creates an API key and returns it; only its hash is kept (S43).
    pub async fn create_api_key(
        &self,
        admin: &Admin,
        name: &str,
        role: ApiRole,
    ) -> Result<Zeroizing<String>, AdminError> {
        let name: ApiKeyName = name.parse()?;
        let name = name.as_str();
        let mut prefix = [0u8; 6];
        let mut secret = Zeroizing::new([0u8; 24]);
        rand::Rng::fill_bytes(&mut rand::rng(), &mut prefix);
        rand::Rng::fill_bytes(&mut rand::rng(), secret.as_mut());
        let prefix = data_encoding::HEXLOWER.encode(&prefix);
        let key = Zeroizing::new(format!(
            "lk_{prefix}_{}",
            data_encoding::BASE32_NOPAD
                .encode(secret.as_ref())
                .to_lowercase()
        ));
        let new = NewApiKey {
            name: name.into(),
            prefix,
            hash: Sha256::digest(key.as_bytes()).to_vec(),
            role,
            created_at: self.now(),
        };
        let event = self.event(
            admin.actor(),
            AuditAction::ApikeyCreate,
            name,
            Outcome::Success,
            format!("role={role}"),
        );
        match self.store.insert_api_key(new, event).await {
            Ok(_) => Ok(key),
            Err(StoreError::Conflict(_)) => {
                Err(AdminError::Exists(format!("an API key named {name}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Revokes an API key.
    pub async fn revoke_api_key(&self, admin: &Admin, name: &str) -> Result<(), AdminError> {
        let event = self.event(
            admin.actor(),
            AuditAction::ApikeyRevoke,
            name,
            Outcome::Success,
            "",
        );
        if self.store.revoke_api_key(name, event).await? {
            Ok(())
        } else {
            Err(AdminError::NoSuchKey(name.into()))
        }
    }

    /// Checks a presented API key in constant time; `None` for anything wrong.
    pub async fn authorize_api_key(
        &self,
        key: &str,
        source: &str,
    ) -> Result<Option<ApiPrincipal>, StoreError> {
        let Some(prefix) = api_key_prefix(key) else {
            return Ok(None);
        };
        let Some(stored) = self.store.api_key_by_prefix(prefix).await? else {
            return Ok(None);
        };
        Ok(principal_of(&stored, key, source))
    }

    /// Every API key (names, roles, whether revoked; the hashes stay here).
    pub async fn list_api_keys(&self, _admin: &Admin) -> Result<Vec<ApiKey>, StoreError> {
        self.store.list_api_keys().await
    }
}
