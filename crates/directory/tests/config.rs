//! The `[directory]` table: DESIGN.md's keys and defaults, and the
//! messages a wrong one gets at start-up.

use std::time::Duration;

use latchkey_directory::{
    ConfigError, DEFAULT_USER_FILTER, Directory, DirectoryConfig, Role, Urls,
};

fn parse(toml_text: &str) -> Result<DirectoryConfig, toml::de::Error> {
    toml::from_str(toml_text)
}

fn check(toml_text: &str) -> Result<Directory, ConfigError> {
    Directory::new(&parse(toml_text).unwrap_or_else(|e| panic!("{e}")))
}

fn refusal(toml_text: &str) -> String {
    match check(toml_text) {
        Ok(d) => panic!("accepted: {d:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_defaults_are_design_mds() {
    let config = parse(
        r#"
        url = "ldap://ldap.example.org"
        base_dn = "ou=people,dc=example,dc=org"
        "#,
    )
    .unwrap();
    assert_eq!(config.url, Urls::One("ldap://ldap.example.org".into()));
    assert!(!config.starttls);
    assert_eq!(config.ca_file, None);
    assert_eq!(config.bind_dn, None);
    assert!(config.bind_password.is_none());
    assert_eq!(config.bind_password_file, None);
    assert_eq!(config.user_filter, DEFAULT_USER_FILTER);
    assert_eq!(
        DEFAULT_USER_FILTER,
        "(&(objectClass=inetOrgPerson)(uid={username}))"
    );
    assert_eq!(config.id_attribute, "entryUUID");
    assert_eq!(config.email_attribute, "mail");
    assert_eq!(config.name_attribute, "cn");
    assert!(config.group_roles.is_empty());
    assert_eq!(config.timeout_seconds, 3);
    assert_eq!(config.password_help_url, None);
    assert_eq!(config.sync_minutes, None);

    let dir = Directory::new(&config).unwrap();
    assert_eq!(dir.timeout(), Duration::from_secs(3));
    assert_eq!(dir.sync_interval(), None);
    assert_eq!(dir.password_help_url(), None);
}

#[test]
fn every_key_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("bind-password");
    std::fs::write(&password_file, "s3cret\n").unwrap();
    let config = parse(&format!(
        r#"
        url = ["ldaps://dc1.corp.example", "ldap://dc2.corp.example:3268"]
        starttls = true
        bind_dn = "CN=latchkey,OU=Services,DC=corp,DC=example"
        bind_password_file = "{}"
        base_dn = "DC=corp,DC=example"
        user_filter = "(&(objectCategory=person)(sAMAccountName={{username}}))"
        id_attribute = "objectGUID"
        email_attribute = "userPrincipalName"
        name_attribute = "displayName"
        timeout_seconds = 5
        password_help_url = "https://passwords.corp.example/"
        sync_minutes = 15

        [group_roles]
        "CN=Helpdesk,OU=Groups,DC=corp,DC=example" = "helpdesk"
        "CN=Latchkey Admins,OU=Groups,DC=corp,DC=example" = "admin"
        "CN=Staff,OU=Groups,DC=corp,DC=example" = "user"
        "#,
        password_file.display()
    ))
    .unwrap();
    assert_eq!(config.url.as_slice().len(), 2);
    assert_eq!(
        config.group_roles["CN=Latchkey Admins,OU=Groups,DC=corp,DC=example"],
        Role::Admin
    );
    let dir = Directory::new(&config).unwrap();
    assert_eq!(dir.timeout(), Duration::from_secs(5));
    assert_eq!(dir.sync_interval(), Some(Duration::from_secs(15 * 60)));
    assert_eq!(
        dir.password_help_url(),
        Some("https://passwords.corp.example/")
    );
}

#[test]
fn an_unknown_key_is_named() {
    let err = parse(
        r#"
        url = "ldap://ldap.example.org"
        base_dn = "dc=example,dc=org"
        bind_pasword = "typo"
        "#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bind_pasword"), "{err}");
}

