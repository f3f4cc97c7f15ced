//! The fake's own contract: what the ports promise, on `MemoryStore`.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_core::audit::verify_chain;
use latchkey_core::*;
use latchkey_core::{AuditAction, Outcome};
use latchkey_testkit::MemoryStore;

fn event(action: AuditAction, subject: &str, outcome: Outcome, at: i64) -> AuditEvent {
    AuditEvent {
        at,
        actor: "test".into(),
        action,
        subject: subject.into(),
        source: "test".into(),
        outcome,
        detail: String::new(),
    }
}

fn ev(action: AuditAction) -> AuditEvent {
    event(action, "x", Outcome::Success, 100)
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.parse().unwrap(),
        email: None,
        role: Role::User,
        password_hash: None,
    }
}

fn new_token(serial: &str, user_id: i64) -> NewToken {
    NewToken {
        serial: serial.parse().unwrap(),
        user_id,
        kind: TokenKind::Totp,
        state: TokenState::Active,
        otp: OtpParams {
            algorithm: oath::Algorithm::Sha1,
            digits: oath::Digits::SIX,
            period: 30,
        },
        sealed_seed: vec![1, 2, 3],
        sealed_unlock_secret: None,
        activation_hash: None,
        activation_expires: 0,
        created_at: 100,
    }
}

fn new_key(name: &str, prefix: &str) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        prefix: prefix.into(),
        hash: vec![0; 32],
        role: ApiRole::Authenticate,
        created_at: 100,
    }
}

async fn audit_len(store: &MemoryStore) -> usize {
    store.audit_rows(0, -1).await.unwrap().len()
}

