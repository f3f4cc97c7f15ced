//! The domain's rules, tested on the in-memory fake of the store ports
//! (`latchkey-testkit`): no SQL, no HTTP, and a clock the tests move.
//! The numbers (S04, S16, …) are SECURITY.md's.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_core::import::{ImportRequest, prepare_account};
use latchkey_core::oath::{Algorithm, Digits, ResetCode, Serial, Totp, UnlockSecret, unlock_code};
use latchkey_core::*;
use latchkey_testkit::{MemoryStore, T0, TestCipher, memory_app_on};
use zeroize::Zeroizing;

const SOURCE: &str = "127.0.0.1";
const PASSWORD: &str = "correct horse battery";

/// The RFC 4226 Appendix D seed, "12345678901234567890", in base32.
const RFC_SEED_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// The domain on a store the test keeps a handle to, with the API key of
/// the relying application that calls `authenticate`.
struct App {
    latchkey: Latchkey<MemoryStore>,
    store: MemoryStore,
    admin: Admin,
    clock: ManualClock,
    key: String,
}

async fn app_at(now: u64, policy: Policy) -> App {
    let store = MemoryStore::new();
    let clock = ManualClock::at(now);
    let (latchkey, admin) = memory_app_on(store.clone(), clock.clone(), policy);
    let key = latchkey
        .create_api_key(&admin, "relying-app", ApiRole::Authenticate)
        .await
        .expect("an API key");
    App {
        latchkey,
        store,
        admin,
        clock,
        key: key.to_string(),
    }
}

async fn app(policy: Policy) -> App {
    app_at(T0, policy).await
}

impl App {
    /// A user with a password and an activated Latchkey soft token; the
    /// token's serial, its TOTP and its unlock secret.
    async fn user_with_soft_token(&self, name: &str) -> (Serial, Totp, UnlockSecret) {
        self.latchkey
            .add_user(
                &self.admin,
                name,
                Some(format!("{name}@example.invalid")),
                Role::User,
                Some(Zeroizing::new(PASSWORD.into())),
            )
            .await
            .unwrap();
        let issued = self
            .latchkey
            .issue_token(&self.admin, name, TokenKind::Latchkey)
            .await
            .unwrap();
        let code = issued.activation_code.unwrap();
        let grant = self
            .latchkey
            .activate(issued.serial.digits(), code.digits(), SOURCE)
            .await
            .unwrap();
        let totp = Totp::new(grant.secret.clone(), Algorithm::Sha256, Digits::EIGHT, 30).unwrap();
        let unlock = grant
            .unlock_secret
            .expect("Latchkey tokens carry an unlock secret");
        (issued.serial, totp, unlock)
    }

    /// A user with no password whose token is the key URI `uri` (the RFC
    /// seed), put in below the domain as the importer does; its serial.
    async fn user_with_imported_token(&self, name: &str, uri: &str) -> String {
        let now = self.clock.now() as i64;
        let request = ImportRequest {
            username: name.into(),
            otpauth_uri: uri.into(),
            ..ImportRequest::default()
        };
        let account = prepare_account(&TestCipher::default(), request, now).unwrap();
        let event = |action: &str| AuditEvent {
            at: now,
            actor: "cli".into(),
            action: action.into(),
            subject: name.into(),
            source: "cli".into(),
            outcome: "success".into(),
            detail: String::new(),
        };
        let user_id = self
            .store
            .insert_user(account.user, event("user.import"))
            .await
            .unwrap();
        let mut token = account.token;
        token.user_id = user_id;
        let serial = token.serial.clone();
        self.store
            .insert_token(token, event("token.import"))
            .await
            .unwrap();
        serial
    }

    async fn authenticate(&self, name: &str, password: Option<&str>, otp: &str) -> Decision {
        self.latchkey
            .authenticate(
                &self.key,
                SOURCE,
                name,
                password.map(|p| Zeroizing::new(p.to_owned())),
                otp,
            )
            .await
            .unwrap()
            .expect("a valid key")
    }

