//! Directory users end to end against a real slapd (the
//! `latchkey_directory::slapd` fixture: a throwaway OpenLDAP with the
//! memberof overlay on free loopback ports; nothing is mocked): accounts
//! made at first use and linked by entryUUID, the portal and the
//! authenticate API with the directory's password, renames, groups, the
//! throttle before the directory, the directory down, and sync. Each
//! scenario on a fresh SQLite file and on a fresh PostgreSQL database.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::radius::{SECRET, access, free_udp_port};
use common::web::Visitor;
use common::*;
use latchkey_directory::slapd::{PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};
use latchkey_oath::{Hotp, KeyUri};
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    a_directory_user_gets_a_token_by_name_and_signs_in_with_the_directory_password,
    a_renamed_entry_keeps_its_account_and_a_same_named_local_account_stays_local,
    sync_follows_groups_and_disables_a_deleted_entry,
    the_directory_down_refuses_its_users_and_local_admins_still_sign_in,
    a_flood_of_wrong_passwords_is_throttled_before_the_directory_is_asked,
    radius_one_step_takes_the_directory_password_and_the_otp,
    a_name_the_entry_answers_to_reaches_the_accounts_token,
);

const DANA_DN: &str = "uid=dana,ou=people,dc=example,dc=org";
const DANA_PASSWORD: &str = "dana directory secret";
const HELPDESK_GROUP: &str = "cn=helpdesk,ou=groups,dc=example,dc=org";
const PASSWORD_HELP: &str = "https://password.example.org/";

const PEOPLE: &str = "\
dn: uid=dana,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dana
cn: Dana Example
sn: Example
mail: dana@example.org
userPassword: dana directory secret

dn: uid=erik,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: erik
cn: Erik Example
sn: Example
mail: erik@example.org
userPassword: erik directory secret

dn: uid=frank,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: latchkeyAdAccount
uid: frank
cn: Frank Disabled
sn: Disabled
userAccountControl: 514
userPassword: frank directory secret
";

/// A slapd with dana and erik, and a database whose admin CLI and nodes
/// know it.
struct Setup {
    slapd: Slapd,
    db: Database,
    config_file: PathBuf,
}

fn setup(postgres: bool) -> Setup {
    let slapd = Slapd::start_with(PEOPLE).expect("slapd starts");
    slapd
        .add(&format!(
            "dn: {HELPDESK_GROUP}\nobjectClass: groupOfNames\ncn: helpdesk\nmember: {SERVICE_DN}\n"
        ))
        .unwrap();
    let db = Database::new(postgres);
    let config_file = db.dir.path().join("latchkey.toml");
    std::fs::write(
        &config_file,
        format!(
            "[directory]\nurl = {url:?}\nbind_dn = {SERVICE_DN:?}\nbind_password = {SERVICE_PASSWORD:?}\n\
             base_dn = {PEOPLE_DN:?}\ntimeout_seconds = 2\n\n[directory.group_roles]\n{HELPDESK_GROUP:?} = \"helpdesk\"\n",
            url = slapd.ldap_url(),
        ),
    )
    .unwrap();
    Setup {
        slapd,
        db,
        config_file,
    }
}

impl Setup {
    /// `latchkey admin --config (the directory) …`.
    fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config_file.to_str().unwrap()];
        all.extend_from_slice(args);
        self.db.admin(&all, "")
    }

    fn admin_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.admin(&all);
        assert!(out.status.success(), "admin {args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    /// An HOTP token for `name`, issued by name (a directory user's account
    /// is made by this, at first use).
    fn hotp_for(&self, name: &str) -> Hotp {
        let issued = self.admin_json(&["token", "issue", name, "--kind", "hotp"]);
        KeyUri::parse(issued["otpauth_uri"].as_str().unwrap())
            .unwrap()
            .hotp()
            .unwrap()
    }

    /// An in-process node with the `[directory]` table.
    fn node(&self) -> Server {
        let mut table = self.slapd.config();
        table.timeout_seconds = 2;
        table.password_help_url = Some(PASSWORD_HELP.into());
        table
            .group_roles
            .insert(HELPDESK_GROUP.into(), latchkey_directory::Role::Helpdesk);
        self.db
            .spawn_app_with(move |config| config.directory = Some(table))
    }

    fn user(&self, name: &str) -> serde_json::Value {
        self.admin_json(&["user", "show", name])
    }
}

