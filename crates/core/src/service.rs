//! The domain operations. HTTP handlers and the admin CLI call these and
//! nothing below them.

use std::sync::Arc;

use latchkey_oath::{
    ActivationCode, Algorithm, Digits, Hotp, KeyUri, OtpKind, ResetCode, Secret, Serial,
    UnlockCode, UnlockSecret, unlock_code,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::audit::{ChainError, verify_chain};
use crate::model::*;
use crate::ports::*;

/// The rules an organisation can tune.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Consecutive OTP failures that lock a token on the server.
    pub otp_failure_limit: u32,
    /// TOTP steps accepted either side of now.
    pub totp_window: u64,
    /// HOTP counters tried ahead of the expected one.
    pub hotp_look_ahead: u64,
    /// HOTP counters searched for a resynchronisation.
    pub hotp_resync_window: u64,
    /// Seconds an activation code stays valid.
    pub activation_ttl: u64,
    /// Wrong activation codes before the code is void.
    pub activation_attempts: u32,
    /// Unlock codes issued per token per day.
    pub unlock_codes_per_day: i64,
    /// Wrong PINs that lock a soft token.
    pub pin_max_failures: u32,
    /// Fewest digits in a soft token PIN.
    pub pin_min_length: usize,
    /// Unlock slots a soft token makes.
    pub unlock_slots: usize,
    /// Issuer shown in authenticator apps.
    pub issuer: String,
    /// How wrong passwords slow an account down.
    pub password_throttle: Throttle,
    /// Sessions, security questions and recovery links.
    pub portal: crate::portal::PortalPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            otp_failure_limit: 10,
            totp_window: 1,
            hotp_look_ahead: 10,
            hotp_resync_window: 100,
            activation_ttl: 7 * 24 * 3600,
            activation_attempts: 5,
            unlock_codes_per_day: 5,
            pin_max_failures: 5,
            pin_min_length: 6,
            unlock_slots: 10,
            issuer: "Latchkey".into(),
            password_throttle: Throttle::default(),
            portal: crate::portal::PortalPolicy::default(),
        }
    }
}

/// Who is acting and from where, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// A user name, `api:NAME` or `cli`.
    pub name: String,
    /// A client address or `cli`.
    pub source: String,
}

impl Actor {
    /// An anonymous caller from `source`.
    pub fn anonymous(source: impl Into<String>) -> Self {
        Actor {
            name: "anonymous".into(),
            source: source.into(),
        }
    }
}

/// The capability to administer: obtained only from the operator's CLI or
/// a verified admin API key, never by a flag check in a handler.
#[derive(Debug, Clone)]
pub struct Admin(pub(crate) Actor);

/// The capability to help users (unlock codes, lock resets): admins have it too.
#[derive(Debug, Clone)]
pub struct Helpdesk(pub(crate) Actor);

impl Admin {
    /// The operator at the server's own command line, who has the database.
    pub fn operator_at_cli() -> Self {
        Admin(Actor {
            name: "cli".into(),
            source: "cli".into(),
        })
    }
    /// Help-desk rights follow from admin rights.
    pub fn helpdesk(&self) -> Helpdesk {
        Helpdesk(self.0.clone())
    }
    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.0
    }
}

/// A verified API key.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    /// The key's name.
    pub name: String,
    /// What it may call.
    pub role: ApiRole,
    source: String,
}

impl ApiPrincipal {
    /// Admin rights, if the key has the admin role.
    pub fn admin(&self) -> Option<Admin> {
        (self.role == ApiRole::Admin).then(|| Admin(self.actor()))
    }
    /// The audit actor for this key.
    pub fn actor(&self) -> Actor {
        Actor {
            name: format!("api:{}", self.name),
            source: self.source.clone(),
        }
    }
}

