//! "Add an authenticator app": a TOTP token for the phone people already
//! carry (Google Authenticator, Microsoft Authenticator, FreeOTP, Aegis),
//! enrolled by the user in self-service and active only once the user has
//! typed one code from the app.
//!
//! The pending enrolment is a token row in state `new`, as a soft token
//! waiting for activation is: its seed sealed, its confirmation window in
//! `activation_expires` ([`ENROLMENT_TTL`] after it was started) and a
//! marker in `activation_hash`, so the store's one `new → active` step
//! ([`crate::ports::TokenStore::activate_token`]) applies and wrong codes are counted
//! and void it at the policy's `activation_attempts`, as for activation
//! codes. The OTP judge ignores tokens that are not active, so a pending
//! enrolment signs nobody in.

use std::fmt;

use latchkey_oath::{Algorithm, Digits, KeyUri, OtpKind, Secret, Serial};
use zeroize::Zeroizing;

use crate::capability::Actor;
use crate::context::{Latchkey, seed_aad};
use crate::model::{AuditAction, OtpParams, Outcome, Token, TokenKind, TokenState, User};
use crate::portal::{FullSession, PortalError};
use crate::ports::{CipherError, Mail, NewToken, Store, StoreError};
use crate::tokens::new_token_mail;

/// Seconds an unconfirmed authenticator-app enrolment waits for its first
/// code: ten minutes, ample to scan a QR code and type one code, short
/// enough that a forgotten one is gone before anyone else could use it.
pub const ENROLMENT_TTL: i64 = 10 * 60;

/// Tokens a user may have waiting (activation or confirmation) at once,
/// the same cap as the self-service soft-token issuance (L4).
const PENDING_TOKENS: usize = 2;

/// An authenticator-app enrolment waiting for its first code: what the
/// page shows. The URI and the secret are secrets (redacted in `Debug`).
pub struct AppEnrolment {
    /// The new token's serial.
    pub serial: Serial,
    /// The `otpauth://totp/…` URI the QR code carries.
    pub otpauth_uri: Zeroizing<String>,
    /// The secret in base32, in groups of four, for typing.
    pub secret_grouped: Zeroizing<String>,
    /// The issuer the app shows.
    pub issuer: String,
    /// The account name the app shows (the user name).
    pub account: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per code.
    pub period: u64,
    /// Until when (Unix seconds) the first code is awaited.
    pub expires_at: i64,
}

impl fmt::Debug for AppEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppEnrolment")
            .field("serial", &self.serial)
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// `text` in groups of four characters, separated by spaces.
fn grouped(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len() + text.len() / 4));
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn field_error(field: &'static str, message: impl Into<String>) -> PortalError {
    PortalError::Field {
        field,
        message: message.into(),
    }
}

fn actor_of(session: &FullSession, source: &str) -> Actor {
    Actor {
        name: session.user().username.to_string(),
        source: source.to_owned(),
    }
}

/// Whether `token` is an authenticator-app enrolment still waiting for
/// its first code at `now`.
fn awaiting_code(token: &Token, now: i64) -> bool {
    token.kind == TokenKind::Totp
        && token.state == TokenState::New
        && token.activation_hash.is_some()
        && token.activation_expires > now
}

impl<S: Store> Latchkey<S> {
    /// Whether starting an enrolment needs a fresh OTP: when the user has
    /// an active token already (L4), so a stolen session alone cannot add
    /// a second factor for its thief.
    pub async fn portal_enrolment_needs_otp(
        &self,
        session: &FullSession,
    ) -> Result<bool, PortalError> {
        Ok(self
            .store
            .tokens_of_user(session.user().id)
            .await?
            .iter()
            .any(|t| t.state == TokenState::Active))
    }

