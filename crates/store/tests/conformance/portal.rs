//! Portal sessions, security questions and reset links.

use super::*;

both_backends!(
    sessions_advance_rotate_and_expire,
    one_challenge_until_answered_even_under_races,
    reset_links_are_single_use_expire_and_are_rate_limited,
    a_retired_question_leaves_the_choice_once_and_audited,
);

const RIGHT_PASSWORD: &str = "correct horse battery";

pub(super) async fn full_session(h: &Harness, name: &str, totp: &Totp) -> (SessionId, FullSession) {
    let id = h
        .latchkey
        .portal_sign_in(name, Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await
        .unwrap();
    let pending = h
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.stage(), SessionStage::Password);
    let pending = pending.pending().expect("a session at the password step");
    let otp = totp.generate(h.clock.now());
    let full = h
        .latchkey
        .portal_second_factor(&pending, &otp, "127.0.0.1")
        .await
        .unwrap();
    assert!(
        h.latchkey
            .portal_session(id.expose())
            .await
            .unwrap()
            .is_none(),
        "the first factor's id ends when the second factor is in (S35)"
    );
    let session = h
        .latchkey
        .portal_session(full.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.stage(), SessionStage::Full);
    (full, session.full().expect("a full session"))
}

async fn alive(h: &Harness, id: &SessionId) -> bool {
    h.latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .is_some()
}

