//! The admin console against real peers, on both backends: the directory
//! page against a real slapd (the `latchkey_directory::slapd` fixture, as
//! `tests/directory_users.rs` uses it) shows the directory's state and the
//! last sync, and "sync now" writes a `directory.sync` audit row and
//! changes what the page shows; a RADIUS client made on the console works
//! with FreeRADIUS's `radclient` and the secret shown once, and a wrong
//! secret gets no accept.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::console::*;
use common::radius::free_udp_port;
use common::web::Account;
use common::*;
use latchkey_directory::slapd::{PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    the_directory_page_shows_a_real_slapd_up_and_down_and_sync_now_is_audited,
    a_radius_client_made_on_the_console_accepts_radclient_with_its_secret_only,
);

const DANA_DN: &str = "uid=dana,ou=people,dc=example,dc=org";

const PEOPLE: &str = "\
dn: uid=dana,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dana
cn: Dana Example
sn: Example
mail: dana@example.org
userPassword: dana directory secret
";

/// The directory page's state cell and its last-sync cell.
fn directory_page(visitor: &mut common::web::Visitor) -> (String, String) {
    let page = visitor.get("/admin/directory");
    assert_eq!(page.status, 200, "{}", page.body);
    (
        text_of(&page, "directory-state").unwrap(),
        text_of(&page, "last-sync").unwrap(),
    )
}

/// The `directory.sync` audit rows: actor, outcome and detail.
fn syncs(db: &Database) -> Vec<(String, String, String)> {
    audit_rows(db)
        .iter()
        .filter(|r| r["action"] == "directory.sync")
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn the_directory_page_shows_a_real_slapd_up_and_down_and_sync_now_is_audited(postgres: bool) {
    let mut slapd = Slapd::start_with(PEOPLE).expect("slapd starts");
    let db = Database::new(postgres);
    // The admin CLI knows the directory too: dana's account is made when
    // she is given a token by name, linked to her entry.
    let config_file = db.dir.path().join("latchkey.toml");
    std::fs::write(
        &config_file,
        format!(
            "[directory]\nurl = {url:?}\nbind_dn = {SERVICE_DN:?}\nbind_password = {SERVICE_PASSWORD:?}\n\
             base_dn = {PEOPLE_DN:?}\ntimeout_seconds = 2\n",
            url = slapd.ldap_url(),
        ),
    )
    .unwrap();
    let out = db.admin(
        &[
            "--config",
            config_file.to_str().unwrap(),
            "token",
            "issue",
            "dana",
            "--kind",
            "hotp",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut table = slapd.config();
    table.timeout_seconds = 2;
    let server = db.spawn_app_with(move |config| config.directory = Some(table));
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");

    let page = visitor.get("/admin/directory");
    assert_eq!(
        text_of(&page, "directory-accounts").as_deref(),
        Some("1"),
        "dana's account comes from the directory: {}",
        page.body
    );
    let (state, last) = directory_page(&mut visitor);
    assert!(
        state == "up" || state == "not asked yet",
        "no failure yet: {state}"
    );
    assert_eq!(last, "none recorded yet");
    assert!(syncs(&db).is_empty());

    // Her mail changes in the directory; "sync now" brings it in line.
    slapd
        .modify(&format!(
            "dn: {DANA_DN}\nchangetype: modify\nreplace: mail\nmail: dana.new@example.org\n"
        ))
        .unwrap();
    let done = visitor.post("/admin/directory/sync", &[]);
    assert_eq!(done.status, 200, "{}", done.body);
    let said = text_of(&done, "done").unwrap();
    assert!(
        said.contains("1 directory accounts checked, 1 changed"),
        "{said}"
    );
    assert_eq!(
        db.admin_json(&["user", "show", "dana"])["email"],
        "dana.new@example.org"
    );
    assert_eq!(
        syncs(&db),
        [(
            "root".to_owned(),
            "success".to_owned(),
            "checked=1 changed=1".to_owned()
        )]
    );
    let (state, last) = directory_page(&mut visitor);
    assert_eq!(state, "up");
    assert!(
        last.contains("UTC by root: success, checked=1 changed=1"),
        "{last}"
    );

    // The directory stops: "sync now" says so, the attempt is audited,
    // and the page shows it down with the failed sync.
    slapd.stop();
    let down = visitor.post("/admin/directory/sync", &[]);
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("did not answer"), "{}", down.body);
    let rows = syncs(&db);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("root", "failure")
    );
    let (state, last) = directory_page(&mut visitor);
    assert!(state.starts_with("down"), "{state}");
    assert!(last.contains("by root: failure"), "{last}");
    assert_eq!(
        db.admin_json(&["user", "show", "dana"])["status"],
        "active",
        "an outage disables no one"
    );

    // Back: the next sync finds it up again.
    slapd.start_again().unwrap();
    let again = visitor.post("/admin/directory/sync", &[]);
    assert_eq!(again.status, 200, "{}", again.body);
    let (state, last) = directory_page(&mut visitor);
    assert_eq!(state, "up");
    assert!(last.contains("success, checked=1 changed=0"), "{last}");
    assert_eq!(syncs(&db).len(), 3);
}

fn a_radius_client_made_on_the_console_accepts_radclient_with_its_secret_only(postgres: bool) {
    let db = Database::new(postgres);
    let mut alice = Account::new(&db, "alice");
    let port = free_udp_port();
    let server = db.serve_with(&[("LATCHKEY_RADIUS_LISTEN", &format!("127.0.0.1:{port}"))]);
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");

    let made = visitor.post(
        "/admin/radius",
        &[
            ("name", "vpn"),
            ("address", "127.0.0.1"),
            ("mode", "one-step"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = text_of(&made, "secret").expect("the shared secret is shown once");

    // The node reads a client it does not know at most once a second:
    // radclient's second try, two seconds on, finds it read.
    let reply = radclient_with_secret(
        port,
        &secret,
        "alice",
        &format!("{PASSWORD}{}", alice.next_otp()),
        3,
        2,
    );
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "password and OTP with the console's secret: {}",
        reply.output
    );
    // A wrong secret: the request's Message-Authenticator does not verify,
    // so the node does not answer at all (and never accepts).
    let wrong = radclient_with_secret(
        port,
        &secret.to_uppercase(),
        "alice",
        &format!("{PASSWORD}{}", alice.next_otp()),
        1,
        2,
    );
    assert_ne!(
        wrong.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        wrong.output
    );
    // The right secret still works, with the next code.
    let reply = radclient_with_secret(
        port,
        &secret,
        "alice",
        &format!("{PASSWORD}{}", alice.next_otp()),
        1,
        5,
    );
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
}