    async fn user(&self, name: &str) -> User {
        self.store
            .user_by_name(&name.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    async fn token(&self, serial: &str) -> Token {
        self.latchkey.show_token(&self.admin, serial).await.unwrap()
    }

    /// (action, subject, outcome, detail) of every audit event.
    fn audit(&self) -> Vec<(String, String, String, String)> {
        self.store
            .audit_events()
            .into_iter()
            .map(|e| (e.action, e.subject, e.outcome, e.detail))
            .collect()
    }

    fn count_audit(&self, action: &str, outcome: &str) -> usize {
        self.audit()
            .iter()
            .filter(|(a, _, o, _)| a == action && o == outcome)
            .count()
    }

    async fn chain_verifies(&self) {
        let rows = self.latchkey.verify_audit().await.unwrap();
        assert_eq!(rows, Ok(self.store.audit_events().len() as u64));
    }
}

/// An 8-digit code that no step in the window around `now` shows.
fn wrong_code(totp: &Totp, now: u64) -> String {
    (0..)
        .map(|n: u32| format!("{:08}", n * 1_111_111 % 100_000_000))
        .find(|code| (0..=4).all(|step| totp.generate(now + step * 30 - 60) != *code))
        .unwrap()
}

// --- S16: the wrong-password throttle --------------------------------------

#[tokio::test]
async fn s16_five_wrong_passwords_are_free_then_each_wait_doubles_and_waits_are_not_counted() {
    let app = app(Policy::default()).await;
    let (_, totp, _) = app.user_with_soft_token("lena").await;
    let throttle = Throttle::default();
    for n in 1..=5 {
        assert_eq!(
            app.authenticate("lena", Some("not the password"), "00000000")
                .await,
            Decision::Reject
        );
        let user = app.user("lena").await;
        assert_eq!(
            (user.password_failures, user.password_blocked_until),
            (n, 0)
        );
    }
    // From the sixth on, each counted failure sets a wait that doubles.
    for (n, wait) in [(6u32, 1i64), (7, 2), (8, 4), (9, 8)] {
        assert_eq!(throttle.delay(n), wait);
        assert_eq!(
            app.authenticate("lena", Some("not the password"), "00000000")
                .await,
            Decision::Reject
        );
        let user = app.user("lena").await;
        let now = app.clock.now() as i64;
        assert_eq!(
            (user.password_failures, user.password_blocked_until),
            (n, now + wait)
        );
        // During the wait nothing is checked or counted, not even the
        // right password.
        let otp = totp.generate(app.clock.now());
        assert_eq!(
            app.authenticate("lena", Some(PASSWORD), &otp).await,
            Decision::Reject,
            "the right password waits too"
        );
        assert_eq!(
            app.authenticate("lena", Some("not the password"), "00000000")
                .await,
            Decision::Reject
        );
        assert_eq!(
            app.user("lena").await.password_failures,
            n,
            "waits are not counted"
        );
        app.clock.advance(wait);
    }
    assert_eq!(app.count_audit("password.verify", "denied"), 8);
    app.chain_verifies().await;
}

#[tokio::test]
async fn s16_the_wait_never_exceeds_the_maximum_however_long_the_flood() {
    let app = app(Policy::default()).await;
    app.user_with_soft_token("mia").await;
    let max = Throttle::default().max_delay;
    for _ in 0..2000 {
        app.clock.advance(1);
        app.authenticate("mia", Some("not the password"), "00000000")
            .await;
        let user = app.user("mia").await;
        assert!(user.password_blocked_until <= app.clock.now() as i64 + max);
    }
    let user = app.user("mia").await;
    assert!(
        user.password_blocked_until > app.clock.now() as i64,
        "the account waits"
    );
    assert!(
        user.password_failures < 20,
        "only counted failures: {}",
        user.password_failures
    );
}

#[tokio::test]
async fn s16_a_right_password_after_the_wait_clears_the_count_on_the_api() {
    let app = app(Policy::default()).await;
    let (_, totp, _) = app.user_with_soft_token("nina").await;
    for _ in 0..7 {
        app.authenticate("nina", Some("not the password"), "00000000")
            .await;
    }
    let user = app.user("nina").await;
    assert_eq!(
        user.password_failures, 6,
        "the seventh came during the wait"
    );
    app.clock
        .advance(user.password_blocked_until - app.clock.now() as i64);
    let otp = totp.generate(app.clock.now());
    assert_eq!(
        app.authenticate("nina", Some(PASSWORD), &otp).await,
        Decision::Accept
    );
    let user = app.user("nina").await;
    assert_eq!(
        (user.password_failures, user.password_blocked_until),
        (0, 0)
    );
}

#[tokio::test]
async fn s16_on_the_portal_only_the_second_factor_clears_the_count_not_the_password_alone() {
    let app = app(Policy::default()).await;
    let (_, totp, _) = app.user_with_soft_token("olga").await;
    for _ in 0..3 {
        let refused = app
            .latchkey
            .portal_sign_in("olga", Zeroizing::new("wrong password".into()), SOURCE)
            .await;
        assert!(matches!(refused, Err(PortalError::SignInRefused)));
    }
    let id = app
        .latchkey
        .portal_sign_in("olga", Zeroizing::new(PASSWORD.into()), SOURCE)
        .await
        .unwrap();
    assert_eq!(
        app.user("olga").await.password_failures,
        3,
        "the password alone clears nothing"
    );
    let pending = app
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap()
        .pending()
        .unwrap();
    app.latchkey
        .portal_second_factor(&pending, &totp.generate(app.clock.now()), SOURCE)
        .await
        .unwrap();
    assert_eq!(
        app.user("olga").await.password_failures,
        0,
        "a complete sign-in clears"
    );
}

// --- S12–S15: the OTP lockout ------------------------------------------------

#[tokio::test]
async fn s12_s15_a_token_locks_at_the_failure_limit_refuses_a_valid_code_and_a_reset_clears() {
    let limit = 4;
    let app = app(Policy {
        otp_failure_limit: limit,
        ..Policy::default()
    })
    .await;
    let (serial, totp, _) = app.user_with_soft_token("dave").await;
    let wrong = wrong_code(&totp, app.clock.now());
    for n in 1..limit {
        assert_eq!(
            app.authenticate("dave", None, &wrong).await,
            Decision::Reject
        );
        let token = app.token(serial.digits()).await;
        assert_eq!((token.failures, token.locked), (n, false));
    }
    assert_eq!(
        app.authenticate("dave", None, &wrong).await,
        Decision::Reject
    );
    let token = app.token(serial.digits()).await;
    assert_eq!(
        (token.failures, token.locked),
        (limit, true),
        "locked at the limit"
    );
    assert_eq!(app.count_audit("token.lock", "success"), 1);
    // Locked: a valid code is refused too, and failures are no longer counted.
    let valid = totp.generate(app.clock.now());
    assert_eq!(
        app.authenticate("dave", None, &valid).await,
        Decision::Reject
    );
    assert_eq!(
        app.authenticate("dave", None, &wrong).await,
        Decision::Reject
    );
    assert_eq!(app.token(serial.digits()).await.failures, limit);
    assert_eq!(app.count_audit("token.lock", "success"), 1, "locked once");
    // S15: the help desk's reset clears the count and the lock.
    app.latchkey
        .reset_token(&app.admin.helpdesk(), serial.digits())
        .await
        .unwrap();
    let token = app.token(serial.digits()).await;
    assert_eq!((token.failures, token.locked), (0, false));
    assert_eq!(
        app.authenticate("dave", None, &valid).await,
        Decision::Accept
    );
    assert!(
        app.audit()
            .iter()
            .any(|(a, s, _, _)| a == "token.reset" && s == serial.digits())
    );
    app.chain_verifies().await;
}

#[tokio::test]
async fn s14_a_success_clears_the_failure_count_so_alternating_never_locks() {
    let limit = 3;
    let app = app(Policy {
        otp_failure_limit: limit,
        ..Policy::default()
    })
    .await;
    let (serial, totp, _) = app.user_with_soft_token("erin").await;
    for _ in 0..3 * limit {
        app.clock.advance(30);
        let now = app.clock.now();
        for _ in 1..limit {
            assert_eq!(
                app.authenticate("erin", None, &wrong_code(&totp, now))
                    .await,
                Decision::Reject
            );
        }
        assert_eq!(
            app.authenticate("erin", None, &totp.generate(now)).await,
            Decision::Accept
        );
        assert_eq!(app.token(serial.digits()).await.failures, 0);
    }
    assert!(!app.token(serial.digits()).await.locked);
}

// --- S04–S07: one acceptance per step or counter (RFC known answers) ------------

#[tokio::test]
async fn s04_an_accepted_totp_code_is_refused_when_replayed_and_the_replay_is_audited() {
    // RFC 6238 Appendix B, SHA-1, 8 digits: T = 59 s shows 94287082 and
    // T = 1111111109 s shows 07081804.
    let app = app_at(59, Policy::default()).await;
    let uri = format!(
        "otpauth://totp/Latchkey:rfc?secret={RFC_SEED_BASE32}&algorithm=SHA1&digits=8&period=30"
    );
    let serial = app.user_with_imported_token("rfc6238", &uri).await;
    assert_eq!(
        app.authenticate("rfc6238", None, "94287082").await,
        Decision::Accept
    );
    assert_eq!(app.token(&serial).await.last_used, 1, "step 1 spent");
    assert_eq!(
        app.authenticate("rfc6238", None, "94287082").await,
        Decision::Reject,
        "the same code in the same step is a replay"
    );
    assert!(
        app.audit().iter().any(|(a, s, o, d)| a == "otp.verify"
            && *s == serial
            && o == "failure"
            && d == "replay"),
        "{:?}",
        app.audit()
    );
    app.clock.advance(1_111_111_109 - 59);
    assert_eq!(
        app.authenticate("rfc6238", None, "07081804").await,
        Decision::Accept
    );
    assert_eq!(
        app.authenticate("rfc6238", None, "07081804").await,
        Decision::Reject
    );
    app.chain_verifies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s04_concurrent_requests_with_one_code_accept_exactly_once() {
    let app = app(Policy::default()).await;
    let (serial, totp, _) = app.user_with_soft_token("carol").await;
    let code = totp.generate(app.clock.now());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let latchkey = app.latchkey.clone();
            let (key, code) = (app.key.clone(), code.clone());
            tokio::spawn(async move {
                latchkey
                    .authenticate(&key, SOURCE, "carol", None, &code)
                    .await
                    .unwrap()
                    .expect("a valid key")
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap() == Decision::Accept);
    }
    assert_eq!(accepted, 1);
    // Each refused request is audited: replays are counted failures, and
    // the tenth locks the token, so the rest are refused as locked.
    assert_eq!(app.count_audit("otp.verify", "failure"), 10);
    assert_eq!(app.count_audit("otp.verify", "denied"), 21);
    assert!(app.token(serial.digits()).await.locked);
}

#[tokio::test]
async fn s43_a_revoked_api_key_is_refused_by_the_next_check() {
    let app = app(Policy::default()).await;
    let (_, totp, _) = app.user_with_soft_token("uma").await;
    app.latchkey
        .revoke_api_key(&app.admin, "relying-app")
        .await
        .unwrap();
    let answer = app
        .latchkey
        .authenticate(
            &app.key,
            SOURCE,
            "uma",
            None,
            &totp.generate(app.clock.now()),
        )
        .await
        .unwrap();
    assert_eq!(answer, None, "no decision for a revoked key");
}

#[tokio::test]
async fn s06_s07_an_accepted_hotp_counter_and_every_one_before_it_is_spent() {
    // RFC 4226 Appendix D: counters 0–9 of the seed "12345678901234567890".
    const RFC4226: [&str; 10] = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    let app = app(Policy::default()).await;
    let uri = format!("otpauth://hotp/Latchkey:rfc?secret={RFC_SEED_BASE32}&counter=0");
    let serial = app.user_with_imported_token("rfc4226", &uri).await;
    assert_eq!(app.token(&serial).await.last_used, -1);
    assert_eq!(
        app.authenticate("rfc4226", None, RFC4226[0]).await,
        Decision::Accept
    );
    assert_eq!(
        app.authenticate("rfc4226", None, RFC4226[0]).await,
        Decision::Reject,
        "counter 0 replayed"
    );
    assert_eq!(
        app.token(&serial).await.failures,
        1,
        "a replay counts as a failure"
    );
    // A match ahead of the expected counter moves the counter to it.
    assert_eq!(
        app.authenticate("rfc4226", None, RFC4226[3]).await,
        Decision::Accept
    );
    assert_eq!(app.token(&serial).await.last_used, 3);
    for (counter, code) in RFC4226.iter().enumerate().take(4) {
        assert_eq!(
            app.authenticate("rfc4226", None, code).await,
            Decision::Reject,
            "counter {counter} is spent"
        );
    }
    app.latchkey
        .reset_token(&app.admin.helpdesk(), &serial)
        .await
        .unwrap();
    assert_eq!(
        app.authenticate("rfc4226", None, RFC4226[9]).await,
        Decision::Accept
    );
    assert_eq!(app.token(&serial).await.last_used, 9);
}

// --- S21/S22: unlock codes -----------------------------------------------------

#[tokio::test]
async fn s21_s22_an_unlock_code_matches_the_derivation_and_five_a_day_per_token_are_issued() {
    let app = app(Policy::default()).await;
    let (serial, _, unlock) = app.user_with_soft_token("hank").await;
    let (other, _, _) = app.user_with_soft_token("ida").await;
    let helpdesk = app.admin.helpdesk();
    for _ in 0..5 {
        let reset = ResetCode::generate();
        let code = app
            .latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), &reset.grouped())
            .await
            .unwrap();
        assert_eq!(code, unlock_code(&unlock, &serial, &reset));
        app.clock.advance(3600);
    }
    let refused = app
        .latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
        .await;
    assert!(
        matches!(refused, Err(AdminError::RateLimited)),
        "{refused:?}"
    );
    assert!(app.audit().iter().any(|(a, s, o, d)| a == "unlock.issue"
        && s == serial.digits()
        && o == "denied"
        && d == "rate limit"));
    // The limit is per token.
    app.latchkey
        .issue_unlock_code(&helpdesk, other.digits(), ResetCode::generate().digits())
        .await
        .unwrap();
    // A day after the first issue, one more may be issued.
    app.clock.advance(24 * 3600 - 5 * 3600 + 1);
    app.latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
        .await
        .unwrap();
    assert!(matches!(
        app.latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
            .await,
        Err(AdminError::RateLimited)
    ));
    assert_eq!(app.count_audit("unlock.issue", "success"), 7);
    app.chain_verifies().await;
}

#[tokio::test]
async fn s22_unlock_codes_are_refused_for_a_bad_reset_code_a_suspended_token_or_a_generic_one() {
    let app = app(Policy::default()).await;
    let (serial, _, _) = app.user_with_soft_token("jan").await;
    let helpdesk = app.admin.helpdesk();
    let bad = app
        .latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), "1234")
        .await;
    assert!(matches!(bad, Err(AdminError::BadResetCode(_))), "{bad:?}");
    app.latchkey
        .set_token_state(&app.admin, serial.digits(), TokenState::Suspended)
        .await
        .unwrap();
    let suspended = app
        .latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
        .await;
    assert!(
        matches!(suspended, Err(AdminError::NotActive { .. })),
        "{suspended:?}"
    );
    let generic = app
        .latchkey
        .issue_token(&app.admin, "jan", TokenKind::Totp)
        .await
        .unwrap();
    let generic = app
        .latchkey
        .issue_unlock_code(
            &helpdesk,
            generic.serial.digits(),
            ResetCode::generate().digits(),
        )
        .await;
    assert!(
        matches!(generic, Err(AdminError::NotASoftToken(_))),
        "{generic:?}"
    );
    assert_eq!(app.count_audit("unlock.issue", "success"), 0);
}

