use super::*;

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
