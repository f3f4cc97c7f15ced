//! Wrong passwords per account and client address (SECURITY.md S47, the
//! review's M2), on both backends.

use super::*;

both_backends!(m2_s47_wrong_passwords_count_per_address_and_the_first_few_on_the_account);

/// S47 (M2): each address has its own count and wait; only an address's
/// first `free_failures` add to the account's count; clearing the
/// account's count clears every address's, and only that account's.
async fn m2_s47_wrong_passwords_count_per_address_and_the_first_few_on_the_account(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    user_with_token(&h, "ada").await;
    user_with_token(&h, "bea").await;
    let user = |name: &'static str| {
        let h = &h;
        async move {
            h.store
                .user_by_name(&name.parse().unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let (ada, bea) = (user("ada").await.id, user("bea").await.id);
    let now = h.clock.now() as i64;
    let per_source = Throttle::default();
    let account = Throttle {
        free_failures: 8,
        ..Throttle::default()
    };
    let rows_before = audit_actions(&h).await.len();
    for n in 1..=7u32 {
        let until = h
            .store
            .record_source_password_failure(
                ada,
                "203.0.113.9",
                now,
                per_source,
                account,
                event_for("password.verify", "ada", ""),
            )
            .await
            .unwrap();
        let wait = per_source.delay(n);
        assert_eq!(until, if wait > 0 { now + wait } else { 0 }, "failure {n}");
        assert_eq!(
            h.store
                .source_password_blocked_until(ada, "203.0.113.9")
                .await
                .unwrap(),
            until
        );
    }
    assert_eq!(
        audit_actions(&h).await.len(),
        rows_before + 7,
        "each is audited"
    );
    let ada_now = user("ada").await;
    assert_eq!(
        ada_now.password_failures, 5,
        "the address's first five only"
    );
    assert_eq!(
        ada_now.password_blocked_until, 0,
        "eight are free for the account"
    );
    for source in ["203.0.113.10", "203.0.113.11", "203.0.113.11"] {
        h.store
            .record_source_password_failure(
                ada,
                source,
                now,
                per_source,
                account,
                event_for("password.verify", "ada", ""),
            )
            .await
            .unwrap();
    }
    let ada_now = user("ada").await;
    assert_eq!(ada_now.password_failures, 8);
    h.store
        .record_source_password_failure(
            ada,
            "203.0.113.12",
            now,
            per_source,
            account,
            event_for("password.verify", "ada", ""),
        )
        .await
        .unwrap();
    let ada_now = user("ada").await;
    assert_eq!(ada_now.password_failures, 9);
    assert_eq!(ada_now.password_blocked_until, now + account.delay(9));
    assert_eq!(
        h.store
            .source_password_blocked_until(ada, "198.51.100.1")
            .await
            .unwrap(),
        0,
        "an address that never failed does not wait"
    );
    h.store
        .record_source_password_failure(
            bea,
            "203.0.113.9",
            now,
            per_source,
            account,
            event_for("password.verify", "bea", ""),
        )
        .await
        .unwrap();

    h.store.clear_password_failures(ada).await.unwrap();
    let ada_now = user("ada").await;
    assert_eq!(
        (ada_now.password_failures, ada_now.password_blocked_until),
        (0, 0)
    );
    assert_eq!(
        h.store
            .source_password_blocked_until(ada, "203.0.113.9")
            .await
            .unwrap(),
        0,
        "the addresses' counts go with the account's"
    );
    let again = h
        .store
        .record_source_password_failure(
            bea,
            "203.0.113.9",
            now,
            per_source,
            account,
            event_for("password.verify", "bea", ""),
        )
        .await
        .unwrap();
    assert_eq!(
        again, 0,
        "bea's count at that address is her own: two, still free"
    );
    assert_eq!(user("bea").await.password_failures, 2);
}
