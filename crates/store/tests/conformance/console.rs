//! The admin console's reads: users by part of a name or address (with
//! `%` and `_` plain), tokens by serial, kind, state and owner, the audit
//! log by filter with keyset paging, the dashboard's counts, a user's
//! sessions and role.

use latchkey_core::console::{AuditSearch, ConsoleStore, TokenSearch};

use super::*;
use latchkey_core::{AuditAction, Outcome};

both_backends!(
    users_are_found_by_part_of_name_or_address_with_wildcards_plain,
    tokens_are_found_by_serial_kind_state_and_owner,
    audit_search_filters_exactly_and_pages_without_gaps,
    a_search_by_subject_pages_across_a_long_log,
    dashboard_counts_and_a_users_sessions_and_role,
);

async fn add(h: &Harness, name: &str, email: Option<&str>) {
    h.latchkey
        .add_user(&h.admin, name, email.map(Into::into), Role::User, None)
        .await
        .unwrap();
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

async fn users_are_found_by_part_of_name_or_address_with_wildcards_plain(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    add(&h, "alice", Some("Alice.Liddell@Example.org")).await;
    add(&h, "bob", Some("bob@example.org")).await;
    add(&h, "carol_x", Some("c%x@other.net")).await;
    add(&h, "dave", None).await;

    let found = h.store.search_users("liddell", "", 10).await.unwrap();
    assert_eq!(names(&found), ["alice"], "by address, in any case");
    let found = h.store.search_users("example", "", 10).await.unwrap();
    assert_eq!(names(&found), ["alice", "bob"]);
    let found = h.store.search_users("", "", 10).await.unwrap();
    assert_eq!(names(&found), ["alice", "bob", "carol_x", "dave"]);
    assert_eq!(
        names(&h.store.search_users("_", "", 10).await.unwrap()),
        ["carol_x"],
        "_ is a plain character"
    );
    assert_eq!(
        names(&h.store.search_users("%", "", 10).await.unwrap()),
        ["carol_x"],
        "% is a plain character"
    );
    assert!(
        h.store
            .search_users("'\\", "", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let first = h.store.search_users("", "", 2).await.unwrap();
    let next = h.store.search_users("", "bob", 2).await.unwrap();
    assert_eq!(names(&first), ["alice", "bob"]);
    assert_eq!(names(&next), ["carol_x", "dave"], "the page after bob");
}

async fn tokens_are_found_by_serial_kind_state_and_owner(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (soft, _, _) = user_with_token(&h, "erin").await;
    add(&h, "fay", None).await;
    let totp = h
        .latchkey
        .issue_token(&h.admin, "fay", TokenKind::Totp)
        .await
        .unwrap();
    let erin = h
        .store
        .user_by_name(&"erin".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let serials = |tokens: Vec<Token>| {
        tokens
            .into_iter()
            .map(|t| t.serial.to_string())
            .collect::<Vec<_>>()
    };

    let all = serials(
        h.store
            .search_tokens(&TokenSearch::default(), "", 10)
            .await
            .unwrap(),
    );
    let mut expected = vec![soft.digits().to_owned(), totp.serial.digits().to_owned()];
    expected.sort();
    assert_eq!(all, expected, "every token, by serial");
    let by_part = TokenSearch {
        serial_part: soft.digits()[2..7].to_owned(),
        ..TokenSearch::default()
    };
    assert!(
        serials(h.store.search_tokens(&by_part, "", 10).await.unwrap())
            .contains(&soft.digits().to_owned())
    );
    let by_kind = TokenSearch {
        kind: Some(TokenKind::Totp),
        ..TokenSearch::default()
    };
    assert_eq!(
        serials(h.store.search_tokens(&by_kind, "", 10).await.unwrap()),
        [totp.serial.digits()]
    );
    h.latchkey
        .set_token_state(&h.admin, totp.serial.digits(), TokenState::Suspended)
        .await
        .unwrap();
    let by_state = TokenSearch {
        state: Some(TokenState::Active),
        ..TokenSearch::default()
    };
    assert_eq!(
        serials(h.store.search_tokens(&by_state, "", 10).await.unwrap()),
        [soft.digits()],
        "the totp token is suspended"
    );
    let by_owner = TokenSearch {
        owner_id: Some(erin.id),
        ..TokenSearch::default()
    };
    assert_eq!(
        serials(h.store.search_tokens(&by_owner, "", 10).await.unwrap()),
        [soft.digits()]
    );
    let after_first = serials(
        h.store
            .search_tokens(&TokenSearch::default(), &expected[0], 10)
            .await
            .unwrap(),
    );
    assert_eq!(after_first, expected[1..]);
}

async fn audit_search_filters_exactly_and_pages_without_gaps(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let before = h.store.audit_rows(0, 100_000).await.unwrap().len();
    for i in 0..25_i64 {
        let mut event = event_for(
            if i % 2 == 0 {
                "token.suspend"
            } else {
                "token.resume"
            },
            if i % 5 == 0 { "gina" } else { "1234567897" },
            "",
        );
        event.at = T0 as i64 + i * 60;
        event.actor = if i % 3 == 0 {
            "root".into()
        } else {
            "helen".into()
        };
        event.outcome = if i == 7 {
            Outcome::Denied
        } else {
            Outcome::Success
        };
        h.store.append(event).await.unwrap();
    }
    let all = h.store.audit_rows(0, 100_000).await.unwrap();
    let ours = &all[before..];
    let expect = |keep: &dyn Fn(&AuditRow) -> bool| {
        let mut ids: Vec<i64> = ours.iter().filter(|r| keep(r)).map(|r| r.id).collect();
        ids.reverse();
        ids
    };
    let ids = |rows: Vec<AuditRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let search = |f: fn(&mut AuditSearch)| {
        let mut search = AuditSearch::default();
        f(&mut search);
        search
    };

    let by_actor = search(|s| s.actor = "root".into());
    assert_eq!(
        ids(h
            .store
            .search_audit(&by_actor, i64::MAX, 100)
            .await
            .unwrap()),
        expect(&|r| r.event.actor == "root")
    );
    let by_user = search(|s| s.user = "gina".into());
    assert_eq!(
        ids(h.store.search_audit(&by_user, i64::MAX, 100).await.unwrap()),
        expect(&|r| r.event.subject == "gina")
    );
    let by_serial_and_action = search(|s| {
        s.serial = "1234567897".into();
        s.action = "token.resume".into();
    });
    assert_eq!(
        ids(h
            .store
            .search_audit(&by_serial_and_action, i64::MAX, 100)
            .await
            .unwrap()),
        expect(&|r| r.event.subject == "1234567897" && r.event.action == AuditAction::TokenResume)
    );
    let by_outcome = search(|s| s.outcome = "denied".into());
    assert_eq!(
        ids(h
            .store
            .search_audit(&by_outcome, i64::MAX, 100)
            .await
            .unwrap()),
        expect(&|r| r.event.outcome == Outcome::Denied)
    );
    let by_time = search(|s| {
        s.from = T0 as i64 + 5 * 60;
        s.until = T0 as i64 + 10 * 60;
    });
    assert_eq!(
        ids(h.store.search_audit(&by_time, i64::MAX, 100).await.unwrap()),
        expect(&|r| (T0 as i64 + 300..T0 as i64 + 600).contains(&r.event.at))
    );
    // A user's rows are about the user or one of their tokens.
    let (kims, _, _) = user_with_token(&h, "kim").await;
    let every = h.store.audit_rows(0, 100_000).await.unwrap();
    let about_kim: Vec<i64> = every
        .iter()
        .rev()
        .filter(|r| r.event.subject == "kim" || r.event.subject == kims.digits())
        .map(|r| r.id)
        .collect();
    assert!(
        about_kim
            .iter()
            .any(|id| every[(*id - 1) as usize].event.subject != "kim")
    );
    let by_kim = search(|s| s.user = "kim".into());
    assert_eq!(
        ids(h.store.search_audit(&by_kim, i64::MAX, 100).await.unwrap()),
        about_kim
    );
    let hostile = search(|s| {
        s.actor = "' OR 1=1 --".into();
        s.source = "%".into();
    });
    assert!(
        h.store
            .search_audit(&hostile, i64::MAX, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Pages of 4 from the newest: every row once, in order.
    let by_helen = search(|s| s.actor = "helen".into());
    let mut paged = Vec::new();
    let mut before_id = i64::MAX;
    loop {
        let page = h.store.search_audit(&by_helen, before_id, 4).await.unwrap();
        let Some(last) = page.last() else { break };
        before_id = last.id;
        paged.extend(ids(page));
    }
    assert_eq!(paged, expect(&|r| r.event.actor == "helen"));
}

async fn dashboard_counts_and_a_users_sessions_and_role(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    user_with_token(&h, "ivan").await;
    add(&h, "judy", None).await;
    let issued = h
        .latchkey
        .issue_token(&h.admin, "judy", TokenKind::Totp)
        .await
        .unwrap();
    h.latchkey
        .set_token_state(&h.admin, issued.serial.digits(), TokenState::Suspended)
        .await
        .unwrap();
    let counts = h.store.token_state_counts().await.unwrap();
    assert_eq!(
        counts,
        [(TokenState::Active, 1), (TokenState::Suspended, 1)]
    );
    let without = h.store.users_without_second_factor(10).await.unwrap();
    assert_eq!(names(&without), ["judy"]);

    let judy = h
        .store
        .user_by_name(&"judy".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    for (n, created) in [(1_u8, 10), (2, 20)] {
        h.store
            .insert_session(
                NewSession {
                    id_hash: vec![n; 32],
                    user_id: judy.id,
                    stage: SessionStage::Full,
                    created_at: T0 as i64 + created,
                    last_seen: T0 as i64 + created,
                },
                None,
                event_for("portal.sign-in", "judy", ""),
            )
            .await
            .unwrap();
    }
    let sessions = h.store.sessions_of_user(judy.id).await.unwrap();
    assert_eq!(
        sessions.iter().map(|s| s.id_hash[0]).collect::<Vec<_>>(),
        [2, 1],
        "newest first"
    );

    assert!(
        h.store
            .set_user_role(
                judy.id,
                Role::Auditor,
                event_for("user.role", "judy", "user -> auditor")
            )
            .await
            .unwrap()
    );
    let judy = h.store.user_by_id(judy.id).await.unwrap().unwrap();
    assert_eq!(judy.role, Role::Auditor);

    // A fresh-OTP confirmation belongs to one session and ends with it.
    assert_eq!(h.store.console_confirmed_at(&[1; 32]).await.unwrap(), None);
    h.store.set_console_confirmed(&[1; 32], 100).await.unwrap();
    h.store.set_console_confirmed(&[1; 32], 200).await.unwrap();
    assert_eq!(
        h.store.console_confirmed_at(&[1; 32]).await.unwrap(),
        Some(200)
    );
    assert_eq!(h.store.console_confirmed_at(&[2; 32]).await.unwrap(), None);
    h.store.delete_session(&[1; 32]).await.unwrap();
    assert_eq!(h.store.console_confirmed_at(&[1; 32]).await.unwrap(), None);
    let last = h.store.audit_rows(0, 100_000).await.unwrap().pop().unwrap();
    assert_eq!(last.event.action, AuditAction::UserRole);
}

/// More audit rows than SQLite's subject table may lag behind the log
/// (8,192), so the writer has copied the older ones into it: a search by
/// serial, paged seven rows at a time, finds exactly the rows with that
/// subject, newest first, across the point where the table and the log's
/// own tail meet.
async fn a_search_by_subject_pages_across_a_long_log(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    // In waves of 200 at once: one SQLite group commit each, and no wait
    // on PostgreSQL's pool longer than its acquire timeout.
    for wave in 0..43 {
        let appends: Vec<_> = (wave * 200..(wave + 1) * 200)
            .map(|i| {
                let store = h.store.clone();
                tokio::spawn(async move {
                    store
                        .append(AuditEvent {
                            at: T0 as i64,
                            actor: "cli".into(),
                            action: AuditAction::UserAdd,
                            subject: format!("{:010}", i % 10),
                            source: "cli".into(),
                            outcome: Outcome::Success,
                            detail: String::new(),
                        })
                        .await
                })
            })
            .collect();
        for append in appends {
            append.await.unwrap().unwrap();
        }
    }
    let everything = h
        .store
        .search_audit(&AuditSearch::default(), i64::MAX, 100_000)
        .await
        .unwrap();
    let subject = format!("{:010}", 3);
    let expected: Vec<i64> = everything
        .iter()
        .filter(|row| row.event.subject == subject)
        .map(|row| row.id)
        .collect();
    assert_eq!(expected.len(), 860);
    let by_serial = AuditSearch {
        serial: subject.clone(),
        ..Default::default()
    };
    // A name no account has: the user filter is its rows as a subject.
    let by_user = AuditSearch {
        user: subject.clone(),
        ..Default::default()
    };
    for search in [by_serial, by_user] {
        let (mut found, mut before) = (Vec::new(), i64::MAX);
        loop {
            let page = h.store.search_audit(&search, before, 7).await.unwrap();
            assert!(page.iter().all(|row| row.event.subject == subject));
            let Some(last) = page.last() else { break };
            before = last.id;
            found.extend(page.iter().map(|row| row.id));
        }
        assert_eq!(
            found, expected,
            "every row of the subject, newest first, once: {search:?}"
        );
    }
}
