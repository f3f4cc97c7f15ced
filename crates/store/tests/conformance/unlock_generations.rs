//! Unlock-secret generations (SECURITY.md S45) on both backends: a refresh
//! adds one and retires the ones before the newest two in one transaction
//! with its audit row; a number taken twice is a conflict that changes
//! nothing; every generation is re-sealed by a master-key rotation and
//! checked by a backup's check.

use latchkey_core::rotation::reseal_token;
use latchkey_store::Resealer;

use super::*;

both_backends!(h2_s45_generations_are_added_retired_resealed_and_checked);

async fn h2_s45_generations_are_added_retired_resealed_and_checked(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, totp, first) = user_with_token(&h, "ann").await;
    let first = first.unwrap();
    let token = h
        .store
        .token_by_serial(serial.digits())
        .await
        .unwrap()
        .unwrap();
    let mut secrets = Vec::new();
    for step in 1..=3u64 {
        h.clock.advance(30);
        let otp = totp.generate(T0 + 30 * step);
        let refreshed = h
            .latchkey
            .refresh(serial.digits(), &otp, SOURCE)
            .await
            .unwrap_or_else(|e| panic!("refresh {step}: {e}"));
        assert_eq!(refreshed.generation, step);
        assert_ne!(refreshed.unlock_secret.expose(), first.expose());
        secrets.push(refreshed.unlock_secret);
    }
    let live: Vec<i64> = h
        .store
        .unlock_generations(token.id)
        .await
        .unwrap()
        .iter()
        .map(|g| g.generation)
        .collect();
    assert_eq!(live, [2, 3], "the newest two; generation 1 retired");
    let row = h
        .store
        .token_by_serial(serial.digits())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        row.sealed_unlock_secret, token.sealed_unlock_secret,
        "generation 0 overwritten when generation 2 retired it"
    );
    assert_eq!(
        h.store
            .count_refreshes(serial.digits(), T0 as i64)
            .await
            .unwrap(),
        3
    );

    // A number taken already: a conflict, and nothing changes.
    let rows_before = audit_actions(&h).await.len();
    let taken = h
        .store
        .add_unlock_generation(
            token.id,
            UnlockGeneration {
                generation: 3,
                sealed_secret: vec![1, 2, 3],
                created_at: T0 as i64,
            },
            2,
            None,
            event_for("token.refresh", serial.digits(), "generation=3"),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(audit_actions(&h).await.len(), rows_before);
    assert_eq!(h.store.unlock_generations(token.id).await.unwrap().len(), 2);

    // A rotation re-seals every generation; the new key alone answers.
    let either = MasterKeyCipher::new(&[43; 32]).with_previous(MasterKeyCipher::new(&[42; 32]));
    let new = MasterKeyCipher::new(&[43; 32]);
    let mut resealer = Resealer::open(&h.store, &h.url).await.unwrap();
    let tokens = resealer.tokens_after(0, 10).await.unwrap();
    assert_eq!(tokens[0].unlock_generations.len(), 2);
    let changed: Vec<_> = tokens
        .iter()
        .map(|t| reseal_token(&either, &new, t).unwrap().unwrap())
        .collect();
    let event =
        latchkey_core::rotation::rotation_event(&h.admin, T0 as i64, "tokens", "all".into());
    resealer.write(changed, Vec::new(), event).await.unwrap();
    let (on_new_key, admin) = Latchkey::with_local_operator(
        h.store.clone(),
        Arc::new(h.clock.clone()),
        Arc::new(MasterKeyCipher::new(&[43; 32])),
        Arc::new(TestHasher),
        Policy::default(),
    );
    let check = on_new_key.check_sealed_values(&admin).await.unwrap();
    assert_eq!(
        (check.opened, check.refused),
        (4, 0),
        "seed, generation 0, 2 and 3"
    );
    let reset = latchkey_core::oath::tagged_reset_code(2);
    let code = on_new_key
        .issue_unlock_code(&admin.helpdesk(), serial.digits(), reset.digits())
        .await
        .unwrap();
    assert_eq!(code, unlock_code(&secrets[1], &serial, &reset));
    let retired = latchkey_core::oath::tagged_reset_code(1);
    assert!(matches!(
        on_new_key
            .issue_unlock_code(&admin.helpdesk(), serial.digits(), retired.digits())
            .await,
        Err(AdminError::RetiredResetCode)
    ));
}