async fn sessions_advance_rotate_and_expire(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "olga").await;
    let refused = h
        .latchkey
        .portal_sign_in("olga", Zeroizing::new("wrong password".into()), "127.0.0.1")
        .await;
    assert!(matches!(refused, Err(PortalError::SignInRefused)));
    let unknown = h
        .latchkey
        .portal_sign_in("nobody", Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await;
    assert!(matches!(unknown, Err(PortalError::SignInRefused)));

    let (id, session) = full_session(&h, "olga", &totp).await;
    // Activity keeps a session; 30 idle minutes end it.
    h.clock.advance(25 * 60);
    assert!(alive(&h, &id).await);
    h.clock.advance(25 * 60);
    assert!(alive(&h, &id).await);
    h.clock.advance(31 * 60);
    assert!(!alive(&h, &id).await);
    // Twelve hours end it however busy it is.
    h.clock.advance(60);
    let (id, _) = full_session(&h, "olga", &totp).await;
    for _ in 0..=(12 * 60 / 20) {
        h.clock.advance(20 * 60);
        if !alive(&h, &id).await {
            break;
        }
    }
    assert!(!alive(&h, &id).await);
    // Signing out, and disabling the user, end it too.
    h.clock.advance(60);
    let (id, session_now) = full_session(&h, "olga", &totp).await;
    h.latchkey
        .portal_sign_out(&session_now, "127.0.0.1")
        .await
        .unwrap();
    assert!(!alive(&h, &id).await);
    h.clock.advance(60);
    let (id, _) = full_session(&h, "olga", &totp).await;
    h.latchkey
        .set_user_status(&h.admin, "olga", UserStatus::Disabled)
        .await
        .unwrap();
    assert!(!alive(&h, &id).await);
    // A session with the password only reaches nothing beyond the factors.
    assert_eq!(session.stage(), SessionStage::Full);
    h.latchkey
        .set_user_status(&h.admin, "olga", UserStatus::Active)
        .await
        .unwrap();
    let pending_id = h
        .latchkey
        .portal_sign_in("olga", Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await
        .unwrap();
    let pending = h
        .latchkey
        .portal_session(pending_id.expose())
        .await
        .unwrap()
        .unwrap();
    // The password alone reaches no self-service action: the session yields
    // neither the recovery rights (tokens, unlock) nor a full session.
    assert!(pending.recovery().is_none());
    assert!(pending.full().is_none());
    // The pending step expires after five minutes.
    h.clock.advance(5 * 60 + 1);
    assert!(!alive(&h, &pending_id).await);
    let actions: Vec<String> = audit_actions(&h).await.into_iter().map(|a| a.0).collect();
    assert!(actions.iter().any(|a| a == "portal.sign-in"));
    assert!(actions.iter().any(|a| a == "portal.sign-out"));
}

async fn one_challenge_until_answered_even_under_races(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "pia").await;
    let (_, session) = full_session(&h, "pia", &totp).await;
    assert!(h.latchkey.portal_needs_answers(&session).await.unwrap());
    let pool = h.latchkey.portal_question_pool().await.unwrap();
    assert!(
        pool.len() >= 5,
        "a fresh install offers a pool of questions"
    );
    let choices: Vec<(String, Zeroizing<String>)> = pool[..5]
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.to_string(), Zeroizing::new(format!("Almería {i}"))))
        .collect();
    h.latchkey
        .portal_set_answers(&session, choices, "127.0.0.1")
        .await
        .unwrap();
    assert!(!h.latchkey.portal_needs_answers(&session).await.unwrap());
    // Only hashes are stored.
    let user = session.user().clone();
    let answers = h.store.answers_of(user.id).await.unwrap();
    assert_eq!(answers.len(), 5);
    assert!(answers.iter().all(|a| !a.answer_hash.contains("Almer")));

    // Eight challenges at once on a fresh account: all see the same two.
    h.clock.advance(60);
    let pending_id = h
        .latchkey
        .portal_sign_in("pia", Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await
        .unwrap();
    let pending = h
        .latchkey
        .portal_session(pending_id.expose())
        .await
        .unwrap()
        .unwrap()
        .pending()
        .expect("a session at the password step");
    let mut racing = Vec::new();
    for _ in 0..8 {
        let latchkey = h.latchkey.clone();
        let pending = pending.clone();
        racing.push(tokio::spawn(async move {
            latchkey.portal_challenge(&pending).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for task in racing {
        seen.push(task.await.unwrap());
    }
    assert!(
        seen.iter().all(|q| *q == seen[0]),
        "one challenge at a time"
    );
    assert_eq!(seen[0].len(), 2);
    // Wrong answers: refused, counted, and the same questions again.
    let wrong = vec![
        Zeroizing::new("x".to_owned()),
        Zeroizing::new("y".to_owned()),
    ];
    let refused = h
        .latchkey
        .portal_answer_challenge(&pending, wrong, "127.0.0.1")
        .await;
    assert!(matches!(refused, Err(PortalError::AnswersRefused)));
    assert_eq!(
        h.latchkey.portal_challenge(&pending).await.unwrap(),
        seen[0]
    );
    let failures = h
        .store
        .user_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .password_failures;
    assert_eq!(failures, 1);
    // The right answers, typed otherwise, open a recovery session.
    let right: Vec<Zeroizing<String>> = seen[0]
        .iter()
        .map(|q| {
            let i = pool[..5].iter().position(|p| p.id == q.id).unwrap();
            Zeroizing::new(format!("  ALMERI\u{301}A  {i}."))
        })
        .collect();
    let recovery_id = h
        .latchkey
        .portal_answer_challenge(&pending, right, "127.0.0.1")
        .await
        .unwrap();
    let recovery = h
        .latchkey
        .portal_session(recovery_id.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recovery.stage(), SessionStage::Recovery);
    assert!(
        h.latchkey
            .portal_session(pending_id.expose())
            .await
            .unwrap()
            .is_none()
    );
    // A recovery session cannot change the answers or enrol a token (S28).
    // Both take a full session, which a recovery session does not yield.
    assert!(recovery.full().is_none());
    assert!(recovery.recovery().is_some(), "the recovery actions it has");
    let after = h.store.answers_of(user.id).await.unwrap();
    assert!(
        after.iter().all(|a| !a.asked),
        "answered: the marks are gone"
    );
}

async fn reset_links_are_single_use_expire_and_are_rate_limited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(
            &h.admin,
            "quinn",
            Some("quinn@example.org".into()),
            Role::User,
            Some(Zeroizing::new(RIGHT_PASSWORD.into())),
        )
        .await
        .unwrap();
    let base = "https://portal.example.org";
    let mut links = Vec::new();
    for _ in 0..4 {
        if let Some(issued) = h
            .latchkey
            .portal_issue_reset_link("quinn", "127.0.0.1")
            .await
            .unwrap()
        {
            assert_eq!(issued.to, "quinn@example.org");
            let token = issued.token.to_string();
            assert!(!token.is_empty());
            // The server makes the link on its route; the mail carries it.
            let link = format!("{base}/password/reset/{token}");
            let mail = issued.mail(&link);
            assert_eq!(mail.to, "quinn@example.org");
            assert!(mail.body.contains(&link));
            links.push(token);
        }
    }
    assert_eq!(links.len(), 3, "three links per account per hour");
    assert!(
        h.latchkey
            .portal_issue_reset_link("nobody", "127.0.0.1")
            .await
            .unwrap()
            .is_none()
    );
    let new = || Zeroizing::new("the new passphrase".to_owned());
    // A typo does not spend the link.
    let typo = h
        .latchkey
        .portal_reset_password(
            &links[0],
            new(),
            Zeroizing::new("other".into()),
            "127.0.0.1",
        )
        .await;
    assert!(matches!(typo, Err(PortalError::Field { .. })));
    assert!(h.latchkey.portal_reset_link_works(&links[0]).await.unwrap());
    h.latchkey
        .portal_reset_password(&links[0], new(), new(), "127.0.0.1")
        .await
        .unwrap();
    let reuse = h
        .latchkey
        .portal_reset_password(&links[0], new(), new(), "127.0.0.1")
        .await;
    assert!(matches!(reuse, Err(PortalError::LinkInvalid)), "single use");
    h.clock.advance(3601);
    assert!(!h.latchkey.portal_reset_link_works(&links[1]).await.unwrap());
    let expired = h
        .latchkey
        .portal_reset_password(&links[1], new(), new(), "127.0.0.1")
        .await;
    assert!(matches!(expired, Err(PortalError::LinkInvalid)), "expired");
    // An hour later the rate limit has room again.
    assert!(
        h.latchkey
            .portal_issue_reset_link("quinn", "127.0.0.1")
            .await
            .unwrap()
            .is_some()
    );
}

/// Retiring a question: the store marks it inactive once (a second retire,
/// or an unknown id, changes nothing and records nothing); the domain keeps
/// it out of the choice and refuses to leave fewer active questions than a
/// user must choose.
async fn a_retired_question_leaves_the_choice_once_and_audited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let store = &h.store;
    let id = h
        .latchkey
        .add_question(&h.admin, "Which was the first concert you went to?")
        .await
        .unwrap();
    let rows_before = store.audit_rows(0, 100_000).await.unwrap().len();
    assert!(
        store
            .retire_question(id, event_for("questions.retire", "q", "first"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_question(id, event_for("questions.retire", "q", "again"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_question(999_999, event_for("questions.retire", "q", "none"))
            .await
            .unwrap()
    );
    let details = audit_details_after(store, rows_before).await;
    assert_eq!(details, ["first"]);
    let question = store
        .questions()
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.id == id)
        .unwrap();
    assert!(!question.active);
    assert!(
        !h.latchkey
            .portal_question_pool()
            .await
            .unwrap()
            .iter()
            .any(|q| q.id == id),
        "not offered"
    );
    assert!(matches!(
        h.latchkey.retire_question(&h.admin, id).await,
        Err(AdminError::QuestionRetired(_))
    ));
    assert!(matches!(
        h.latchkey.retire_question(&h.admin, 999_999).await,
        Err(AdminError::NoSuchQuestion(999_999))
    ));
    let active: Vec<i64> = store
        .questions()
        .await
        .unwrap()
        .iter()
        .filter(|q| q.active)
        .map(|q| q.id)
        .collect();
    let wanted = 5;
    for other in &active[..active.len() - wanted] {
        h.latchkey.retire_question(&h.admin, *other).await.unwrap();
    }
    assert!(matches!(
        h.latchkey
            .retire_question(&h.admin, active[active.len() - 1])
            .await,
        Err(AdminError::PoolTooSmall(_))
    ));
    assert_eq!(
        h.latchkey.portal_question_pool().await.unwrap().len(),
        wanted
    );
    assert!(h.latchkey.verify_audit().await.unwrap().is_ok());
}
