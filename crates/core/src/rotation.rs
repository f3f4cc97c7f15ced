//! Master-key rotation: every sealed value re-sealed under the new key.
//! During a rotation the nodes open values under either key (the store's
//! cipher is given the previous key too) and seal under the new one; the
//! admin CLI walks the sealed rows in batches, re-sealing each value that
//! does not open under the new key alone, so a run that was cut short is
//! resumed by running it again.

use crate::capability::Admin;
use crate::context::{seed_aad, unlock_aad};
use crate::model::{AuditAction, AuditEvent, Outcome};
use crate::ports::{CipherError, SecretCipher};

/// A token's sealed values, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTokenValues {
    /// The token's row.
    pub id: i64,
    /// Its serial (the values are bound to it).
    pub serial: String,
    /// The sealed seed.
    pub sealed_seed: Vec<u8>,
    /// The sealed unlock secret (Latchkey tokens): generation 0.
    pub sealed_unlock_secret: Option<Vec<u8>>,
    /// The later unlock-secret generations (S45): number and sealed secret.
    pub unlock_generations: Vec<(i64, Vec<u8>)>,
}

/// A sealed column outside `tokens`: one value per row, bound to a key
/// of its row (the name, client id, key id or serial it was sealed for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `radius_clients.sealed_secret`, bound to the client's name.
    RadiusSecret,
    /// `oidc_clients.sealed_secret`, bound to the client id.
    OidcClientSecret,
    /// `oidc_keys.sealed_private_key`, bound to the key id.
    OidcSigningKey,
    /// `token_stock.sealed_seed` (unassigned hardware tokens), bound to
    /// the serial.
    StockSeed,
}

impl SealedColumn {
    /// Every one, in the order a rotation walks them.
    pub const ALL: [SealedColumn; 4] = [
        SealedColumn::RadiusSecret,
        SealedColumn::OidcClientSecret,
        SealedColumn::OidcSigningKey,
        SealedColumn::StockSeed,
    ];

    /// The associated data its values are sealed with, for the row key `key`.
    pub(crate) fn aad(self, key: &str) -> String {
        match self {
            SealedColumn::RadiusSecret => crate::radius::secret_aad(key),
            SealedColumn::OidcClientSecret => crate::oidc::secret_aad(key),
            SealedColumn::OidcSigningKey => crate::oidc::key_aad(key),
            SealedColumn::StockSeed => seed_aad(key),
        }
    }

    /// What its values are, for messages ("secret of RADIUS client vpn").
    pub(crate) fn what(self, key: &str) -> String {
        match self {
            SealedColumn::RadiusSecret => format!("secret of RADIUS client {key}"),
            SealedColumn::OidcClientSecret => format!("secret of OIDC client {key}"),
            SealedColumn::OidcSigningKey => format!("OIDC signing key {key}"),
            SealedColumn::StockSeed => format!("seed of unassigned token {key}"),
        }
    }

    /// Its name in the rotation's report.
    pub fn label(self) -> &'static str {
        match self {
            SealedColumn::RadiusSecret => "RADIUS client secrets",
            SealedColumn::OidcClientSecret => "OIDC client secrets",
            SealedColumn::OidcSigningKey => "OIDC signing keys",
            SealedColumn::StockSeed => "unassigned token seeds",
        }
    }
}

/// One sealed value of a [`SealedColumn`], as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// Where it is.
    pub column: SealedColumn,
    /// Its row.
    pub id: i64,
    /// What it is bound to (see [`SealedColumn`]).
    pub key: String,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}

/// A sealed value opens under neither key.
#[derive(Debug, thiserror::Error)]
#[error("the sealed {what} opens under neither the new nor the previous master key")]
pub struct UnopenedValue {
    /// Which value: "seed of token 12345-67897", …
    pub what: String,
}

/// `sealed` under `new`: `None` when it is already (it opens under `new`
/// alone), else opened under `either` (new or previous key) and sealed again.
fn reseal_one(
    either: &dyn SecretCipher,
    new: &dyn SecretCipher,
    aad: &str,
    sealed: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Option<Vec<u8>>, UnopenedValue> {
    if new.open(aad, sealed).is_ok() {
        return Ok(None);
    }
    let plain = either
        .open(aad, sealed)
        .map_err(|CipherError| UnopenedValue { what: what() })?;
    Ok(Some(new.seal(aad, &plain)))
}

/// The token's values under `new`, or `None` when they are already.
pub fn reseal_token(
    either: &dyn SecretCipher,
    new: &dyn SecretCipher,
    token: &SealedTokenValues,
) -> Result<Option<SealedTokenValues>, UnopenedValue> {
    let seed = reseal_one(
        either,
        new,
        &seed_aad(&token.serial),
        &token.sealed_seed,
        || format!("seed of token {}", token.serial),
    )?;
    let unlock = match &token.sealed_unlock_secret {
        Some(sealed) => reseal_one(either, new, &unlock_aad(&token.serial), sealed, || {
            format!("unlock secret of token {}", token.serial)
        })?,
        None => None,
    };
    let mut generations = Vec::with_capacity(token.unlock_generations.len());
    let mut generation_changed = false;
    for (generation, sealed) in &token.unlock_generations {
        let aad = crate::tokens::generation_aad(&token.serial, *generation);
        let resealed = reseal_one(either, new, &aad, sealed, || {
            format!(
                "unlock secret generation {generation} of token {}",
                token.serial
            )
        })?;
        generation_changed |= resealed.is_some();
        generations.push((*generation, resealed.unwrap_or_else(|| sealed.clone())));
    }
    if seed.is_none() && unlock.is_none() && !generation_changed {
        return Ok(None);
    }
    Ok(Some(SealedTokenValues {
        id: token.id,
        serial: token.serial.to_string(),
        sealed_seed: seed.unwrap_or_else(|| token.sealed_seed.clone()),
        sealed_unlock_secret: unlock.or_else(|| token.sealed_unlock_secret.clone()),
        unlock_generations: generations,
    }))
}

/// The value under `new`, or `None` when it is already.
pub fn reseal_value(
    either: &dyn SecretCipher,
    new: &dyn SecretCipher,
    value: &SealedValue,
) -> Result<Option<SealedValue>, UnopenedValue> {
    let sealed = reseal_one(
        either,
        new,
        &value.column.aad(&value.key),
        &value.sealed,
        || value.column.what(&value.key),
    )?;
    Ok(sealed.map(|sealed| SealedValue {
        sealed,
        ..value.clone()
    }))
}

/// The audit row of one rotation batch (`master_key.rotate`), written in the
/// batch's transaction.
pub fn rotation_event(admin: &Admin, at: i64, subject: &str, detail: String) -> AuditEvent {
    let actor = admin.actor();
    AuditEvent {
        at,
        actor: actor.name.clone(),
        action: AuditAction::MasterKeyRotate,
        subject: subject.into(),
        source: actor.source.clone(),
        outcome: Outcome::Success,
        detail,
    }
}
