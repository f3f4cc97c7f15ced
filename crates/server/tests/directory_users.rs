//! Directory users end to end against a real slapd (nothing is mocked):
//! accounts made at first use and linked by entryUUID, the portal and the
//! authenticate API with the directory's password, renames, the names an
//! entry answers to, groups, and sync (by command and on `serve`'s
//! schedule). Each scenario on a fresh SQLite file and on a fresh
//! PostgreSQL database. The directory down, floods, bad tables, hostile
//! servers and RADIUS are in `directory_users_faults.rs`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::directory::*;
use common::web::Visitor;
use common::*;
use latchkey_directory::slapd::{PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD};

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
    a_name_the_entry_answers_to_reaches_the_accounts_token,
);

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