/// The password step's answer: 303 to the OTP step when the password was right.
fn password_step(server: &Server, user: &str, password: &str) -> (Visitor, u16) {
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.post("/login", &[("username", user), ("password", password)]);
    (visitor, page.status)
}

fn authenticate(server: &Server, key: &str, user: &str, password: &str, otp: &str) -> String {
    let body = json!({ "username": user, "password": password, "otp": otp }).to_string();
    let response = server.post("/api/v1/authenticate", Some(key), &body);
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body["result"].as_str().unwrap().to_owned()
}

fn a_directory_user_gets_a_token_by_name_and_signs_in_with_the_directory_password(postgres: bool) {
    let s = setup(postgres);
    let hotp = s.hotp_for("dana");
    let shown = s.user("dana");
    assert_eq!(shown["email"], "dana@example.org", "{shown}");
    let server = s.node();

    // The portal: the directory's password, then the OTP.
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.sign_in("dana", DANA_PASSWORD, &hotp.generate(0));
    assert_eq!(page.status, 303, "OTP step: {}", page.body);
    assert_ne!(page.location(), Some("/login"), "{:?}", page.location());

    // Her password is the directory's: the portal does not change it.
    visitor.get("/self-service/password");
    let page = visitor.post(
        "/self-service/password",
        &[
            ("current_password", DANA_PASSWORD),
            ("otp", &hotp.generate(5)),
            ("password", "a new portal password"),
            ("password_confirm", "a new portal password"),
        ],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("directory password"), "{}", page.body);
    // Nor recovers it: the forgotten-password page sends directory users
    // where the organisation says (and core sends them no link).
    let page = Visitor::new(&server.url).get("/password/forgot");
    assert!(
        page.body.contains(&format!("href=\"{PASSWORD_HELP}\"")),
        "{}",
        page.body
    );

    // The authenticate API with the password.
    let key = s.db.api_key("vpn", "authenticate");
    assert_eq!(
        authenticate(&server, &key, "dana", DANA_PASSWORD, &hotp.generate(1)),
        "accept"
    );
    assert_eq!(
        authenticate(&server, &key, "dana", "not her password", &hotp.generate(2)),
        "reject"
    );

    // Refused, and no bind asked for: an empty or blank password, names
    // with filter metacharacters.
    let binds = s.slapd.bind_count(DANA_DN).unwrap();
    for (user, password) in [
        ("dana", ""),
        ("dana", "   "),
        ("*", DANA_PASSWORD),
        (")(uid=*", DANA_PASSWORD),
        ("dana)(uid=*", DANA_PASSWORD),
    ] {
        let (_, status) = password_step(&server, user, password);
        assert_ne!(status, 303, "{user:?} / {password:?} is refused");
    }
    assert_eq!(
        s.slapd.bind_count(DANA_DN).unwrap(),
        binds,
        "no bind as dana for a blank password or a crafted name"
    );
    // A wrong password is refused too (one bind: the count above is the
    // real one), and the account still works.
    let (_, status) = password_step(&server, "dana", "not her password");
    assert_ne!(status, 303);
    assert_eq!(s.slapd.bind_count(DANA_DN).unwrap(), binds + 1);
    let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
    assert_eq!(status, 303);

    // A name with no entry costs a bind too (as a wrong password does), so
    // timing does not tell which names exist.
    let nobody = format!("cn=latchkey-no-such-entry,{PEOPLE_DN}");
    let before = s.slapd.bind_count(&nobody).unwrap();
    let (_, status) = password_step(&server, "nobody", "some password");
    assert_ne!(status, 303);
    assert_eq!(s.slapd.bind_count(&nobody).unwrap(), before + 1);

    // AD's account state (userAccountControl 0x2, disabled) refuses with
    // the usual answer, binds nothing, and the audit log says why.
    let frank = format!("uid=frank,{PEOPLE_DN}");
    let (_, status) = password_step(&server, "frank", "frank directory secret");
    assert_ne!(status, 303, "a disabled AD account is refused");
    assert_eq!(s.slapd.bind_count(&frank).unwrap(), 0);
    let audit =
        s.db.admin(&["audit", "list", "--limit", "1000", "--json"], "");
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("the account is disabled in the directory"),
        "{audit}"
    );
}