    /// Starts an authenticator-app enrolment for the signed-in user: a
    /// TOTP token (SHA-1, 6 digits, 30 s) waiting for its first code for
    /// [`ENROLMENT_TTL`] seconds. Needs a fresh OTP from a token the user
    /// has (when they have an active one); at most `PENDING_TOKENS` may
    /// wait at once. Unconfirmed enrolments that expired are revoked first
    /// (audited), so they neither count nor linger. Audited.
    #[tracing::instrument(level = "debug", skip_all, fields(source = %source))]
    pub async fn portal_start_app_enrolment(
        &self,
        session: &FullSession,
        otp: &str,
        source: &str,
    ) -> Result<AppEnrolment, PortalError> {
        let actor = actor_of(session, source);
        let user = self
            .store
            .user_by_id(session.user().id)
            .await?
            .ok_or(PortalError::SessionEnded)?;
        let now = self.now();
        let mut tokens = self.store.tokens_of_user(user.id).await?;
        for token in &tokens {
            if token.kind == TokenKind::Totp
                && token.state == TokenState::New
                && !awaiting_code(token, now)
            {
                let event = self.event(
                    &actor,
                    AuditAction::TokenRevoke,
                    &token.serial,
                    Outcome::Success,
                    "authenticator-app enrolment not confirmed in time",
                );
                self.store
                    .set_token_state(token.id, TokenState::Revoked, event)
                    .await?;
            }
        }
        tokens.retain(|t| {
            t.state != TokenState::New || t.kind != TokenKind::Totp || awaiting_code(t, now)
        });
        if tokens.iter().any(|t| t.state == TokenState::Active) {
            let otp = otp.trim();
            if otp.is_empty() {
                return Err(field_error(
                    "otp",
                    "Type the code your current token shows now: adding a token needs one.",
                ));
            }
            if !self.check_own_otp(&user, None, otp, &actor).await?? {
                return Err(field_error(
                    "otp",
                    "The one-time password is not right. Type the code your token shows now.",
                ));
            }
        }
        let pending = tokens.iter().filter(|t| t.state == TokenState::New).count();
        if pending >= PENDING_TOKENS {
            return Err(PortalError::PendingEnrolments { pending });
        }
        let (algorithm, digits, period) = (Algorithm::Sha1, Digits::SIX, 30);
        let secret = Secret::generate(20);
        for _ in 0..5 {
            let serial = Serial::generate();
            let marker = Secret::generate(32);
            let token = NewToken {
                serial: crate::model::Serial::from(&serial),
                user_id: user.id,
                kind: TokenKind::Totp,
                state: TokenState::New,
                otp: OtpParams {
                    algorithm,
                    digits,
                    period,
                },
                sealed_seed: self
                    .cipher
                    .seal(&seed_aad(serial.digits()), secret.expose()),
                sealed_unlock_secret: None,
                activation_hash: Some(
                    self.cipher
                        .keyed_hash("enrolment", marker.expose())
                        .to_vec(),
                ),
                activation_expires: now + ENROLMENT_TTL,
                created_at: now,
            };
            let event = self.event(
                &actor,
                AuditAction::TokenIssue,
                serial.digits(),
                Outcome::Success,
                format!(
                    "user={} kind=totp authenticator app, waiting for its first code",
                    user.username
                ),
            );
            match self.store.insert_token(token, event).await {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            return Ok(self.enrolment_view(&user, serial, secret, now + ENROLMENT_TTL));
        }
        Err(PortalError::NoFreeSerial)
    }

    /// The enrolment the user started and has not confirmed, shown again
    /// (after a wrong code, say).
    pub async fn portal_app_enrolment(
        &self,
        session: &FullSession,
        serial: &str,
    ) -> Result<AppEnrolment, PortalError> {
        let token = self.awaiting_enrolment(session, serial).await?;
        let seed = self
            .cipher
            .open(&seed_aad(&token.serial), &token.sealed_seed)?;
        let serial = token.serial.as_oath().clone();
        Ok(self.enrolment_view(
            session.user(),
            serial,
            Secret::from_bytes(seed.to_vec()),
            token.activation_expires,
        ))
    }

    /// Confirms an enrolment with the first code the app shows: the token
    /// becomes active and the code is spent on the one OTP path (so it
    /// cannot sign in a second time). A wrong code says so and leaves the
    /// token waiting; it is counted, and at the policy's
    /// `activation_attempts` the enrolment is void. Returns the mail that
    /// tells the user a token was added (S49). Audited either way.
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial, source = %source))]
    pub async fn portal_confirm_app_enrolment(
        &self,
        session: &FullSession,
        serial: &str,
        code: &str,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        let actor = actor_of(session, source);
        let token = self.awaiting_enrolment(session, serial).await?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let seed = self
            .cipher
            .open(&seed_aad(&token.serial), &token.sealed_seed)?;
        let hotp = token
            .otp
            .generator(Secret::from_bytes(seed.to_vec()))
            .map_err(|_| CipherError)?;
        if hotp.parse_code(&code).is_err() {
            return Err(field_error(
                "code",
                format!(
                    "Type the {} digits the app shows for {}.",
                    token.otp.digits.get(),
                    self.policy.issuer
                ),
            ));
        }
        let now_step = self.now().max(0) as u64 / token.otp.period.max(1);
        let window = self.policy.totp_window;
        let matched = hotp
            .find_counter(&code, now_step.saturating_sub(window)..=now_step + window)
            .ok()
            .flatten();
        if matched.is_none() {
            let event = self.event(
                &actor,
                AuditAction::TokenActivate,
                &token.serial,
                Outcome::Failure,
                "wrong first code from the authenticator app",
            );
            let limit = self.policy.activation_attempts;
            let count = self
                .store
                .record_activation_failure(token.id, limit, event)
                .await?;
            if count >= limit {
                return Err(PortalError::EnrolmentCancelled);
            }
            return Err(field_error(
                "code",
                "That code is not right, and the app is not added yet. Type the code the app shows now; if it keeps failing, check that the phone's clock is set automatically.",
            ));
        }
        let event = self.event(
            &actor,
            AuditAction::TokenActivate,
            &token.serial,
            Outcome::Success,
            "authenticator app confirmed with its first code",
        );
        if !self.store.activate_token(token.id, event).await? {
            return Err(PortalError::EnrolmentNotWaiting);
        }
        // Spends the code's step on the one OTP path, so the code that
        // confirmed the app cannot also sign in.
        let user = session.user();
        self.check_own_otp(user, Some(token.id), &code, &actor)
            .await??;
        let serial = token.serial.as_oath().clone();
        Ok(new_token_mail(user, &serial, &actor.name))
    }

    /// The user's own enrolment with this serial, still waiting for its
    /// first code.
    async fn awaiting_enrolment(
        &self,
        session: &FullSession,
        serial: &str,
    ) -> Result<Token, PortalError> {
        let wanted: String = serial.chars().filter(char::is_ascii_digit).collect();
        let now = self.now();
        self.store
            .tokens_of_user(session.user().id)
            .await?
            .into_iter()
            .find(|t| t.serial == wanted && awaiting_code(t, now))
            .ok_or(PortalError::EnrolmentGone)
    }

    fn enrolment_view(
        &self,
        user: &User,
        serial: Serial,
        secret: Secret,
        expires_at: i64,
    ) -> AppEnrolment {
        let issuer = self.policy.issuer.clone();
        let account = user.username.to_string();
        let uri = KeyUri {
            kind: OtpKind::Totp { period: 30 },
            account: account.clone(),
            issuer: Some(issuer.clone()),
            secret: secret.clone(),
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
        }
        .to_uri();
        AppEnrolment {
            serial,
            otpauth_uri: uri,
            secret_grouped: grouped(&secret.to_base32()),
            issuer,
            account,
            digits: 6,
            period: 30,
            expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_grouped_by_four() {
        assert_eq!(&*grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        assert_eq!(&*grouped("ABCD"), "ABCD");
        assert_eq!(&*grouped(""), "");
    }
}
