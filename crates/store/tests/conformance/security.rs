//! The store's side of the fixes of the black-box attack (SECURITY-REVIEW.md),
//! on both backends.

use super::*;

both_backends!(h1_s44_wrong_answers_count_on_the_account_and_on_their_own,);

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