// --- S28–S30: the security questions and the recovery session --------------------

/// A user with a soft token and five answered questions ("answer 0" …
/// "answer 4" to the first five of the pool); the pool's answered ids.
async fn user_with_answers(app: &App, name: &str) -> (Serial, Totp, UnlockSecret, Vec<i64>) {
    let (serial, totp, unlock) = app.user_with_soft_token(name).await;
    let id = app
        .latchkey
        .portal_sign_in(name, Zeroizing::new(PASSWORD.into()), SOURCE)
        .await
        .unwrap();
    let pending = app
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap()
        .pending()
        .unwrap();
    let full = app
        .latchkey
        .portal_second_factor(&pending, &totp.generate(app.clock.now()), SOURCE)
        .await
        .unwrap();
    let full = app
        .latchkey
        .portal_session(full.expose())
        .await
        .unwrap()
        .unwrap()
        .full()
        .unwrap();
    assert!(app.latchkey.portal_needs_answers(&full).await.unwrap());
    let pool = app.latchkey.portal_question_pool().await.unwrap();
    let ids: Vec<i64> = pool[..5].iter().map(|q| q.id).collect();
    let choices = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), Zeroizing::new(format!("answer {i}"))))
        .collect();
    app.latchkey
        .portal_set_answers(&full, choices, SOURCE)
        .await
        .unwrap();
    assert!(!app.latchkey.portal_needs_answers(&full).await.unwrap());
    app.clock.advance(30);
    (serial, totp, unlock, ids)
}

