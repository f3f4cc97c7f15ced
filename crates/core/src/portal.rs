//! The self-service portal's rules: sessions that advance factor by factor,
//! security questions, password recovery by mail, and the self-service and
//! help-desk actions. The HTTP pages call these and nothing below them.
//!
//! A session is a capability: [`PortalSession`] exists only after the
//! store confirmed the cookie, and each operation checks the stage it needs.
//! Security questions never complete a sign-in (S28): they lead to a
//! [`SessionStage::Recovery`] session, which reaches the recovery actions
//! (unlock a soft token, report a token lost) and nothing else.

use data_encoding::BASE64URL_NOPAD;
use latchkey_oath::UnlockCode;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::model::*;
use crate::ports::*;
use crate::service::{Actor, Admin, AdminError, Helpdesk, IssuedToken, Latchkey, check_password};

/// The portal's rules an organisation can tune.
#[derive(Debug, Clone)]
pub struct PortalPolicy {
    /// Seconds a session may sit unused (S37).
    pub idle_timeout: i64,
    /// Seconds a session may live at all, counted from the password (S37).
    pub absolute_timeout: i64,
    /// Seconds between the password and the second factor.
    pub pending_timeout: i64,
    /// Questions each user chooses and answers.
    pub questions_to_answer: usize,
    /// Questions a challenge asks.
    pub questions_asked: usize,
    /// Seconds a password-reset link works (S32).
    pub reset_link_ttl: i64,
    /// Reset links per account per hour (S34).
    pub reset_links_per_hour: i64,
}

impl Default for PortalPolicy {
    fn default() -> Self {
        PortalPolicy {
            idle_timeout: 30 * 60,
            absolute_timeout: 12 * 3600,
            pending_timeout: 5 * 60,
            questions_to_answer: 5,
            questions_asked: 2,
            reset_link_ttl: 3600,
            reset_links_per_hour: 3,
        }
    }
}

/// A portal operation refused, with what the page should say.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Unknown user, wrong password, wrong OTP, disabled or throttled
    /// account: one message for all (S39).
    #[error(
        "The user name, password or one-time password is not right, or the account is locked. Check them and try again; after several wrong tries, wait a few minutes."
    )]
    SignInRefused,
    /// The answers did not all match.
    #[error(
        "One or more answers do not match what you chose. Check them and try again; after several wrong tries, wait a few minutes."
    )]
    AnswersRefused,
    /// The user has no security answers to be challenged with.
    #[error(
        "You have not set up security questions, so they cannot stand in for your token. Ask the help desk for help."
    )]
    NoAnswers,
    /// The session has ended or never was.
    #[error("Your session has ended. Sign in again.")]
    SessionEnded,
    /// The session has not reached the stage this needs.
    #[error("This page needs a full sign-in with your token.")]
    NotAllowed,
    /// A field is wrong; the page shows the message beside it.
    #[error("{message}")]
    Field {
        /// The form field.
        field: &'static str,
        /// What to do.
        message: String,
    },
    /// The link is unknown, used or expired.
    #[error(
        "This link does not work any more: it was used already or it expired. Ask for a new one."
    )]
    LinkInvalid,
    /// Refused by the domain for a reason the user should hear.
    #[error("{0}")]
    Refused(String),
    /// A rate limit was reached.
    #[error("{0}")]
    TooMany(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

impl PortalError {
    fn field(field: &'static str, message: impl Into<String>) -> Self {
        PortalError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<AdminError> for PortalError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Store(e) => PortalError::Store(e),
            AdminError::Cipher(e) => PortalError::Cipher(e),
            AdminError::RateLimited => PortalError::TooMany(AdminError::RateLimited.to_string()),
            other => PortalError::Refused(other.to_string()),
        }
    }
}

/// A session id as the cookie carries it: 256 random bits. Only its hash
/// is stored.
pub struct SessionId(Zeroizing<String>);

/// 256 random bits as base64url, and their SHA-256 (what is stored).
fn random_token() -> (Zeroizing<String>, Vec<u8>) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::Rng::fill_bytes(&mut rand::rng(), bytes.as_mut());
    let token = Zeroizing::new(BASE64URL_NOPAD.encode(bytes.as_ref()));
    let hash = digest(token.as_bytes());
    (token, hash)
}