#[test]
fn an_unknown_role_is_named() {
    let err = parse(
        r#"
        url = "ldap://ldap.example.org"
        base_dn = "dc=example,dc=org"
        [group_roles]
        "cn=x,dc=example,dc=org" = "superuser"
        "#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("superuser"), "{err}");
}

#[test]
fn the_debug_output_leaves_out_the_bind_password() {
    let config = parse(
        r#"
        url = "ldap://ldap.example.org"
        base_dn = "dc=example,dc=org"
        bind_dn = "cn=latchkey,dc=example,dc=org"
        bind_password = "hunter2-very-secret"
        "#,
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    let dir = Directory::new(&config).unwrap();
    let shown = format!("{dir:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn bad_urls_are_refused_with_the_url() {
    let base = "base_dn = \"dc=example,dc=org\"\n";
    for (url, says) in [
        ("\"http://ldap.example.org\"", "only ldap:// and ldaps://"),
        (
            "\"ldapi:///var/run/slapd.sock\"",
            "only ldap:// and ldaps://",
        ),
        ("\"not a url\"", "is not a URL"),
        ("\"ldap://\"", "scheme://host[:port]"),
        (
            "\"ldap://ldap.example.org/dc=example?uid\"",
            "scheme://host[:port]",
        ),
        ("[]", "at least one"),
    ] {
        let err = refusal(&format!("url = {url}\n{base}"));
        assert!(err.contains(says), "{url}: {err}");
        assert!(err.contains("directory.url"), "{url}: {err}");
    }
}

#[test]
fn base_dn_is_required() {
    let err = refusal("url = \"ldap://ldap.example.org\"\n");
    assert!(err.contains("directory.base_dn is required"), "{err}");
    let err = refusal("url = \"ldap://ldap.example.org\"\nbase_dn = \"  \"\n");
    assert!(err.contains("directory.base_dn is required"), "{err}");
}

#[test]
fn the_filter_needs_username_and_must_parse() {
    let start = "url = \"ldap://ldap.example.org\"\nbase_dn = \"dc=example,dc=org\"\n";
    let err = refusal(&format!("{start}user_filter = \"(uid=alice)\"\n"));
    assert!(err.contains("{username}"), "{err}");
    let err = refusal(&format!("{start}user_filter = \"(uid={{username}}\"\n"));
    assert!(err.contains("not a valid LDAP filter"), "{err}");
}

#[test]
fn ca_files_that_cannot_be_used_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let start = "url = \"ldaps://ldap.example.org\"\nbase_dn = \"dc=example,dc=org\"\n";

    let missing = dir.path().join("missing.pem");
    let err = refusal(&format!("{start}ca_file = \"{}\"\n", missing.display()));
    assert!(err.contains("directory.ca_file: cannot read"), "{err}");
    assert!(err.contains("missing.pem"), "{err}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let err = refusal(&format!("{start}ca_file = \"{}\"\n", garbage.display()));
    assert!(err.contains("no usable PEM certificate"), "{err}");
}

#[test]
fn the_service_account_needs_one_password() {
    let start = "url = \"ldap://ldap.example.org\"\nbase_dn = \"dc=example,dc=org\"\n";
    let err = refusal(&format!(
        "{start}bind_dn = \"cn=a,dc=example,dc=org\"\nbind_password = \"x\"\nbind_password_file = \"/etc/hostname\"\n"
    ));
    assert!(err.contains("not both"), "{err}");
    let err = refusal(&format!("{start}bind_dn = \"cn=a,dc=example,dc=org\"\n"));
    assert!(err.contains("bind_dn needs"), "{err}");
    let err = refusal(&format!("{start}bind_password = \"x\"\n"));
    assert!(err.contains("needs bind_dn"), "{err}");
    let err = refusal(&format!(
        "{start}bind_dn = \"cn=a,dc=example,dc=org\"\nbind_password_file = \"/nonexistent/pw\"\n"
    ));
    assert!(
        err.contains("bind_password_file: cannot read /nonexistent/pw"),
        "{err}"
    );
}

#[test]
fn other_values_are_checked() {
    let start = "url = \"ldap://ldap.example.org\"\nbase_dn = \"dc=example,dc=org\"\n";
    let err = refusal(&format!("{start}timeout_seconds = 0\n"));
    assert!(err.contains("timeout_seconds"), "{err}");
    let err = refusal(&format!("{start}sync_minutes = 0\n"));
    assert!(err.contains("sync_minutes"), "{err}");
    let err = refusal(&format!(
        "{start}password_help_url = \"javascript:alert(1)\"\n"
    ));
    assert!(err.contains("password_help_url"), "{err}");
    let err = refusal(&format!("{start}id_attribute = \"\"\n"));
    assert!(err.contains("directory.id_attribute"), "{err}");
}

/// The server holds one `Directory` across its handlers and awaits it in
/// axum handlers; its errors go into `anyhow` at the binary's edge.
#[test]
fn the_directory_and_its_futures_and_errors_can_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Directory>();
    send_sync::<latchkey_directory::AuthError>();
    send_sync::<latchkey_directory::LookupError>();
    send_sync::<ConfigError>();
    let dir = check("url = \"ldap://127.0.0.1:1\"\nbase_dn = \"dc=example,dc=org\"\n").unwrap();
    send(&dir.authenticate("alice", "password"));
    send(&dir.lookup("alice"));
    send(&dir.lookup_by_id("id"));
}
