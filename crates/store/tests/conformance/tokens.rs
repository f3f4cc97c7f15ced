//! Tokens: activation, OTP acceptance once, lockout, HOTP and TOTP windows, unlock codes, sealed secrets.

use super::*;
use latchkey_core::{AuditAction, Outcome};

both_backends!(
    activation_is_single_use,
    s04_s05_an_otp_is_accepted_once_and_a_replay_is_audited,
    s04_concurrent_requests_with_one_otp_accept_exactly_once,
    s12_s14_s15_failures_lock_and_a_reset_clears,
    s13_parallel_failures_are_all_counted,
    s06_s07_hotp_counter_moves_only_on_success,
    s08_totp_window_and_drift,
    s21_s22_help_desk_unlock_codes_match_the_derivation_and_are_rate_limited,
    s03_secrets_are_sealed_at_rest,
    a_fresh_code_equal_to_a_spent_one_is_accepted,
);

async fn activation_is_single_use(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "Alice", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "alice", TokenKind::Latchkey)
        .await
        .unwrap();
    let code = issued.activation_code.unwrap();
    let wrong = latchkey_core::oath::ActivationCode::generate();
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), wrong.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    assert!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await
            .is_ok()
    );
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    let unknown = Serial::generate();
    assert!(matches!(
        h.latchkey
            .activate(unknown.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    // Five wrong codes void an outstanding code; expiry voids it too.
    let issued = h
        .latchkey
        .issue_token(&h.admin, "alice", TokenKind::Latchkey)
        .await
        .unwrap();
    for _ in 0..5 {
        let _ = h
            .latchkey
            .activate(issued.serial.digits(), wrong.digits(), "x")
            .await;
    }
    let code = issued.activation_code.unwrap();
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    let issued = h
        .latchkey
        .issue_token(&h.admin, "alice", TokenKind::Latchkey)
        .await
        .unwrap();
    h.clock.advance(8 * 24 * 3600);
    let code = issued.activation_code.unwrap();
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
}

async fn s04_s05_an_otp_is_accepted_once_and_a_replay_is_audited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, totp, _) = user_with_token(&h, "bob").await;
    let code = totp.generate(T0);
    assert!(otp_ok(&h, "bob", &code).await);
    assert!(
        !otp_ok(&h, "bob", &code).await,
        "the same OTP again is refused"
    );
    let actions = audit_actions(&h).await;
    assert!(
        actions.contains(&(
            "otp.verify".into(),
            serial.digits().into(),
            "failure:replay".into()
        )),
        "{actions:?}"
    );
    h.clock.advance(30);
    assert!(
        otp_ok(&h, "bob", &totp.generate(T0 + 30)).await,
        "the next step's OTP is fine"
    );
}

async fn s04_concurrent_requests_with_one_otp_accept_exactly_once(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "carol").await;
    let code = totp.generate(T0);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let latchkey = h.latchkey.clone();
            let code = code.clone();
            let key = h.key.clone();
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
        if task.await.unwrap() == Decision::Accept {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

async fn s12_s14_s15_failures_lock_and_a_reset_clears(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, totp, _) = user_with_token(&h, "dave").await;
    // S14: failure, success, failure, success never locks.
    for round in 0..12u64 {
        h.clock.advance(30);
        assert!(
            !otp_ok(&h, "dave", "00000000").await || totp.generate(h.clock.now()) == "00000000"
        );
        assert!(
            otp_ok(&h, "dave", &totp.generate(h.clock.now())).await,
            "round {round}"
        );
    }
    for _ in 0..10 {
        assert!(!otp_ok(&h, "dave", "00000000").await);
    }
    h.clock.advance(30);
    let valid = totp.generate(h.clock.now());
    assert!(
        !otp_ok(&h, "dave", &valid).await,
        "S12: locked, a valid OTP is refused too"
    );
    let token = h
        .latchkey
        .show_token(&h.admin, serial.digits())
        .await
        .unwrap();
    assert!(token.locked);
    assert_eq!(token.failures, 10, "attempts during a lock do not add");
    h.latchkey
        .reset_token(&h.admin.helpdesk(), serial.digits())
        .await
        .unwrap();
    assert!(
        otp_ok(&h, "dave", &valid).await,
        "S15: a reset clears the lock"
    );
    let actions = audit_actions(&h).await;
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "token.lock" && s == serial.digits())
    );
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "token.reset" && s == serial.digits())
    );
}

async fn s13_parallel_failures_are_all_counted(postgres: bool) {
    let h = harness(
        postgres,
        Policy {
            otp_failure_limit: 1000,
            ..Policy::default()
        },
    )
    .await;
    let (serial, _, _) = user_with_token(&h, "erin").await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let latchkey = h.latchkey.clone();
            let key = h.key.clone();
            tokio::spawn(async move {
                latchkey
                    .authenticate(&key, SOURCE, "erin", None, "00000001")
                    .await
                    .unwrap()
                    .expect("a valid key")
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, serial.digits())
            .await
            .unwrap()
            .failures,
        50
    );
}

