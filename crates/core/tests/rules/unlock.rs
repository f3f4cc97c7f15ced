use super::*;

// --- S21/S22: unlock codes -----------------------------------------------------

#[tokio::test]
async fn s21_s22_an_unlock_code_matches_the_derivation_and_five_a_day_per_token_are_issued() {
    let app = app(Policy::default()).await;
    let (serial, _, unlock) = app.user_with_soft_token("hank").await;
    let (other, _, _) = app.user_with_soft_token("ida").await;
    let helpdesk = app.admin.helpdesk();
    for _ in 0..5 {
        let reset = ResetCode::generate();
        let code = app
            .latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), &reset.grouped())
            .await
            .unwrap();
        assert_eq!(code, unlock_code(&unlock, &serial, &reset));
        app.clock.advance(3600);
    }
    let refused = app
        .latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
        .await;
    assert!(
        matches!(refused, Err(AdminError::RateLimited)),
        "{refused:?}"
    );
    assert!(app.audit().iter().any(|(a, s, o, d)| a == "unlock.issue"
        && s == serial.digits()
        && o == "denied"
        && d == "rate limit"));
    // The limit is per token.
    app.latchkey
        .issue_unlock_code(&helpdesk, other.digits(), ResetCode::generate().digits())
        .await
        .unwrap();
    // A day after the first issue, one more may be issued.
    app.clock.advance(24 * 3600 - 5 * 3600 + 1);
    app.latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
        .await
        .unwrap();
    assert!(matches!(
        app.latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
            .await,
        Err(AdminError::RateLimited)
    ));
    assert_eq!(app.count_audit("unlock.issue", "success"), 7);
    app.chain_verifies().await;
}

#[tokio::test]
async fn s22_unlock_codes_are_refused_for_a_bad_reset_code_a_suspended_token_or_a_generic_one() {
    let app = app(Policy::default()).await;
    let (serial, _, _) = app.user_with_soft_token("jan").await;
    let helpdesk = app.admin.helpdesk();
    let bad = app
        .latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), "1234")
        .await;
    assert!(matches!(bad, Err(AdminError::BadResetCode(_))), "{bad:?}");
    app.latchkey
        .set_token_state(&app.admin, serial.digits(), TokenState::Suspended)
        .await
        .unwrap();
    let suspended = app
        .latchkey
        .issue_unlock_code(&helpdesk, serial.digits(), ResetCode::generate().digits())
        .await;
    assert!(
        matches!(suspended, Err(AdminError::NotActive { .. })),
        "{suspended:?}"
    );
    let generic = app
        .latchkey
        .issue_token(&app.admin, "jan", TokenKind::Totp)
        .await
        .unwrap();
    let generic = app
        .latchkey
        .issue_unlock_code(
            &helpdesk,
            generic.serial.digits(),
            ResetCode::generate().digits(),
        )
        .await;
    assert!(
        matches!(generic, Err(AdminError::NotASoftToken(_))),
        "{generic:?}"
    );
    assert_eq!(app.count_audit("unlock.issue", "success"), 0);
}
