use super::*;

// --- S16: the wrong-password throttle --------------------------------------

/// Until when `name`'s passwords from the test's address wait: since S47
/// the S16 delays are the address's (the account's count takes only an
/// address's first five).
async fn address_waits_until(app: &App, name: &str) -> i64 {
    let id = app.user(name).await.id;
    app.store
        .source_password_blocked_until(id, SOURCE)
        .await
        .unwrap()
}

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
            (
                user.password_failures,
                address_waits_until(&app, "lena").await
            ),
            (5, now + wait),
            "failure {n}: the address waits; the account counts its first five"
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
            address_waits_until(&app, "lena").await,
            now + wait,
            "waits are not counted (a counted one would wait longer)"
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
        assert!(address_waits_until(&app, "mia").await <= app.clock.now() as i64 + max);
    }
    let user = app.user("mia").await;
    assert!(
        address_waits_until(&app, "mia").await > app.clock.now() as i64,
        "the flooding address waits"
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
    let waits_until = address_waits_until(&app, "nina").await;
    assert_eq!(
        (user.password_failures, waits_until - app.clock.now() as i64),
        (5, 1),
        "the seventh came during the sixth's wait of a second"
    );
    app.clock.advance(waits_until - app.clock.now() as i64);
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
