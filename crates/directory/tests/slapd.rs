//! The adapter against a real slapd (see `latchkey_directory::slapd`): each
//! test starts its own from a temporary folder. Nothing is mocked; a
//! missing slapd fails the test with what to install.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use latchkey_directory::slapd::{GROUPS_DN, PEOPLE_DN, SERVICE_DN, Slapd};
use latchkey_directory::{
    AccountRefusal, AuthError, ConfigError, Directory, DirectoryConfig, LookupError, Role, Stage,
};

const ALICE_DN: &str = "uid=alice,ou=people,dc=example,dc=org";
const ALICE_PASSWORD: &str = "alice correct horse";

const PEOPLE: &str = "\
dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Example
sn: Example
mail: alice@example.org
userPassword: alice correct horse

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob Example
sn: Example
userPassword: bob-password

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carol
cn: Carol Example
sn: Example
mail: carol@example.org
userPassword: carol-password

dn: uid=twin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: twin
cn: Twin One
sn: One
userPassword: twin-password

dn: cn=Twin Two,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: twin
cn: Twin Two
sn: Two
userPassword: twin-password
";

// Added through LDAP once slapd runs, so the memberof overlay writes the
// members' memberOf.
const GROUPS: &str = "\
dn: cn=helpdesk,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: helpdesk
member: uid=alice,ou=people,dc=example,dc=org
member: uid=carol,ou=people,dc=example,dc=org

dn: cn=admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: uid=carol,ou=people,dc=example,dc=org

dn: cn=unmapped,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: unmapped
member: uid=bob,ou=people,dc=example,dc=org
";

fn slapd() -> Slapd {
    let slapd = Slapd::start_with(PEOPLE).unwrap_or_else(|e| panic!("{e}"));
    slapd.add(GROUPS).unwrap_or_else(|e| panic!("{e}"));
    slapd
}

fn with_roles(mut config: DirectoryConfig) -> DirectoryConfig {
    // Spelled differently from the server's DNs on purpose.
    config.group_roles.insert(
        "CN=Helpdesk, OU=Groups, DC=Example, DC=Org".into(),
        Role::Helpdesk,
    );
    config
        .group_roles
        .insert(format!("cn=admins,{GROUPS_DN}"), Role::Admin);
    config
}

fn directory(config: &DirectoryConfig) -> Directory {
    Directory::new(config).unwrap_or_else(|e| panic!("{e}"))
}

/// A port where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("reading the port: {e}"))
        .port()
}