async fn pending_session(app: &App, name: &str) -> PendingSession {
    let id = app
        .latchkey
        .portal_sign_in(name, Zeroizing::new(PASSWORD.into()), SOURCE)
        .await
        .unwrap();
    let session = app
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap();
    assert!(
        session.recovery().is_none(),
        "the password alone opens no recovery action"
    );
    assert!(session.full().is_none());
    session.pending().unwrap()
}

fn answers_to(questions: &[Question], ids: &[i64]) -> Vec<Zeroizing<String>> {
    questions
        .iter()
        .map(|q| {
            let i = ids.iter().position(|id| *id == q.id).unwrap();
            Zeroizing::new(format!("  ANSWER {i}. "))
        })
        .collect()
}

#[tokio::test]
async fn s30_a_challenge_asks_the_policys_number_of_questions_and_the_same_ones_until_answered() {
    let app = app(Policy {
        portal: PortalPolicy {
            questions_asked: 3,
            ..PortalPolicy::default()
        },
        ..Policy::default()
    })
    .await;
    let (_, _, _, ids) = user_with_answers(&app, "pia").await;
    let pending = pending_session(&app, "pia").await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    assert_eq!(asked.len(), 3);
    assert!(
        asked.iter().all(|q| ids.contains(&q.id)),
        "only questions the user answered"
    );
    for _ in 0..5 {
        assert_eq!(
            app.latchkey.portal_challenge(&pending).await.unwrap(),
            asked
        );
    }
    // Wrong answers: refused, counted like a wrong password, the same again.
    let wrong = vec![Zeroizing::new("x".to_owned()); 3];
    let refused = app
        .latchkey
        .portal_answer_challenge(&pending, wrong, SOURCE)
        .await;
    assert!(matches!(refused, Err(PortalError::AnswersRefused)));
    assert_eq!(app.user("pia").await.password_failures, 1);
    assert_eq!(
        app.latchkey.portal_challenge(&pending).await.unwrap(),
        asked
    );
    // Too few answers are wrong answers.
    let short = answers_to(&asked, &ids)[..2].to_vec();
    let refused = app
        .latchkey
        .portal_answer_challenge(&pending, short, SOURCE)
        .await;
    assert!(matches!(refused, Err(PortalError::AnswersRefused)));
    assert_eq!(app.user("pia").await.password_failures, 2);
    // The right ones, typed otherwise, open a recovery session and clear
    // the marks and the count.
    app.latchkey
        .portal_answer_challenge(&pending, answers_to(&asked, &ids), SOURCE)
        .await
        .unwrap();
    let user = app.user("pia").await;
    assert_eq!(user.password_failures, 0);
    assert!(
        app.store
            .answers_of(user.id)
            .await
            .unwrap()
            .iter()
            .all(|a| !a.asked)
    );
}