fn a_renamed_entry_keeps_its_account_and_a_same_named_local_account_stays_local(postgres: bool) {
    let s = setup(postgres);
    let hotp = s.hotp_for("dana");
    let before = s.user("dana");
    let serial = before["tokens"][0]["serial"].as_str().unwrap().to_owned();

    let out = s.admin(&["directory", "test", "dana"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains(DANA_DN) && text.contains("dana, linked to this entry"),
        "{text}"
    );
    let nobody = s.admin_json(&["directory", "test", "nobody"]);
    assert!(nobody["entry"].is_null(), "{nobody}");

    // A local erik exists before the directory's erik signs in.
    s.db.add_user("erik");
    let tested = s.admin_json(&["directory", "test", "erik"]);
    assert_eq!(tested["account"], "local-same-name", "{tested}");

    s.slapd
        .modify(&format!(
            "dn: {DANA_DN}\nchangetype: modrdn\nnewrdn: uid=dana.smith\ndeleteoldrdn: 1\n"
        ))
        .unwrap();
    let server = s.node();
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.sign_in("dana.smith", DANA_PASSWORD, &hotp.generate(0));
    assert_eq!(
        page.status, 303,
        "the renamed entry signs in: {}",
        page.body
    );
    let after = s.user("dana.smith");
    assert_eq!(
        after["created_at"], before["created_at"],
        "the same account"
    );
    assert_eq!(
        after["tokens"][0]["serial"],
        serial.as_str(),
        "the same token"
    );
    assert!(
        !s.admin(&["user", "show", "dana"]).status.success(),
        "the old name is gone"
    );

    // The local erik keeps his own password; the directory's is not his.
    let (_, status) = password_step(&server, "erik", "erik directory secret");
    assert_ne!(
        status, 303,
        "the directory's password does not open a local account"
    );
    let (_, status) = password_step(&server, "erik", PASSWORD);
    assert_eq!(status, 303, "the local password does");
}

fn sync_follows_groups_and_disables_a_deleted_entry(postgres: bool) {
    let s = setup(postgres);
    let hotp = s.hotp_for("dana");
    assert_eq!(s.user("dana")["role"], "user");

    s.slapd
        .modify(&format!(
            "dn: {HELPDESK_GROUP}\nchangetype: modify\nadd: member\nmember: {DANA_DN}\n"
        ))
        .unwrap();
    let synced = s.admin_json(&["directory", "sync"]);
    assert_eq!(synced["changes"][0]["change"], "updated", "{synced}");
    assert_eq!(s.user("dana")["role"], "helpdesk");

    // Signed in, then deleted in the directory: sync disables her and
    // ends her session; the API refuses her.
    let server = s.node();
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.sign_in("dana", DANA_PASSWORD, &hotp.generate(0));
    assert_eq!(page.status, 303, "{}", page.body);
    s.slapd
        .modify(&format!("dn: {DANA_DN}\nchangetype: delete\n"))
        .unwrap();
    let synced = s.admin_json(&["directory", "sync"]);
    assert_eq!(synced["changes"][0]["change"], "disabled-gone", "{synced}");
    assert_eq!(s.user("dana")["status"], "disabled");
    let page = visitor.get("/self-service");
    assert_ne!(page.status, 200, "her session ended");
    let key = s.db.api_key("vpn", "authenticate");
    assert_eq!(
        authenticate(&server, &key, "dana", DANA_PASSWORD, &hotp.generate(1)),
        "reject"
    );
}

fn the_directory_down_refuses_its_users_and_local_admins_still_sign_in(postgres: bool) {
    let mut s = setup(postgres);
    let hotp = s.hotp_for("dana");
    let admin = common::web::Account::new(&s.db, "root");
    let mut admin = admin;
    let server = s.node();

    s.slapd.stop();
    let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
    assert_ne!(status, 303, "a directory user is refused while it is down");
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let otp = admin.next_otp();
    let page = visitor.sign_in("root", PASSWORD, &otp);
    assert_eq!(
        page.status, 303,
        "the local account signs in: {}",
        page.body
    );
    let ready = ureq::get(&format!("{}/readyz", server.url)).call().unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let body = ready.into_body().read_to_string().unwrap();
    assert!(body.contains("directory: down"), "{body}");
    let metrics = server.get("/metrics", None);
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(text.contains("latchkey_directory_up 0"), "{text}");

    // An outage never disables anyone: sync stops, and says why; so does
    // `directory test`.
    let out = s.admin(&["directory", "sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("directory is unavailable"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.user("dana")["status"], "active");
    let out = s.admin(&["directory", "test"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("did not answer"), "{}", stderr(&out));

    // Back: the next sign-in works without restarting Latchkey.
    s.slapd.start_again().unwrap();
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.sign_in("dana", DANA_PASSWORD, &hotp.generate(0));
    assert_eq!(page.status, 303, "{}", page.body);
    let ready = ureq::get(&format!("{}/readyz", server.url)).call().unwrap();
    let body = ready.into_body().read_to_string().unwrap();
    assert!(body.contains("directory: up"), "{body}");
}

fn a_flood_of_wrong_passwords_is_throttled_before_the_directory_is_asked(postgres: bool) {
    let s = setup(postgres);
    let hotp = s.hotp_for("dana");
    let server = s.node();
    for _ in 0..20 {
        let (_, status) = password_step(&server, "dana", "a wrong guess");
        assert_ne!(status, 303);
    }
    let binds = s.slapd.bind_count(DANA_DN).unwrap();
    // Five wrong passwords cost nothing, the sixth starts the wait
    // (SECURITY.md S16's default throttle); the rest bind nothing.
    assert_eq!(
        binds, 6,
        "the throttle refused the flood before binding: {binds} binds"
    );
    for _ in 0..10 {
        password_step(&server, "dana", "a wrong guess");
    }
    assert_eq!(
        s.slapd.bind_count(DANA_DN).unwrap(),
        binds,
        "while the account waits, the directory is not asked"
    );
    // The right password waits too (S16), without a bind.
    let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
    assert_ne!(status, 303);
    assert_eq!(s.slapd.bind_count(DANA_DN).unwrap(), binds);
    // Once the wait is over, her password is right again; but a password
    // alone does not end the run of failures (S44): the next wrong one
    // makes her wait again at once, without a bind for what follows.
    server.clock().advance(24 * 3600);
    let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
    assert_eq!(status, 303);
    let (_, status) = password_step(&server, "dana", "a wrong guess");
    assert_ne!(status, 303);
    let binds = s.slapd.bind_count(DANA_DN).unwrap();
    let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
    assert_ne!(status, 303, "the count was not cleared by a password alone");
    assert_eq!(s.slapd.bind_count(DANA_DN).unwrap(), binds);
    // Password and OTP end the run.
    server.clock().advance(24 * 3600);
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.sign_in("dana", DANA_PASSWORD, &hotp.generate(0));
    assert_eq!(page.status, 303, "{}", page.body);
    for _ in 0..5 {
        password_step(&server, "dana", "a wrong guess");
    }
    let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
    assert_eq!(
        status, 303,
        "five failures after a complete sign-in cost nothing"
    );
}

/// A `[directory]` table with a mistake stops the start with a message
/// that names the key, before anything is opened or changed.
#[test]
fn a_bad_directory_table_stops_the_start_with_its_message() {
    let db = Database::new(false);
    let file = db.dir.path().join("latchkey.toml");
    for (table, expected) in [
        (
            "[directory]\nurl = \"ldap://127.0.0.1:1\"\nbase_dn = \"dc=example\"\nbind_pasword = \"x\"\n",
            "unknown field `bind_pasword`",
        ),
        (
            "[directory]\nurl = \"http://ldap.example.org\"\nbase_dn = \"dc=example\"\n",
            "directory.url: \"http://ldap.example.org\" has the scheme \"http\"",
        ),
        (
            "[directory]\nurl = \"ldap://\"\nbase_dn = \"dc=example\"\n",
            "directory.url",
        ),
        (
            "[directory]\nurl = \"ldaps://127.0.0.1:1\"\nbase_dn = \"dc=example\"\nca_file = \"/nonexistent/ca.pem\"\n",
            "directory.ca_file: cannot read /nonexistent/ca.pem",
        ),
        (
            "[directory]\nurl = \"ldap://127.0.0.1:1\"\n",
            "directory.base_dn is required",
        ),
    ] {
        std::fs::write(&file, table).unwrap();
        let out = db.admin(
            &["--config", file.to_str().unwrap(), "directory", "test"],
            "",
        );
        assert!(!out.status.success(), "{table}");
        assert!(stderr(&out).contains(expected), "{table}: {}", stderr(&out));
    }
    // The environment, too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["admin", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database", &db.url, "directory", "test"])
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY_DIRECTORY_BASE_DN", "dc=example")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("LATCHKEY_DIRECTORY_BASE_DN")
            && stderr(&out).contains("LATCHKEY_DIRECTORY_URL"),
        "{}",
        stderr(&out)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["admin", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database", &db.url, "directory", "test"])
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY_DIRECTORY_URL", "ldap://127.0.0.1:1")
        .env("LATCHKEY_DIRECTORY_BASE_DN", "dc=example")
        .env("LATCHKEY_DIRECTORY_TIMEOUT_SECONDS", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("LATCHKEY_DIRECTORY_TIMEOUT_SECONDS"),
        "{}",
        stderr(&out)
    );
}

/// RADIUS one-step (a real `latchkey serve`, configured by its
/// environment, and FreeRADIUS's radclient): the directory's password
/// followed by the OTP is accepted; the password alone is challenged; a
/// wrong one is rejected.
fn radius_one_step_takes_the_directory_password_and_the_otp(postgres: bool) {
    let s = setup(postgres);
    let hotp = s.hotp_for("dana");
    let out = s.db.admin(
        &[
            "radius-client",
            "add",
            "vpn",
            "--address",
            "127.0.0.1",
            "--mode",
            "one-step",
            "--secret-stdin",
        ],
        &format!("{SECRET}\n"),
    );
    assert!(out.status.success(), "radius-client add: {}", stderr(&out));
    let port = free_udp_port();
    let url = s.slapd.ldap_url();
    let _server = s.db.serve_with(&[
        ("LATCHKEY_RADIUS_LISTEN", &format!("127.0.0.1:{port}")),
        ("LATCHKEY_DIRECTORY_URL", &url),
        ("LATCHKEY_DIRECTORY_BIND_DN", SERVICE_DN),
        ("LATCHKEY_DIRECTORY_BIND_PASSWORD", SERVICE_PASSWORD),
        ("LATCHKEY_DIRECTORY_BASE_DN", PEOPLE_DN),
        ("LATCHKEY_DIRECTORY_TIMEOUT_SECONDS", "2"),
    ]);
    access(
        port,
        "dana",
        &format!("{DANA_PASSWORD}{}", hotp.generate(0)),
    )
    .expect("Access-Accept", "the directory password and the OTP");
    access(port, "dana", DANA_PASSWORD).expect("Access-Challenge", "the password alone");
    access(
        port,
        "dana",
        &format!("not her password{}", hotp.generate(1)),
    )
    .expect("Access-Reject", "a wrong directory password");
}

/// A hostile "directory" that answers every request with malformed LDAP
/// (wrong types where the protocol wants an enumerated result code, an
/// entry without its attributes): the sign-in is refused within the
/// timeout, the node keeps serving, and local accounts still sign in.
#[test]
fn a_hostile_directory_cannot_crash_the_node() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                while let Ok(n) = stream.read(&mut request) {
                    // LDAPMessage ::= SEQUENCE { messageID INTEGER, … }: echo
                    // the id (one byte, as ldap3's first ones are).
                    if n < 8 || request[0] != 0x30 {
                        break;
                    }
                    let at = if request[1] & 0x80 == 0 {
                        2
                    } else {
                        2 + usize::from(request[1] & 0x7f)
                    };
                    if request.get(at..at + 2) != Some(&[0x02, 0x01]) {
                        break;
                    }
                    let id = request[at + 2];
                    let op = request[at + 3];
                    let mut reply = Vec::new();
                    if op == 0x63 {
                        // SearchResultEntry with a name and no attributes.
                        reply.extend_from_slice(&[
                            0x30, 0x08, 0x02, 0x01, id, 0x64, 0x03, 0x04, 0x01, b'A',
                        ]);
                    }
                    // The response op with OCTET STRINGs where ENUMERATED
                    // and LDAPDN belong.
                    let response = if op == 0x63 { 0x65 } else { op + 1 };
                    reply.extend_from_slice(&[
                        0x30, 0x0c, 0x02, 0x01, id, response, 0x07, 0x04, 0x01, 0x00, 0x04, 0x00,
                        0x04, 0x00,
                    ]);
                    if stream.write_all(&reply).is_err() {
                        break;
                    }
                }
            });
        }
    });

    let db = Database::new(false);
    let mut admin = common::web::Account::new(&db, "root");
    let server = db.spawn_app_with(|config| {
        let mut table = latchkey_directory::DirectoryConfig::new(&[&url], PEOPLE_DN);
        table.timeout_seconds = 2;
        config.directory = Some(table);
    });
    for _ in 0..3 {
        let (_, status) = password_step(&server, "dana", DANA_PASSWORD);
        assert_ne!(status, 303, "nothing a hostile server says lets anyone in");
    }
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let otp = admin.next_otp();
    let page = visitor.sign_in("root", PASSWORD, &otp);
    assert_eq!(
        page.status, 303,
        "the local account signs in: {}",
        page.body
    );
}

