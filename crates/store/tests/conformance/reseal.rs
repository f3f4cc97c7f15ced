//! Master-key rotation below the domain (`Resealer`): batches of sealed
//! rows read by id, written back re-sealed with their audit row in one
//! transaction; afterwards a domain on the new key alone checks the codes,
//! and the chain verifies.

use latchkey_core::rotation::{reseal_token, rotation_event};
use latchkey_store::Resealer;

use super::*;

both_backends!(resealed_tokens_open_under_the_new_key_alone_and_each_batch_is_audited);

async fn resealed_tokens_open_under_the_new_key_alone_and_each_batch_is_audited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let mut totps = Vec::new();
    for name in ["ann", "bob", "cy"] {
        totps.push((name, user_with_token(&h, name).await.1));
    }
    let old = MasterKeyCipher::new(&[42; 32]);
    let either = MasterKeyCipher::new(&[43; 32]).with_previous(MasterKeyCipher::new(&[42; 32]));
    let new = MasterKeyCipher::new(&[43; 32]);
    let mut resealer = Resealer::open(&h.store, &h.url).await.unwrap();

    let first = resealer.tokens_after(0, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let changed: Vec<_> = first
        .iter()
        .map(|token| {
            reseal_token(&either, &new, token)
                .unwrap()
                .expect("under the old key")
        })
        .collect();
    let event = rotation_event(&h.admin, T0 as i64, "tokens", "first two".into());
    resealer.write(changed, Vec::new(), event).await.unwrap();
    let rest = resealer.tokens_after(first[1].id, 2).await.unwrap();
    assert_eq!(rest.len(), 1, "by id, after the last one done");

    // Read again: the first two are under the new key, the third is not.
    let all = resealer.tokens_after(0, 10).await.unwrap();
    let done: Vec<bool> = all
        .iter()
        .map(|token| reseal_token(&either, &new, token).unwrap().is_none())
        .collect();
    assert_eq!(done, vec![true, true, false]);
    assert!(all[0].sealed_unlock_secret.is_some());
    assert!(
        reseal_token(&old, &new, &all[0]).unwrap().is_none(),
        "the unlock secret moved too"
    );
    let changed = vec![reseal_token(&either, &new, &all[2]).unwrap().unwrap()];
    let event = rotation_event(&h.admin, T0 as i64, "tokens", "the last".into());
    resealer.write(changed, Vec::new(), event).await.unwrap();

    // The new key alone opens every seed: the domain on it accepts codes.
    let (on_new_key, _) = Latchkey::with_local_operator(
        h.store.clone(),
        Arc::new(h.clock.clone()),
        Arc::new(MasterKeyCipher::new(&[43; 32])),
        Arc::new(TestHasher),
        Policy::default(),
    );
    for (name, totp) in &totps {
        let decision = on_new_key
            .authenticate(&h.key, SOURCE, name, None, &totp.generate(T0))
            .await
            .unwrap()
            .expect("a valid key");
        assert_eq!(decision, Decision::Accept, "{name}");
    }
    let rotations: Vec<_> = audit_actions(&h)
        .await
        .into_iter()
        .filter(|(action, ..)| action == "master_key.rotate")
        .collect();
    assert_eq!(rotations.len(), 2, "{rotations:?}");
    assert!(on_new_key.verify_audit().await.unwrap().is_ok());
}