/// An operation failed for a reason the caller should hear.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such user.
    #[error("no user named {0}")]
    NoSuchUser(String),
    /// No such token.
    #[error("no token with serial {0}")]
    NoSuchToken(String),
    /// No such API key.
    #[error("no API key named {0}")]
    NoSuchKey(String),
    /// No such security question.
    #[error("no security question {0}")]
    NoSuchQuestion(i64),
    /// The name is taken.
    #[error("{0} exists already")]
    Exists(String),
    /// A value is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Not possible in the token's state.
    #[error("{0}")]
    WrongState(String),
    /// Too many unlock codes for this token today.
    #[error(
        "too many unlock codes were issued for this token today; try again tomorrow or reset the token"
    )]
    RateLimited,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

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

/// A token just issued: what the user needs to activate it.
pub struct IssuedToken {
    /// The serial.
    pub serial: Serial,
    /// The single-use activation code (Latchkey tokens).
    pub activation_code: Option<ActivationCode>,
    /// A key URI for generic apps (TOTP and HOTP tokens).
    pub otpauth_uri: Option<Zeroizing<String>>,
}

/// The answer to an authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Everything matched.
    Accept,
    /// Something did not; the caller learns nothing more.
    Reject,
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

fn seed_aad(serial: &str) -> String {
    format!("token:{serial}:seed")
}

fn unlock_aad(serial: &str) -> String {
    format!("token:{serial}:unlock-secret")
}

/// The public part of an API key (`lk_PREFIX_SECRET`), which finds its row.
fn api_key_prefix(key: &str) -> Option<&str> {
    key.strip_prefix("lk_")
        .and_then(|rest| rest.split('_').next())
}

/// The caller `key` proves to be, if `stored` (found by its prefix) is that
/// key and not revoked (S43). The hash is compared in constant time.
fn principal_of(stored: &ApiKey, key: &str, source: &str) -> Option<ApiPrincipal> {
    let hash = Sha256::digest(key.as_bytes());
    (!stored.revoked && bool::from(stored.hash.ct_eq(&hash[..]))).then(|| ApiPrincipal {
        name: stored.name.clone(),
        role: stored.role,
        source: source.into(),
    })
}

/// Why an OTP check in the store's transaction recorded nothing.
enum OtpCheckError {
    /// The caller's API key is not valid.
    BadKey,
    /// A stored secret would not open.
    Cipher(CipherError),
}

/// Judges OTPs against stored token rows, with no I/O, so that the
/// judgement can run wherever the rows are: inside the store's transaction
/// that read them ([`TokenStore::check_user_otp`]), or between separate
/// store calls.
struct OtpJudge {
    cipher: Arc<dyn SecretCipher>,
    policy: Arc<Policy>,
    /// The server's clock when the check began (S09).
    now: u64,
    actor: Actor,
}

impl OtpJudge {
    fn event(&self, action: &str, subject: &str, outcome: &str, detail: String) -> AuditEvent {
        AuditEvent {
            at: self.now as i64,
            actor: self.actor.name.clone(),
            action: action.into(),
            subject: subject.into(),
            source: self.actor.source.clone(),
            outcome: outcome.into(),
            detail,
        }
    }

    fn generator(&self, token: &Token) -> Result<Hotp, CipherError> {
        let seed = self
            .cipher
            .open(&seed_aad(&token.serial), &token.sealed_seed)?;
        let algorithm: Algorithm = token.algorithm.parse().map_err(|_| CipherError)?;
        let digits = Digits::new(token.digits).map_err(|_| CipherError)?;
        Hotp::new(Secret::from_bytes(seed.to_vec()), algorithm, digits).map_err(|_| CipherError)
    }

    /// A counted failure: the token locks at the limit (S12).
    fn failure(&self, token: &Token, detail: &str) -> OtpStep {
        OtpStep::Fail {
            token_id: token.id,
            limit: self.policy.otp_failure_limit,
            event: self.event("otp.verify", &token.serial, "failure", detail.to_owned()),
            lock_event: self.event(
                "token.lock",
                &token.serial,
                "success",
                format!("after {} failures", self.policy.otp_failure_limit),
            ),
        }
    }

