use super::*;

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