#[tokio::test]
async fn s30_wrong_answers_throttle_like_wrong_passwords_and_a_wait_refuses_even_right_ones() {
    let app = app(Policy::default()).await;
    let (_, _, _, ids) = user_with_answers(&app, "quinn").await;
    let pending = pending_session(&app, "quinn").await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    let wrong = || vec![Zeroizing::new("x".to_owned()); 2];
    for _ in 0..6 {
        assert!(matches!(
            app.latchkey
                .portal_answer_challenge(&pending, wrong(), SOURCE)
                .await,
            Err(PortalError::AnswersRefused)
        ));
    }
    let user = app.user("quinn").await;
    assert_eq!(user.password_failures, 6);
    assert!(user.password_blocked_until > app.clock.now() as i64);
    let refused = app
        .latchkey
        .portal_answer_challenge(&pending, answers_to(&asked, &ids), SOURCE)
        .await;
    assert!(
        matches!(refused, Err(PortalError::AnswersRefused)),
        "the right answers wait too"
    );
    assert_eq!(app.user("quinn").await.password_failures, 6, "not counted");
    assert_eq!(app.count_audit("questions.verify", "denied"), 1);
    app.clock.advance(1);
    app.latchkey
        .portal_answer_challenge(&pending, answers_to(&asked, &ids), SOURCE)
        .await
        .unwrap();
}

