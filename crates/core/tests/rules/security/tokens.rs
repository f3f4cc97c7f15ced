//! M1 (S46), M4 (S49): strangers cannot lock a token for good, and the
//! help desk reaches only the accounts it may help.

use super::*;
use crate::model::AuditAction;

// --- M1 (S46): strangers cannot lock a token for good ------------------------

/// S46 (M1): the review's ten wrong refreshes with a known serial and no
/// credentials no longer lock the token: refresh failures do not count
/// toward the token's lock; they have a throttle of their own, per serial,
/// which an unknown serial meets alike; and the owner's codes still work.
#[tokio::test]
async fn m1_strangers_cannot_lock_a_token_through_refresh() {
    let app = app(Policy::default()).await;
    let (serial, totp) = app.soft_token_user("fay", Role::User).await;
    let stranger = "203.0.113.9";
    let wrong = wrong_code(&totp, app.clock.now());
    for _ in 0..20 {
        let refused = app
            .latchkey
            .refresh(serial.digits(), &wrong, stranger)
            .await;
        assert!(matches!(refused, Err(RefreshError::Refused)));
    }
    let token = app
        .latchkey
        .show_token(&app.admin, serial.digits())
        .await
        .unwrap();
    assert_eq!(
        (token.failures, token.locked),
        (0, false),
        "nothing counted"
    );
    app.clock.advance(30);
    let otp = totp.generate(app.clock.now());
    assert_eq!(
        app.authenticate("fay", Some(PASSWORD), &otp).await,
        Decision::Accept,
        "the owner signs in"
    );
    // The refresh's own throttle: ten failures an hour, then even a right
    // code is refused unchecked until the hour has passed.
    app.clock.advance(30);
    let right = totp.generate(app.clock.now());
    assert!(
        app.latchkey
            .refresh(serial.digits(), &right, stranger)
            .await
            .is_err()
    );
    app.clock.advance(3600);
    let right = totp.generate(app.clock.now());
    assert!(
        app.latchkey
            .refresh(serial.digits(), &right, SOURCE)
            .await
            .is_ok()
    );
    // Unknown serials are audited and throttled the same way.
    let unknown = "1234567897";
    for _ in 0..11 {
        assert!(
            app.latchkey
                .refresh(unknown, &wrong, stranger)
                .await
                .is_err()
        );
    }
    let audit = app.store.audit_events();
    let outcomes = |subject: &str, outcome: &str| {
        audit
            .iter()
            .filter(|e| {
                e.action == AuditAction::TokenRefresh
                    && e.subject == subject
                    && e.outcome.as_str() == outcome
            })
            .count()
    };
    assert_eq!(
        (outcomes(unknown, "failure"), outcomes(unknown, "denied")),
        (10, 1)
    );
}

/// S46 (M1): a token locked on the server by wrong codes can be unlocked
/// by its owner in a recovery session (password and security answers),
/// audited and mailed, as DESIGN.md promises; not someone else's token.
#[tokio::test]
async fn m1_a_recovery_session_clears_its_own_tokens_server_lock() {
    let app = app(Policy::default()).await;
    let (serial, totp) = app.soft_token_user("gus", Role::User).await;
    let ids = app.set_answers("gus", &totp).await;
    let (other, _) = app.soft_token_user("hal", Role::User).await;
    let wrong = wrong_code(&totp, app.clock.now());
    for _ in 0..10 {
        app.authenticate("gus", None, &wrong).await;
    }
    assert!(
        app.latchkey
            .show_token(&app.admin, serial.digits())
            .await
            .unwrap()
            .locked
    );

    let pending = app.pending_session("gus").await;
    let asked = app.latchkey.portal_challenge(&pending).await.unwrap();
    let id = app
        .latchkey
        .portal_answer_challenge(&pending, right_answers(&asked, &ids), SOURCE)
        .await
        .unwrap();
    let recovery = app.session(&id).await.recovery().unwrap();
    let refused = app
        .latchkey
        .portal_reset_own_token(&recovery, other.digits(), SOURCE)
        .await;
    assert!(
        matches!(refused, Err(PortalError::Field { .. })),
        "not hal's"
    );
    let mail = app
        .latchkey
        .portal_reset_own_token(&recovery, serial.digits(), SOURCE)
        .await
        .unwrap()
        .expect("the user is told");
    assert!(mail.body.contains(serial.digits()));
    let token = app
        .latchkey
        .show_token(&app.admin, serial.digits())
        .await
        .unwrap();
    assert_eq!((token.failures, token.locked), (0, false));
    assert!(
        app.store
            .audit_events()
            .iter()
            .any(|e| e.action == AuditAction::TokenReset
                && e.subject == serial.digits()
                && e.detail == "by its user in self-service")
    );
    app.clock.advance(30);
    let otp = totp.generate(app.clock.now());
    assert_eq!(app.authenticate("gus", None, &otp).await, Decision::Accept);
}

