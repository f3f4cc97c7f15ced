//! The rules that close the findings of the black-box attack
//! (SECURITY-REVIEW.md): each test is named after its finding and carries
//! its SECURITY.md number (S44–…).

use super::*;

impl App {
    /// A user of `role` with a password, an e-mail address and an activated
    /// soft token; its serial and TOTP.
    async fn soft_token_user(&self, name: &str, role: Role) -> (Serial, Totp) {
        let (serial, totp, _) = self.user_with_soft_token_as(name, role).await;
        (serial, totp)
    }

    async fn session(&self, id: &SessionId) -> PortalSession {
        self.latchkey
            .portal_session(id.expose())
            .await
            .unwrap()
            .expect("the session is good")
    }

    /// A full portal session for `name`.
    async fn full_session(&self, name: &str, totp: &Totp) -> FullSession {
        let pending = self.pending_session(name).await;
        self.clock.advance(30);
        let id = self
            .latchkey
            .portal_second_factor(&pending, &totp.generate(self.clock.now()), SOURCE)
            .await
            .unwrap();
        self.session(&id).await.full().unwrap()
    }

    async fn pending_session(&self, name: &str) -> PendingSession {
        let id = self
            .latchkey
            .portal_sign_in(name, Zeroizing::new(PASSWORD.into()), SOURCE)
            .await
            .unwrap();
        self.session(&id).await.pending().unwrap()
    }

    /// Gives `name` five answered questions ("answer 0" … "answer 4" to the
    /// first five of the pool); their ids.
    async fn set_answers(&self, name: &str, totp: &Totp) -> Vec<i64> {
        let full = self.full_session(name, totp).await;
        let pool = self.latchkey.portal_question_pool().await.unwrap();
        let ids: Vec<i64> = pool[..5].iter().map(|q| q.id).collect();
        let choices = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.to_string(), Zeroizing::new(format!("answer {i}"))))
            .collect();
        self.latchkey
            .portal_set_answers(&full, choices, SOURCE)
            .await
            .unwrap();
        ids
    }
}

fn wrong_answers() -> Vec<Zeroizing<String>> {
    vec![Zeroizing::new("wrong".to_owned()); 2]
}

fn right_answers(questions: &[Question], ids: &[i64]) -> Vec<Zeroizing<String>> {
    questions
        .iter()
        .map(|q| {
            let i = ids.iter().position(|id| *id == q.id).unwrap();
            Zeroizing::new(format!("answer {i}"))
        })
        .collect()
}

// --- H1 (S44): a password alone never clears the failure count ---------------

/// S44 (H1): the attack of the review — five free wrong answers on the
/// portal, then the right password with a wrong OTP on the API, again and
/// again — no longer resets the count: the sixth wrong answer makes the
/// account wait, and during the wait even the right answers are refused.
/// Only a complete success (password and accepted OTP) clears the counts.
#[tokio::test]
async fn h1_password_alone_never_clears_the_failure_count() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("alice", Role::User).await;
    let ids = app.set_answers("alice", &totp).await;

    let attacker = app.pending_session("alice").await;
    let asked = app.latchkey.portal_challenge(&attacker).await.unwrap();
    for _ in 0..5 {
        let refused = app
            .latchkey
            .portal_answer_challenge(&attacker, wrong_answers(), SOURCE)
            .await;
        assert!(matches!(refused, Err(PortalError::AnswersRefused)));
    }
    // The reset of the review: the right password, a wrong OTP, on the API.
    let otp = wrong_code(&totp, app.clock.now());
    assert_eq!(
        app.authenticate("alice", Some(PASSWORD), &otp).await,
        Decision::Reject
    );
    // And the portal's password step again, for good measure.
    let attacker = app.pending_session("alice").await;
    let user = app.user("alice").await;
    assert_eq!(
        (user.password_failures, user.answer_failures),
        (5, 5),
        "neither the API's password nor the portal's clears a count"
    );
    // The sixth wrong answer is past the free ones: the account waits.
    let refused = app
        .latchkey
        .portal_answer_challenge(&attacker, wrong_answers(), SOURCE)
        .await;
    assert!(matches!(refused, Err(PortalError::AnswersRefused)));
    let user = app.user("alice").await;
    let now = app.clock.now() as i64;
    assert_eq!((user.password_failures, user.answer_failures), (6, 6));
    assert!(user.answer_blocked_until > now, "answers wait");
    assert!(user.password_blocked_until > now, "the account waits");
    let refused = app
        .latchkey
        .portal_answer_challenge(&attacker, right_answers(&asked, &ids), SOURCE)
        .await;
    assert!(
        matches!(refused, Err(PortalError::AnswersRefused)),
        "even the right answers wait"
    );

    // An accepted OTP alone (no password) is not a complete success either.
    app.clock.advance(30);
    assert_eq!(
        app.authenticate("alice", None, &totp.generate(app.clock.now()))
            .await,
        Decision::Accept
    );
    assert_eq!(app.user("alice").await.answer_failures, 6);

    // The password and an accepted OTP are: both counts start again.
    app.clock.advance(300);
    assert_eq!(
        app.authenticate("alice", Some(PASSWORD), &totp.generate(app.clock.now()))
            .await,
        Decision::Accept
    );
    let user = app.user("alice").await;
    assert_eq!(
        (
            user.password_failures,
            user.password_blocked_until,
            user.answer_failures,
            user.answer_blocked_until
        ),
        (0, 0, 0, 0)
    );
}