#[tokio::test]
async fn unique_names_serials_key_names_and_prefixes_conflict_and_change_nothing() {
    let store = MemoryStore::new();
    let user = store
        .insert_user(new_user("ann"), ev(AuditAction::UserAdd))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_user(new_user("ann"), ev(AuditAction::UserAdd))
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .insert_token(new_token("0000010017", user), ev(AuditAction::TokenIssue))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_token(new_token("0000010017", user), ev(AuditAction::TokenIssue))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .insert_token(new_token("0000010025", 999), ev(AuditAction::TokenIssue))
            .await,
        Err(StoreError::Backend(_)),
    ));
    store
        .insert_api_key(new_key("app", "lk_a"), ev(AuditAction::ApikeyCreate))
        .await
        .unwrap();
    for key in [new_key("app", "lk_b"), new_key("other", "lk_a")] {
        assert!(matches!(
            store
                .insert_api_key(key, ev(AuditAction::ApikeyCreate))
                .await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(audit_len(&store).await, 3, "refused inserts audit nothing");
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

/// Records `steps` through the one OTP check, for `username`'s tokens;
/// whether an acceptance was recorded.
async fn record(store: &MemoryStore, username: &str, steps: Vec<OtpStep>) -> bool {
    store
        .check_user_otp(None, &username.parse().unwrap(), move |_, _, _| {
            Ok::<_, ()>(steps)
        })
        .await
        .unwrap()
        .unwrap()
}

fn accept(token_id: i64, used: i64, drift: i64) -> OtpStep {
    OtpStep::Accept {
        token_id,
        used,
        drift,
        event: ev(AuditAction::OtpVerify),
        lost: Box::new(OtpStep::Record(ev(AuditAction::TokenLost))),
    }
}

fn fail(token_id: i64, limit: u32) -> OtpStep {
    OtpStep::Fail {
        token_id,
        limit,
        event: ev(AuditAction::PasswordVerify),
        lock_event: ev(AuditAction::TokenLock),
    }
}

#[tokio::test]
async fn an_otp_is_accepted_only_later_than_the_last_and_on_an_active_unlocked_token() {
    let store = MemoryStore::new();
    let user = store
        .insert_user(new_user("bo"), ev(AuditAction::UserAdd))
        .await
        .unwrap();
    let id = store
        .insert_token(new_token("0000020016", user), ev(AuditAction::TokenIssue))
        .await
        .unwrap();
    let before = audit_len(&store).await;
    assert!(record(&store, "bo", vec![accept(id, 5, 1)]).await);
    assert!(
        !record(&store, "bo", vec![accept(id, 5, 1)]).await,
        "a replay"
    );
    assert!(
        !record(&store, "bo", vec![accept(id, 4, 1)]).await,
        "an older one"
    );
    let actions: Vec<String> = store
        .audit_events()
        .into_iter()
        .map(|e| e.action.to_string())
        .collect();
    assert_eq!(
        actions[before..],
        ["otp.verify", "token.lost", "token.lost"],
        "the acceptance, and what the two that lost recorded instead"
    );
    let token = store.token_by_serial("0000020016").await.unwrap().unwrap();
    assert_eq!((token.last_used, token.drift), (5, 1));
    assert!(!record(&store, "bo", vec![fail(id, 2)]).await);
    let token = store.token_by_serial("0000020016").await.unwrap().unwrap();
    assert_eq!((token.failures, token.locked), (1, false));
    record(&store, "bo", vec![fail(id, 2)]).await;
    record(&store, "bo", vec![fail(id, 2)]).await;
    let token = store.token_by_serial("0000020016").await.unwrap().unwrap();
    assert_eq!(
        (token.failures, token.locked),
        (2, true),
        "not counted once locked"
    );
    let locks = store
        .audit_events()
        .into_iter()
        .filter(|e| e.action == AuditAction::TokenLock)
        .count();
    assert_eq!(locks, 1, "the lock is recorded once");
    assert!(
        !record(&store, "bo", vec![accept(id, 6, 0)]).await,
        "locked"
    );
    assert!(
        store
            .reset_token(id, ev(AuditAction::TokenReset))
            .await
            .unwrap()
    );
    store
        .set_token_state(id, TokenState::Suspended, ev(AuditAction::TokenSuspend))
        .await
        .unwrap();
    assert!(
        !record(&store, "bo", vec![accept(id, 6, 0)]).await,
        "suspended"
    );
    store
        .set_token_state(id, TokenState::Active, ev(AuditAction::TokenSuspend))
        .await
        .unwrap();
    assert!(record(&store, "bo", vec![accept(id, 6, 0)]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_of_one_step_accept_exactly_once() {
    let store = MemoryStore::new();
    let user = store
        .insert_user(new_user("cy"), ev(AuditAction::UserAdd))
        .await
        .unwrap();
    let id = store
        .insert_token(new_token("0000030015", user), ev(AuditAction::TokenIssue))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .check_user_otp(None, &"cy".parse().unwrap(), move |_, _, _| {
                        Ok::<_, ()>(vec![OtpStep::Accept {
                            token_id: id,
                            used: 7,
                            drift: 0,
                            event: ev(AuditAction::OtpVerify),
                            lost: Box::new(OtpStep::Record(ev(AuditAction::TokenLost))),
                        }])
                    })
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 1);
    let actions: Vec<String> = store
        .audit_events()
        .into_iter()
        .map(|e| e.action.to_string())
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "otp.verify").count(), 1);
    assert_eq!(actions.iter().filter(|a| *a == "token.lost").count(), 31);
}

#[tokio::test]
async fn a_check_reads_the_key_user_and_tokens_and_a_judges_error_records_nothing() {
    let store = MemoryStore::new();
    let user = store
        .insert_user(new_user("di"), ev(AuditAction::UserAdd))
        .await
        .unwrap();
    store
        .insert_token(new_token("0000040014", user), ev(AuditAction::TokenIssue))
        .await
        .unwrap();
    store
        .insert_api_key(new_key("app", "lk_d"), ev(AuditAction::ApikeyCreate))
        .await
        .unwrap();
    let before = audit_len(&store).await;
    let seen = store
        .check_user_otp(Some("lk_d"), &"di".parse().unwrap(), |key, user, tokens| {
            Err::<Vec<OtpStep>, _>((
                key.map(|k| k.name.clone()),
                user.map(|u| u.username.to_string()),
                tokens
                    .iter()
                    .map(|t| t.serial.to_string())
                    .collect::<Vec<_>>(),
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        seen,
        Err((
            Some("app".into()),
            Some("di".into()),
            vec!["0000040014".to_owned()]
        ))
    );
    assert_eq!(audit_len(&store).await, before);
}

#[tokio::test]
async fn the_audit_log_is_a_chain_and_unlock_issues_are_counted_per_token_since_a_time() {
    let store = MemoryStore::new();
    store
        .append(event(
            AuditAction::UnlockIssue,
            "5001",
            Outcome::Success,
            10,
        ))
        .await
        .unwrap();
    store
        .append(event(AuditAction::UnlockIssue, "5001", Outcome::Denied, 20))
        .await
        .unwrap();
    store
        .append(event(
            AuditAction::UnlockIssue,
            "5002",
            Outcome::Success,
            30,
        ))
        .await
        .unwrap();
    store
        .append(event(
            AuditAction::UnlockIssue,
            "5001",
            Outcome::Success,
            40,
        ))
        .await
        .unwrap();
    let rows = store.audit_rows(0, 100).await.unwrap();
    assert_eq!(verify_chain(&rows), Ok(4));
    let page: Vec<i64> = store
        .audit_rows(1, 2)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(page, [2, 3]);
    assert_eq!(store.count_unlock_issues("5001", 0).await.unwrap(), 2);
    assert_eq!(store.count_unlock_issues("5001", 11).await.unwrap(), 1);
    assert_eq!(store.count_unlock_issues("5003", 0).await.unwrap(), 0);
}

#[tokio::test]
async fn reset_links_are_limited_single_use_and_expire() {
    let store = MemoryStore::new();
    let user = store
        .insert_user(new_user("ed"), ev(AuditAction::UserAdd))
        .await
        .unwrap();
    let request = || {
        event(
            AuditAction::PasswordResetRequest,
            "ed",
            Outcome::Success,
            100,
        )
    };
    for n in 0..3u8 {
        assert!(
            store
                .insert_reset_link(vec![n], user, 200, 0, 3, request())
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .insert_reset_link(vec![9], user, 200, 0, 3, request())
            .await
            .unwrap(),
        "the fourth within the window"
    );
    assert_eq!(
        store.reset_link_user(vec![0], 150).await.unwrap(),
        Some(user)
    );
    assert_eq!(
        store.take_reset_link(vec![0], 150).await.unwrap(),
        Some(user)
    );
    assert_eq!(
        store.take_reset_link(vec![0], 150).await.unwrap(),
        None,
        "used"
    );
    assert_eq!(
        store.reset_link_user(vec![1], 200).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.take_reset_link(vec![1], 200).await.unwrap(), None);
}

#[tokio::test]
async fn one_challenge_is_marked_until_cleared_and_clones_share_the_state() {
    let store = MemoryStore::new();
    let other = store.clone();
    let user = store
        .insert_user(new_user("flo"), ev(AuditAction::UserAdd))
        .await
        .unwrap();
    let pool = other.questions().await.unwrap();
    assert_eq!(pool.len(), 10, "a fresh store offers the seeded pool");
    let answers = pool[..3]
        .iter()
        .map(|q| (q.id, format!("h{}", q.id)))
        .collect();
    store
        .set_answers(user, answers, ev(AuditAction::QuestionsSet))
        .await
        .unwrap();
    assert!(
        other
            .mark_asked(user, vec![pool[0].id, pool[2].id])
            .await
            .unwrap()
    );
    assert!(
        !store.mark_asked(user, vec![pool[1].id]).await.unwrap(),
        "one challenge at a time"
    );
    let asked: Vec<bool> = store
        .answers_of(user)
        .await
        .unwrap()
        .iter()
        .map(|a| a.asked)
        .collect();
    assert_eq!(asked, [true, false, true]);
    store
        .clear_asked(user, ev(AuditAction::QuestionsReset))
        .await
        .unwrap();
    assert!(store.mark_asked(user, vec![pool[1].id]).await.unwrap());
    assert!(matches!(
        store
            .set_answers(user, vec![(999, "h".into())], ev(AuditAction::QuestionsSet))
            .await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(
        store.answers_of(user).await.unwrap().len(),
        3,
        "a refused list changes nothing"
    );
}

#[tokio::test]
async fn memory_app_gives_the_operators_admin_and_a_clock_at_t0_on_a_fresh_store() {
    let (latchkey, admin, clock) = latchkey_testkit::memory_app(Policy::default());
    assert_eq!(clock.now(), latchkey_testkit::T0);
    let user = latchkey
        .add_user(&admin, "gus", None, Role::User, None)
        .await
        .unwrap();
    assert_eq!(user.created_at, latchkey_testkit::T0 as i64);
    clock.advance(60);
    latchkey
        .set_user_status(&admin, "gus", UserStatus::Disabled)
        .await
        .unwrap();
    assert_eq!(latchkey.verify_audit().await.unwrap(), Ok(2));
    let rows = latchkey.audit_rows(&admin, 0, 10).await.unwrap();
    assert_eq!(rows[1].event.at, latchkey_testkit::T0 as i64 + 60);
    assert_eq!(rows[0].event.actor, "cli");
}
