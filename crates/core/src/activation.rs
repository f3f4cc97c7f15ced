//! The soft token's side: activation with a single-use code, and refresh
//! of the unlock secret against a current OTP.

use latchkey_oath::{ActivationCode, Secret, Serial, UnlockSecret};
use subtle::ConstantTimeEq;

use crate::capability::Actor;
use crate::context::{Latchkey, seed_aad, unlock_aad};
use crate::model::{TokenKind, TokenState};
use crate::ports::{CipherError, Store, StoreError};

/// Why an activation was refused. The message is deliberately the same for
/// an unknown serial and a wrong code.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// Unknown serial, wrong, spent, void or expired code.
    #[error(
        "the serial and activation code do not match an activation waiting for you; check both, or ask for a new activation code"
    )]
    Refused,
    /// The input is malformed.
    #[error("{0}")]
    Malformed(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

/// What activation hands to the soft token.
pub struct ActivationGrant {
    /// The token.
    pub serial: Serial,
    /// The account.
    pub label: String,
    /// The issuer.
    pub issuer: String,
    /// Kind.
    pub kind: TokenKind,
    /// Hash name.
    pub algorithm: String,
    /// Digits.
    pub digits: u8,
    /// Period.
    pub period: u64,
    /// The seed.
    pub secret: Secret,
    /// The unlock secret (Latchkey tokens).
    pub unlock_secret: Option<UnlockSecret>,
}

/// Why a refresh was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown serial, wrong code, or a token without unlock secret.
    #[error("the serial and code do not match an active soft token")]
    Refused,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

impl<S: Store> Latchkey<S> {
    /// Trades a serial and activation code for the token's secrets, once.
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial, source = %source))]
    pub async fn activate(
        &self,
        serial: &str,
        code: &str,
        source: &str,
    ) -> Result<ActivationGrant, ActivateError> {
        let actor = Actor::anonymous(source);
        let serial: Serial = serial
            .parse()
            .map_err(|e| ActivateError::Malformed(format!("the serial is not valid: {e}")))?;
        let code: ActivationCode = code.parse().map_err(|e| {
            ActivateError::Malformed(format!("the activation code is not valid: {e}"))
        })?;
        let given = self
            .cipher
            .keyed_hash("activation", code.digits().as_bytes());
        let Some(token) = self.store.token_by_serial(serial.digits()).await? else {
            self.store
                .append(self.event(
                    &actor,
                    "token.activate",
                    serial.digits(),
                    "failure",
                    "unknown serial",
                ))
                .await?;
            return Err(ActivateError::Refused);
        };
        let usable = token.state == TokenState::New && token.activation_expires > self.now();
        let matches = token
            .activation_hash
            .as_deref()
            .is_some_and(|stored| bool::from(stored.ct_eq(&given[..])));
        if !(usable && matches) {
            let event = self.event(
                &actor,
                "token.activate",
                &token.serial,
                "failure",
                "wrong, spent or expired code",
            );
            if token.activation_hash.is_some() {
                self.store
                    .record_activation_failure(token.id, self.policy.activation_attempts, event)
                    .await?;
            } else {
                self.store.append(event).await?;
            }
            return Err(ActivateError::Refused);
        }
        let event = self.event(&actor, "token.activate", &token.serial, "success", "");
        if !self.store.activate_token(token.id, event).await? {
            return Err(ActivateError::Refused);
        }
        let user = self.store.user_by_id(token.user_id).await?;
        let secret = Secret::from_bytes(
            self.cipher
                .open(&seed_aad(&token.serial), &token.sealed_seed)?
                .to_vec(),
        );
        let unlock_secret = match &token.sealed_unlock_secret {
            Some(sealed) => Some(
                UnlockSecret::from_slice(&self.cipher.open(&unlock_aad(&token.serial), sealed)?)
                    .ok_or(CipherError)?,
            ),
            None => None,
        };
        Ok(ActivationGrant {
            serial,
            label: user.map(|u| u.username.to_string()).unwrap_or_default(),
            issuer: self.policy.issuer.clone(),
            kind: token.kind,
            algorithm: token.algorithm.clone(),
            digits: token.digits,
            period: token.period,
            secret,
            unlock_secret,
        })
    }

    /// Gives an active soft token its unlock secret again, against a current
    /// OTP. Anyone who knows a serial may call it, so its failures do not
    /// count toward the token's lock (S46): they have a throttle of their
    /// own, per serial whether it exists or not, and are audited alike.
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial, source = %source))]
    pub async fn refresh(
        &self,
        serial: &str,
        otp: &str,
        source: &str,
    ) -> Result<UnlockSecret, RefreshError> {
        let actor = Actor::anonymous(source);
        let Ok(serial) = serial.parse::<Serial>() else {
            return Err(RefreshError::Refused);
        };
        let subject = serial.digits();
        let now = self.now();
        let failed = self
            .store
            .count_refresh_failures(subject, now - 3600)
            .await?;
        if failed >= self.policy.refresh_failures_per_hour {
            self.store
                .append(self.event(
                    &actor,
                    "token.refresh",
                    subject,
                    "denied",
                    "too many failed refreshes this hour",
                ))
                .await?;
            return Err(RefreshError::Refused);
        }
        let refuse = |detail: &str| self.event(&actor, "token.refresh", subject, "failure", detail);
        let token = self.store.token_by_serial(subject).await?;
        let Some(token) = token.filter(|t| t.sealed_unlock_secret.is_some()) else {
            self.store
                .append(refuse("unknown serial or not a soft token"))
                .await?;
            return Err(RefreshError::Refused);
        };
        // The owner is read only to name the tokens the store's one OTP
        // transaction locks; the token is judged as that transaction reads it.
        let Some(owner) = self.store.user_by_id(token.user_id).await? else {
            self.store.append(refuse("no owner")).await?;
            return Err(RefreshError::Refused);
        };
        // A seed that will not open refuses, as a wrong code does.
        let ok = self
            .check_own_otp_counting(&owner, Some(token.id), otp, &actor, false)
            .await?
            .unwrap_or(false);
        if !ok {
            self.store.append(refuse("wrong code")).await?;
            return Err(RefreshError::Refused);
        }
        self.store
            .append(self.event(&actor, "token.refresh", &token.serial, "success", ""))
            .await?;
        let sealed = token.sealed_unlock_secret.clone().unwrap_or_default();
        let secret = self.cipher.open(&unlock_aad(&token.serial), &sealed)?;
        UnlockSecret::from_slice(&secret).ok_or(RefreshError::Refused)
    }
}
