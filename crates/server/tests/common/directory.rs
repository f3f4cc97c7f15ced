//! A directory for the directory-user scenarios: a real slapd (the
//! `latchkey_directory::slapd` fixture, a throwaway OpenLDAP on free
//! loopback ports) with dana, erik and a disabled frank, and a database
//! whose admin CLI and nodes know it.

use std::path::PathBuf;

use latchkey_directory::slapd::{PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};
use latchkey_oath::{Hotp, KeyUri};
use serde_json::json;

use super::web::Visitor;
use super::{Database, Server, stderr};

pub const DANA_DN: &str = "uid=dana,ou=people,dc=example,dc=org";
pub const DANA_PASSWORD: &str = "dana directory secret";
pub const HELPDESK_GROUP: &str = "cn=helpdesk,ou=groups,dc=example,dc=org";
pub const PASSWORD_HELP: &str = "https://password.example.org/";

pub const PEOPLE: &str = "\
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
pub struct Setup {
    pub slapd: Slapd,
    pub db: Database,
    pub config_file: PathBuf,
}

pub fn setup(postgres: bool) -> Setup {
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
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config_file.to_str().unwrap()];
        all.extend_from_slice(args);
        self.db.admin(&all, "")
    }

    pub fn admin_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.admin(&all);
        assert!(out.status.success(), "admin {args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    /// An HOTP token for `name`, issued by name (a directory user's account
    /// is made by this, at first use).
    pub fn hotp_for(&self, name: &str) -> Hotp {
        let issued = self.admin_json(&["token", "issue", name, "--kind", "hotp"]);
        KeyUri::parse(issued["otpauth_uri"].as_str().unwrap())
            .unwrap()
            .hotp()
            .unwrap()
    }

    /// An in-process node with the `[directory]` table.
    pub fn node(&self) -> Server {
        let mut table = self.slapd.config();
        table.timeout_seconds = 2;
        table.password_help_url = Some(PASSWORD_HELP.into());
        table
            .group_roles
            .insert(HELPDESK_GROUP.into(), latchkey_directory::Role::Helpdesk);
        self.db
            .spawn_app_with(move |config| config.directory = Some(table))
    }

    pub fn user(&self, name: &str) -> serde_json::Value {
        self.admin_json(&["user", "show", name])
    }
}

/// The password step's answer: 303 to the OTP step when the password was right.
pub fn password_step(server: &Server, user: &str, password: &str) -> (Visitor, u16) {
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/login");
    let page = visitor.post("/login", &[("username", user), ("password", password)]);
    (visitor, page.status)
}

pub fn authenticate(server: &Server, key: &str, user: &str, password: &str, otp: &str) -> String {
    let body = json!({ "username": user, "password": password, "otp": otp }).to_string();
    let response = server.post("/api/v1/authenticate", Some(key), &body);
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body["result"].as_str().unwrap().to_owned()
}
