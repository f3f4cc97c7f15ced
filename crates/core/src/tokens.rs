//! Tokens: issuing, listing, state changes, lock resets and unlock codes.

use latchkey_oath::{
    ActivationCode, Algorithm, Digits, KeyUri, OtpKind, ResetCode, Secret, Serial, UnlockCode,
    UnlockSecret, reset_code_generation, unlock_code,
};
use zeroize::Zeroizing;

use crate::capability::{Actor, Admin, Helpdesk};
use crate::context::{Latchkey, seed_aad, unlock_aad};
use crate::error::AdminError;
use crate::model::{AuditAction, OtpParams, Outcome, Token, TokenKind, TokenState, User};
use crate::ports::{CipherError, Mail, NewToken, Store, StoreError};

/// A token just issued: what the user needs to activate it.
pub struct IssuedToken {
    /// The serial.
    pub serial: Serial,
    /// The single-use activation code (Latchkey tokens).
    pub activation_code: Option<ActivationCode>,
    /// A key URI for generic apps (TOTP and HOTP tokens).
    pub otpauth_uri: Option<Zeroizing<String>>,
    /// The mail that tells the user a token was added (S49), if they have
    /// an address; the caller sends it.
    pub notice: Option<Mail>,
}

/// What unlock-secret generation `generation` of the token `serial` is
/// sealed bound to: generation 0 (the secret issued with the token) keeps
/// the token's own unlock-secret binding; later ones name their number, so
/// that no generation's sealed value passes for another's.
pub(crate) fn generation_aad(serial: &str, generation: i64) -> String {
    if generation == 0 {
        unlock_aad(serial)
    } else {
        format!("token:{serial}:unlock-secret:{generation}")
    }
}

/// The notice every new token sends its user (S49), saying who issued it:
/// issued, enrolled from an authenticator app, or handed out from the stock.
pub(crate) fn new_token_mail(user: &User, serial: &Serial, by: &str) -> Option<Mail> {
    user.email.as_ref().map(|to| Mail {
        to: to.clone(),
        subject: "A new token was added to your account".into(),
        body: format!(
            "The token {} was added to your account {} by {by}.\n\n\
             If this was not you or your help desk at your request, tell your help desk at\n\
             once.\n",
            serial.grouped(),
            user.username
        ),
    })
}

impl<S: Store> Latchkey<S> {
    /// A soft token's live unlock-secret generations, oldest first, each
    /// with its sealed secret: the newest two of generation 0 (the token's
    /// own, until generation 2 retires it) and the store's later ones.
    pub(crate) async fn live_unlock_generations(
        &self,
        token: &Token,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let Some(first) = &token.sealed_unlock_secret else {
            return Ok(Vec::new());
        };
        let later = self.store.unlock_generations(token.id).await?;
        let mut live = Vec::with_capacity(later.len() + 1);
        if later.last().is_none_or(|g| g.generation <= 1) {
            live.push((0, first.clone()));
        }
        live.extend(later.into_iter().map(|g| (g.generation, g.sealed_secret)));
        let retired = live.len().saturating_sub(2);
        Ok(live.split_off(retired))
    }

    /// Issues a token for a user. Latchkey tokens wait for activation with a
    /// single-use code; TOTP and HOTP tokens for generic apps are active at
    /// once and come with a key URI.
    pub async fn issue_token(
        &self,
        admin: &Admin,
        name: &str,
        kind: TokenKind,
    ) -> Result<IssuedToken, AdminError> {
        self.issue_token_for(admin.actor(), name, kind).await
    }

