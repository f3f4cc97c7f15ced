//! Directory users when things go wrong, and beyond the portal: the
//! directory down, a flood of wrong passwords throttled before the
//! directory, a bad `[directory]` table, a hostile server, and RADIUS
//! one-step with the directory's password; and a benchmark run by hand.
//! The scenarios with both backends run on a fresh SQLite file and on a
//! fresh PostgreSQL database.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::directory::*;
use common::radius::{SECRET, access, free_udp_port};
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
    the_directory_down_refuses_its_users_and_local_admins_still_sign_in,
    a_flood_of_wrong_passwords_is_throttled_before_the_directory_is_asked,
    radius_one_step_takes_the_directory_password_and_the_otp,
);

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
/// `cargo test --workspace --test directory_users_faults -- --ignored --nocapture`.
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
