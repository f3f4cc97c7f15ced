//! H1 (S44), M2 (S47): a password alone never clears the failure count,
//! and one stranger's flood does not stop the owner.

use super::*;

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
pub(super) async fn password_passes(
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
