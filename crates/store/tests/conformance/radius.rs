//! RADIUS: clients with sealed secrets, and Access-Challenge States that
//! are single use, bound to client and user, and expire after 120 s.

use latchkey_core::radius::{
    RadiusAnswer, RadiusClientError, RadiusMode, RadiusPeer, RadiusRequest, RadiusStore,
};

use super::*;

both_backends!(
    radius_clients_are_sealed_listed_and_removed,
    radius_states_are_single_use_bound_and_expire,
    radius_one_step_and_otp_only_share_the_otp_check,
);

const PASSWORD: &str = "correct horse battery";

async fn peer(h: &Harness, name: &str) -> RadiusPeer {
    h.latchkey
        .radius_peers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == name)
        .expect("the client is registered")
}

async fn access(
    h: &Harness,
    peer: &RadiusPeer,
    user: &str,
    password: &str,
    state: Option<&[u8]>,
) -> RadiusAnswer {
    h.latchkey
        .radius_access(RadiusRequest {
            peer,
            source: "192.0.2.10".parse().unwrap(),
            nas_identifier: Some(b"nas-1"),
            username: user.as_bytes(),
            password: password.as_bytes(),
            state,
        })
        .await
        .unwrap()
}

async fn radius_clients_are_sealed_listed_and_removed(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let made = h
        .latchkey
        .add_radius_client(
            &h.admin,
            "vpn",
            "192.0.2.0/24",
            RadiusMode::OneStep,
            None,
            true,
        )
        .await
        .unwrap()
        .expect("a secret is made when none is given");
    assert!(made.len() >= 32);
    let given = h
        .latchkey
        .add_radius_client(
            &h.admin,
            "wifi",
            "198.51.100.7",
            RadiusMode::OtpOnly,
            Some(Zeroizing::new(b"given secret".to_vec())),
            false,
        )
        .await
        .unwrap();
    assert!(given.is_none(), "a given secret is not shown again");
    assert!(matches!(
        h.latchkey
            .add_radius_client(
                &h.admin,
                "vpn",
                "192.0.2.1",
                RadiusMode::OneStep,
                None,
                true
            )
            .await,
        Err(RadiusClientError::Exists(_))
    ));
    assert!(matches!(
        h.latchkey
            .add_radius_client(&h.admin, "x", "not-an-ip", RadiusMode::OneStep, None, true)
            .await,
        Err(RadiusClientError::BadAddress(_))
    ));

    let stored = h.store.radius_clients().await.unwrap();
    let names: Vec<_> = stored.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["vpn", "wifi"]);
    for client in &stored {
        assert!(
            !client
                .sealed_secret
                .windows(8)
                .any(|w| made.as_bytes().windows(8).any(|s| s == w) || w == b"given se"),
            "the secret is sealed at rest"
        );
    }
    let peers = h.latchkey.radius_peers().await.unwrap();
    assert_eq!(&peers[0].secret[..], made.as_bytes());
    assert_eq!(&peers[1].secret[..], b"given secret");
    assert_eq!(peers[1].mode, RadiusMode::OtpOnly);
    assert!(!peers[1].require_message_authenticator);
    assert!(peers[0].address.contains("192.0.2.99".parse().unwrap()));
    assert!(!peers[1].address.contains("198.51.100.8".parse().unwrap()));

    h.latchkey
        .remove_radius_client(&h.admin, "vpn")
        .await
        .unwrap();
    assert!(matches!(
        h.latchkey.remove_radius_client(&h.admin, "vpn").await,
        Err(RadiusClientError::NoSuchClient(_))
    ));
    assert_eq!(h.store.radius_clients().await.unwrap().len(), 1);
    let actions = audit_actions(&h).await;
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "radius_client.add" && s == "wifi")
    );
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "radius_client.remove" && s == "vpn")
    );
}