#[tokio::test]
async fn s30_a_user_without_answers_gets_no_challenge() {
    let app = app(Policy::default()).await;
    app.user_with_soft_token("rae").await;
    let pending = pending_session(&app, "rae").await;
    assert!(matches!(
        app.latchkey.portal_challenge(&pending).await,
        Err(PortalError::NoAnswers)
    ));
    assert!(matches!(
        app.latchkey
            .portal_answer_challenge(&pending, vec![Zeroizing::new("x".into())], SOURCE)
            .await,
        Err(PortalError::NoAnswers)
    ));
}

#[tokio::test]
async fn s28_a_recovery_session_sees_unlocks_and_reports_lost_its_own_tokens_only() {
    let app = app(Policy::default()).await;
    let (serial, _, unlock, ids) = user_with_answers(&app, "sam").await;
    let (stranger, _, _) = app.user_with_soft_token("tess").await;
    let pending = pending_session(&app, "sam").await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    let id = app
        .latchkey
        .portal_answer_challenge(&pending, answers_to(&asked, &ids), SOURCE)
        .await
        .unwrap();
    let session = app
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.stage(), SessionStage::Recovery);
    // Changing the answers, enrolling a token, changing the password and
    // the help desk's rights take a `FullSession`, which a recovery session
    // does not yield (S28): the types refuse them, so there is no call to
    // make, only the absence of the full session to see.
    assert!(session.full().is_none());
    assert!(session.pending().is_none());
    let recovery = session.recovery().expect("the recovery actions");
    let tokens = app.latchkey.portal_tokens(&recovery).await.unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.serial.as_str()).collect::<Vec<_>>(),
        [serial.digits()]
    );
    let reset = ResetCode::generate();
    let (code, mail) = app
        .latchkey
        .portal_unlock(&recovery, serial.digits(), &reset.grouped(), SOURCE)
        .await
        .unwrap();
    assert_eq!(code, unlock_code(&unlock, &serial, &reset));
    assert_eq!(mail.expect("the owner is told").to, "sam@example.invalid");
    assert!(
        app.latchkey
            .portal_unlock(
                &recovery,
                stranger.digits(),
                ResetCode::generate().digits(),
                SOURCE
            )
            .await
            .is_err(),
        "another user's token"
    );
    assert!(
        app.latchkey
            .portal_report_lost(&recovery, stranger.digits(), SOURCE)
            .await
            .is_err()
    );
    assert_eq!(app.token(stranger.digits()).await.state, TokenState::Active);
    app.latchkey
        .portal_report_lost(&recovery, serial.digits(), SOURCE)
        .await
        .unwrap();
    assert_eq!(
        app.token(serial.digits()).await.state,
        TokenState::Suspended
    );
    app.chain_verifies().await;
}