    /// Issues a token for the user named `name`, recorded as `actor`'s
    /// doing. Capability-free: each caller is a public entry point that
    /// takes the right it needs ([`Latchkey::issue_token`] an [`Admin`],
    /// [`Latchkey::helpdesk_issue_token`] a [`Helpdesk`],
    /// [`Latchkey::portal_issue_token`] a full portal session).
    pub(crate) async fn issue_token_for(
        &self,
        actor: &Actor,
        name: &str,
        kind: TokenKind,
    ) -> Result<IssuedToken, AdminError> {
        let user = self.user_at_first_use(actor, name).await?;
        let (algorithm, digits, period) = match kind {
            TokenKind::Latchkey => (Algorithm::Sha256, Digits::EIGHT, 30),
            TokenKind::Totp => (Algorithm::Sha1, Digits::SIX, 30),
            TokenKind::Hotp => (Algorithm::Sha1, Digits::SIX, 0),
        };
        let secret = Secret::generate(if kind == TokenKind::Latchkey { 32 } else { 20 });
        let now = self.now();
        for _ in 0..5 {
            let serial = Serial::generate();
            let (activation_code, activation_hash, state) = match kind {
                TokenKind::Latchkey => {
                    let code = ActivationCode::generate();
                    let hash = self
                        .cipher
                        .keyed_hash("activation", code.digits().as_bytes())
                        .to_vec();
                    (Some(code), Some(hash), TokenState::New)
                }
                _ => (None, None, TokenState::Active),
            };
            let unlock = (kind == TokenKind::Latchkey).then(UnlockSecret::generate);
            let token = NewToken {
                serial: crate::model::Serial::from(&serial),
                user_id: user.id,
                kind,
                state,
                otp: OtpParams {
                    algorithm,
                    digits,
                    period,
                },
                sealed_seed: self
                    .cipher
                    .seal(&seed_aad(serial.digits()), secret.expose()),
                sealed_unlock_secret: unlock
                    .as_ref()
                    .map(|u| self.cipher.seal(&unlock_aad(serial.digits()), u.expose())),
                activation_hash,
                activation_expires: now + self.policy.activation_ttl as i64,
                created_at: now,
            };
            let event = self.event(
                actor,
                AuditAction::TokenIssue,
                serial.digits(),
                Outcome::Success,
                format!("user={} kind={kind}", user.username),
            );
            match self.store.insert_token(token, event).await {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            let otpauth_uri = match kind {
                TokenKind::Latchkey => None,
                _ => Some(
                    KeyUri {
                        kind: if kind == TokenKind::Totp {
                            OtpKind::Totp { period }
                        } else {
                            OtpKind::Hotp { counter: 0 }
                        },
                        account: user.username.to_string(),
                        issuer: Some(self.policy.issuer.clone()),
                        secret: secret.clone(),
                        algorithm,
                        digits,
                    }
                    .to_uri(),
                ),
            };
            let notice = new_token_mail(&user, &serial, &actor.name);
            return Ok(IssuedToken {
                serial,
                activation_code,
                otpauth_uri,
                notice,
            });
        }
        Err(AdminError::Exists(
            "a serial (five random serials collided)".into(),
        ))
    }

    /// Every token.
    pub async fn list_tokens(
        &self,
        _admin: &Admin,
    ) -> Result<Vec<(Token, Option<User>)>, AdminError> {
        let tokens = self.store.list_tokens().await?;
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let user = self.store.user_by_id(token.user_id).await?;
            out.push((token, user));
        }
        Ok(out)
    }

    /// One token.
    pub async fn show_token(&self, _admin: &Admin, serial: &str) -> Result<Token, AdminError> {
        self.token(serial).await
    }

    /// One token and whose it is.
    pub async fn show_token_with_owner(
        &self,
        _admin: &Admin,
        serial: &str,
    ) -> Result<(Token, Option<User>), AdminError> {
        let token = self.token(serial).await?;
        let owner = self.store.user_by_id(token.user_id).await?;
        Ok((token, owner))
    }

    /// Suspends, resumes or revokes a token.
    pub async fn set_token_state(
        &self,
        admin: &Admin,
        serial: &str,
        state: TokenState,
    ) -> Result<(), AdminError> {
        let token = self.token(serial).await?;
        let allowed = match state {
            TokenState::Suspended => token.state == TokenState::Active,
            TokenState::Active => token.state == TokenState::Suspended,
            TokenState::Revoked => token.state != TokenState::Revoked,
            TokenState::New => false,
        };
        if !allowed {
            return Err(AdminError::StateChangeRefused {
                serial: token.serial.into(),
                state: token.state,
            });
        }
        let action = match state {
            TokenState::Suspended => AuditAction::TokenSuspend,
            TokenState::Active => AuditAction::TokenResume,
            _ => AuditAction::TokenRevoke,
        };
        let event = self.event(admin.actor(), action, &token.serial, Outcome::Success, "");
        self.store.set_token_state(token.id, state, event).await?;
        Ok(())
    }

