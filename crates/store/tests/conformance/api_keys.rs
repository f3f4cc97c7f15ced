//! API keys: hashed, scoped, revocable, and revoked from elsewhere.

use super::*;

both_backends!(
    s43_api_keys_are_hashed_scoped_and_revocable,
    s43_a_key_revoked_elsewhere_is_refused_by_the_next_check,
);

async fn s43_api_keys_are_hashed_scoped_and_revocable(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let key = h
        .latchkey
        .create_api_key(&h.admin, "vpn", ApiRole::Authenticate)
        .await
        .unwrap();
    let principal = h
        .latchkey
        .authorize_api_key(&key, "x")
        .await
        .unwrap()
        .expect("the key works");
    assert_eq!(principal.role(), ApiRole::Authenticate);
    assert!(
        principal.admin().is_none(),
        "an authenticate key has no admin rights"
    );
    let stored = h.store.list_api_keys().await.unwrap();
    let vpn = stored.iter().find(|k| k.name == "vpn").unwrap();
    assert!(
        !vpn.hash
            .windows(8)
            .any(|w| key.as_bytes().windows(8).any(|k| k == w))
    );
    let mut wrong = key.to_string();
    wrong.pop();
    wrong.push('x');
    assert!(
        h.latchkey
            .authorize_api_key(&wrong, "x")
            .await
            .unwrap()
            .is_none()
    );
    h.latchkey.revoke_api_key(&h.admin, "vpn").await.unwrap();
    assert!(
        h.latchkey
            .authorize_api_key(&key, "x")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        h.latchkey
            .create_api_key(&h.admin, "bad name", ApiRole::Admin)
            .await,
        Err(AdminError::BadApiKeyName)
    ));
}

/// `authenticate` checks the caller's key inside the OTP check's own
/// transaction, where a store may keep keys it has read: a key revoked by
/// another process (its own connections to the same database) is refused by
/// the very next check, and nothing about the user is checked or recorded.
async fn s43_a_key_revoked_elsewhere_is_refused_by_the_next_check(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "quinn").await;
    let authenticate = |key: String, password: Option<&str>, at: u64| {
        let password = password.map(|p| Zeroizing::new(p.to_owned()));
        let otp = totp.generate(at);
        let latchkey = h.latchkey.clone();
        async move {
            latchkey
                .authenticate(&key, SOURCE, "quinn", password, &otp)
                .await
                .unwrap()
        }
    };
    let audit_rows = || async { h.store.audit_rows(0, 100_000).await.unwrap().len() };
    assert_eq!(
        authenticate(h.key.clone(), None, T0).await,
        Some(Decision::Accept)
    );
    let other_store = Database::connect(&h.url).await.unwrap();
    let other_process = Latchkey::new(
        other_store.clone(),
        Arc::new(h.clock.clone()),
        Arc::new(MasterKeyCipher::new(&[42; 32])),
        Arc::new(TestHasher),
        Policy::default(),
    );
    other_process
        .revoke_api_key(&h.admin, "relying-app")
        .await
        .unwrap();
    let before = audit_rows().await;
    assert_eq!(authenticate(h.key.clone(), None, T0 + 30).await, None);
    assert_eq!(
        authenticate(h.key.clone(), Some("correct horse battery"), T0 + 30).await,
        None
    );
    assert_eq!(
        audit_rows().await,
        before,
        "nothing checked, nothing recorded"
    );
    // A key made here works at once; revoked here, it is refused at once.
    let second = h
        .latchkey
        .create_api_key(&h.admin, "second-app", ApiRole::Authenticate)
        .await
        .unwrap()
        .to_string();
    assert_eq!(
        authenticate(second.clone(), None, T0 + 30).await,
        Some(Decision::Accept)
    );
    // Its prefix with another secret: the stored hash decides, not the prefix.
    let mut forged = second.clone();
    forged.pop();
    forged.push(if second.ends_with('x') { 'y' } else { 'x' });
    assert_eq!(authenticate(forged, None, T0 + 60).await, None);
    assert_eq!(
        authenticate("lk_nonsense".into(), None, T0 + 60).await,
        None
    );
    h.latchkey
        .revoke_api_key(&h.admin, "second-app")
        .await
        .unwrap();
    assert_eq!(authenticate(second, None, T0 + 60).await, None);
    other_store.close().await;
}