/// `sync_minutes`: `serve` syncs on its own, the first round as it starts.
/// (The round runs beside the requests, so the test waits for its effect,
/// polling the account, rather than for a time.)
#[test]
fn serve_syncs_on_its_schedule_from_the_start() {
    let s = setup(false);
    let _hotp = s.hotp_for("dana");
    s.slapd
        .modify(&format!("dn: {DANA_DN}\nchangetype: delete\n"))
        .unwrap();
    let url = s.slapd.ldap_url();
    let _server = s.db.serve_with(&[
        ("LATCHKEY_DIRECTORY_URL", &url),
        ("LATCHKEY_DIRECTORY_BIND_DN", SERVICE_DN),
        ("LATCHKEY_DIRECTORY_BIND_PASSWORD", SERVICE_PASSWORD),
        ("LATCHKEY_DIRECTORY_BASE_DN", PEOPLE_DN),
        ("LATCHKEY_DIRECTORY_SYNC_MINUTES", "60"),
    ]);
    let mut status = String::new();
    for _ in 0..300 {
        status = s.user("dana")["status"].as_str().unwrap().to_owned();
        if status == "disabled" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "disabled", "the scheduled round disabled her");
}

/// Not a test: a benchmark, run by hand with
/// `cargo test --workspace --test directory_users -- --ignored --nocapture`.
/// Password + OTP authentications (`/api/v1/authenticate`, one at a time)
/// for a directory user (search, then bind) and a local user (Argon2id),
/// per second with p50/p99 latencies.
#[test]
#[ignore = "a benchmark, run by hand"]
fn benchmark_password_and_otp_directory_against_local() {
    let s = setup(false);
    let dana = s.hotp_for("dana");
    let mut local = common::web::Account::new(&s.db, "root");
    let key = s.db.api_key("bench", "authenticate");
    let server = s.node();
    let rounds = 200;
    let measure = |label: &str, mut one: Box<dyn FnMut(u64) -> String + '_>| {
        let mut took = Vec::with_capacity(rounds);
        let start = std::time::Instant::now();
        for i in 0..rounds as u64 {
            let t = std::time::Instant::now();
            assert_eq!(one(i), "accept");
            took.push(t.elapsed());
        }
        let total = start.elapsed();
        took.sort();
        println!(
            "{label}: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms ({rounds} sequential)",
            rounds as f64 / total.as_secs_f64(),
            took[rounds / 2].as_secs_f64() * 1e3,
            took[rounds * 99 / 100].as_secs_f64() * 1e3,
        );
    };
    measure(
        "directory user",
        Box::new(|i| authenticate(&server, &key, "dana", DANA_PASSWORD, &dana.generate(i))),
    );
    measure(
        "local user",
        Box::new(|_| {
            let otp = local.next_otp();
            authenticate(&server, &key, "root", PASSWORD, &otp)
        }),
    );
}

/// With a filter that also takes the mail address, the user may type it:
/// the account is the entry's (named by its uid), and so is the OTP.
fn a_name_the_entry_answers_to_reaches_the_accounts_token(postgres: bool) {
    let s = setup(postgres);
    let hotp = s.hotp_for("dana");
    let mut table = s.slapd.config();
    table.user_filter = "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))".into();
    let server =
        s.db.spawn_app_with(move |config| config.directory = Some(table));
    let key = s.db.api_key("vpn", "authenticate");
    assert_eq!(
        authenticate(
            &server,
            &key,
            "dana@example.org",
            DANA_PASSWORD,
            &hotp.generate(0)
        ),
        "accept"
    );
    assert_eq!(
        authenticate(
            &server,
            &key,
            "dana@example.org",
            "not her password",
            &hotp.generate(1)
        ),
        "reject"
    );
    assert!(
        !s.admin(&["user", "show", "dana@example.org"])
            .status
            .success(),
        "no second account for the other name"
    );
}