async fn s06_s07_hotp_counter_moves_only_on_success(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "frank", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "frank", TokenKind::Hotp)
        .await
        .unwrap();
    let uri = latchkey_core::oath::KeyUri::parse(&issued.otpauth_uri.unwrap()).unwrap();
    let hotp: Hotp = uri.hotp().unwrap();
    let serial = issued.serial.digits().to_owned();
    assert!(!otp_ok(&h, "frank", "000000").await || hotp.generate(0) == "000000");
    h.latchkey
        .reset_token(&h.admin.helpdesk(), &serial)
        .await
        .unwrap();
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, &serial)
            .await
            .unwrap()
            .last_used,
        -1,
        "a wrong OTP leaves the counter"
    );
    assert!(
        otp_ok(&h, "frank", &hotp.generate(3)).await,
        "a match at c+3"
    );
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, &serial)
            .await
            .unwrap()
            .last_used,
        3,
        "the counter moves to the match"
    );
    for c in 0..=3 {
        assert!(
            !otp_ok(&h, "frank", &hotp.generate(c)).await,
            "counter {c} is spent"
        );
    }
    h.latchkey
        .reset_token(&h.admin.helpdesk(), &serial)
        .await
        .unwrap();
    // Look-ahead 10 from the next counter (4): 14 passes, 15 would not.
    assert!(
        !otp_ok(&h, "frank", &hotp.generate(15)).await || hotp.generate(15) == hotp.generate(14)
    );
    assert!(otp_ok(&h, "frank", &hotp.generate(14)).await);
}

async fn s08_totp_window_and_drift(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "gina").await;
    assert!(
        !otp_ok(&h, "gina", &totp.generate(T0 - 60)).await,
        "T-2 fails"
    );
    assert!(
        otp_ok(&h, "gina", &totp.generate(T0 - 30)).await,
        "T-1 passes"
    );
    // The T−1 acceptance recorded a drift of −1 step: ten steps later the
    // window is centred one step back, so now−2 passes where it would not
    // without the drift, and now+1 no longer does.
    h.clock.advance(300);
    let now = T0 + 300;
    assert!(
        !otp_ok(&h, "gina", &totp.generate(now + 30)).await,
        "now+1 is outside the drifted window"
    );
    assert!(
        otp_ok(&h, "gina", &totp.generate(now - 60)).await,
        "drift is applied"
    );
}

async fn s21_s22_help_desk_unlock_codes_match_the_derivation_and_are_rate_limited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, _, unlock_secret) = user_with_token(&h, "hank").await;
    let unlock_secret = unlock_secret.expect("Latchkey tokens carry an unlock secret");
    let helpdesk = h.admin.helpdesk();
    for _ in 0..5 {
        let reset = ResetCode::generate();
        let code = h
            .latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), &reset.grouped())
            .await
            .unwrap();
        assert_eq!(code, unlock_code(&unlock_secret, &serial, &reset));
    }
    let reset = ResetCode::generate();
    assert!(matches!(
        h.latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), reset.digits())
            .await,
        Err(AdminError::RateLimited)
    ));
    assert!(matches!(
        h.latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), "1234")
            .await,
        Err(AdminError::BadResetCode(_))
    ));
    let issued = audit_actions(&h)
        .await
        .into_iter()
        .filter(|(a, _, o)| a == "unlock.issue" && o.starts_with("success"))
        .count();
    assert_eq!(issued, 5);
}

async fn s03_secrets_are_sealed_at_rest(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "ivy", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "ivy", TokenKind::Totp)
        .await
        .unwrap();
    let uri = latchkey_core::oath::KeyUri::parse(&issued.otpauth_uri.unwrap()).unwrap();
    let seed: Secret = uri.secret.clone();
    let (serial, _, unlock) = user_with_token(&h, "jack").await;
    let _ = serial;
    let dump = if postgres {
        let out = std::process::Command::new("pg_dump")
            .arg(&h.url)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    } else {
        let path = h
            .url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        bytes
    };
    assert!(dump.len() > 1000);
    let hex = data_encoding::HEXLOWER.encode(seed.expose());
    assert!(
        !dump
            .windows(8)
            .any(|w| seed.expose().windows(8).any(|s| s == w)),
        "no raw seed bytes"
    );
    assert!(
        !dump
            .windows(16)
            .any(|w| hex.as_bytes().windows(16).any(|s| s == w)),
        "no hex seed"
    );
    let unlock = unlock.unwrap();
    assert!(
        !dump
            .windows(8)
            .any(|w| unlock.expose().windows(8).any(|s| s == w)),
        "no raw unlock secret"
    );
}

/// Six digits collide now and then: counter j may show the same code as a
/// spent counter i just before it. The fresh match must win over the replay.
async fn a_fresh_code_equal_to_a_spent_one_is_accepted(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "mia", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "mia", TokenKind::Hotp)
        .await
        .unwrap();
    let hotp = latchkey_core::oath::KeyUri::parse(&issued.otpauth_uri.unwrap())
        .unwrap()
        .hotp()
        .unwrap();
    // Find i < j <= i + 10 with equal codes (about one pair per 100,000 counters).
    let mut recent: std::collections::VecDeque<(u64, u64)> = std::collections::VecDeque::new();
    let (spent, fresh) = (0..5_000_000u64)
        .find_map(|c| {
            let value = hotp.value(c);
            let found = recent
                .iter()
                .find(|(_, v)| *v == value)
                .map(|(i, _)| (*i, c));
            recent.push_back((c, value));
            if recent.len() > 10 {
                recent.pop_front();
            }
            found
        })
        .expect("a colliding pair within five million counters");
    let token = h
        .store
        .token_by_serial(issued.serial.digits())
        .await
        .unwrap()
        .unwrap();
    let event = AuditEvent {
        at: T0 as i64,
        actor: "test".into(),
        action: AuditAction::TokenResync,
        subject: token.serial.to_string(),
        source: "test".into(),
        outcome: Outcome::Success,
        detail: String::new(),
    };
    assert!(
        h.store
            .resync_counter(token.id, spent as i64, event)
            .await
            .unwrap()
    );
    assert_eq!(hotp.generate(spent), hotp.generate(fresh));
    assert!(
        otp_ok(&h, "mia", &hotp.generate(fresh)).await,
        "counter {fresh} is fresh although {spent} showed the same code"
    );
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, issued.serial.digits())
            .await
            .unwrap()
            .last_used,
        fresh as i64
    );
}