async fn radius_states_are_single_use_bound_and_expire(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "alice").await;
    user_with_token(&h, "bob").await;
    for name in ["vpn", "other"] {
        h.latchkey
            .add_radius_client(
                &h.admin,
                name,
                "192.0.2.0/24",
                RadiusMode::TwoStep,
                None,
                true,
            )
            .await
            .unwrap();
    }
    let vpn = peer(&h, "vpn").await;
    let other = peer(&h, "other").await;

    // password → challenge; OTP with the State → accept.
    let RadiusAnswer::Challenge { state } = access(&h, &vpn, "alice", PASSWORD, None).await else {
        panic!("a right password is challenged")
    };
    let code = totp.generate(T0);
    assert_eq!(
        access(&h, &vpn, "alice", &code, Some(&state)).await,
        RadiusAnswer::Accept { role: Role::User }
    );
    // The same State again (even with a fresh code) → reject: single use.
    h.clock.advance(30);
    let code = totp.generate(h.clock.now());
    assert_eq!(
        access(&h, &vpn, "alice", &code, Some(&state)).await,
        RadiusAnswer::Reject
    );

    // Another client's State → reject, and it stays usable by its own client.
    let RadiusAnswer::Challenge { state } = access(&h, &vpn, "alice", PASSWORD, None).await else {
        panic!("challenged")
    };
    assert_eq!(
        access(&h, &other, "alice", &code, Some(&state)).await,
        RadiusAnswer::Reject
    );
    // Another user's State → reject (and spent).
    assert_eq!(
        access(&h, &vpn, "bob", &code, Some(&state)).await,
        RadiusAnswer::Reject
    );
    assert_eq!(
        access(&h, &vpn, "alice", &code, Some(&state)).await,
        RadiusAnswer::Reject,
        "a State presented for the wrong user is spent"
    );

    // A State older than 120 s → reject.
    let RadiusAnswer::Challenge { state } = access(&h, &vpn, "alice", PASSWORD, None).await else {
        panic!("challenged")
    };
    h.clock.advance(121);
    let code = totp.generate(h.clock.now());
    assert_eq!(
        access(&h, &vpn, "alice", &code, Some(&state)).await,
        RadiusAnswer::Reject,
        "an expired State is refused"
    );
    // Within 120 s it is accepted.
    let RadiusAnswer::Challenge { state } = access(&h, &vpn, "alice", PASSWORD, None).await else {
        panic!("challenged")
    };
    h.clock.advance(119);
    let code = totp.generate(h.clock.now());
    assert_eq!(
        access(&h, &vpn, "alice", &code, Some(&state)).await,
        RadiusAnswer::Accept { role: Role::User }
    );

    // A wrong password is no challenge.
    assert_eq!(
        access(&h, &vpn, "alice", "wrong password", None).await,
        RadiusAnswer::Reject
    );
    let actions = audit_actions(&h).await;
    assert!(
        actions
            .iter()
            .any(|(a, _, o)| a == "radius.state" && o.starts_with("failure")),
        "{actions:?}"
    );
}

async fn radius_one_step_and_otp_only_share_the_otp_check(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, totp, _) = user_with_token(&h, "carol").await;
    h.latchkey
        .add_radius_client(
            &h.admin,
            "vpn",
            "192.0.2.0/24",
            RadiusMode::OneStep,
            None,
            true,
        )
        .await
        .unwrap();
    h.latchkey
        .add_radius_client(
            &h.admin,
            "fw",
            "192.0.2.0/24",
            RadiusMode::OtpOnly,
            None,
            true,
        )
        .await
        .unwrap();
    let vpn = peer(&h, "vpn").await;
    let fw = peer(&h, "fw").await;

    let code = totp.generate(T0);
    assert_eq!(
        access(&h, &vpn, "carol", &format!("{PASSWORD}{code}"), None).await,
        RadiusAnswer::Accept { role: Role::User }
    );
    // The same OTP again, over RADIUS or the API → refused (S05).
    assert_eq!(
        access(&h, &vpn, "carol", &format!("{PASSWORD}{code}"), None).await,
        RadiusAnswer::Reject
    );
    assert_eq!(
        access(&h, &fw, "carol", &code, None).await,
        RadiusAnswer::Reject
    );
    assert!(!otp_ok(&h, "carol", &code).await);
    // A right password alone, in one-step mode → challenged.
    assert!(matches!(
        access(&h, &vpn, "carol", PASSWORD, None).await,
        RadiusAnswer::Challenge { .. }
    ));
    // otp-only: the next step's code alone.
    h.clock.advance(30);
    assert_eq!(
        access(&h, &fw, "carol", &totp.generate(h.clock.now()), None).await,
        RadiusAnswer::Accept { role: Role::User }
    );
    // Wrong codes over RADIUS lock the token for the API too (S12).
    h.clock.advance(30);
    let good = totp.generate(h.clock.now());
    let wrong = if good == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for _ in 0..10 {
        assert_eq!(
            access(&h, &fw, "carol", wrong, None).await,
            RadiusAnswer::Reject
        );
    }
    assert!(!otp_ok(&h, "carol", &good).await, "locked for the API too");
    let token = h
        .store
        .token_by_serial(serial.digits())
        .await
        .unwrap()
        .unwrap();
    assert!(token.locked);
    let rows = h.store.audit_rows(0, 100_000).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.event.actor == "radius:fw nas:nas-1" && r.event.source == "192.0.2.10"),
        "audited with the client's name and NAS-Identifier"
    );
}