/// S44 (H1): wrong answers have a count of their own, beside the account's:
/// a helper that cleared only the password count (as the old API path did)
/// would still leave the answers waiting; the right answers clear both.
#[tokio::test]
async fn h1_wrong_answers_have_a_count_of_their_own() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("bea", Role::User).await;
    let ids = app.set_answers("bea", &totp).await;
    let pending = app.pending_session("bea").await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    for _ in 0..6 {
        let _ = app
            .latchkey
            .portal_answer_challenge(&pending, wrong_answers(), SOURCE)
            .await;
    }
    let user = app.user("bea").await;
    assert_eq!(user.answer_failures, 6);
    // Below the domain, the password count alone is cleared.
    app.store.clear_password_failures(user.id).await.unwrap();
    let refused = app
        .latchkey
        .portal_answer_challenge(&pending, right_answers(&asked, &ids), SOURCE)
        .await;
    assert!(
        matches!(refused, Err(PortalError::AnswersRefused)),
        "the answers' own wait holds"
    );
    app.clock.advance(1);
    app.latchkey
        .portal_answer_challenge(&pending, right_answers(&asked, &ids), SOURCE)
        .await
        .unwrap();
    let user = app.user("bea").await;
    assert_eq!((user.password_failures, user.answer_failures), (0, 0));
}

// --- M3 (S48): clean-up ends sessions and voids reset links -----------------

/// The token of the reset link in a mail.
fn link_token(mail: &Mail) -> String {
    let start = mail.body.find("/password/reset/").expect("a reset link") + 16;
    mail.body[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn is_signed_in(app: &App, id: &SessionId) -> bool {
    app.latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .is_some()
}

/// Two full sessions of `name`; their ids.
async fn two_sessions(app: &App, name: &str, totp: &Totp) -> [SessionId; 2] {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let pending = app.pending_session(name).await;
        app.clock.advance(30);
        let id = app
            .latchkey
            .portal_second_factor(&pending, &totp.generate(app.clock.now()), SOURCE)
            .await
            .unwrap();
        assert!(is_signed_in(app, &id).await);
        ids.push(id);
    }
    ids.try_into().unwrap()
}

/// S48 (M3): an administrator's password reset ends every session of the
/// user at once, not when it is next seen.
#[tokio::test]
async fn m3_reset_password_ends_every_session() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("carl", Role::User).await;
    let ids = two_sessions(&app, "carl", &totp).await;
    app.latchkey
        .reset_password(
            &app.admin,
            "carl",
            Zeroizing::new("admin chosen phrase 2".into()),
        )
        .await
        .unwrap();
    let user = app.user("carl").await;
    assert_eq!(
        app.store
            .delete_sessions_of_user(user.id, None)
            .await
            .unwrap(),
        0,
        "no session row is left to end"
    );
    for id in &ids {
        assert!(!is_signed_in(&app, id).await);
    }
}

/// S48 (M3): a disable ends every session at once, so enabling the user
/// again (with no visit in between) brings none back.
#[tokio::test]
async fn m3_disable_ends_every_session_and_enable_brings_none_back() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("dora", Role::User).await;
    let ids = two_sessions(&app, "dora", &totp).await;
    app.latchkey
        .set_user_status(&app.admin, "dora", UserStatus::Disabled)
        .await
        .unwrap();
    app.latchkey
        .set_user_status(&app.admin, "dora", UserStatus::Active)
        .await
        .unwrap();
    for id in &ids {
        assert!(!is_signed_in(&app, id).await, "no session comes back");
    }
}