    /// What `otp` means for one token: nothing for a token that is not
    /// active; a refusal for a locked one; an acceptance of a step or
    /// counter after the last accepted one (S04, S06–S08); a counted
    /// failure for a replay (audited, S05) or a wrong code.
    fn token_steps(&self, token: &Token, otp: &str) -> Result<Vec<OtpStep>, CipherError> {
        if token.state != TokenState::Active {
            return Ok(Vec::new());
        }
        let hotp = self.generator(token)?;
        if token.locked {
            return Ok(vec![OtpStep::Record(self.event(
                "otp.verify",
                &token.serial,
                "denied",
                "token locked".into(),
            ))]);
        }
        // The window of steps (TOTP) or counters (HOTP) a code may match,
        // split at the last accepted one: a match after it is a candidate
        // for acceptance, a match at or before it is a replay. The fresh
        // part is tried first, so a code that happens to equal a spent one
        // as well (one chance in 10^digits per counter) is still accepted.
        let (lowest, highest, now_step) = if token.kind == TokenKind::Hotp {
            let next = (token.last_used + 1) as u64;
            (
                next.saturating_sub(self.policy.hotp_look_ahead),
                next + self.policy.hotp_look_ahead,
                None,
            )
        } else {
            let period = token.period.max(1);
            let now_step = (self.now / period) as i64;
            let centre = (now_step + token.drift).max(0) as u64;
            let window = self.policy.totp_window;
            (
                centre.saturating_sub(window),
                centre + window,
                Some(now_step),
            )
        };
        let first_fresh = lowest.max((token.last_used + 1) as u64);
        let fresh = if first_fresh <= highest {
            hotp.find_counter(otp, first_fresh..=highest).ok().flatten()
        } else {
            None
        };
        let matched = match fresh {
            Some(step) => Some(step),
            None if first_fresh > lowest => hotp
                .find_counter(otp, lowest..=(first_fresh - 1).min(highest))
                .ok()
                .flatten(),
            None => None,
        };
        let drift = match (matched, now_step) {
            (Some(step), Some(now_step)) => step as i64 - now_step,
            _ => token.drift,
        };
        Ok(vec![match matched {
            Some(used) if (used as i64) > token.last_used => OtpStep::Accept {
                token_id: token.id,
                used: used as i64,
                drift,
                event: self.event("otp.verify", &token.serial, "success", String::new()),
                lost: Box::new(self.failure(token, "replay")),
            },
            Some(_) => self.failure(token, "replay"),
            None => self.failure(token, "wrong code"),
        }])
    }

    /// What `otp` means for the user named `name` (found as `user`, with
    /// `tokens`): each active token is tried in turn until one accepts it.
    /// Unknown users, disabled users and users without an active token are
    /// refused, and the refusal recorded.
    fn user_steps(
        &self,
        name: &str,
        user: Option<&User>,
        tokens: &[Token],
        otp: &str,
    ) -> Result<Vec<OtpStep>, CipherError> {
        let refuse = |outcome: &str, detail: &str| {
            Ok(vec![OtpStep::Record(self.event(
                "authenticate",
                name,
                outcome,
                detail.into(),
            ))])
        };
        let Some(user) = user else {
            return refuse("failure", "unknown user");
        };
        if user.status != UserStatus::Active {
            return refuse("denied", "user disabled");
        }
        let mut active = tokens
            .iter()
            .filter(|t| t.state == TokenState::Active)
            .peekable();
        if active.peek().is_none() {
            return refuse("failure", "no active token");
        }
        let mut steps = Vec::new();
        for token in active {
            steps.extend(self.token_steps(token, otp)?);
            if matches!(steps.last(), Some(OtpStep::Accept { .. })) {
                break;
            }
        }
        Ok(steps)
    }
}

/// The Latchkey domain over a store.
#[derive(Clone)]
pub struct Latchkey<S: Store> {
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cipher: Arc<dyn SecretCipher>,
    pub(crate) hasher: Arc<dyn PasswordHasher>,
    pub(crate) policy: Arc<Policy>,
}

