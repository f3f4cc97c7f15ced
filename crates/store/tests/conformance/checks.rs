//! The store's one-transaction OTP check (`check_user_otp`), alone and many at once.

use super::*;

both_backends!(
    an_otp_check_reads_judges_and_records_in_one_step,
    many_otp_checks_at_once_each_get_their_own_answer,
);

/// `check_user_otp` hands the judge what `user_by_name` and
/// `tokens_of_user` give (that user's tokens only, in id order), records
/// its steps in order with their audit rows, records an acceptance's `lost`
/// step when the acceptance no longer applies, and records nothing when the
/// judge fails.
async fn an_otp_check_reads_judges_and_records_in_one_step(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    for name in ["nell", "omar", "pia"] {
        h.latchkey
            .add_user(&h.admin, name, None, Role::User, None)
            .await
            .unwrap();
    }
    for (name, kind) in [
        ("nell", TokenKind::Hotp),
        ("omar", TokenKind::Totp),
        ("nell", TokenKind::Latchkey),
        ("nell", TokenKind::Totp),
    ] {
        h.latchkey.issue_token(&h.admin, name, kind).await.unwrap();
    }
    let store = &h.store;
    // What the judge is handed, as (user name, [(token id, serial, user id, last used)]).
    type Seen = (Option<String>, Vec<(i64, String, i64, i64)>);
    let seen = |user: Option<&User>, tokens: &[Token]| -> Seen {
        (
            user.map(|u| u.username.to_string()),
            tokens
                .iter()
                .map(|t| (t.id, t.serial.to_string(), t.user_id, t.last_used))
                .collect(),
        )
    };
    for name in ["nell", "omar", "pia", "nobody"] {
        let username: Username = name.parse().unwrap();
        let expected: Seen = match store.user_by_name(&username).await.unwrap() {
            Some(user) => {
                let tokens = store.tokens_of_user(user.id).await.unwrap();
                seen(Some(&user), &tokens)
            }
            None => (None, Vec::new()),
        };
        let (tell, told) = std::sync::mpsc::channel();
        let accepted = store
            .check_user_otp(None, &username, move |key, user, tokens| {
                assert!(key.is_none(), "no key asked for, none handed");
                tell.send(seen(user, tokens)).unwrap();
                Ok::<_, ()>(Vec::new())
            })
            .await
            .unwrap();
        assert_eq!(accepted, Ok(false), "no steps, no acceptance");
        assert_eq!(told.recv().unwrap(), expected, "{name}");
    }
    let nell = store
        .user_by_name(&"nell".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let tokens = store.tokens_of_user(nell.id).await.unwrap();
    assert_eq!(tokens.len(), 3);
    // The HOTP and the TOTP token are active; the Latchkey one waits for activation.
    let (first, second) = (tokens[2].id, tokens[0].id);
    let rows_before = store.audit_rows(0, 100_000).await.unwrap().len();
    let accept = move |used: i64, detail: &str| OtpStep::Accept {
        token_id: second,
        used,
        drift: 0,
        event: event_for("otp.verify", "second", detail),
        lost: Box::new(OtpStep::Record(event_for("otp.verify", "second", "lost"))),
    };
    let steps = vec![
        OtpStep::Record(event_for("otp.verify", "first", "recorded")),
        OtpStep::Fail {
            token_id: first,
            limit: 10,
            event: event_for("otp.verify", "first", "failed"),
            lock_event: event_for("token.lock", "first", "never: one failure of ten"),
        },
        accept(7, "accepted"),
        OtpStep::Record(event_for(
            "otp.verify",
            "second",
            "after the acceptance: dropped",
        )),
    ];
    let name: Username = "nell".parse().unwrap();
    assert_eq!(
        store
            .check_user_otp(None, &name, move |_, _, _| Ok::<_, ()>(steps))
            .await
            .unwrap(),
        Ok(true)
    );
    let again = vec![accept(7, "again")];
    assert_eq!(
        store
            .check_user_otp(None, &name, move |_, _, _| Ok::<_, ()>(again))
            .await
            .unwrap(),
        Ok(false),
        "counter 7 is spent"
    );
    assert_eq!(
        store
            .check_user_otp(None, &name, |_, _, _| {
                Err::<Vec<OtpStep>, _>("the judge failed")
            })
            .await
            .unwrap(),
        Err("the judge failed")
    );
    let details = audit_details_after(store, rows_before).await;
    assert_eq!(details, ["recorded", "failed", "accepted", "lost"]);
    let tokens = store.tokens_of_user(nell.id).await.unwrap();
    assert_eq!((tokens[2].failures, tokens[2].locked), (1, false));
    assert_eq!((tokens[0].last_used, tokens[0].failures), (7, 0));
    assert!(h.latchkey.verify_audit().await.unwrap().is_ok());
}

/// Many OTP checks at once, for many users (both backends take the checks
/// waiting at one moment into one transaction): each gets its own answer —
/// the one acceptance of its counter, a lost race, or its judge's refusal,
/// which records nothing and spoils no other check — and exactly its own
/// audit rows, and the chain verifies.
async fn many_otp_checks_at_once_each_get_their_own_answer(postgres: bool) {
    const USERS: usize = 12;
    const ROUNDS: usize = 5;
    let h = harness(postgres, Policy::default()).await;
    for user in 0..USERS {
        let name = format!("many{user:02}");
        h.latchkey
            .add_user(&h.admin, &name, None, Role::User, None)
            .await
            .unwrap();
        h.latchkey
            .issue_token(&h.admin, &name, TokenKind::Hotp)
            .await
            .unwrap();
    }
    let refuses = |user: usize, round: usize| (user + round).is_multiple_of(4);
    let rows_before = h.store.audit_rows(0, 100_000).await.unwrap().len();
    let checks: Vec<_> = (0..ROUNDS)
        .flat_map(|round| (0..USERS).map(move |user| (round, user)))
        .map(|(round, user)| {
            let store = h.store.clone();
            tokio::spawn(async move {
                let name: Username = format!("many{user:02}").parse().unwrap();
                let subject = name.to_string();
                let answer = store
                    .check_user_otp(None, &name, move |_, found, tokens| {
                        assert_eq!(found.unwrap().username.as_str(), subject);
                        if refuses(user, round) {
                            return Err(user);
                        }
                        Ok(vec![OtpStep::Accept {
                            token_id: tokens[0].id,
                            used: 1,
                            drift: 0,
                            event: event_for("otp.verify", &subject, "accepted"),
                            lost: Box::new(OtpStep::Record(event_for(
                                "otp.verify",
                                &subject,
                                "lost",
                            ))),
                        }])
                    })
                    .await
                    .unwrap();
                (user, round, answer)
            })
        })
        .collect();
    let mut accepted = [0; USERS];
    for check in checks {
        let (user, round, answer) = check.await.unwrap();
        match answer {
            Ok(true) => accepted[user] += 1,
            Ok(false) => assert!(!refuses(user, round)),
            Err(refused) => {
                assert!(refuses(user, round));
                assert_eq!(refused, user, "each refusal reaches its own caller");
            }
        }
    }
    assert_eq!(
        accepted, [1; USERS],
        "counter 1 of each token, accepted once"
    );
    let rows: Vec<AuditRow> = h
        .store
        .audit_rows(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .skip(rows_before)
        .collect();
    for user in 0..USERS {
        let subject = format!("many{user:02}");
        let judged = (0..ROUNDS).filter(|&round| !refuses(user, round)).count();
        let count = |detail: &str| {
            rows.iter()
                .filter(|r| r.event.subject == subject && r.event.detail == detail)
                .count()
        };
        assert_eq!(count("accepted"), 1, "{subject}");
        assert_eq!(count("lost"), judged - 1, "{subject}");
    }
    assert_eq!(
        rows.len(),
        (0..USERS)
            .map(|user| (0..ROUNDS).filter(|&round| !refuses(user, round)).count())
            .sum::<usize>()
    );
    assert!(h.latchkey.verify_audit().await.unwrap().is_ok());
}