/// S48 (M3, L3): a reset by link, an administrator's reset and a password
/// change each void every reset link still outstanding.
#[tokio::test]
async fn m3_a_reset_or_password_change_voids_every_outstanding_reset_link() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("emil", Role::User).await;
    let request = || async {
        app.latchkey
            .portal_request_reset("emil", "https://latchkey.example", SOURCE)
            .await
            .unwrap()
            .expect("a mail")
    };
    // A reset by link voids the other link.
    let (first, second) = (link_token(&request().await), link_token(&request().await));
    assert!(app.latchkey.portal_reset_link_works(&second).await.unwrap());
    let new = || Zeroizing::new("a brand new phrase".to_owned());
    app.latchkey
        .portal_reset_password(&first, new(), new(), SOURCE)
        .await
        .unwrap();
    assert!(!app.latchkey.portal_reset_link_works(&second).await.unwrap());
    // An administrator's reset voids an outstanding link.
    app.clock.advance(3601);
    let third = link_token(&request().await);
    app.latchkey
        .reset_password(&app.admin, "emil", Zeroizing::new(PASSWORD.into()))
        .await
        .unwrap();
    assert!(!app.latchkey.portal_reset_link_works(&third).await.unwrap());
    // So does a password change in the portal.
    let fourth = link_token(&request().await);
    let full = app.full_session("emil", &totp).await;
    app.clock.advance(30);
    app.latchkey
        .portal_change_password(
            &full,
            Zeroizing::new(PASSWORD.into()),
            &totp.generate(app.clock.now()),
            new(),
            new(),
            SOURCE,
        )
        .await
        .unwrap();
    assert!(!app.latchkey.portal_reset_link_works(&fourth).await.unwrap());
}

// --- M1 (S46): strangers cannot lock a token for good ------------------------

/// S46 (M1): the review's ten wrong refreshes with a known serial and no
/// credentials no longer lock the token: refresh failures do not count
/// toward the token's lock; they have a throttle of their own, per serial,
/// which an unknown serial meets alike; and the owner's codes still work.
#[tokio::test]
async fn m1_strangers_cannot_lock_a_token_through_refresh() {
    let app = app(Policy::default()).await;
    let (serial, totp) = app.soft_token_user("fay", Role::User).await;
    let stranger = "203.0.113.9";
    let wrong = wrong_code(&totp, app.clock.now());
    for _ in 0..20 {
        let refused = app
            .latchkey
            .refresh(serial.digits(), &wrong, stranger)
            .await;
        assert!(matches!(refused, Err(RefreshError::Refused)));
    }
    let token = app
        .latchkey
        .show_token(&app.admin, serial.digits())
        .await
        .unwrap();
    assert_eq!(
        (token.failures, token.locked),
        (0, false),
        "nothing counted"
    );
    app.clock.advance(30);
    let otp = totp.generate(app.clock.now());
    assert_eq!(
        app.authenticate("fay", Some(PASSWORD), &otp).await,
        Decision::Accept,
        "the owner signs in"
    );
    // The refresh's own throttle: ten failures an hour, then even a right
    // code is refused unchecked until the hour has passed.
    app.clock.advance(30);
    let right = totp.generate(app.clock.now());
    assert!(
        app.latchkey
            .refresh(serial.digits(), &right, stranger)
            .await
            .is_err()
    );
    app.clock.advance(3600);
    let right = totp.generate(app.clock.now());
    assert!(
        app.latchkey
            .refresh(serial.digits(), &right, SOURCE)
            .await
            .is_ok()
    );
    // Unknown serials are audited and throttled the same way.
    let unknown = "1234567897";
    for _ in 0..11 {
        assert!(
            app.latchkey
                .refresh(unknown, &wrong, stranger)
                .await
                .is_err()
        );
    }
    let audit = app.store.audit_events();
    let outcomes = |subject: &str, outcome: &str| {
        audit
            .iter()
            .filter(|e| e.action == "token.refresh" && e.subject == subject && e.outcome == outcome)
            .count()
    };
    assert_eq!(
        (outcomes(unknown, "failure"), outcomes(unknown, "denied")),
        (10, 1)
    );
}

