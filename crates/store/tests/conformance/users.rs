//! Users: the wrong-password throttle.

use super::*;

both_backends!(s16_a_flood_of_wrong_passwords_delays_the_owner_only_up_to_the_maximum,);

async fn s16_a_flood_of_wrong_passwords_delays_the_owner_only_up_to_the_maximum(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "lena").await;
    let right = || Some(Zeroizing::new("correct horse battery".to_owned()));
    let wrong = || Some(Zeroizing::new("not the password".to_owned()));
    let max = Throttle::default().max_delay;
    // Five wrong passwords cost nothing: the right one still works.
    for _ in 0..5 {
        assert_eq!(
            h.latchkey
                .authenticate(&h.key, SOURCE, "lena", wrong(), "00000000")
                .await
                .unwrap()
                .expect("a valid key"),
            Decision::Reject
        );
    }
    h.clock.advance(30);
    let otp = totp.generate(h.clock.now());
    assert_eq!(
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", right(), &otp)
            .await
            .unwrap()
            .expect("a valid key"),
        Decision::Accept,
        "5 failures are free"
    );
    // A stranger's flood: a wrong password every second for over a quarter
    // of an hour. Each counted failure doubles the wait, up to the maximum;
    // attempts during a wait are refused without being counted.
    for _ in 0..1000 {
        h.clock.advance(1);
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", wrong(), "00000000")
            .await
            .unwrap()
            .expect("a valid key");
        let user = h
            .store
            .user_by_name(&"lena".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let address_waits = h
            .store
            .source_password_blocked_until(user.id, SOURCE)
            .await
            .unwrap();
        assert!(
            address_waits <= h.clock.now() as i64 + max,
            "never longer than the maximum"
        );
    }
    let user = h
        .store
        .user_by_name(&"lena".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    // The flood comes from one address (S47): that address waits, and the
    // account counts only its first few, so others are not stopped.
    assert!(
        h.store
            .source_password_blocked_until(user.id, SOURCE)
            .await
            .unwrap()
            > h.clock.now() as i64,
        "the flooding address waits"
    );
    assert!(
        user.password_failures < 20,
        "waits are not counted, and one address adds only its first few: {}",
        user.password_failures
    );
    let otp = totp.generate(h.clock.now());
    assert_eq!(
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", right(), &otp)
            .await
            .unwrap()
            .expect("a valid key"),
        Decision::Reject,
        "the right password waits too, from the flooded address"
    );
    // After the maximum delay the owner gets in, and the count starts over.
    h.clock.advance(max);
    let otp = totp.generate(h.clock.now());
    assert_eq!(
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", right(), &otp)
            .await
            .unwrap()
            .expect("a valid key"),
        Decision::Accept
    );
    let user = h
        .store
        .user_by_name(&"lena".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.password_failures, user.password_blocked_until),
        (0, 0)
    );
    let denied = audit_actions(&h)
        .await
        .into_iter()
        .filter(|(a, _, o)| a == "password.verify" && o.starts_with("denied"))
        .count();
    assert!(denied > 0, "throttled attempts are audited");
}
