//! Directory users (DESIGN.md "Directory users") on a scripted directory:
//! the edges a real slapd cannot easily be made to show — a server that
//! fails between the search and the bind, an old entry's name taken by a
//! new one — and the rules the server's slapd tests rely on. (End to end
//! against a real slapd: crates/server/tests/directory_users.rs.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;

/// Entries by name, each with its password; a switch that makes binds
/// fail as an unreachable server does; counts of what was asked.
#[derive(Default)]
struct Scripted {
    entries: Mutex<HashMap<String, (DirectoryEntry, String)>>,
    binds_fail: AtomicBool,
    finds: AtomicUsize,
    binds: AtomicUsize,
}

impl Scripted {
    fn add(&self, name: &str, id: &str, password: &str) {
        let entry = DirectoryEntry {
            id: id.into(),
            dn: format!("uid={name},ou=people,dc=example,dc=org"),
            username: name.into(),
            email: Some(format!("{name}@example.org")),
            display_name: None,
            role: Role::User,
            refusal: None,
        };
        self.entries
            .lock()
            .unwrap()
            .insert(name.into(), (entry, password.into()));
    }
}

impl UserDirectory for Scripted {
    fn find(&self, username: &str) -> BoxFuture<'static, DirectoryLookup> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        let found = self
            .entries
            .lock()
            .unwrap()
            .get(username)
            .map(|e| e.0.clone());
        Box::pin(async move { Ok(found) })
    }
    fn find_by_id(&self, id: &str) -> BoxFuture<'static, DirectoryLookup> {
        let found = self
            .entries
            .lock()
            .unwrap()
            .values()
            .find(|(e, _)| e.id == id)
            .map(|e| e.0.clone());
        Box::pin(async move { Ok(found) })
    }
    fn verify(
        &self,
        entry: &DirectoryEntry,
        password: Zeroizing<String>,
    ) -> BoxFuture<'static, Result<bool, DirectoryUnavailable>> {
        self.binds.fetch_add(1, Ordering::SeqCst);
        let answer = if self.binds_fail.load(Ordering::SeqCst) {
            Err(DirectoryUnavailable("ldap://dc1: connect: refused".into()))
        } else {
            Ok(self
                .entries
                .lock()
                .unwrap()
                .values()
                .any(|(e, p)| e.dn == entry.dn && *p == *password))
        };
        Box::pin(async move { answer })
    }
    fn equalise(&self, _password: Zeroizing<String>) -> BoxFuture<'static, ()> {
        self.binds.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }
}

async fn with_directory(policy: Policy) -> (App, Arc<Scripted>) {
    let mut app = app(policy).await;
    let directory = Arc::new(Scripted::default());
    app.latchkey = app.latchkey.clone().with_directory(directory.clone());
    (app, directory)
}

async fn first_factor(app: &App, name: &str, password: &str) -> bool {
    app.latchkey
        .portal_sign_in(name, Zeroizing::new(password.into()), SOURCE)
        .await
        .is_ok()
}

#[tokio::test]
async fn a_directory_user_is_made_at_first_use_and_a_server_failing_at_the_bind_refuses_without_counting()
 {
    let (app, directory) = with_directory(Policy::default()).await;
    directory.add("dana", "uuid-1", "dana's password");
    assert!(first_factor(&app, "dana", "dana's password").await);
    let dana = app.user("dana").await;
    assert!(dana.password_hash.is_none(), "no local password");
    assert_eq!(dana.email.as_deref(), Some("dana@example.org"));

    directory.binds_fail.store(true, Ordering::SeqCst);
    assert!(!first_factor(&app, "dana", "dana's password").await);
    assert_eq!(
        app.user("dana").await.password_failures,
        0,
        "an outage is not the user's wrong password"
    );
    assert!(app.audit().iter().any(|(a, s, o, d)| a == "password.verify"
        && s == "dana"
        && o == "denied"
        && d.contains("directory unavailable: ldap://dc1")));
}