/// S46 (M1): a token locked on the server by wrong codes can be unlocked
/// by its owner in a recovery session (password and security answers),
/// audited and mailed, as DESIGN.md promises; not someone else's token.
#[tokio::test]
async fn m1_a_recovery_session_clears_its_own_tokens_server_lock() {
    let app = app(Policy::default()).await;
    let (serial, totp) = app.soft_token_user("gus", Role::User).await;
    let ids = app.set_answers("gus", &totp).await;
    let (other, _) = app.soft_token_user("hal", Role::User).await;
    let wrong = wrong_code(&totp, app.clock.now());
    for _ in 0..10 {
        app.authenticate("gus", None, &wrong).await;
    }
    assert!(
        app.latchkey
            .show_token(&app.admin, serial.digits())
            .await
            .unwrap()
            .locked
    );

    let pending = app.pending_session("gus").await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    let id = app
        .latchkey
        .portal_answer_challenge(&pending, right_answers(&asked, &ids), SOURCE)
        .await
        .unwrap();
    let recovery = app.session(&id).await.recovery().unwrap();
    let refused = app
        .latchkey
        .portal_reset_own_token(&recovery, other.digits(), SOURCE)
        .await;
    assert!(
        matches!(refused, Err(PortalError::Field { .. })),
        "not hal's"
    );
    let mail = app
        .latchkey
        .portal_reset_own_token(&recovery, serial.digits(), SOURCE)
        .await
        .unwrap()
        .expect("the user is told");
    assert!(mail.body.contains(serial.digits()));
    let token = app
        .latchkey
        .show_token(&app.admin, serial.digits())
        .await
        .unwrap();
    assert_eq!((token.failures, token.locked), (0, false));
    assert!(
        app.store
            .audit_events()
            .iter()
            .any(|e| e.action == "token.reset"
                && e.subject == serial.digits()
                && e.detail == "by its user in self-service")
    );
    app.clock.advance(30);
    let otp = totp.generate(app.clock.now());
    assert_eq!(app.authenticate("gus", None, &otp).await, Decision::Accept);
}

// --- M4 (S49): the help desk's reach -----------------------------------------

/// A help-desk user's right, from a full sign-in.
async fn helpdesk_of(app: &App, name: &str, totp: &Totp) -> Helpdesk {
    let full = app.full_session(name, totp).await;
    app.latchkey
        .portal_helpdesk(&full, SOURCE)
        .expect("a help-desk user")
}

/// S49 (M4): a help-desk user can no longer enrol a token for an admin
/// (or another help-desk user), clear their throttle, remove their answers,
/// reset their tokens or issue their unlock codes; users they still help,
/// and an administrator's help-desk right reaches everyone.
#[tokio::test]
async fn m4_the_help_desk_cannot_act_on_admin_or_help_desk_accounts() {
    let app = app(Policy::default()).await;
    let (_, bob_totp) = app.soft_token_user("bob", Role::Helpdesk).await;
    let (carol_serial, _) = app.soft_token_user("carol", Role::Admin).await;
    let (dan_serial, _) = app.soft_token_user("dan", Role::Helpdesk).await;
    let (eve_serial, _) = app.soft_token_user("eve", Role::User).await;
    let bob = helpdesk_of(&app, "bob", &bob_totp).await;
    let tokens_before = app
        .store
        .tokens_of_user(app.user("carol").await.id)
        .await
        .unwrap()
        .len();
    for (name, serial) in [("carol", &carol_serial), ("dan", &dan_serial)] {
        let beyond = |r: Result<(), AdminError>| matches!(r, Err(AdminError::BeyondHelpdesk(_)));
        assert!(beyond(
            app.latchkey
                .helpdesk_issue_token(&bob, name)
                .await
                .map(|_| ())
        ));
        assert!(beyond(app.latchkey.clear_lockouts(&bob, name).await));
        assert!(beyond(app.latchkey.reset_answers(&bob, name).await));
        assert!(beyond(
            app.latchkey.reset_token(&bob, serial.digits()).await
        ));
        assert!(beyond(
            app.latchkey
                .issue_unlock_code(&bob, serial.digits(), "123456789012")
                .await
                .map(|_| ())
        ));
    }
    assert_eq!(
        app.store
            .tokens_of_user(app.user("carol").await.id)
            .await
            .unwrap()
            .len(),
        tokens_before,
        "no token was added to the admin"
    );
    // A plain user is helped as before.
    app.latchkey.clear_lockouts(&bob, "eve").await.unwrap();
    app.latchkey
        .reset_token(&bob, eve_serial.digits())
        .await
        .unwrap();
    // An administrator reaches every account.
    let admin_desk = app.admin.helpdesk();
    app.latchkey
        .clear_lockouts(&admin_desk, "carol")
        .await
        .unwrap();
    app.latchkey
        .reset_token(&admin_desk, dan_serial.digits())
        .await
        .unwrap();
}

