//! Accounts linked to directory entries: linked by the entry's id, the
//! link unique both ways, renamed and realigned in place, listed with
//! their ids; a local account has no link.

use super::*;

both_backends!(directory_accounts_are_linked_by_id_renamed_and_listed);

fn link(id: &str, display_name: &str) -> DirectoryLink {
    DirectoryLink {
        directory_id: id.into(),
        display_name: Some(display_name.into()),
    }
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.parse().unwrap(),
        email: Some(format!("{name}@example.org")),
        role: Role::User,
        password_hash: None,
    }
}

async fn directory_accounts_are_linked_by_id_renamed_and_listed(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let rows_before = h.store.audit_rows(0, 100_000).await.unwrap().len();
    let id = h
        .store
        .insert_directory_user(
            new_user("dana"),
            link("uuid-dana", "Dana Example"),
            event_for("user.add", "dana", "from the directory"),
        )
        .await
        .unwrap();
    assert_eq!(
        h.store.directory_link_of(id).await.unwrap(),
        Some(link("uuid-dana", "Dana Example"))
    );
    let found = h
        .store
        .user_by_directory_id("uuid-dana")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.username.as_str()), (id, "dana"));
    assert!(found.password_hash.is_none());
    assert!(
        h.store
            .user_by_directory_id("uuid-other")
            .await
            .unwrap()
            .is_none()
    );

    // The id is linked once; the name is unique as for every account.
    for (name, id) in [("erin", "uuid-dana"), ("dana", "uuid-erin")] {
        let again = h
            .store
            .insert_directory_user(
                new_user(name),
                link(id, ""),
                event_for("user.add", name, ""),
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{name} {id}: {again:?}"
        );
    }
    assert!(
        h.store
            .user_by_name(&"erin".parse().unwrap())
            .await
            .unwrap()
            .is_none(),
        "a refused link leaves no account behind"
    );

    // A local account has no link.
    let local = h
        .latchkey
        .add_user(&h.admin, "local", None, Role::Admin, None)
        .await
        .unwrap();
    assert!(h.store.directory_link_of(local.id).await.unwrap().is_none());

    // A rename keeps the row (and so its tokens); a taken name is refused.
    assert!(
        h.store
            .update_directory_user(
                id,
                "dana.new".parse().unwrap(),
                Some("dana.new@example.org".into()),
                Role::Helpdesk,
                Some("Dana New".into()),
                event_for("directory.update", "dana.new", "renamed"),
            )
            .await
            .unwrap()
    );
    let renamed = h.store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(renamed.username.as_str(), "dana.new");
    assert_eq!(renamed.email.as_deref(), Some("dana.new@example.org"));
    assert_eq!(renamed.role, Role::Helpdesk);
    let taken = h
        .store
        .update_directory_user(
            id,
            "local".parse().unwrap(),
            None,
            Role::User,
            None,
            event_for("directory.update", "local", ""),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

    let listed = h.store.directory_users().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.id, id);
    assert_eq!(listed[0].1, link("uuid-dana", "Dana New"));
    assert_eq!(
        audit_details_after(&h.store, rows_before)
            .await
            .iter()
            .filter(|d| *d == "from the directory" || *d == "renamed")
            .count(),
        2,
        "each change is audited with it"
    );
}