#[tokio::test]
async fn a_blank_password_asks_nothing_of_the_directory_and_a_local_account_stays_local() {
    let (app, directory) = with_directory(Policy::default()).await;
    directory.add("dana", "uuid-1", "dana's password");
    for blank in ["", "   "] {
        assert!(!first_factor(&app, "dana", blank).await);
    }
    assert_eq!(directory.finds.load(Ordering::SeqCst), 0);
    assert_eq!(directory.binds.load(Ordering::SeqCst), 0);

    // A local account named like an entry keeps its own password, and the
    // directory is not asked about it.
    app.latchkey
        .add_user(
            &app.admin,
            "erik",
            None,
            Role::Admin,
            Some(Zeroizing::new(PASSWORD.into())),
        )
        .await
        .unwrap();
    directory.add("erik", "uuid-2", "the directory's erik");
    assert!(!first_factor(&app, "erik", "the directory's erik").await);
    assert!(first_factor(&app, "erik", PASSWORD).await);
    assert_eq!(directory.finds.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_whose_account_belongs_to_a_gone_entry_is_not_handed_to_a_new_one() {
    let (app, directory) = with_directory(Policy::default()).await;
    directory.add("dana", "uuid-1", "first dana");
    assert!(first_factor(&app, "dana", "first dana").await);
    let first = app.user("dana").await;
    // The entry is deleted and someone else gets the name in the directory.
    directory.add("dana", "uuid-9", "second dana");
    assert!(!first_factor(&app, "dana", "second dana").await);
    assert_eq!(app.user("dana").await.id, first.id);
    assert!(app.audit().iter().any(|(a, _, o, d)| a == "directory.link"
        && o == "denied"
        && d.contains("linked to another directory entry")));
}

#[tokio::test]
async fn a_rename_onto_a_local_name_is_refused_and_the_account_keeps_its_name() {
    let (app, directory) = with_directory(Policy::default()).await;
    directory.add("dana", "uuid-1", "dana's password");
    assert!(first_factor(&app, "dana", "dana's password").await);
    app.latchkey
        .add_user(&app.admin, "root", None, Role::Admin, None)
        .await
        .unwrap();
    // The directory renames dana to the local administrator's name.
    directory.entries.lock().unwrap().clear();
    directory.add("root", "uuid-1", "dana's password");
    // Signing in as root is root's (local, no password): refused.
    assert!(!first_factor(&app, "root", "dana's password").await);
    // Sync would rename dana onto root: refused, audited, nothing merged.
    let report = app.latchkey.sync_directory().await.unwrap();
    assert_eq!(report.checked, 1);
    assert!(report.changes.is_empty(), "{report:?}");
    assert_eq!(app.user("dana").await.role, Role::User);
    assert_eq!(app.user("root").await.role, Role::Admin);
    assert!(
        app.audit()
            .iter()
            .any(|(a, _, o, d)| a == "directory.update"
                && o == "denied"
                && d.contains("taken by a local account"))
    );
}

#[tokio::test]
async fn a_waiting_account_binds_nothing_under_its_renamed_entrys_new_name_either() {
    let (app, directory) = with_directory(Policy::default()).await;
    directory.add("dana", "uuid-1", "dana's password");
    for _ in 0..6 {
        assert!(!first_factor(&app, "dana", "a wrong guess").await);
    }
    let dana = app.user("dana").await.id;
    let waits_until = app
        .store
        .source_password_blocked_until(dana, SOURCE)
        .await
        .unwrap();
    assert!(waits_until > T0 as i64, "the address waits (S16, S47)");
    directory.entries.lock().unwrap().clear();
    directory.add("dana.smith", "uuid-1", "dana's password");
    let binds = directory.binds.load(Ordering::SeqCst);
    assert!(!first_factor(&app, "dana.smith", "dana's password").await);
    assert_eq!(
        directory.binds.load(Ordering::SeqCst),
        binds,
        "the wait holds for the account, whatever name it is reached by"
    );
    // Once the wait is over, the new name signs in: the same account.
    let id = app.user("dana.smith").await.id;
    app.clock.advance(3600);
    assert!(first_factor(&app, "dana.smith", "dana's password").await);
    assert_eq!(app.user("dana.smith").await.id, id);
}

#[tokio::test]
async fn a_directory_user_gets_no_password_reset_link() {
    let (app, directory) = with_directory(Policy::default()).await;
    directory.add("dana", "uuid-1", "dana's password");
    assert!(first_factor(&app, "dana", "dana's password").await);
    let link = app
        .latchkey
        .portal_issue_reset_link("dana", SOURCE)
        .await
        .unwrap();
    assert!(link.is_none(), "no link that would set a Latchkey password");
    assert!(
        app.audit()
            .iter()
            .any(|(a, s, o, d)| a == "password.reset-request"
                && s == "dana"
                && o == "failure"
                && d.contains("directory user"))
    );
}