/// S49 (M4): a token the help desk issues sends its activation code to the
/// user by mail, and the help desk gets only the serial; every new token
/// tells its user; self-service keeps at most two tokens waiting (L4).
#[tokio::test]
async fn m4_every_new_token_mails_the_user_and_help_desk_activations_go_to_the_user() {
    let app = app(Policy::default()).await;
    let (_, bob_totp) = app.soft_token_user("bob", Role::Helpdesk).await;
    let (_, eve_totp) = app.soft_token_user("eve", Role::User).await;
    let bob = helpdesk_of(&app, "bob", &bob_totp).await;
    let (serial, mail) = app
        .latchkey
        .helpdesk_issue_token(&bob, "eve")
        .await
        .unwrap();
    assert_eq!(mail.to, "eve@example.invalid");
    let code: String = mail
        .body
        .lines()
        .find(|l| l.starts_with("Activation code:"))
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        app.latchkey
            .activate(serial.digits(), &code, SOURCE)
            .await
            .is_ok(),
        "the mailed code activates the token"
    );
    // An administrator's token tells the user too.
    let issued = app
        .latchkey
        .issue_token(&app.admin, "eve", TokenKind::Totp)
        .await
        .unwrap();
    let notice = issued.notice.expect("a notice");
    assert_eq!(notice.to, "eve@example.invalid");
    assert!(notice.body.contains(&issued.serial.grouped()));
    // Self-service: told, and at most two waiting.
    let full = app.full_session("eve", &eve_totp).await;
    for _ in 0..2 {
        let issued = app
            .latchkey
            .portal_issue_token(&full, SOURCE)
            .await
            .unwrap();
        assert!(issued.notice.is_some());
    }
    assert!(matches!(
        app.latchkey.portal_issue_token(&full, SOURCE).await,
        Err(PortalError::TooMany(_))
    ));
}

/// S44 over RADIUS, the entry point that came after the rule: wrong
/// passwords count; an accepted OTP in `otp-only` mode (the device checked
/// the password, Latchkey saw only the OTP) clears nothing; a one-step
/// password and OTP, a complete proof, clears the count.
#[tokio::test]
async fn h1_radius_clears_the_failure_count_only_after_its_own_password_and_an_otp() {
    use latchkey_core::radius::{RadiusAnswer, RadiusMode, RadiusRequest};
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("alice", Role::User).await;
    for (name, mode) in [("vpn", RadiusMode::OneStep), ("fw", RadiusMode::OtpOnly)] {
        app.latchkey
            .add_radius_client(
                &app.admin,
                name,
                "127.0.0.1",
                mode,
                Some(Zeroizing::new(b"a shared secret".to_vec())),
                true,
            )
            .await
            .unwrap();
    }
    let peers = app.latchkey.radius_peers().await.unwrap();
    let peer = |name: &str| peers.iter().find(|p| p.name == name).unwrap().clone();
    let (vpn, fw) = (peer("vpn"), peer("fw"));
    let ask = |peer: &latchkey_core::radius::RadiusPeer, password: String| {
        let latchkey = &app.latchkey;
        let peer = peer.clone();
        async move {
            latchkey
                .radius_access(RadiusRequest {
                    peer: &peer,
                    source: "127.0.0.1".parse().unwrap(),
                    nas_identifier: None,
                    username: b"alice",
                    password: password.as_bytes(),
                    state: None,
                })
                .await
                .unwrap()
        }
    };

    for _ in 0..3 {
        let code = totp.generate(app.clock.now());
        assert_eq!(
            ask(&vpn, format!("wrong password{code}")).await,
            RadiusAnswer::Reject
        );
    }
    assert_eq!(app.user("alice").await.password_failures, 3);

    let code = totp.generate(app.clock.now());
    assert!(matches!(ask(&fw, code).await, RadiusAnswer::Accept { .. }));
    assert_eq!(
        app.user("alice").await.password_failures,
        3,
        "an OTP alone (otp-only) clears nothing"
    );

    app.clock.advance(30);
    let code = totp.generate(app.clock.now());
    assert!(matches!(
        ask(&vpn, format!("{PASSWORD}{code}")).await,
        RadiusAnswer::Accept { .. }
    ));
    assert_eq!(
        app.user("alice").await.password_failures,
        0,
        "the password and an accepted OTP clear the count"
    );
}

