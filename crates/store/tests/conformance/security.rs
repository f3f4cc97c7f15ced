//! The store's side of the fixes of the black-box attack (SECURITY-REVIEW.md),
//! on both backends.

use super::*;
use latchkey_core::Outcome;

both_backends!(
    h1_s44_wrong_answers_count_on_the_account_and_on_their_own,
    m3_s48_voiding_a_users_reset_links_spares_other_users,
    m1_s46_failed_refreshes_are_counted_per_serial_since_a_time,
);

/// S44 (H1): a wrong answer counts once on the account's count and once on
/// the answers' own, each with its own wait; each count is cleared apart.
async fn h1_s44_wrong_answers_count_on_the_account_and_on_their_own(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    user_with_token(&h, "ada").await;
    let ada = || async {
        h.store
            .user_by_name(&"ada".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
    };
    let id = ada().await.id;
    let now = h.clock.now() as i64;
    let account = Throttle::default();
    let answers = Throttle {
        free_failures: 1,
        base_delay: 10,
        max_delay: 100,
    };
    let rows_before = audit_actions(&h).await.len();
    for n in 1..=3u32 {
        let until = h
            .store
            .record_answer_failure(
                id,
                now,
                account,
                answers,
                event_for("questions.verify", "ada", ""),
            )
            .await
            .unwrap();
        let user = ada().await;
        assert_eq!((user.password_failures, user.answer_failures), (n, n));
        let wait = answers.delay(n);
        assert_eq!(until, if wait > 0 { now + wait } else { 0 });
        assert_eq!(user.answer_blocked_until, until);
        assert_eq!(
            user.password_blocked_until, 0,
            "five are free for the account"
        );
    }
    assert_eq!(
        audit_actions(&h).await.len(),
        rows_before + 3,
        "each is audited"
    );
    h.store.clear_password_failures(id).await.unwrap();
    let user = ada().await;
    assert_eq!((user.password_failures, user.answer_failures), (0, 3));
    assert!(user.answer_blocked_until > now);
    h.store.clear_answer_failures(id).await.unwrap();
    let user = ada().await;
    assert_eq!((user.answer_failures, user.answer_blocked_until), (0, 0));
}

/// S48 (M3, L3): voiding a user's reset links voids every unused one of
/// theirs, and no one else's.
async fn m3_s48_voiding_a_users_reset_links_spares_other_users(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    user_with_token(&h, "bo").await;
    user_with_token(&h, "cy").await;
    let mut ids = Vec::new();
    for name in ["bo", "cy"] {
        let user = h.store.user_by_name(&name.parse().unwrap()).await.unwrap();
        ids.push(user.unwrap().id);
    }
    let (bo, cy) = (ids[0], ids[1]);
    let now = h.clock.now() as i64;
    for (hash, user) in [
        (vec![1u8; 32], bo),
        (vec![2u8; 32], bo),
        (vec![3u8; 32], cy),
    ] {
        let stored = h
            .store
            .insert_reset_link(
                hash,
                user,
                now + 3600,
                now - 3600,
                10,
                event_for("password.reset-request", "x", ""),
            )
            .await
            .unwrap();
        assert!(stored);
    }
    assert_eq!(
        h.store.take_reset_link(vec![1u8; 32], now).await.unwrap(),
        Some(bo)
    );
    assert_eq!(
        h.store.void_reset_links(bo).await.unwrap(),
        1,
        "the used one is not counted"
    );
    assert_eq!(
        h.store.reset_link_user(vec![2u8; 32], now).await.unwrap(),
        None
    );
    assert_eq!(
        h.store.reset_link_user(vec![3u8; 32], now).await.unwrap(),
        Some(cy)
    );
}

/// S46 (M1): the refresh's own throttle counts failed `token.refresh`
/// events per serial since a time, and nothing else.
async fn m1_s46_failed_refreshes_are_counted_per_serial_since_a_time(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let at = |at: i64, subject: &str, outcome: &str| AuditEvent {
        at,
        outcome: outcome.parse().unwrap(),
        ..event_for("token.refresh", subject, "")
    };
    let t = T0 as i64;
    for event in [
        at(t - 10, "1234567897", "failure"),
        at(t, "1234567897", "failure"),
        at(t, "1234567897", "failure"),
        at(t, "1234567897", "success"),
        at(t, "1234567897", "denied"),
        at(t, "0000000018", "failure"),
        AuditEvent {
            outcome: Outcome::Failure,
            ..event_for("token.activate", "1234567897", "")
        },
    ] {
        h.store.append(event).await.unwrap();
    }
    assert_eq!(
        h.store
            .count_refresh_failures("1234567897", t)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        h.store
            .count_refresh_failures("1234567897", t - 60)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        h.store
            .count_refresh_failures("0000000018", t)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        h.store
            .count_refresh_failures("5555555555", 0)
            .await
            .unwrap(),
        0
    );
}