/// The connections (`conn=N`) on which slapd received a simple bind as `dn`.
fn bind_connections(slapd: &Slapd, dn: &str) -> Vec<String> {
    let needle = format!("BIND dn=\"{dn}\" method=128");
    let log = slapd.log().unwrap_or_else(|e| panic!("{e}"));
    log.lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("conn=")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_right_password_signs_in_and_the_entry_is_read() {
    let slapd = slapd();
    let dir = directory(&with_roles(slapd.config()));

    let alice = dir.authenticate("Alice", ALICE_PASSWORD).await.unwrap();
    assert_eq!(alice.dn, ALICE_DN);
    assert_eq!(
        alice.username, "alice",
        "the entry's spelling, not the typed one"
    );
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    assert_eq!(alice.display_name.as_deref(), Some("Alice Example"));
    assert_eq!(alice.role, Role::Helpdesk);
    assert_eq!(alice.refusal, None);
    // entryUUID, as slapadd made it.
    assert_eq!(alice.id.len(), 36, "{}", alice.id);
    assert_eq!(alice.id.matches('-').count(), 4, "{}", alice.id);

    // The search alone says the same.
    assert_eq!(dir.lookup("alice").await.unwrap(), alice);
    assert_eq!(dir.lookup_by_id(&alice.id).await.unwrap(), alice);
    assert_eq!(slapd.bind_count(ALICE_DN).unwrap(), 1, "one bind as alice");

    // Search, then bind: the service account searched on one connection,
    // alice bound on another.
    let service = bind_connections(&slapd, SERVICE_DN);
    let user = bind_connections(&slapd, ALICE_DN);
    assert_eq!(user.len(), 1, "{user:?}");
    assert_eq!(
        service.len(),
        3,
        "authenticate, lookup, lookup_by_id: {service:?}"
    );
    assert!(
        !service.contains(&user[0]),
        "the user's bind has a connection of its own: {service:?} {user:?}"
    );
}

#[tokio::test]
async fn wrong_empty_and_blank_passwords_are_refused_and_blank_ones_never_bind() {
    let slapd = slapd();
    let dir = directory(&slapd.config());

    assert!(matches!(
        dir.authenticate("alice", "alice wrong horse").await,
        Err(AuthError::InvalidCredentials)
    ));
    assert_eq!(slapd.bind_count(ALICE_DN).unwrap(), 1);

    for blank in ["", " ", "\t \n", "\u{3000}"] {
        assert!(
            matches!(
                dir.authenticate("alice", blank).await,
                Err(AuthError::EmptyPassword)
            ),
            "{blank:?}"
        );
    }
    // A bind that follows is logged, so the log is known to be current.
    dir.authenticate("alice", ALICE_PASSWORD).await.unwrap();
    assert_eq!(
        slapd.bind_count(ALICE_DN).unwrap(),
        2,
        "the wrong password and the right one bound; no blank one did"
    );

    assert!(matches!(
        dir.authenticate("nobody", "whatever").await,
        Err(AuthError::NotFound)
    ));
    assert!(matches!(dir.lookup("").await, Err(LookupError::NotFound)));
}

#[tokio::test]
async fn filter_metacharacters_in_the_name_find_nobody() {
    let slapd = slapd();
    let dir = directory(&slapd.config());
    for name in [
        "*)(uid=*",
        "*",
        "alice)(uid=*",
        "*)(|(uid=*",
        "al*",
        "alice\0",
        "\\2a",
    ] {
        assert!(
            matches!(dir.lookup(name).await, Err(LookupError::NotFound)),
            "{name:?}"
        );
        assert!(
            matches!(
                dir.authenticate(name, ALICE_PASSWORD).await,
                Err(AuthError::NotFound)
            ),
            "{name:?}"
        );
    }
    assert_eq!(slapd.bind_count(ALICE_DN).unwrap(), 0);
}

#[tokio::test]
async fn two_entries_with_the_same_name_are_refused_as_ambiguous() {
    let slapd = slapd();
    let dir = directory(&slapd.config());
    assert!(matches!(
        dir.lookup("twin").await,
        Err(LookupError::Ambiguous)
    ));
    assert!(matches!(
        dir.authenticate("twin", "twin-password").await,
        Err(AuthError::Ambiguous)
    ));
    assert_eq!(
        slapd
            .bind_count("uid=twin,ou=people,dc=example,dc=org")
            .unwrap(),
        0
    );
    assert_eq!(
        slapd
            .bind_count("cn=Twin Two,ou=people,dc=example,dc=org")
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_passed_over_then_skipped() {
    let slapd = slapd();
    // Accepts connections (the kernel does) and never says a word.
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let silent_url = format!("ldap://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mut config = slapd.config();
    config.url = latchkey_directory::Urls::Many(vec![silent_url, slapd.ldap_url()]);
    config.timeout_seconds = 1;
    let dir = directory(&config);

    let started = Instant::now();
    dir.authenticate("alice", ALICE_PASSWORD).await.unwrap();
    let first = started.elapsed();
    assert!(
        first >= Duration::from_millis(900) && first < Duration::from_secs(3),
        "waited for the silent server's timeout, once: {first:?}"
    );

    let started = Instant::now();
    dir.authenticate("alice", ALICE_PASSWORD).await.unwrap();
    let second = started.elapsed();
    assert!(
        second < Duration::from_millis(800),
        "the silent server is skipped now: {second:?}"
    );
}

#[tokio::test]
async fn a_lone_silent_server_is_given_up_within_the_timeout() {
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("ldap://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mut config = DirectoryConfig::new(&[&url], PEOPLE_DN);
    config.timeout_seconds = 1;
    let dir = directory(&config);
    let started = Instant::now();
    match dir.authenticate("alice", ALICE_PASSWORD).await {
        Err(AuthError::Unavailable(u)) => assert_eq!(u.failures[0].stage, Stage::Search, "{u}"),
        other => panic!("{other:?}"),
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(1800),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_refused_first_url_fails_over_and_all_down_is_unavailable() {
    let slapd = slapd();
    let mut config = slapd.config();
    let closed = format!("ldap://127.0.0.1:{}", closed_port());
    config.url = latchkey_directory::Urls::Many(vec![closed.clone(), slapd.ldap_url()]);
    let dir = directory(&config);
    dir.authenticate("alice", ALICE_PASSWORD).await.unwrap();

    config.url = latchkey_directory::Urls::One(closed.clone());
    let dir = directory(&config);
    let started = Instant::now();
    match dir.authenticate("alice", ALICE_PASSWORD).await {
        Err(AuthError::Unavailable(u)) => {
            assert_eq!(u.failures.len(), 1);
            assert_eq!(u.failures[0].url, closed);
            assert_eq!(u.failures[0].stage, Stage::Connect);
        }
        other => panic!("{other:?}"),
    }
    // A lone server marked down is still asked (so it is used again as
    // soon as it is back), and a refused connection costs no timeout.
    assert!(matches!(
        dir.authenticate("alice", ALICE_PASSWORD).await,
        Err(AuthError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn slapd_back_after_an_outage_is_used_at_once() {
    let mut slapd = slapd();
    let dir = directory(&slapd.config());
    dir.authenticate("alice", ALICE_PASSWORD).await.unwrap();
    slapd.stop();
    assert!(matches!(
        dir.authenticate("alice", ALICE_PASSWORD).await,
        Err(AuthError::Unavailable(_))
    ));
    slapd.start_again().unwrap();
    dir.authenticate("alice", ALICE_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn starttls_and_ldaps_with_the_ca_file_and_refused_with_another_ca() {
    let slapd = slapd();

    let mut starttls = slapd.config();
    starttls.starttls = true;
    starttls.ca_file = Some(slapd.ca_file());
    directory(&starttls)
        .authenticate("alice", ALICE_PASSWORD)
        .await
        .unwrap();

    let mut ldaps = slapd.config();
    ldaps.url = latchkey_directory::Urls::One(slapd.ldaps_url());
    ldaps.ca_file = Some(slapd.ca_file());
    directory(&ldaps)
        .authenticate("alice", ALICE_PASSWORD)
        .await
        .unwrap();

    for mut config in [starttls, ldaps] {
        config.ca_file = Some(slapd.other_ca_file());
        match directory(&config)
            .authenticate("alice", ALICE_PASSWORD)
            .await
        {
            Err(AuthError::Unavailable(u)) => {
                assert_eq!(u.failures[0].stage, Stage::Connect, "{u}");
                let text = u.to_string();
                assert!(text.contains("certificate"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
    // Only the two successful sign-ins bound: the TLS failures did not get
    // as far as sending a password.
    assert_eq!(slapd.bind_count(ALICE_DN).unwrap(), 2);
}

#[tokio::test]
async fn groups_map_to_roles_and_a_new_membership_shows() {
    let slapd = slapd();
    let dir = directory(&with_roles(slapd.config()));
    assert_eq!(dir.lookup("alice").await.unwrap().role, Role::Helpdesk);
    assert_eq!(
        dir.lookup("carol").await.unwrap().role,
        Role::Admin,
        "the highest of her groups"
    );
    let bob = dir.lookup("bob").await.unwrap();
    assert_eq!(bob.role, Role::User, "an unmapped group gives nothing");
    assert_eq!(bob.groups, vec![format!("cn=unmapped,{GROUPS_DN}")]);

    slapd
        .modify(&format!(
            "dn: cn=admins,{GROUPS_DN}\nchangetype: modify\nadd: member\nmember: uid=bob,{PEOPLE_DN}\n"
        ))
        .unwrap();
    assert_eq!(dir.lookup("bob").await.unwrap().role, Role::Admin);

    // No group_roles: everyone is a user.
    assert_eq!(
        directory(&slapd.config())
            .lookup("carol")
            .await
            .unwrap()
            .role,
        Role::User
    );
}

#[tokio::test]
async fn a_renamed_entry_keeps_its_id_and_a_deleted_one_is_gone() {
    let slapd = slapd();
    let dir = directory(&with_roles(slapd.config()));
    let before = dir.lookup("alice").await.unwrap();

    slapd
        .modify(&format!(
            "dn: {ALICE_DN}\nchangetype: modrdn\nnewrdn: uid=alice.smith\ndeleteoldrdn: 1\n"
        ))
        .unwrap();

    let after = dir.lookup_by_id(&before.id).await.unwrap();
    assert_eq!(after.id, before.id);
    assert_eq!(after.dn, format!("uid=alice.smith,{PEOPLE_DN}"));
    assert_eq!(after.username, "alice.smith");
    assert_eq!(
        after.role,
        Role::Helpdesk,
        "memberof-refint followed the rename"
    );
    assert!(matches!(
        dir.lookup("alice").await,
        Err(LookupError::NotFound)
    ));
    let signed_in = dir
        .authenticate("alice.smith", ALICE_PASSWORD)
        .await
        .unwrap();
    assert_eq!(signed_in.id, before.id);

    slapd
        .modify(&format!(
            "dn: uid=alice.smith,{PEOPLE_DN}\nchangetype: delete\n"
        ))
        .unwrap();
    assert!(matches!(
        dir.lookup_by_id(&before.id).await,
        Err(LookupError::NotFound)
    ));
    assert!(matches!(
        dir.lookup_by_id("not-an-id)(uid=*").await,
        Err(LookupError::NotFound)
    ));
}

// AD-shaped entries: sAMAccountName, a binary objectGUID (the bytes of
// .NET's Guid.ToByteArray example) and the account-state attributes.
const AD_PEOPLE: &str = "\
dn: cn=Gina Ad,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: latchkeyAdAccount
cn: Gina Ad
sn: Ad
sAMAccountName: gina
objectGUID:: yYuRNW0Z6kCXeYidebdT8A==
userAccountControl: 512
accountExpires: 9223372036854775807
lockoutTime: 0
userPassword: gina-password

dn: cn=Dave Disabled,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: latchkeyAdAccount
cn: Dave Disabled
sn: Disabled
sAMAccountName: dave
objectGUID:: AAECAwQFBgcICQoLDA0ODw==
userAccountControl: 514
userPassword: dave-password

dn: cn=Erin Expired,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: latchkeyAdAccount
cn: Erin Expired
sn: Expired
sAMAccountName: erin
objectGUID:: EBESExQVFhcYGRobHB0eHw==
userAccountControl: 512
accountExpires: 133170048000000000
userPassword: erin-password

dn: cn=Frank Locked,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: latchkeyAdAccount
cn: Frank Locked
sn: Locked
sAMAccountName: frank
objectGUID:: ICEiIyQlJicoKSorLC0uLw==
userAccountControl: 512
lockoutTime: 133485408000000000
userPassword: frank-password
";

#[tokio::test]
async fn ad_shaped_entries_give_a_guid_id_and_their_account_state_refuses() {
    let slapd = Slapd::start_with(AD_PEOPLE).unwrap_or_else(|e| panic!("{e}"));
    let mut config = slapd.config();
    config.user_filter = "(&(objectClass=inetOrgPerson)(sAMAccountName={username}))".into();
    config.id_attribute = "objectGUID".into();
    let dir = directory(&config);

    let gina = dir.authenticate("gina", "gina-password").await.unwrap();
    assert_eq!(gina.id, "35918bc9-196d-40ea-9779-889d79b753f0");
    assert_eq!(gina.username, "gina");
    assert_eq!(
        dir.lookup_by_id("35918BC9-196D-40EA-9779-889D79B753F0")
            .await
            .unwrap()
            .dn,
        gina.dn
    );

    let dave = dir.lookup("dave").await.unwrap();
    assert_eq!(dave.id, "03020100-0504-0706-0809-0a0b0c0d0e0f");
    assert_eq!(dave.refusal, Some(AccountRefusal::Disabled));
    assert!(matches!(
        dir.authenticate("dave", "dave-password").await,
        Err(AuthError::AccountState(AccountRefusal::Disabled))
    ));
    assert!(matches!(
        dir.authenticate("erin", "erin-password").await,
        Err(AuthError::AccountState(AccountRefusal::Expired { .. }))
    ));
    assert!(matches!(
        dir.authenticate("frank", "frank-password").await,
        Err(AuthError::AccountState(AccountRefusal::LockedOut { .. }))
    ));
    for dn in ["Dave Disabled", "Erin Expired", "Frank Locked"] {
        assert_eq!(
            slapd.bind_count(&format!("cn={dn},{PEOPLE_DN}")).unwrap(),
            0,
            "{dn}: refused before any bind"
        );
    }
}

#[tokio::test]
async fn the_service_password_may_come_from_a_file_and_a_wrong_one_is_unavailable() {
    let slapd = slapd();
    let file = slapd.folder().join("bind-password");
    std::fs::write(&file, "service-secret\n").unwrap();
    let mut config = slapd.config();
    config.bind_password = None;
    config.bind_password_file = Some(file);
    directory(&config)
        .authenticate("alice", ALICE_PASSWORD)
        .await
        .unwrap();

    let mut wrong = slapd.config();
    wrong.bind_password = Some("not-the-service-secret".to_owned().into());
    match directory(&wrong)
        .authenticate("alice", ALICE_PASSWORD)
        .await
    {
        Err(AuthError::Unavailable(u)) => assert_eq!(u.failures[0].stage, Stage::ServiceBind),
        other => panic!("{other:?}"),
    }
    assert_eq!(slapd.bind_count(ALICE_DN).unwrap(), 1);
}

#[test]
fn an_unreadable_ca_file_is_refused_at_start() {
    let mut config = DirectoryConfig::new(&["ldaps://127.0.0.1:1"], PEOPLE_DN);
    config.ca_file = Some("/nonexistent/ca.pem".into());
    let err = Directory::new(&config).unwrap_err();
    assert!(matches!(err, ConfigError::CaFileUnreadable { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}
