//! M3 (S48): a clean-up ends every session and voids every reset link.

use super::*;

// --- M3 (S48): clean-up ends sessions and voids reset links -----------------

/// Whether the session `id` is still good.
async fn is_signed_in(app: &App, id: &SessionId) -> bool {
    app.latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .is_some()
}

/// Two full sessions of `name`; their ids.
async fn two_sessions(app: &App, name: &str, totp: &Totp) -> [SessionId; 2] {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let pending = app.pending_session(name).await;
        app.clock.advance(30);
        let id = app
            .latchkey
            .portal_second_factor(&pending, &totp.generate(app.clock.now()), SOURCE)
            .await
            .unwrap();
        assert!(is_signed_in(app, &id).await);
        ids.push(id);
    }
    ids.try_into().unwrap()
}

/// S48 (M3): an administrator's password reset ends every session of the
/// user at once, not when it is next seen.
#[tokio::test]
async fn m3_reset_password_ends_every_session() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("carl", Role::User).await;
    let ids = two_sessions(&app, "carl", &totp).await;
    app.latchkey
        .reset_password(
            &app.admin,
            "carl",
            Zeroizing::new("admin chosen phrase 2".into()),
        )
        .await
        .unwrap();
    let user = app.user("carl").await;
    assert_eq!(
        app.store
            .delete_sessions_of_user(user.id, None)
            .await
            .unwrap(),
        0,
        "no session row is left to end"
    );
    for id in &ids {
        assert!(!is_signed_in(&app, id).await);
    }
}

/// S48 (M3): a disable ends every session at once, so enabling the user
/// again (with no visit in between) brings none back.
#[tokio::test]
async fn m3_disable_ends_every_session_and_enable_brings_none_back() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("dora", Role::User).await;
    let ids = two_sessions(&app, "dora", &totp).await;
    app.latchkey
        .set_user_status(&app.admin, "dora", UserStatus::Disabled)
        .await
        .unwrap();
    app.latchkey
        .set_user_status(&app.admin, "dora", UserStatus::Active)
        .await
        .unwrap();
    for id in &ids {
        assert!(!is_signed_in(&app, id).await, "no session comes back");
    }
}

/// S48 (M3, L3): a reset by link, an administrator's reset and a password
/// change each void every reset link still outstanding.
#[tokio::test]
async fn m3_a_reset_or_password_change_voids_every_outstanding_reset_link() {
    let app = app(Policy::default()).await;
    let (_, totp) = app.soft_token_user("emil", Role::User).await;
    let request = || async {
        let issued = app
            .latchkey
            .portal_issue_reset_link("emil", SOURCE)
            .await
            .unwrap()
            .expect("a link");
        issued.token.as_str().to_owned()
    };
    // A reset by link voids the other link.
    let (first, second) = (request().await, request().await);
    assert!(app.latchkey.portal_reset_link_works(&second).await.unwrap());
    let new = || Zeroizing::new("a brand new phrase".to_owned());
    app.latchkey
        .portal_reset_password(&first, new(), new(), SOURCE)
        .await
        .unwrap();
    assert!(!app.latchkey.portal_reset_link_works(&second).await.unwrap());
    // An administrator's reset voids an outstanding link.
    app.clock.advance(3601);
    let third = request().await;
    app.latchkey
        .reset_password(&app.admin, "emil", Zeroizing::new(PASSWORD.into()))
        .await
        .unwrap();
    assert!(!app.latchkey.portal_reset_link_works(&third).await.unwrap());
    // So does a password change in the portal.
    let fourth = request().await;
    let full = app.full_session("emil", &totp).await;
    app.clock.advance(30);
    app.latchkey
        .portal_change_password(
            &full,
            Zeroizing::new(PASSWORD.into()),
            &totp.generate(app.clock.now()),
            new(),
            new(),
            SOURCE,
        )
        .await
        .unwrap();
    assert!(!app.latchkey.portal_reset_link_works(&fourth).await.unwrap());
}