// --- M2 (S47): wrong passwords per account and address --------------------

/// A password attempt for `name` from `source`, with or without a
/// known-device cookie: whether it passed.
async fn password_passes(
    app: &App,
    name: &str,
    password: &str,
    source: &str,
    device: Option<&str>,
) -> bool {
    app.latchkey
        .portal_sign_in_on_device(name, Zeroizing::new(password.into()), source, device)
        .await
        .is_ok()
}

/// S47 (M2): one stranger's flood makes that stranger's address wait and
/// adds only its free failures to the account's count, so the owner at
/// another address signs in; strangers at many addresses make the whole
/// account wait, and then only a browser that completed a sign-in of this
/// account before (its known-device cookie) passes. RADIUS and the API
/// share the rule: it is the password factor's.
#[tokio::test]
async fn m2_s47_a_flood_of_wrong_passwords_does_not_stop_the_owner() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("olga", Role::User).await;
    let (_, bob_totp) = app.soft_token_user("bob", Role::User).await;

    // The owner's browser completes a sign-in and is remembered.
    let pending = app.pending_session("olga").await;
    app.clock.advance(30);
    let (_, device) = app
        .latchkey
        .portal_second_factor_on_device(&pending, &totp.generate(app.clock.now()), "198.51.100.10")
        .await
        .unwrap();
    let bob_pending = app.pending_session("bob").await;
    let (_, bobs_device) = app
        .latchkey
        .portal_second_factor_on_device(&bob_pending, &bob_totp.generate(app.clock.now()), SOURCE)
        .await
        .unwrap();

    for _ in 0..40 {
        assert!(!password_passes(&app, "olga", "wrong guess", "203.0.113.66", None).await);
    }
    assert!(
        !password_passes(&app, "olga", PASSWORD, "203.0.113.66", None).await,
        "the flooding address waits"
    );
    let user = app.user("olga").await;
    assert_eq!(
        user.password_failures, 5,
        "one address adds its free failures only"
    );
    assert!(
        password_passes(&app, "olga", PASSWORD, "198.51.100.20", None).await,
        "the owner at another address gets in"
    );

    // Many addresses: the account waits for every browser but a known one.
    for host in 1..=10 {
        for _ in 0..6 {
            let source = format!("203.0.113.{host}");
            assert!(!password_passes(&app, "olga", "wrong guess", &source, None).await);
        }
    }
    assert!(app.user("olga").await.password_blocked_until > app.clock.now() as i64);
    assert!(!password_passes(&app, "olga", PASSWORD, "198.51.100.30", None).await);
    assert!(
        !password_passes(
            &app,
            "olga",
            PASSWORD,
            "198.51.100.30",
            Some(bobs_device.expose())
        )
        .await,
        "another account's known device is no pass"
    );
    assert!(
        !password_passes(&app, "olga", PASSWORD, "198.51.100.30", Some("1.2.AAAA")).await,
        "a forged one neither"
    );
    assert!(
        password_passes(
            &app,
            "olga",
            PASSWORD,
            "198.51.100.30",
            Some(device.expose())
        )
        .await,
        "the owner's known browser passes the account's wait"
    );
    // The API: per the client address the application forwards.
    for _ in 0..30 {
        let decision = app
            .latchkey
            .authenticate_for_client(
                &app.key,
                SOURCE,
                Some("203.0.113.66".parse().unwrap()),
                "bob",
                Some(Zeroizing::new("wrong guess".into())),
                "000000",
            )
            .await
            .unwrap();
        assert_eq!(decision, Some(Decision::Reject));
    }
    app.clock.advance(30);
    let decision = app
        .latchkey
        .authenticate_for_client(
            &app.key,
            SOURCE,
            Some("198.51.100.40".parse().unwrap()),
            "bob",
            Some(Zeroizing::new(PASSWORD.into())),
            &bob_totp.generate(app.clock.now()),
        )
        .await
        .unwrap();
    assert_eq!(
        decision,
        Some(Decision::Accept),
        "the owner behind the same application"
    );
}