impl<S: Store> Latchkey<S> {
    /// Puts the domain together.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        cipher: Arc<dyn SecretCipher>,
        hasher: Arc<dyn PasswordHasher>,
        policy: Policy,
    ) -> Self {
        Latchkey {
            store,
            clock,
            cipher,
            hasher,
            policy: Arc::new(policy),
        }
    }

    /// The store (for read-only listings).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now() as i64
    }

    pub(crate) fn event(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        outcome: &str,
        detail: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor: actor.name.clone(),
            action: action.into(),
            subject: subject.into(),
            source: actor.source.clone(),
            outcome: outcome.into(),
            detail: detail.into(),
        }
    }

    pub(crate) async fn user(&self, name: &str) -> Result<User, AdminError> {
        let username: Username = name
            .parse()
            .map_err(|e: UsernameError| AdminError::Invalid(e.to_string()))?;
        self.store
            .user_by_name(&username)
            .await?
            .ok_or_else(|| AdminError::NoSuchUser(username.to_string()))
    }

    pub(crate) async fn token(&self, serial: &str) -> Result<Token, AdminError> {
        let serial: Serial = serial
            .parse()
            .map_err(|e| AdminError::Invalid(format!("the serial is not valid: {e}")))?;
        self.store
            .token_by_serial(serial.digits())
            .await?
            .ok_or_else(|| AdminError::NoSuchToken(serial.to_string()))
    }

    // ----- users -----

    /// Adds a user.
    pub async fn add_user(
        &self,
        admin: &Admin,
        name: &str,
        email: Option<String>,
        role: Role,
        password: Option<Zeroizing<String>>,
    ) -> Result<User, AdminError> {
        let username: Username = name
            .parse()
            .map_err(|e: UsernameError| AdminError::Invalid(e.to_string()))?;
        let password_hash = match password {
            Some(password) => {
                check_password(&password, &username)?;
                Some(self.hasher.hash(password).await)
            }
            None => None,
        };
        let event = self.event(
            admin.actor(),
            "user.add",
            username.as_str(),
            "success",
            format!("role={role}"),
        );
        let new = NewUser {
            username: username.clone(),
            email,
            role,
            password_hash,
        };
        match self.store.insert_user(new, event).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AdminError::Exists(format!("a user named {username}")));
            }
            Err(e) => return Err(e.into()),
        }
        self.user(username.as_str()).await
    }

    /// Enables or disables a user.
    pub async fn set_user_status(
        &self,
        admin: &Admin,
        name: &str,
        status: UserStatus,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        let action = if status == UserStatus::Active {
            "user.enable"
        } else {
            "user.disable"
        };
        let event = self.event(admin.actor(), action, user.username.as_str(), "success", "");
        self.store.set_user_status(user.id, status, event).await?;
        Ok(())
    }

    /// Sets a new password.
    pub async fn reset_password(
        &self,
        admin: &Admin,
        name: &str,
        password: Zeroizing<String>,
    ) -> Result<(), AdminError> {
        let user = self.user(name).await?;
        check_password(&password, &user.username)?;
        let hash = self.hasher.hash(password).await;
        let event = self.event(
            admin.actor(),
            "user.password-reset",
            user.username.as_str(),
            "success",
            "",
        );
        self.store.set_password_hash(user.id, hash, event).await?;
        Ok(())
    }

    /// One user.
    pub async fn show_user(
        &self,
        _admin: &Admin,
        name: &str,
    ) -> Result<(User, Vec<Token>), AdminError> {
        let user = self.user(name).await?;
        let tokens = self.store.tokens_of_user(user.id).await?;
        Ok((user, tokens))
    }

    // ----- tokens -----

    /// Issues a token for a user. Latchkey tokens wait for activation with a
    /// single-use code; TOTP and HOTP tokens for generic apps are active at
    /// once and come with a key URI.
    pub async fn issue_token(
        &self,
        admin: &Admin,
        name: &str,
        kind: TokenKind,
    ) -> Result<IssuedToken, AdminError> {
        let user = self.user(name).await?;
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
                serial: serial.digits().to_owned(),
                user_id: user.id,
                kind,
                state,
                algorithm: algorithm.name().to_owned(),
                digits: digits.get(),
                period,
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
                admin.actor(),
                "token.issue",
                serial.digits(),
                "success",
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
            return Ok(IssuedToken {
                serial,
                activation_code,
                otpauth_uri,
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
            return Err(AdminError::WrongState(format!(
                "token {} is {}; that change is not possible",
                token.serial, token.state
            )));
        }
        let action = match state {
            TokenState::Suspended => "token.suspend",
            TokenState::Active => "token.resume",
            _ => "token.revoke",
        };
        let event = self.event(admin.actor(), action, &token.serial, "success", "");
        self.store.set_token_state(token.id, state, event).await?;
        Ok(())
    }

    /// Clears a token's failure count and server-side lock (S15).
    pub async fn reset_token(&self, helpdesk: &Helpdesk, serial: &str) -> Result<(), AdminError> {
        let token = self.token(serial).await?;
        let event = self.event(
            &helpdesk.0,
            "token.reset",
            &token.serial,
            "success",
            format!("failures={}", token.failures),
        );
        self.store.reset_token(token.id, event).await?;
        Ok(())
    }

    /// The unlock code for a soft token showing `reset_code` (the help-desk
    /// path; self-service calls it after the user proved who they are).
    /// Rate-limited per token and audited.
    pub async fn issue_unlock_code(
        &self,
        helpdesk: &Helpdesk,
        serial: &str,
        reset_code: &str,
    ) -> Result<UnlockCode, AdminError> {
        let token = self.token(serial).await?;
        let reset: ResetCode = reset_code
            .parse()
            .map_err(|e| AdminError::Invalid(format!("the PIN Reset Code is not valid: {e}")))?;
        let Some(sealed) = &token.sealed_unlock_secret else {
            return Err(AdminError::WrongState(format!(
                "token {} is not a Latchkey soft token and has no unlock codes",
                token.serial
            )));
        };
        if token.state != TokenState::Active {
            return Err(AdminError::WrongState(format!(
                "token {} is {}; only an active token can be unlocked",
                token.serial, token.state
            )));
        }
        let since = self.now() - 24 * 3600;
        if self.store.count_unlock_issues(&token.serial, since).await?
            >= self.policy.unlock_codes_per_day
        {
            self.store
                .append(self.event(
                    &helpdesk.0,
                    "unlock.issue",
                    &token.serial,
                    "denied",
                    "rate limit",
                ))
                .await?;
            return Err(AdminError::RateLimited);
        }
        let secret = self.cipher.open(&unlock_aad(&token.serial), sealed)?;
        let secret = UnlockSecret::from_slice(&secret).ok_or(CipherError)?;
        let serial: Serial = token
            .serial
            .parse()
            .map_err(|_| AdminError::Invalid("stored serial".into()))?;
        let code = unlock_code(&secret, &serial, &reset);
        self.store
            .append(self.event(&helpdesk.0, "unlock.issue", &token.serial, "success", ""))
            .await?;
        Ok(code)
    }

    /// Trades a serial and activation code for the token's secrets, once.
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

    /// The judge of OTPs for `actor` at this moment.
    fn otp_judge(&self, actor: &Actor) -> OtpJudge {
        OtpJudge {
            cipher: Arc::clone(&self.cipher),
            policy: Arc::clone(&self.policy),
            now: self.clock.now(),
            actor: actor.clone(),
        }
    }

    /// Checks an OTP against one token: accepts it at most once (S04),
    /// counts failures and locks at the limit (S12–S14), audits a replay (S05).
    pub(crate) async fn check_otp(
        &self,
        token: &Token,
        otp: &str,
        actor: &Actor,
    ) -> Result<bool, AdminError> {
        let steps = self.otp_judge(actor).token_steps(token, otp)?;
        let mut accepted = false;
        for step in steps {
            accepted |= self.record_otp_step(step).await?;
        }
        Ok(accepted)
    }

    /// Records one step through the store's separate calls; whether it
    /// was an acceptance that applied.
    async fn record_otp_step(&self, step: OtpStep) -> Result<bool, AdminError> {
        match step {
            OtpStep::Record(event) => self.store.append(event).await?,
            OtpStep::Fail {
                token_id,
                limit,
                event,
                lock_event,
            } => {
                self.store
                    .record_otp_failure(token_id, limit, event, lock_event)
                    .await?;
            }
            OtpStep::Accept {
                token_id,
                used,
                drift,
                event,
                lost,
            } => {
                if self.store.accept_otp(token_id, used, drift, event).await? {
                    return Ok(true);
                }
                // Another request accepted this OTP (or a later one) first.
                Box::pin(self.record_otp_step(*lost)).await?;
            }
        }
        Ok(false)
    }

    /// The first factor: the password, under the S16 throttle. Unknown users
    /// cost a hash too, so timing says nothing; every outcome is audited.
    /// `clear` says whether a right password ends the run of failures; the
    /// portal clears only after the second factor or the questions, so that
    /// someone who has the password cannot reset the count of wrong answers
    /// by signing in again.
    pub(crate) async fn check_password_factor(
        &self,
        actor: &Actor,
        name: &Username,
        user: Option<&User>,
        password: Zeroizing<String>,
        clear: bool,
    ) -> Result<bool, AdminError> {
        let ok = self
            .hasher
            .verify(password, user.and_then(|u| u.password_hash.clone()))
            .await;
        // S16: after a run of wrong passwords the account waits; while it
        // waits no password is accepted and none is counted, so a
        // stranger's flood delays the owner by the throttle's maximum at
        // most. The hash is still checked, so timing says nothing.
        let now = self.now();
        match user {
            Some(u) if u.password_blocked_until > now => {
                let detail = format!("throttled for {} s more", u.password_blocked_until - now);
                self.store
                    .append(self.event(actor, "password.verify", name.as_str(), "denied", detail))
                    .await?;
                Ok(false)
            }
            Some(u) if !ok => {
                let event = self.event(actor, "password.verify", name.as_str(), "failure", "");
                self.store
                    .record_password_failure(u.id, now, self.policy.password_throttle, event)
                    .await?;
                Ok(false)
            }
            Some(u) => {
                if clear && u.password_failures > 0 {
                    self.store.clear_password_failures(u.id).await?;
                }
                Ok(true)
            }
            None => {
                self.store
                    .append(self.event(actor, "password.verify", name.as_str(), "failure", ""))
                    .await?;
                Ok(false)
            }
        }
    }

    /// Authenticates a user for a relying application that called with the
    /// API key `key` from `source`: the password (when given) and an OTP from
    /// one of the user's active tokens. Unknown users, wrong passwords, wrong
    /// OTPs and locked tokens all give the same answer. `None` if the key is
    /// not valid (malformed, unknown or revoked): then nothing was checked.
    pub async fn authenticate(
        &self,
        key: &str,
        source: &str,
        username: &str,
        password: Option<Zeroizing<String>>,
        otp: &str,
    ) -> Result<Option<Decision>, AdminError> {
        let Some(prefix) = api_key_prefix(key) else {
            return Ok(None);
        };
        let name = username.parse::<Username>().ok();
        if password.is_some() || name.is_none() {
            // A password's failures count against the account (S16), so
            // only a valid caller may make them: the key is checked first,
            // on its own. (The common case, an OTP alone, checks it in the
            // OTP's own trip below.)
            let Some(caller) = self.authorize_api_key(key, source).await? else {
                return Ok(None);
            };
            let Some(name) = &name else {
                if let Some(password) = password {
                    self.hasher.verify(password, None).await;
                }
                return Ok(Some(Decision::Reject));
            };
            if let Some(password) = password {
                let user = self.store.user_by_name(name).await?;
                if !self
                    .check_password_factor(&caller.actor(), name, user.as_ref(), password, true)
                    .await?
                {
                    return Ok(Some(Decision::Reject));
                }
            }
        }
        let Some(name) = name else {
            return Ok(Some(Decision::Reject));
        };
        // The caller's key, the user, the tokens, the verdict and its record
        // in one trip to the database, in one transaction: a key revoked
        // before it is refused, and no other change to these tokens comes
        // between the read and the record.
        let mut judge = self.otp_judge(&Actor::anonymous(source));
        let key = Zeroizing::new(key.to_owned());
        let source = source.to_owned();
        let otp = Zeroizing::new(otp.to_owned());
        let subject = name.as_str().to_owned();
        let checked = self
            .store
            .check_user_otp(Some(prefix), &name, move |stored, user, tokens| {
                let caller = stored
                    .and_then(|stored| principal_of(stored, &key, &source))
                    .ok_or(OtpCheckError::BadKey)?;
                judge.actor = caller.actor();
                judge
                    .user_steps(&subject, user, tokens, &otp)
                    .map_err(OtpCheckError::Cipher)
            })
            .await?;
        match checked {
            Ok(true) => Ok(Some(Decision::Accept)),
            Ok(false) => Ok(Some(Decision::Reject)),
            Err(OtpCheckError::BadKey) => Ok(None),
            Err(OtpCheckError::Cipher(error)) => Err(error.into()),
        }
    }

    /// Gives an active soft token its unlock secret again, against a current OTP.
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
        let Some(token) = self.store.token_by_serial(serial.digits()).await? else {
            return Err(RefreshError::Refused);
        };
        let Some(sealed) = token.sealed_unlock_secret.clone() else {
            return Err(RefreshError::Refused);
        };
        let ok = self
            .check_otp(&token, otp, &actor)
            .await
            .map_err(|e| match e {
                AdminError::Store(s) => RefreshError::Store(s),
                _ => RefreshError::Refused,
            })?;
        if !ok {
            return Err(RefreshError::Refused);
        }
        self.store
            .append(self.event(&actor, "token.refresh", &token.serial, "success", ""))
            .await?;
        let secret = self.cipher.open(&unlock_aad(&token.serial), &sealed)?;
        UnlockSecret::from_slice(&secret).ok_or(RefreshError::Refused)
    }

    // ----- API keys -----

    /// Creates an API key and returns it; only its hash is kept (S43).
    pub async fn create_api_key(
        &self,
        admin: &Admin,
        name: &str,
        role: ApiRole,
    ) -> Result<Zeroizing<String>, AdminError> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(AdminError::Invalid(
                "an API key name has 1–64 letters, digits, - _ or .".into(),
            ));
        }
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
            "apikey.create",
            name,
            "success",
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
        let event = self.event(admin.actor(), "apikey.revoke", name, "success", "");
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

    // ----- audit -----

    /// Verifies the whole audit chain; the number of rows, or where it breaks.
    pub async fn verify_audit(&self) -> Result<Result<u64, ChainError>, StoreError> {
        let mut rows = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.audit_rows(after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            rows.extend(page);
        }
        Ok(verify_chain(&rows))
    }
}

/// The password rules of SECURITY.md S24/S25: 8 to 1024 characters, no
/// composition rules, and not a common or context-derived password.
pub fn check_password(password: &str, username: &Username) -> Result<(), AdminError> {
    const COMMON: &[&str] = &[
        "password",
        "password1",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou",
        "11111111",
        "abc12345",
        "qwerty123",
        "letmein1",
        "welcome1",
        "sunshine",
        "football",
        "princess",
        "passw0rd",
        "baseball",
        "trustno1",
        "superman",
        "1q2w3e4r",
        "zaq12wsx",
        "latchkey",
    ];
    let count = password.chars().count();
    if count < 8 {
        return Err(AdminError::Invalid(
            "a password needs at least 8 characters".into(),
        ));
    }
    if count > 1024 {
        return Err(AdminError::Invalid(
            "a password has at most 1024 characters".into(),
        ));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) || lower.contains("latchkey") {
        return Err(AdminError::Invalid(
            "that password is too common; choose another".into(),
        ));
    }
    if lower.contains(username.as_str()) {
        return Err(AdminError::Invalid(
            "a password may not contain the user name".into(),
        ));
    }
    Ok(())
}
