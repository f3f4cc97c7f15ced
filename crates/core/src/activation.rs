//! The soft token's side: activation with a single-use code, and refresh
//! against a current OTP, which makes a new unlock-secret generation and
//! hands it out once (S45).

use latchkey_oath::{ActivationCode, Secret, Serial, UnlockSecret};
use subtle::ConstantTimeEq;

use crate::capability::Actor;
use crate::context::{Latchkey, seed_aad, unlock_aad};
use crate::generations::UnlockGeneration;
use crate::model::{AuditAction, OtpParams, Outcome, TokenKind, TokenState, User};
use crate::ports::{CipherError, Mail, Store, StoreError};
use crate::tokens::generation_aad;

/// Successful refreshes a token may have in a day (S45): each makes a new
/// unlock-secret generation and mails the owner.
pub const REFRESHES_PER_DAY: i64 = 3;

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
    /// How it makes its codes.
    pub otp: OtpParams,
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
    /// The token had its day's refreshes (S45); only a right code hears it.
    #[error(
        "this token's unlock slots were refreshed too often today; try again tomorrow, or ask your help desk"
    )]
    RateLimited,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

/// What a refresh hands to the soft token: a new unlock secret, given out
/// this once, and the generation it is (the token's new reset codes name
/// it).
pub struct Refreshed {
    /// The new generation's number.
    pub generation: u64,
    /// Its unlock secret.
    pub unlock_secret: UnlockSecret,
    /// The mail that tells the owner (if they have an address); the caller
    /// sends it.
    pub notice: Option<Mail>,
}

/// The notice a refresh sends the token's owner (S45).
fn refresh_mail(user: &User, serial: &Serial, source: &str) -> Option<Mail> {
    user.email.as_ref().map(|to| Mail {
        to: to.clone(),
        subject: "New unlock slots were made for your token".into(),
        body: format!(
            "A new set of unlock slots was made for your token {} (account {}),\n\
             asked for from {source} with a code the token showed.\n\n\
             If this was not you refreshing your token, someone may have seen one of its\n\
             codes: tell your help desk at once.\n",
            serial.grouped(),
            user.username
        ),
    })
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
                    AuditAction::TokenActivate,
                    serial.digits(),
                    Outcome::Failure,
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
                AuditAction::TokenActivate,
                &token.serial,
                Outcome::Failure,
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
        let event = self.event(
            &actor,
            AuditAction::TokenActivate,
            &token.serial,
            Outcome::Success,
            "",
        );
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
            otp: token.otp,
            secret,
            unlock_secret,
        })
    }

    /// Makes a new unlock-secret generation for an active soft token,
    /// against a current OTP, and hands its secret out this once (S45): no
    /// existing secret is ever returned, so a copied vault's slots stay
    /// closed whatever a thief phishes. The newest two generations stay
    /// live; older ones are retired. Anyone who knows a serial may call it,
    /// so its failures do not count toward the token's lock (S46): they have
    /// a throttle of their own, per serial whether it exists or not, and are
    /// audited alike. Successes are limited per day, audited and mailed.
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial, source = %source))]
    pub async fn refresh(
        &self,
        serial: &str,
        otp: &str,
        source: &str,
    ) -> Result<Refreshed, RefreshError> {
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
                    AuditAction::TokenRefresh,
                    subject,
                    Outcome::Denied,
                    "too many failed refreshes this hour",
                ))
                .await?;
            return Err(RefreshError::Refused);
        }
        let refuse = |detail: &str| {
            self.event(
                &actor,
                AuditAction::TokenRefresh,
                subject,
                Outcome::Failure,
                detail,
            )
        };
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
        if self
            .store
            .count_refreshes(&token.serial, now - 24 * 3600)
            .await?
            >= REFRESHES_PER_DAY
        {
            self.store
                .append(self.event(
                    &actor,
                    AuditAction::TokenRefresh,
                    &token.serial,
                    Outcome::Denied,
                    "too many refreshes today",
                ))
                .await?;
            return Err(RefreshError::RateLimited);
        }
        let live = self.live_unlock_generations(&token).await?;
        let newest = live.last().map_or(0, |(g, _)| *g);
        let generation = newest + 1;
        let unlock_secret = UnlockSecret::generate();
        let sealed_secret = self.cipher.seal(
            &generation_aad(&token.serial, generation),
            unlock_secret.expose(),
        );
        // Generation 0 retires when generation 2 is made: its secret, kept
        // in the token's row, is overwritten with one nobody ever holds.
        let legacy = (generation == 2).then(|| {
            self.cipher.seal(
                &unlock_aad(&token.serial),
                UnlockSecret::generate().expose(),
            )
        });
        let event = self.event(
            &actor,
            AuditAction::TokenRefresh,
            &token.serial,
            Outcome::Success,
            format!("generation={generation}"),
        );
        let added = self
            .store
            .add_unlock_generation(
                token.id,
                UnlockGeneration {
                    generation,
                    sealed_secret,
                    created_at: now,
                },
                generation - 1,
                legacy,
                event,
            )
            .await;
        match added {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                self.store
                    .append(refuse("another refresh made this generation first"))
                    .await?;
                return Err(RefreshError::Refused);
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Refreshed {
            generation: generation as u64,
            unlock_secret,
            notice: refresh_mail(&owner, &serial, source),
        })
    }
}