/// A recovery session for `name` (answers set first).
async fn recovery_session(app: &App, name: &str, ids: &[i64]) -> SessionId {
    let pending = pending_session(app, name).await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    app.latchkey
        .portal_answer_challenge(&pending, answers_to(&asked, ids), SOURCE)
        .await
        .unwrap()
}

#[tokio::test]
async fn s37_a_recovery_session_ends_when_idle_and_lives_no_longer_than_its_password_step() {
    let app = app(Policy::default()).await;
    let (_, _, _, ids) = user_with_answers(&app, "vic").await;
    let id = recovery_session(&app, "vic", &ids).await;
    let alive = |id: &SessionId| {
        let latchkey = app.latchkey.clone();
        let id = id.expose().to_owned();
        async move { latchkey.portal_session(&id).await.unwrap().is_some() }
    };
    app.clock.advance(29 * 60);
    assert!(alive(&id).await, "activity keeps it");
    app.clock.advance(31 * 60);
    assert!(!alive(&id).await, "30 idle minutes end it");
    // However busy, it ends twelve hours after the password.
    let id = recovery_session(&app, "vic", &ids).await;
    let mut minutes = 0;
    while alive(&id).await {
        assert!(minutes <= 12 * 60, "still alive after {minutes} minutes");
        app.clock.advance(20 * 60);
        minutes += 20;
    }
    assert!(
        minutes >= 12 * 60 - 20,
        "ended early, after {minutes} minutes"
    );
}