// --- M4 (S49): the help desk's reach -----------------------------------------

/// A help-desk user's right, from a full sign-in.
async fn helpdesk_of(app: &App, name: &str, totp: &Totp) -> Helpdesk {
    let full = app.full_session(name, totp).await;
    app.latchkey
        .portal_helpdesk(&full, SOURCE)
        .expect("a help-desk user")
}

/// S49 (M4): a help-desk user can no longer enrol a token for an admin
/// (or another help-desk user), clear their throttle, remove their answers,
/// reset their tokens or issue their unlock codes; users they still help,
/// and an administrator's help-desk right reaches everyone.
#[tokio::test]
async fn m4_the_help_desk_cannot_act_on_admin_or_help_desk_accounts() {
    let app = app(Policy::default()).await;
    let (_, bob_totp) = app.soft_token_user("bob", Role::Helpdesk).await;
    let (carol_serial, _) = app.soft_token_user("carol", Role::Admin).await;
    let (dan_serial, _) = app.soft_token_user("dan", Role::Helpdesk).await;
    let (eve_serial, _) = app.soft_token_user("eve", Role::User).await;
    let bob = helpdesk_of(&app, "bob", &bob_totp).await;
    let tokens_before = app
        .store
        .tokens_of_user(app.user("carol").await.id)
        .await
        .unwrap()
        .len();
    for (name, serial) in [("carol", &carol_serial), ("dan", &dan_serial)] {
        let beyond = |r: Result<(), AdminError>| matches!(r, Err(AdminError::BeyondHelpdesk(_)));
        assert!(beyond(
            app.latchkey
                .helpdesk_issue_token(&bob, name)
                .await
                .map(|_| ())
        ));
        assert!(beyond(app.latchkey.clear_lockouts(&bob, name).await));
        assert!(beyond(app.latchkey.reset_answers(&bob, name).await));
        assert!(beyond(
            app.latchkey.reset_token(&bob, serial.digits()).await
        ));
        assert!(beyond(
            app.latchkey
                .issue_unlock_code(&bob, serial.digits(), "123456789012")
                .await
                .map(|_| ())
        ));
    }
    assert_eq!(
        app.store
            .tokens_of_user(app.user("carol").await.id)
            .await
            .unwrap()
            .len(),
        tokens_before,
        "no token was added to the admin"
    );
    // A plain user is helped as before.
    app.latchkey.clear_lockouts(&bob, "eve").await.unwrap();
    app.latchkey
        .reset_token(&bob, eve_serial.digits())
        .await
        .unwrap();
    // An administrator reaches every account.
    let admin_desk = app.admin.helpdesk();
    app.latchkey
        .clear_lockouts(&admin_desk, "carol")
        .await
        .unwrap();
    app.latchkey
        .reset_token(&admin_desk, dan_serial.digits())
        .await
        .unwrap();
}

/// S49 (M4): a token the help desk issues sends its activation code to the
/// user by mail, and the help desk gets only the serial; every new token
/// tells its user; self-service keeps at most two tokens waiting (L4).
#[tokio::test]
async fn m4_every_new_token_mails_the_user_and_help_desk_activations_go_to_the_user() {
    let app = app(Policy::default()).await;
    let (_, bob_totp) = app.soft_token_user("bob", Role::Helpdesk).await;
    let (_, eve_totp) = app.soft_token_user("eve", Role::User).await;
    let bob = helpdesk_of(&app, "bob", &bob_totp).await;
    let (serial, mail) = app
        .latchkey
        .helpdesk_issue_token(&bob, "eve")
        .await
        .unwrap();
    assert_eq!(mail.to, "eve@example.invalid");
    let code: String = mail
        .body
        .lines()
        .find(|l| l.starts_with("Activation code:"))
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        app.latchkey
            .activate(serial.digits(), &code, SOURCE)
            .await
            .is_ok(),
        "the mailed code activates the token"
    );
    // An administrator's token tells the user too.
    let issued = app
        .latchkey
        .issue_token(&app.admin, "eve", TokenKind::Totp)
        .await
        .unwrap();
    let notice = issued.notice.expect("a notice");
    assert_eq!(notice.to, "eve@example.invalid");
    assert!(notice.body.contains(&issued.serial.grouped()));
    // Self-service: told, and at most two waiting.
    let full = app.full_session("eve", &eve_totp).await;
    for _ in 0..2 {
        let issued = app
            .latchkey
            .portal_issue_token(&full, SOURCE)
            .await
            .unwrap();
        assert!(issued.notice.is_some());
    }
    assert!(matches!(
        app.latchkey.portal_issue_token(&full, SOURCE).await,
        Err(PortalError::PendingSoftTokens { pending: 2 })
    ));
}