impl SessionId {
    fn generate() -> (Self, Vec<u8>) {
        let (token, hash) = random_token();
        (SessionId(token), hash)
    }
    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

fn digest(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// A session the store confirmed, with its user as of this request.
#[derive(Debug, Clone)]
pub struct PortalSession {
    id_hash: Vec<u8>,
    stage: SessionStage,
    created_at: i64,
    user: User,
}

impl PortalSession {
    /// How far the session has come.
    pub fn stage(&self) -> SessionStage {
        self.stage
    }
    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.user
    }
    fn require(&self, stages: &[SessionStage]) -> Result<(), PortalError> {
        if stages.contains(&self.stage) {
            Ok(())
        } else {
            Err(PortalError::NotAllowed)
        }
    }
    fn actor(&self, source: &str) -> Actor {
        Actor {
            name: self.user.username.to_string(),
            source: source.to_owned(),
        }
    }
}

/// Answers match whatever the case, accents composed or not, spacing and
/// punctuation (S29): NFKC, lower case, punctuation dropped, runs of white
/// space made one space, trimmed.
pub fn normalise_answer(answer: &str) -> String {
    let folded: String = answer
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl<S: Store> Latchkey<S> {
    /// A MAC of `data` under a key derived from the master key for
    /// `purpose` (the portal's CSRF tokens): the same on every node.
    pub fn keyed_digest(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.cipher.keyed_hash(purpose, data)
    }

    fn portal(&self) -> &PortalPolicy {
        &self.policy.portal
    }

    async fn open_session(
        &self,
        user: &User,
        stage: SessionStage,
        created_at: i64,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> Result<SessionId, PortalError> {
        let (id, id_hash) = SessionId::generate();
        let session = NewSession {
            id_hash,
            user_id: user.id,
            stage,
            created_at,
            last_seen: self.now(),
        };
        self.store.insert_session(session, previous, event).await?;
        Ok(id)
    }

    /// The first factor. A new session id either way (S35); unknown user,
    /// wrong password, disabled and throttled accounts look the same (S39).
    pub async fn portal_sign_in(
        &self,
        username: &str,
        password: Zeroizing<String>,
        source: &str,
    ) -> Result<SessionId, PortalError> {
        let actor = Actor::anonymous(source);
        let Ok(name) = username.parse::<Username>() else {
            self.hasher.verify(password, None).await;
            return Err(PortalError::SignInRefused);
        };
        let user = self.store.user_by_name(&name).await?;
        if !self
            .check_password_factor(&actor, &name, user.as_ref(), password, false)
            .await?
        {
            return Err(PortalError::SignInRefused);
        }
        let user = user.ok_or(PortalError::SignInRefused)?;
        if user.status != UserStatus::Active {
            self.store
                .append(self.event(
                    &actor,
                    "portal.password",
                    name.as_str(),
                    "denied",
                    "user disabled",
                ))
                .await?;
            return Err(PortalError::SignInRefused);
        }
        let event = self.event(&actor, "portal.password", name.as_str(), "success", "");
        self.open_session(&user, SessionStage::Password, self.now(), None, event)
            .await
    }

    /// The session a cookie names, if it is still good: not signed out, not
    /// idle or too old (S37), its user still active. Expired sessions are
    /// removed on sight.
    pub async fn portal_session(&self, id: &str) -> Result<Option<PortalSession>, PortalError> {
        if id.is_empty() || id.len() > 128 {
            return Ok(None);
        }
        let id_hash = digest(id.as_bytes());
        let Some(session) = self.store.session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        let policy = self.portal();
        let expired = now - session.last_seen > policy.idle_timeout
            || now - session.created_at > policy.absolute_timeout
            || (session.stage == SessionStage::Password
                && now - session.created_at > policy.pending_timeout);
        let user = self.store.user_by_id(session.user_id).await?;
        let user = match user {
            Some(user) if !expired && user.status == UserStatus::Active => user,
            _ => {
                self.store.delete_session(&id_hash).await?;
                return Ok(None);
            }
        };
        // Activity is written at most once a minute: reading a page should
        // not cost a commit every time.
        if now - session.last_seen >= 60 {
            self.store.touch_session(&id_hash, now).await?;
        }
        Ok(Some(PortalSession {
            id_hash,
            stage: session.stage,
            created_at: session.created_at,
            user,
        }))
    }

    /// Signs out: the session is gone server-side (S37).
    pub async fn portal_sign_out(
        &self,
        session: &PortalSession,
        source: &str,
    ) -> Result<(), PortalError> {
        self.store.delete_session(&session.id_hash).await?;
        self.store
            .append(self.event(
                &session.actor(source),
                "portal.sign-out",
                session.user.username.as_str(),
                "success",
                "",
            ))
            .await?;
        Ok(())
    }

    /// The second factor: an OTP from one of the user's active tokens. A
    /// full session under a new id (S35).
    pub async fn portal_second_factor(
        &self,
        session: &PortalSession,
        otp: &str,
        source: &str,
    ) -> Result<SessionId, PortalError> {
        session.require(&[SessionStage::Password])?;
        let actor = session.actor(source);
        if !self.check_user_otp(&session.user, otp, &actor).await? {
            return Err(PortalError::SignInRefused);
        }
        if session.user.password_failures > 0 {
            self.store.clear_password_failures(session.user.id).await?;
        }
        let event = self.event(
            &actor,
            "portal.sign-in",
            session.user.username.as_str(),
            "success",
            "password and OTP",
        );
        self.open_session(
            &session.user,
            SessionStage::Full,
            session.created_at,
            Some(session.id_hash.clone()),
            event,
        )
        .await
    }

    async fn check_user_otp(
        &self,
        user: &User,
        otp: &str,
        actor: &Actor,
    ) -> Result<bool, PortalError> {
        for token in self.store.tokens_of_user(user.id).await? {
            if token.state == TokenState::Active && self.check_otp(&token, otp, actor).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the user still has to choose security questions.
    pub async fn portal_needs_answers(&self, session: &PortalSession) -> Result<bool, PortalError> {
        Ok(self.store.answers_of(session.user.id).await?.len() < self.portal().questions_to_answer)
    }

    /// The active questions users may choose from.
    pub async fn portal_question_pool(&self) -> Result<Vec<Question>, PortalError> {
        Ok(self
            .store
            .questions()
            .await?
            .into_iter()
            .filter(|q| q.active)
            .collect())
    }

    /// The questions to ask this user now: the ones asked before and not
    /// yet answered, else a fresh random choice, remembered (S30).
    pub async fn portal_challenge(
        &self,
        session: &PortalSession,
    ) -> Result<Vec<Question>, PortalError> {
        session.require(&[SessionStage::Password])?;
        let wanted = self.portal().questions_asked;
        for _ in 0..3 {
            let answers = self.store.answers_of(session.user.id).await?;
            if answers.len() < wanted {
                return Err(PortalError::NoAnswers);
            }
            let asked: Vec<i64> = answers
                .iter()
                .filter(|a| a.asked)
                .map(|a| a.question_id)
                .collect();
            let ids = if asked.is_empty() {
                let mut ids: Vec<i64> = answers.iter().map(|a| a.question_id).collect();
                {
                    // The thread's generator must not live across an await.
                    let mut rng = rand::rng();
                    for i in 0..wanted {
                        let j = rand::RngExt::random_range(&mut rng, i..ids.len());
                        ids.swap(i, j);
                    }
                }
                ids.truncate(wanted);
                if !self.store.mark_asked(session.user.id, ids.clone()).await? {
                    continue; // another challenge chose first; ask those
                }
                ids
            } else {
                asked
            };
            let pool = self.store.questions().await?;
            let mut questions: Vec<Question> =
                pool.into_iter().filter(|q| ids.contains(&q.id)).collect();
            questions.sort_by_key(|q| q.id);
            return Ok(questions);
        }
        Err(PortalError::NoAnswers)
    }

    /// Checks the answers to the challenge, in the order of
    /// [`Latchkey::portal_challenge`]. All must match. Success opens a
    /// recovery session (S28); failure counts toward the account's
    /// throttle like a wrong password (S30).
    pub async fn portal_answer_challenge(
        &self,
        session: &PortalSession,
        given: Vec<Zeroizing<String>>,
        source: &str,
    ) -> Result<SessionId, PortalError> {
        session.require(&[SessionStage::Password])?;
        let actor = session.actor(source);
        let user = &session.user;
        let subject = user.username.as_str();
        let now = self.now();
        // The throttle as of now, not as of the password step.
        let user = self
            .store
            .user_by_id(user.id)
            .await?
            .ok_or(PortalError::SessionEnded)?;
        let mut asked: Vec<Answer> = self
            .store
            .answers_of(user.id)
            .await?
            .into_iter()
            .filter(|a| a.asked)
            .collect();
        asked.sort_by_key(|a| a.question_id);
        if asked.is_empty() {
            return Err(PortalError::NoAnswers);
        }
        if user.password_blocked_until > now {
            let detail = format!("throttled for {} s more", user.password_blocked_until - now);
            self.store
                .append(self.event(&actor, "questions.verify", subject, "denied", detail))
                .await?;
            return Err(PortalError::AnswersRefused);
        }
        // Every answer is hashed even after a mismatch, so timing does not
        // tell which one was wrong.
        let mut all_match = given.len() == asked.len();
        for (index, answer) in asked.iter().enumerate() {
            let text = given
                .get(index)
                .map(|g| normalise_answer(g))
                .unwrap_or_default();
            let ok = self
                .hasher
                .verify(Zeroizing::new(text), Some(answer.answer_hash.clone()))
                .await;
            all_match &= ok;
        }
        if !all_match {
            let event = self.event(&actor, "questions.verify", subject, "failure", "");
            self.store
                .record_password_failure(user.id, now, self.policy.password_throttle, event)
                .await?;
            return Err(PortalError::AnswersRefused);
        }
        if user.password_failures > 0 {
            self.store.clear_password_failures(user.id).await?;
        }
        self.store
            .clear_asked(
                user.id,
                self.event(&actor, "questions.verify", subject, "success", ""),
            )
            .await?;
        let event = self.event(
            &actor,
            "portal.recovery",
            subject,
            "success",
            "password and security questions",
        );
        self.open_session(
            &user,
            SessionStage::Recovery,
            session.created_at,
            Some(session.id_hash.clone()),
            event,
        )
        .await
    }

    /// Stores the user's choice of questions and answers (a full session
    /// only: a recovery session cannot change them, S28).
    pub async fn portal_set_answers(
        &self,
        session: &PortalSession,
        choices: Vec<(String, Zeroizing<String>)>,
        source: &str,
    ) -> Result<(), PortalError> {
        session.require(&[SessionStage::Full])?;
        let wanted = self.portal().questions_to_answer;
        let pool = self.portal_question_pool().await?;
        let mut chosen: Vec<(i64, String)> = Vec::with_capacity(wanted);
        let fields = [
            "question_1",
            "question_2",
            "question_3",
            "question_4",
            "question_5",
        ];
        let answer_fields = ["answer_1", "answer_2", "answer_3", "answer_4", "answer_5"];
        if choices.len() != wanted {
            return Err(PortalError::field(
                "question_1",
                format!("Choose {wanted} questions and answer each."),
            ));
        }
        for (index, (question, answer)) in choices.into_iter().enumerate() {
            let field = fields.get(index).copied().unwrap_or("question_1");
            let answer_field = answer_fields.get(index).copied().unwrap_or("answer_1");
            let id: i64 = question
                .parse()
                .ok()
                .filter(|id| pool.iter().any(|q| q.id == *id))
                .ok_or_else(|| PortalError::field(field, "Choose a question from the list."))?;
            if chosen.iter().any(|(other, _)| *other == id) {
                return Err(PortalError::field(
                    field,
                    "Choose a different question for each answer.",
                ));
            }
            let normalised = normalise_answer(&answer);
            if normalised.chars().count() < 2 {
                return Err(PortalError::field(
                    answer_field,
                    "Give an answer of at least two letters or digits.",
                ));
            }
            if normalised.chars().count() > 200 {
                return Err(PortalError::field(
                    answer_field,
                    "Give an answer of at most 200 characters.",
                ));
            }
            chosen.push((id, normalised));
        }
        let mut hashed = Vec::with_capacity(chosen.len());
        for (id, answer) in chosen {
            hashed.push((id, self.hasher.hash(Zeroizing::new(answer)).await));
        }
        let event = self.event(
            &session.actor(source),
            "questions.set",
            session.user.username.as_str(),
            "success",
            format!("{} answers", hashed.len()),
        );
        self.store
            .set_answers(session.user.id, hashed, event)
            .await?;
        Ok(())
    }

    /// The user's tokens.
    pub async fn portal_tokens(&self, session: &PortalSession) -> Result<Vec<Token>, PortalError> {
        session.require(&[SessionStage::Full, SessionStage::Recovery])?;
        Ok(self.store.tokens_of_user(session.user.id).await?)
    }

    async fn own_token(&self, session: &PortalSession, serial: &str) -> Result<Token, PortalError> {
        let tokens = self.store.tokens_of_user(session.user.id).await?;
        let wanted: String = serial.chars().filter(char::is_ascii_digit).collect();
        tokens
            .into_iter()
            .find(|t| t.serial == wanted)
            .ok_or_else(|| PortalError::field("serial", "Choose one of your tokens."))
    }

    /// "My soft token is locked": the unlock code for one of the user's
    /// own soft tokens (S22: the user proved themselves with a full or a
    /// recovery sign-in; issuance is rate-limited and audited; the mail
    /// tells the user).
    pub async fn portal_unlock(
        &self,
        session: &PortalSession,
        serial: &str,
        reset_code: &str,
        source: &str,
    ) -> Result<(UnlockCode, Option<Mail>), PortalError> {
        session.require(&[SessionStage::Full, SessionStage::Recovery])?;
        let token = self.own_token(session, serial).await?;
        let reset_code = reset_code.trim();
        if reset_code.parse::<latchkey_oath::ResetCode>().is_err() {
            return Err(PortalError::field(
                "reset_code",
                "That is not a PIN Reset Code: it has 12 digits, shown by the locked token as 1234-5678-9012. Check each digit and type it again.",
            ));
        }
        let helpdesk = Helpdesk(session.actor(source));
        let code = self
            .issue_unlock_code(&helpdesk, &token.serial, reset_code)
            .await?;
        let mail = session.user.email.as_ref().map(|to| Mail {
            to: to.clone(),
            subject: "An unlock code was issued for your soft token".into(),
            body: format!(
                "An unlock code for your soft token {} was issued on the self-service portal.\n\n\
                 If this was not you, tell your help desk at once: someone knows your password\n\
                 and your security answers.\n",
                token.serial
            ),
        });
        Ok((code, mail))
    }

    /// Reports one of the user's tokens lost: it is suspended at once.
    pub async fn portal_report_lost(
        &self,
        session: &PortalSession,
        serial: &str,
        source: &str,
    ) -> Result<(), PortalError> {
        session.require(&[SessionStage::Full, SessionStage::Recovery])?;
        let token = self.own_token(session, serial).await?;
        if token.state != TokenState::Active && token.state != TokenState::New {
            return Err(PortalError::field(
                "serial",
                format!("That token is {} already.", token.state),
            ));
        }
        let event = self.event(
            &session.actor(source),
            "token.lost",
            &token.serial,
            "success",
            "reported by its user",
        );
        self.store
            .set_token_state(token.id, TokenState::Suspended, event)
            .await?;
        Ok(())
    }

    /// A new soft token for the signed-in user, waiting for activation
    /// (full sessions only: the questions must not enrol a token).
    pub async fn portal_issue_token(
        &self,
        session: &PortalSession,
        source: &str,
    ) -> Result<IssuedToken, PortalError> {
        session.require(&[SessionStage::Full])?;
        let issuer = Admin(session.actor(source));
        Ok(self
            .issue_token(&issuer, session.user.username.as_str(), TokenKind::Latchkey)
            .await?)
    }

    /// Changes the password: the current one and a fresh OTP are needed
    /// (S27); every other session of the user ends.
    pub async fn portal_change_password(
        &self,
        session: &PortalSession,
        current: Zeroizing<String>,
        otp: &str,
        new: Zeroizing<String>,
        confirm: Zeroizing<String>,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        session.require(&[SessionStage::Full])?;
        let actor = session.actor(source);
        let user = self
            .store
            .user_by_id(session.user.id)
            .await?
            .ok_or(PortalError::SessionEnded)?;
        if *new != *confirm {
            return Err(PortalError::field(
                "password_confirm",
                "The two new passwords differ. Type the same password twice.",
            ));
        }
        check_password(&new, &user.username)
            .map_err(|e| PortalError::field("password", e.to_string()))?;
        if !self
            .check_password_factor(&actor, &user.username, Some(&user), current, false)
            .await?
        {
            return Err(PortalError::field(
                "current_password",
                "The current password is not right. Type it again.",
            ));
        }
        if !self.check_user_otp(&user, otp, &actor).await? {
            return Err(PortalError::field(
                "otp",
                "The one-time password is not right. Type the code your token shows now.",
            ));
        }
        let hash = self.hasher.hash(new).await;
        let event = self.event(
            &actor,
            "password.change",
            user.username.as_str(),
            "success",
            "",
        );
        self.store.set_password_hash(user.id, hash, event).await?;
        self.store
            .delete_sessions_of_user(user.id, Some(session.id_hash.clone()))
            .await?;
        Ok(user.email.as_ref().map(|to| password_changed_mail(to)))
    }

    /// "I've forgotten my password": a single-use link by mail, if the
    /// account exists, is active, has an address and is under the rate
    /// limit (S34). The link is built on `base_url`, the configured public
    /// URL, never a request header (S34). The caller answers the same
    /// whatever this returns (S31).
    pub async fn portal_request_reset(
        &self,
        username: &str,
        base_url: &str,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        let actor = Actor::anonymous(source);
        let Ok(name) = username.parse::<Username>() else {
            return Ok(None);
        };
        let user = self.store.user_by_name(&name).await?;
        let refuse = |detail: &str| {
            self.event(
                &actor,
                "password.reset-request",
                name.as_str(),
                "failure",
                detail,
            )
        };
        let Some(user) = user else {
            self.store.append(refuse("unknown user")).await?;
            return Ok(None);
        };
        let Some(email) = user
            .email
            .clone()
            .filter(|_| user.status == UserStatus::Active)
        else {
            self.store
                .append(refuse("disabled or no e-mail address"))
                .await?;
            return Ok(None);
        };
        let now = self.now();
        let (link_token, link_hash) = random_token();
        let event = self.event(
            &actor,
            "password.reset-request",
            name.as_str(),
            "success",
            "",
        );
        let stored = self
            .store
            .insert_reset_link(
                link_hash,
                user.id,
                now + self.portal().reset_link_ttl,
                now - 3600,
                self.portal().reset_links_per_hour,
                event,
            )
            .await?;
        if !stored {
            self.store
                .append(self.event(
                    &actor,
                    "password.reset-request",
                    name.as_str(),
                    "denied",
                    "rate limit",
                ))
                .await?;
            return Ok(None);
        }
        let minutes = self.portal().reset_link_ttl / 60;
        Ok(Some(Mail {
            to: email,
            subject: "Reset your password".into(),
            body: format!(
                "Someone (we hope you) asked to reset the password of the account {name}.\n\n\
                 Open this link within {minutes} minutes to choose a new password; it works once:\n\n\
                 {}/password/reset/{}\n\n\
                 You will still need your token to sign in. If you did not ask for this, ignore\n\
                 this mail: your password stays as it is.\n",
                base_url.trim_end_matches('/'),
                link_token.as_str()
            ),
        }))
    }

    /// Whether a reset link still works (to show its form, or say it does not).
    pub async fn portal_reset_link_works(&self, link_token: &str) -> Result<bool, PortalError> {
        if link_token.len() > 128 {
            return Ok(false);
        }
        Ok(self
            .store
            .reset_link_user(digest(link_token.as_bytes()), self.now())
            .await?
            .is_some())
    }

    /// Sets a new password through a reset link, once (S32). It signs no
    /// one in and ends every session of the user (S33).
    pub async fn portal_reset_password(
        &self,
        link_token: &str,
        new: Zeroizing<String>,
        confirm: Zeroizing<String>,
        source: &str,
    ) -> Result<Option<Mail>, PortalError> {
        let actor = Actor::anonymous(source);
        if link_token.len() > 128 {
            return Err(PortalError::LinkInvalid);
        }
        let hash = digest(link_token.as_bytes());
        let now = self.now();
        let user_id = self
            .store
            .reset_link_user(hash.clone(), now)
            .await?
            .ok_or(PortalError::LinkInvalid)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(PortalError::LinkInvalid)?;
        if *new != *confirm {
            return Err(PortalError::field(
                "password_confirm",
                "The two passwords differ. Type the same password twice.",
            ));
        }
        check_password(&new, &user.username)
            .map_err(|e| PortalError::field("password", e.to_string()))?;
        // Taken only now, when the new password is acceptable: a typo in
        // the form does not spend the link.
        if self.store.take_reset_link(hash, now).await? != Some(user.id) {
            return Err(PortalError::LinkInvalid);
        }
        let password_hash = self.hasher.hash(new).await;
        let event = self.event(
            &actor,
            "password.reset",
            user.username.as_str(),
            "success",
            "by e-mailed link",
        );
        self.store
            .set_password_hash(user.id, password_hash, event)
            .await?;
        self.store.delete_sessions_of_user(user.id, None).await?;
        Ok(user.email.as_ref().map(|to| password_changed_mail(to)))
    }

    /// Help-desk rights, for a helpdesk or admin user who signed in fully.
    pub fn portal_helpdesk(&self, session: &PortalSession, source: &str) -> Option<Helpdesk> {
        (session.stage == SessionStage::Full
            && matches!(session.user.role, Role::Helpdesk | Role::Admin))
        .then(|| Helpdesk(session.actor(source)))
    }

    /// Removes a user's security answers, so they choose new ones at their
    /// next full sign-in.
    pub async fn reset_answers(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<(), AdminError> {
        let user = self.user(username).await?;
        let event = self.event(
            &helpdesk.0,
            "questions.reset",
            user.username.as_str(),
            "success",
            "",
        );
        self.store.set_answers(user.id, Vec::new(), event).await?;
        Ok(())
    }

    /// Clears a user's password throttle and every token lock.
    pub async fn clear_lockouts(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<(), AdminError> {
        let user = self.user(username).await?;
        self.store.clear_password_failures(user.id).await?;
        self.store
            .append(self.event(
                &helpdesk.0,
                "password.unthrottle",
                user.username.as_str(),
                "success",
                "",
            ))
            .await?;
        for token in self.store.tokens_of_user(user.id).await? {
            if token.locked || token.failures > 0 {
                self.reset_token(helpdesk, &token.serial).await?;
            }
        }
        Ok(())
    }

    /// The security-question pool.
    pub async fn list_questions(&self, _admin: &Admin) -> Result<Vec<Question>, AdminError> {
        Ok(self.store.questions().await?)
    }

    /// Adds a question to the pool users choose from.
    pub async fn add_question(&self, admin: &Admin, text: &str) -> Result<i64, AdminError> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let length = text.chars().count();
        if !(10..=200).contains(&length) {
            return Err(AdminError::Invalid(
                "a security question has 10 to 200 characters".into(),
            ));
        }
        if self.store.questions().await?.iter().any(|q| q.text == text) {
            return Err(AdminError::Exists(format!("the question {text:?}")));
        }
        let event = self.event(&admin.0, "questions.add", &text, "success", "");
        Ok(self.store.insert_question(text, event).await?)
    }

    /// Retires question `id`: no one may choose it any more; users who
    /// answered it keep their answers and may be asked it. Refused if the
    /// pool would keep fewer active questions than a user must choose.
    pub async fn retire_question(&self, admin: &Admin, id: i64) -> Result<(), AdminError> {
        let pool = self.store.questions().await?;
        let Some(question) = pool.iter().find(|q| q.id == id) else {
            return Err(AdminError::NoSuchQuestion(id));
        };
        if !question.active {
            return Err(AdminError::WrongState(format!(
                "question {id} is retired already"
            )));
        }
        let active = pool.iter().filter(|q| q.active).count();
        let wanted = self.portal().questions_to_answer;
        if active <= wanted {
            return Err(AdminError::WrongState(format!(
                "users choose {wanted} questions: the pool keeps at least that many active (add one first)"
            )));
        }
        let event = self.event(&admin.0, "questions.retire", &question.text, "success", "");
        if !self.store.retire_question(id, event).await? {
            return Err(AdminError::WrongState(format!(
                "question {id} is retired already"
            )));
        }
        Ok(())
    }

    /// Issues a soft token for a user from the help-desk pages.
    pub async fn helpdesk_issue_token(
        &self,
        helpdesk: &Helpdesk,
        username: &str,
    ) -> Result<IssuedToken, AdminError> {
        let issuer = Admin(helpdesk.0.clone());
        self.issue_token(&issuer, username, TokenKind::Latchkey)
            .await
    }
}

fn password_changed_mail(to: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your password was changed".into(),
        body:
            "The password of your account was changed, and every other session was signed out.\n\n\
               If this was not you, tell your help desk at once.\n"
                .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_across_case_accents_spacing_and_punctuation() {
        assert_eq!(normalise_answer("Almería "), normalise_answer("almería"));
        // Decomposed "í" (i + combining acute) is the same answer (NFKC).
        assert_eq!(
            normalise_answer("Almeri\u{301}a"),
            normalise_answer("almería")
        );
        assert_eq!(normalise_answer("  St.  John's\tWood!"), "st john s wood");
        assert_ne!(normalise_answer("Almeria"), normalise_answer("Almería"));
    }
}
