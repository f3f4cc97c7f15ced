//! Judging an OTP: the pure [`OtpJudge`] decides what a code means for a
//! user's token rows, and the store records the verdict in the transaction
//! that read them ([`TokenStore::check_user_otp`]). Every entry point (the
//! API's `authenticate`, the portal's second factor and password change, the
//! soft token's `refresh`) goes this one way.

use std::sync::Arc;

use latchkey_oath::{Hotp, Secret};
use zeroize::Zeroizing;

use crate::capability::Actor;
use crate::context::{Latchkey, seed_aad};
use crate::model::{
    AuditAction, AuditEvent, Outcome, Token, TokenKind, TokenState, User, UserStatus,
};
use crate::policy::Policy;
use crate::ports::{CipherError, OtpStep, SecretCipher, Store, StoreError};

/// Judges OTPs against stored token rows, with no I/O, so that the
/// judgement runs inside the store's transaction that read them
/// ([`TokenStore::check_user_otp`]).
pub(crate) struct OtpJudge {
    pub(crate) cipher: Arc<dyn SecretCipher>,
    pub(crate) policy: Arc<Policy>,
    /// The server's clock when the check began (S09).
    pub(crate) now: u64,
    /// Who the recorded events name.
    pub(crate) actor: Actor,
}

impl OtpJudge {
    fn event(
        &self,
        action: AuditAction,
        subject: &str,
        outcome: Outcome,
        detail: String,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now as i64,
            actor: self.actor.name.clone(),
            action,
            subject: subject.into(),
            source: self.actor.source.clone(),
            outcome,
            detail,
        }
    }

    fn generator(&self, token: &Token) -> Result<Hotp, CipherError> {
        let seed = self
            .cipher
            .open(&seed_aad(&token.serial), &token.sealed_seed)?;
        token
            .otp
            .generator(Secret::from_bytes(seed.to_vec()))
            .map_err(|_| CipherError)
    }

    /// A counted failure: the token locks at the limit (S12).
    fn failure(&self, token: &Token, detail: &str) -> OtpStep {
        OtpStep::Fail {
            token_id: token.id,
            limit: self.policy.otp_failure_limit,
            event: self.event(
                AuditAction::OtpVerify,
                &token.serial,
                Outcome::Failure,
                detail.to_owned(),
            ),
            lock_event: self.event(
                AuditAction::TokenLock,
                &token.serial,
                Outcome::Success,
                format!("after {} failures", self.policy.otp_failure_limit),
            ),
        }
    }

    /// What `otp` means for one token: nothing for a token that is not
    /// active; a refusal for a locked one; an acceptance of a step or
    /// counter after the last accepted one (S04, S06–S08); a counted
    /// failure for a replay (audited, S05) or a wrong code.
    pub(crate) fn token_steps(
        &self,
        token: &Token,
        otp: &str,
    ) -> Result<Vec<OtpStep>, CipherError> {
        if token.state != TokenState::Active {
            return Ok(Vec::new());
        }
        let hotp = self.generator(token)?;
        if token.locked {
            return Ok(vec![OtpStep::Record(self.event(
                AuditAction::OtpVerify,
                &token.serial,
                Outcome::Denied,
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
            let period = token.otp.period.max(1);
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
                event: self.event(
                    AuditAction::OtpVerify,
                    &token.serial,
                    Outcome::Success,
                    String::new(),
                ),
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
    pub(crate) fn user_steps(
        &self,
        name: &str,
        user: Option<&User>,
        tokens: &[Token],
        otp: &str,
    ) -> Result<Vec<OtpStep>, CipherError> {
        let refuse = |outcome: Outcome, detail: &str| {
            Ok(vec![OtpStep::Record(self.event(
                AuditAction::Authenticate,
                name,
                outcome,
                detail.into(),
            ))])
        };
        let Some(user) = user else {
            return refuse(Outcome::Failure, "unknown user");
        };
        if user.status != UserStatus::Active {
            return refuse(Outcome::Denied, "user disabled");
        }
        if !tokens.iter().any(|t| t.state == TokenState::Active) {
            return refuse(Outcome::Failure, "no active token");
        }
        self.tokens_steps(tokens, otp)
    }

    /// What `otp` means for `tokens`: each active one is tried in turn
    /// until one accepts it; the others record nothing.
    pub(crate) fn tokens_steps<'t>(
        &self,
        tokens: impl IntoIterator<Item = &'t Token>,
        otp: &str,
    ) -> Result<Vec<OtpStep>, CipherError> {
        let mut steps = Vec::new();
        for token in tokens {
            steps.extend(self.token_steps(token, otp)?);
            if matches!(steps.last(), Some(OtpStep::Accept { .. })) {
                break;
            }
        }
        Ok(steps)
    }
}

impl<S: Store> Latchkey<S> {
    /// The judge of OTPs for `actor` at this moment.
    pub(crate) fn otp_judge(&self, actor: &Actor) -> OtpJudge {
        OtpJudge {
            cipher: Arc::clone(&self.cipher),
            policy: Arc::clone(&self.policy),
            now: self.clock.now(),
            actor: actor.clone(),
        }
    }

    /// Checks an OTP against the tokens of `user` (all of them, or only
    /// the one with row id `only`) in the store's one transaction: read,
    /// judge and record (S04, S05, S12–S14), as `authenticate` does. The
    /// user's status is not judged here: a portal session exists only for
    /// an active user, and a refresh has never depended on it. Whether an
    /// OTP was accepted, or a seed that would not open (then nothing was
    /// recorded).
    pub(crate) async fn check_own_otp(
        &self,
        user: &User,
        only: Option<i64>,
        otp: &str,
        actor: &Actor,
    ) -> Result<Result<bool, CipherError>, StoreError> {
        self.check_own_otp_counting(user, only, otp, actor, true)
            .await
    }

    /// As [`Latchkey::check_own_otp`], but with `counted` false a failure
    /// is recorded and not counted toward the token's lock: for an entry
    /// point anyone who knows a serial may call, whose failures must not
    /// let a stranger lock the owner out (S46). A replay is still refused.
    pub(crate) async fn check_own_otp_counting(
        &self,
        user: &User,
        only: Option<i64>,
        otp: &str,
        actor: &Actor,
        counted: bool,
    ) -> Result<Result<bool, CipherError>, StoreError> {
        let judge = self.otp_judge(actor);
        let user_id = user.id;
        let otp = Zeroizing::new(otp.to_owned());
        self.store
            .check_user_otp(None, &user.username, move |_, found, tokens| {
                // Users are never renamed or removed; this only guards
                // against judging someone else's tokens if that changes.
                if found.is_none_or(|found| found.id != user_id) {
                    return Ok(Vec::new());
                }
                let steps = judge.tokens_steps(
                    tokens.iter().filter(|t| only.is_none_or(|id| t.id == id)),
                    &otp,
                )?;
                Ok(if counted {
                    steps
                } else {
                    steps.into_iter().map(uncounted).collect()
                })
            })
            .await
    }
}

/// `step` with a counted failure recorded as its event alone (S46).
fn uncounted(step: OtpStep) -> OtpStep {
    match step {
        OtpStep::Fail { event, .. } => OtpStep::Record(event),
        OtpStep::Accept {
            token_id,
            used,
            drift,
            event,
            lost,
        } => OtpStep::Accept {
            token_id,
            used,
            drift,
            event,
            lost: Box::new(uncounted(*lost)),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    //! The judge's own rules, with codes from the RFCs' tables: RFC 4226
    //! Appendix D (HOTP, the ASCII key "12345678901234567890") and RFC 6238
    //! Appendix B (TOTP SHA-1, 8 digits, 30-second steps, the same key).

    use super::*;
    use crate::model::OtpParams;
    use latchkey_oath::{Algorithm, Digits};

    /// RFC 4226 App. D: the key, and the codes for counters 0 to 9.
    const RFC4226_KEY: &[u8] = b"12345678901234567890";
    const RFC4226_CODES: [&str; 10] = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];

    /// Stores the seed as it is, so that a test's token row carries the
    /// RFC key in the clear.
    struct ClearCipher;

    impl SecretCipher for ClearCipher {
        fn seal(&self, _aad: &str, plaintext: &[u8]) -> Vec<u8> {
            plaintext.to_vec()
        }
        fn open(&self, _aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
            Ok(Zeroizing::new(sealed.to_vec()))
        }
        fn keyed_hash(&self, _purpose: &str, _data: &[u8]) -> [u8; 32] {
            [0; 32]
        }
    }

    fn judge(now: u64, policy: Policy) -> OtpJudge {
        OtpJudge {
            cipher: Arc::new(ClearCipher),
            policy: Arc::new(policy),
            now,
            actor: Actor::anonymous("test"),
        }
    }

    fn token(kind: TokenKind, digits: u8, last_used: i64) -> Token {
        Token {
            id: 7,
            serial: "1234567897".parse().unwrap(),
            user_id: 1,
            kind,
            state: TokenState::Active,
            otp: OtpParams {
                algorithm: Algorithm::Sha1,
                digits: Digits::new(digits).unwrap(),
                period: if kind == TokenKind::Hotp { 0 } else { 30 },
            },
            sealed_seed: RFC4226_KEY.to_vec(),
            sealed_unlock_secret: None,
            last_used,
            drift: 0,
            failures: 0,
            locked: false,
            activation_hash: None,
            activation_expires: 0,
            activation_failures: 0,
            created_at: 0,
        }
    }

    fn totp(last_used: i64) -> Token {
        token(TokenKind::Totp, 8, last_used)
    }

    fn hotp(last_used: i64) -> Token {
        token(TokenKind::Hotp, 6, last_used)
    }

    /// The one step judged for `token`.
    fn only_step(judge: &OtpJudge, token: &Token, otp: &str) -> OtpStep {
        let mut steps = judge.token_steps(token, otp).unwrap();
        assert_eq!(steps.len(), 1, "one step per token: {steps:?}");
        steps.remove(0)
    }

    /// The step or counter accepted and the drift kept, if accepted.
    fn accepted(step: &OtpStep) -> Option<(i64, i64)> {
        match step {
            OtpStep::Accept { used, drift, .. } => Some((*used, *drift)),
            _ => None,
        }
    }

    /// The failure's detail, if a counted failure.
    fn failed(step: &OtpStep) -> Option<&str> {
        match step {
            OtpStep::Fail { event, .. } => Some(event.detail.as_str()),
            _ => None,
        }
    }

    #[test]
    fn totp_accepts_the_rfc_6238_code_at_its_step() {
        // RFC 6238 App. B: T = 59 s is step 1, code 94287082.
        let step = only_step(&judge(59, Policy::default()), &totp(-1), "94287082");
        assert_eq!(accepted(&step), Some((1, 0)));
        // T = 1111111109 s is step 37037036, code 07081804.
        let step = only_step(
            &judge(1_111_111_109, Policy::default()),
            &totp(-1),
            "07081804",
        );
        assert_eq!(accepted(&step), Some((37_037_036, 0)));
    }

    #[test]
    fn totp_window_takes_a_step_either_side_and_remembers_the_drift() {
        // At T = 1111111111 (step 37037037, code 14050471) the previous
        // step's code 07081804 is inside a window of one step, one behind.
        let now = 1_111_111_111;
        let step = only_step(&judge(now, Policy::default()), &totp(-1), "07081804");
        assert_eq!(accepted(&step), Some((37_037_036, -1)));
        let step = only_step(&judge(now, Policy::default()), &totp(-1), "14050471");
        assert_eq!(accepted(&step), Some((37_037_037, 0)));
        // With no window, only now's step.
        let strict = Policy {
            totp_window: 0,
            ..Policy::default()
        };
        let step = only_step(&judge(now, strict), &totp(-1), "07081804");
        assert_eq!(failed(&step), Some("wrong code"));
        // Two steps away is outside a window of one.
        let step = only_step(&judge(now + 30, Policy::default()), &totp(-1), "07081804");
        assert_eq!(failed(&step), Some("wrong code"));
    }

    #[test]
    fn a_spent_step_or_counter_is_refused_as_a_replay() {
        // S04/S05: step 1 was accepted already.
        let step = only_step(&judge(59, Policy::default()), &totp(1), "94287082");
        assert_eq!(failed(&step), Some("replay"));
        // An earlier step is a replay too, even inside the window.
        let step = only_step(&judge(89, Policy::default()), &totp(2), "94287082");
        assert_eq!(failed(&step), Some("replay"));
        // HOTP: counter 2 after counter 3 was used.
        let step = only_step(&judge(0, Policy::default()), &hotp(3), RFC4226_CODES[2]);
        assert_eq!(failed(&step), Some("replay"));
        // The acceptance carries the replay failure to record if another
        // request accepted the same code first.
        let step = only_step(&judge(59, Policy::default()), &totp(-1), "94287082");
        let OtpStep::Accept { lost, .. } = step else {
            panic!("accepted");
        };
        assert_eq!(failed(&lost), Some("replay"));
    }

    #[test]
    fn hotp_looks_ahead_as_far_as_the_policy_says() {
        let ahead = |look_ahead| Policy {
            hotp_look_ahead: look_ahead,
            ..Policy::default()
        };
        // Nothing used yet: counter 0 is next (S06).
        let step = only_step(&judge(0, ahead(3)), &hotp(-1), RFC4226_CODES[0]);
        assert_eq!(accepted(&step), Some((0, 0)));
        // Counter 3 is within three ahead of 0, counter 5 is not.
        let step = only_step(&judge(0, ahead(3)), &hotp(-1), RFC4226_CODES[3]);
        assert_eq!(accepted(&step), Some((3, 0)));
        let step = only_step(&judge(0, ahead(3)), &hotp(-1), RFC4226_CODES[5]);
        assert_eq!(failed(&step), Some("wrong code"));
        let step = only_step(&judge(0, ahead(5)), &hotp(-1), RFC4226_CODES[5]);
        assert_eq!(accepted(&step), Some((5, 0)));
        // After counter 4, counter 9 is five ahead of the next one (5).
        let step = only_step(&judge(0, ahead(4)), &hotp(4), RFC4226_CODES[9]);
        assert_eq!(accepted(&step), Some((9, 0)));
    }

    #[test]
    fn a_failure_locks_at_the_limit_and_a_locked_token_is_refused() {
        let policy = Policy {
            otp_failure_limit: 3,
            ..Policy::default()
        };
        // S12: every failure carries the limit and the lock to record
        // when it is reached (the store counts, in its transaction).
        let step = only_step(&judge(59, policy.clone()), &totp(-1), "00000000");
        let OtpStep::Fail {
            token_id,
            limit,
            event,
            lock_event,
        } = step
        else {
            panic!("a counted failure");
        };
        assert_eq!((token_id, limit), (7, 3));
        assert_eq!(
            (event.action.as_str(), event.outcome.as_str()),
            ("otp.verify", "failure")
        );
        assert_eq!(lock_event.action, AuditAction::TokenLock);
        assert_eq!(lock_event.detail, "after 3 failures");
        // A locked token refuses even the right code, and counts nothing.
        let mut locked = totp(-1);
        locked.locked = true;
        let step = only_step(&judge(59, policy), &locked, "94287082");
        let OtpStep::Record(event) = step else {
            panic!("a refusal recorded, nothing counted");
        };
        assert_eq!(
            (event.outcome.as_str(), event.detail.as_str()),
            ("denied", "token locked")
        );
    }

    #[test]
    fn tokens_that_are_not_active_are_not_judged() {
        let mut suspended = totp(-1);
        suspended.state = TokenState::Suspended;
        let steps = judge(59, Policy::default())
            .token_steps(&suspended, "94287082")
            .unwrap();
        assert!(steps.is_empty());
    }

    #[test]
    fn the_first_token_that_accepts_ends_the_judgement() {
        let mut first = hotp(-1);
        first.id = 1;
        let mut second = totp(-1);
        second.id = 2;
        let mut third = totp(-1);
        third.id = 3;
        // The HOTP token refuses the TOTP code, the first TOTP token
        // accepts it, the last is not tried.
        let tokens = [first, second, third];
        let steps = judge(59, Policy::default())
            .tokens_steps(&tokens, "94287082")
            .unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(failed(&steps[0]), Some("wrong code"));
        assert!(matches!(steps[1], OtpStep::Accept { token_id: 2, .. }));
    }

    #[test]
    fn unknown_and_disabled_users_and_users_without_a_token_are_refused() {
        let judge = judge(59, Policy::default());
        let outcome = |steps: Vec<OtpStep>| match steps.as_slice() {
            [OtpStep::Record(event)] => (event.outcome, event.detail.clone()),
            other => panic!("one refusal: {other:?}"),
        };
        let steps = judge.user_steps("nobody", None, &[], "94287082").unwrap();
        assert_eq!(outcome(steps), (Outcome::Failure, "unknown user".into()));
        let mut user = User {
            id: 1,
            username: "alice".parse().unwrap(),
            email: None,
            role: crate::model::Role::User,
            status: UserStatus::Disabled,
            password_hash: None,
            password_failures: 0,
            password_blocked_until: 0,
            answer_failures: 0,
            answer_blocked_until: 0,
            created_at: 0,
        };
        let steps = judge
            .user_steps("alice", Some(&user), &[totp(-1)], "94287082")
            .unwrap();
        assert_eq!(outcome(steps), (Outcome::Denied, "user disabled".into()));
        user.status = UserStatus::Active;
        let steps = judge
            .user_steps("alice", Some(&user), &[], "94287082")
            .unwrap();
        assert_eq!(outcome(steps), (Outcome::Failure, "no active token".into()));
        let steps = judge
            .user_steps("alice", Some(&user), &[totp(-1)], "94287082")
            .unwrap();
        assert_eq!(accepted(&steps[0]), Some((1, 0)));
    }
}