#[tokio::test]
async fn s22_the_portal_and_the_help_desk_share_one_daily_unlock_limit_per_token() {
    let app = app(Policy::default()).await;
    let (serial, _, _, ids) = user_with_answers(&app, "wes").await;
    for _ in 0..4 {
        app.latchkey
            .issue_unlock_code(
                &app.admin.helpdesk(),
                serial.digits(),
                ResetCode::generate().digits(),
            )
            .await
            .unwrap();
    }
    let id = recovery_session(&app, "wes", &ids).await;
    let recovery = app
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap()
        .recovery()
        .unwrap();
    let reset = || ResetCode::generate().grouped();
    app.latchkey
        .portal_unlock(&recovery, serial.digits(), &reset(), SOURCE)
        .await
        .expect("the fifth of the day");
    assert!(
        app.latchkey
            .portal_unlock(&recovery, serial.digits(), &reset(), SOURCE)
            .await
            .is_err(),
        "the sixth is refused, whoever asks"
    );
    assert!(matches!(
        app.latchkey
            .issue_unlock_code(
                &app.admin.helpdesk(),
                serial.digits(),
                ResetCode::generate().digits()
            )
            .await,
        Err(AdminError::RateLimited)
    ));
    assert_eq!(app.count_audit("unlock.issue", "success"), 5);
    assert_eq!(app.count_audit("unlock.issue", "denied"), 2);
}