    /// The help desk brings back a suspended token (one its owner reported
    /// lost and found again): suspended → active only, and only for an
    /// account the help desk reaches (S49). Audited.
    pub async fn helpdesk_resume_token(
        &self,
        helpdesk: &Helpdesk,
        serial: &str,
    ) -> Result<(), AdminError> {
        let token = self.token(serial).await?;
        self.helpdesk_reaches_owner(helpdesk, &token).await?;
        if token.state != TokenState::Suspended {
            return Err(AdminError::StateChangeRefused {
                serial: token.serial.into(),
                state: token.state,
            });
        }
        let event = self.event(
            helpdesk.actor(),
            AuditAction::TokenResume,
            &token.serial,
            Outcome::Success,
            "",
        );
        self.store
            .set_token_state(token.id, TokenState::Active, event)
            .await?;
        Ok(())
    }

    /// Clears a token's failure count and server-side lock (S15).
    pub async fn reset_token(&self, helpdesk: &Helpdesk, serial: &str) -> Result<(), AdminError> {
        let token = self.token(serial).await?;
        self.helpdesk_reaches_owner(helpdesk, &token).await?;
        let event = self.event(
            helpdesk.actor(),
            AuditAction::TokenReset,
            &token.serial,
            Outcome::Success,
            format!("failures={}", token.failures),
        );
        self.store.reset_token(token.id, event).await?;
        Ok(())
    }

