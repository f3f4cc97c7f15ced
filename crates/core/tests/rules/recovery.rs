use super::*;

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
