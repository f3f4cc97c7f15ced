//! The audit chain, and changes that fail alone.

use super::*;
use latchkey_core::console::ConsoleStore;
use latchkey_core::{AuditAction, Outcome};

both_backends!(audit_chain_verifies, concurrent_changes_fail_alone,);

async fn audit_chain_verifies(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "kim").await;
    assert!(otp_ok(&h, "kim", &totp.generate(T0)).await);
    assert!(!otp_ok(&h, "kim", "12345678").await);
    let rows = h
        .latchkey
        .verify_audit()
        .await
        .unwrap()
        .expect("an intact chain");
    assert!(rows >= 5, "{rows}");
}

/// Many changes at once (on SQLite they share a group commit): the one
/// that breaks a unique rule fails alone, with a conflict; every other one
/// lands, with its audit row, and the chain has no gap.
async fn concurrent_changes_fail_alone(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let names: Vec<String> = (0..40)
        .map(|i| format!("user{i}"))
        .chain(["user7".to_owned()])
        .collect();
    let tasks: Vec<_> = names
        .into_iter()
        .map(|name| {
            let store = h.store.clone();
            tokio::spawn(async move {
                let user = NewUser {
                    username: name.parse().unwrap(),
                    email: None,
                    role: Role::User,
                    password_hash: None,
                };
                let event = AuditEvent {
                    at: T0 as i64,
                    actor: "cli".into(),
                    action: AuditAction::UserAdd,
                    subject: name,
                    source: "cli".into(),
                    outcome: Outcome::Success,
                    detail: String::new(),
                };
                store.insert_user(user, event).await
            })
        })
        .collect();
    let (mut added, mut conflicts) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((added, conflicts), (40, 1));
    assert_eq!(h.store.list_users().await.unwrap().len(), 40);
    let rows = h
        .latchkey
        .verify_audit()
        .await
        .unwrap()
        .expect("an intact chain");
    assert_eq!(
        rows,
        1 + 40,
        "the harness's API key, then one audit row per user added, none for the conflict"
    );
    // The hourly summary counts what committed, bumped once per hour,
    // action and outcome at the transaction's end: the refused change's
    // event, undone with its savepoint, is not among them.
    let hours = h.store.audit_hours(0).await.unwrap();
    let counted = |action: AuditAction| -> i64 {
        hours
            .iter()
            .filter(|hour| hour.action == action.as_str() && hour.outcome == "success")
            .map(|hour| hour.count)
            .sum()
    };
    assert_eq!(counted(AuditAction::UserAdd), 40);
    assert_eq!(
        hours.iter().map(|hour| hour.count).sum::<i64>(),
        41,
        "every committed row counted once: {hours:?}"
    );
}
