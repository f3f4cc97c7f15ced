//! Master-key rotation: every sealed value re-sealed under the new key.
//! During a rotation the nodes open values under either key (the store's
//! cipher is given the previous key too) and seal under the new one; the
//! admin CLI walks the sealed rows in batches, re-sealing each value that
//! does not open under the new key alone, so a run that was cut short is
//! resumed by running it again.

use crate::capability::Admin;
use crate::context::{seed_aad, unlock_aad};
use crate::model::AuditEvent;
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

/// A RADIUS client's sealed secret, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRadiusSecret {
    /// The client's row.
    pub id: i64,
    /// Its name (the secret is bound to it).
    pub name: String,
    /// The sealed secret.
    pub sealed_secret: Vec<u8>,
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
        serial: token.serial.clone(),
        sealed_seed: seed.unwrap_or_else(|| token.sealed_seed.clone()),
        sealed_unlock_secret: unlock.or_else(|| token.sealed_unlock_secret.clone()),
        unlock_generations: generations,
    }))
}

/// The client's secret under `new`, or `None` when it is already.
pub fn reseal_radius_secret(
    either: &dyn SecretCipher,
    new: &dyn SecretCipher,
    client: &SealedRadiusSecret,
) -> Result<Option<SealedRadiusSecret>, UnopenedValue> {
    let secret = reseal_one(
        either,
        new,
        &crate::radius::secret_aad(&client.name),
        &client.sealed_secret,
        || format!("secret of RADIUS client {}", client.name),
    )?;
    Ok(secret.map(|sealed_secret| SealedRadiusSecret {
        sealed_secret,
        ..client.clone()
    }))
}

/// The audit row of one rotation batch (`master_key.rotate`), written in the
/// batch's transaction.
pub fn rotation_event(admin: &Admin, at: i64, subject: &str, detail: String) -> AuditEvent {
    let actor = admin.actor();
    AuditEvent {
        at,
        actor: actor.name.clone(),
        action: "master_key.rotate".into(),
        subject: subject.into(),
        source: actor.source.clone(),
        outcome: "success".into(),
        detail,
    }
}