// --- L5 (S54), L9 (S56): names and mail addresses ----------------------------

/// S54 (L5): the review's names. Compatibility forms are read as their
/// plain ones (fullwidth, Kelvin sign, `ⅷ`), decomposed accents composed,
/// Turkish `İ`'s dot dropped; a name outside the one-script safe set
/// (Cyrillic `а`, Arabic-Indic digits, `ß`) is refused with a message.
#[tokio::test]
async fn l5_s54_user_names_are_nfkc_and_confusables_are_refused() {
    let app = app(Policy::default()).await;
    let add = |name: &'static str| {
        let app = &app;
        async move {
            app.latchkey
                .add_user(
                    &app.admin,
                    name,
                    None,
                    Role::User,
                    Some(Zeroizing::new(PASSWORD.into())),
                )
                .await
        }
    };
    add("alice").await.unwrap();
    assert!(
        matches!(add("ａｌｉｃｅ").await, Err(AdminError::Exists(_))),
        "fullwidth is alice"
    );
    assert!(matches!(
        add("\u{212a}ate").await.unwrap().username.as_str(),
        "kate"
    ));
    assert_eq!(add("ⅷ").await.unwrap().username.as_str(), "viii");
    assert_eq!(
        add("jose\u{301}").await.unwrap().username.as_str(),
        "jos\u{e9}"
    );
    assert!(
        matches!(add("jos\u{e9}").await, Err(AdminError::Exists(_))),
        "NFC and NFD are one name"
    );
    assert_eq!(add("İstanbul").await.unwrap().username.as_str(), "istanbul");
    for refused in ["\u{430}lice", "١٢٣", "stra\u{df}e", "\u{3b1}lpha"] {
        let error = add(refused).await.unwrap_err();
        assert!(
            matches!(error, AdminError::ConfusableUsername),
            "{refused}: {error}"
        );
        assert!(error.to_string().contains("a–z"), "{error}");
    }
    // A client that sends the decomposed form signs in.
    assert!(password_passes(&app, "jose\u{301}", PASSWORD, SOURCE, None).await);
    assert!(password_passes(&app, "ＡＬＩＣＥ", PASSWORD, SOURCE, None).await);
}

/// S56 (L9): the review's address and its kin are refused at `user add`,
/// and nothing is added.
#[tokio::test]
async fn l9_s56_mail_addresses_are_validated() {
    let app = app(Policy::default()).await;
    for bad in [
        "<img src=x onerror=alert(1)>@x\r\nBcc: all@corp",
        "alice@example.org\r\nBcc: all@corp",
        "alice",
        "alice@",
        "@example.org",
        "alice@localhost",
        "al ice@example.org",
        "alice@@example.org",
        "alice..x@example.org",
        "alice@-example.org",
    ] {
        let added = app
            .latchkey
            .add_user(&app.admin, "mallory", Some(bad.into()), Role::User, None)
            .await;
        assert!(
            matches!(added, Err(AdminError::BadEmail)),
            "{bad:?}: {added:?}"
        );
    }
    assert!(
        app.latchkey
            .list_users(&app.admin)
            .await
            .unwrap()
            .is_empty()
    );
    for good in [
        "alice@example.org",
        "a.b+tag@mail.example.co.uk",
        "o'neil@example.org",
    ] {
        assert_eq!(checked_email(good).unwrap(), good);
    }
}

// --- L1 (S52): the audit chain verified in pages ------------------------------

/// S52 (L1): `audit verify` reads the chain page by page, so a log longer
/// than a page verifies, counted whole, and a break in a later page is
/// found.
#[tokio::test]
async fn l1_s52_audit_verify_streams_in_pages() {
    let app = app(Policy::default()).await;
    let before = app.latchkey.verify_audit().await.unwrap().unwrap();
    let rows = 2 * latchkey_core::audit::VERIFY_PAGE + 7;
    for n in 0..rows {
        app.store
            .append(AuditEvent {
                at: n,
                actor: "test".into(),
                action: "test.row".into(),
                subject: format!("row {n}"),
                source: SOURCE.into(),
                outcome: "success".into(),
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    let verified = app.latchkey.verify_audit().await.unwrap().unwrap();
    assert_eq!(verified, before + rows as u64);
}