    /// HOTP resynchronisation (RFC 4226 §7.4): finds the counter at which
    /// the token makes `first` and then `second`, among the
    /// `hotp_resync_window` counters after the last one accepted, and moves
    /// the token there, so its next code is accepted again. Two consecutive
    /// codes make a chance match about one in 10^(2·digits) per counter,
    /// where one code alone would be one in 10^digits. The move happens
    /// only if no code was accepted past it meanwhile (the store's
    /// `last_used < new` rule); the failure count is cleared, the lock is
    /// not. Audited either way; returns the counter the next code is at.
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial))]
    pub async fn resync_hotp(
        &self,
        helpdesk: &Helpdesk,
        serial: &str,
        first: &str,
        second: &str,
    ) -> Result<u64, AdminError> {
        let token = self.token(serial).await?;
        self.helpdesk_reaches_owner(helpdesk, &token).await?;
        if token.kind != TokenKind::Hotp {
            return Err(AdminError::NotHotp(token.serial.into()));
        }
        if token.state != TokenState::Active {
            return Err(AdminError::StateChangeRefused {
                serial: token.serial.into(),
                state: token.state,
            });
        }
        let window = self.policy.hotp_resync_window;
        let seed = self
            .cipher
            .open(&seed_aad(&token.serial), &token.sealed_seed)?;
        let hotp = token
            .otp
            .generator(Secret::from_bytes(seed.to_vec()))
            .map_err(|_| CipherError)?;
        let start = u64::try_from(token.last_used + 1).unwrap_or(0);
        let last = start + window.saturating_sub(1);
        let mut found = None;
        let mut from = start;
        while from <= last {
            match hotp.find_counter(first, from..=last) {
                Ok(Some(counter)) => {
                    if hotp.find_counter(second, counter + 1..=counter + 1) == Ok(Some(counter + 1))
                    {
                        found = Some(counter + 1);
                        break;
                    }
                    from = counter + 1;
                }
                _ => break,
            }
        }
        let moved = match found {
            Some(second_counter) => {
                let event = self.event(
                    helpdesk.actor(),
                    AuditAction::TokenResync,
                    &token.serial,
                    Outcome::Success,
                    format!("counter {} -> {}", token.last_used, second_counter),
                );
                self.store
                    .resync_counter(token.id, second_counter as i64, event)
                    .await?
            }
            None => false,
        };
        match (found, moved) {
            (Some(second_counter), true) => Ok(second_counter + 1),
            _ => {
                let event = self.event(
                    helpdesk.actor(),
                    AuditAction::TokenResync,
                    &token.serial,
                    Outcome::Failure,
                    format!("no consecutive pair within {window} counters"),
                );
                self.store.append(event).await?;
                Err(AdminError::ResyncNoMatch {
                    serial: token.serial.into(),
                    window,
                })
            }
        }
    }

    /// The unlock code for a soft token showing `reset_code` (the help-desk
    /// path; self-service calls it after the user proved who they are).
    /// Rate-limited per token and audited.
    #[tracing::instrument(level = "debug", skip_all, fields(serial = %serial))]
    pub async fn issue_unlock_code(
        &self,
        helpdesk: &Helpdesk,
        serial: &str,
        reset_code: &str,
    ) -> Result<UnlockCode, AdminError> {
        let token = self.token(serial).await?;
        self.helpdesk_reaches_owner(helpdesk, &token).await?;
        self.issue_unlock_code_for(helpdesk.actor(), serial, reset_code)
            .await
    }

    /// Whether `helpdesk` reaches the owner of `token` (S49).
    async fn helpdesk_reaches_owner(
        &self,
        helpdesk: &Helpdesk,
        token: &Token,
    ) -> Result<(), AdminError> {
        match self.store.user_by_id(token.user_id).await? {
            Some(owner) => helpdesk.reaches(&owner),
            None => Ok(()),
        }
    }

    /// The unlock code, recorded as `actor`'s doing. Capability-free: the
    /// callers are [`Latchkey::issue_unlock_code`] (a [`Helpdesk`]) and
    /// [`Latchkey::portal_unlock`] (the token's owner, signed in).
    pub(crate) async fn issue_unlock_code_for(
        &self,
        actor: &Actor,
        serial: &str,
        reset_code: &str,
    ) -> Result<UnlockCode, AdminError> {
        // The row is found by these digits, so they are the token's serial.
        let parsed: Serial = serial.parse().map_err(AdminError::BadSerial)?;
        let token = self.token(serial).await?;
        let reset: ResetCode = reset_code.parse().map_err(AdminError::BadResetCode)?;
        if token.sealed_unlock_secret.is_none() {
            return Err(AdminError::NotASoftToken(token.serial.into()));
        }
        if token.state != TokenState::Active {
            return Err(AdminError::NotActive {
                serial: token.serial.into(),
                state: token.state,
            });
        }
        let since = self.now() - 24 * 3600;
        if self.store.count_unlock_issues(&token.serial, since).await?
            >= self.policy.unlock_codes_per_day
        {
            self.store
                .append(self.event(
                    actor,
                    AuditAction::UnlockIssue,
                    &token.serial,
                    Outcome::Denied,
                    "rate limit",
                ))
                .await?;
            return Err(AdminError::RateLimited);
        }
        // The reset code names the generation its slot was made from (S45).
        let live = self.live_unlock_generations(&token).await?;
        let numbers: Vec<u64> = live.iter().map(|(g, _)| *g as u64).collect();
        let found = reset_code_generation(&reset, &numbers)
            .and_then(|g| live.iter().find(|(n, _)| *n as u64 == g));
        let Some((generation, sealed)) = found else {
            self.store
                .append(self.event(
                    actor,
                    AuditAction::UnlockIssue,
                    &token.serial,
                    Outcome::Failure,
                    "the reset code's generation is retired",
                ))
                .await?;
            return Err(AdminError::RetiredResetCode);
        };
        let secret = self
            .cipher
            .open(&generation_aad(&token.serial, *generation), sealed)?;
        let secret = UnlockSecret::from_slice(&secret).ok_or(CipherError)?;
        let code = unlock_code(&secret, &parsed, &reset);
        self.store
            .append(self.event(
                actor,
                AuditAction::UnlockIssue,
                &token.serial,
                Outcome::Success,
                format!("generation={generation}"),
            ))
            .await?;
        Ok(code)
    }
}
