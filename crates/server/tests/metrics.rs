//! `/metrics` counts every entry point, times the route families and shows
//! the store, mail and Argon2 pool (issue 18); a full disk shows in
//! readiness, in `latchkey_server_errors_total` and in the log, on the API
//! and in the portal alike (SECURITY-REVIEW L2, S53).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::web::Visitor;
use common::*;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The status and body of `GET url`.
fn get(url: &str) -> (u16, String) {
    let mut response = agent().get(url).call().expect("the server answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// The value of the series line that starts with `series ` (name and
/// labels exactly as rendered); panics if there is none.
fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in:\n{metrics}"))
        .trim()
        .parse()
        .unwrap()
}

/// `value`, or 0 for a labelled series not rendered yet.
fn value_or_zero(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// `POST /api/v1/authenticate`; the status and body.
fn authenticate(url: &str, key: &str, user: &str, otp: &str) -> (u16, String) {
    let body = serde_json::json!({"username": user, "password": PASSWORD, "otp": otp}).to_string();
    let mut response = agent()
        .post(&format!("{url}/api/v1/authenticate"))
        .header("Authorization", &format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// A user with an HOTP token; its generator.
fn user_with_hotp(db: &Database, name: &str) -> latchkey_core::oath::Hotp {
    let out = db.admin(
        &[
            "user",
            "add",
            name,
            "--email",
            &format!("{name}@example.org"),
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let issued = db.admin_json(&["token", "issue", name, "--kind", "hotp"]);
    latchkey_core::oath::KeyUri::parse(issued["otpauth_uri"].as_str().unwrap())
        .unwrap()
        .hotp()
        .unwrap()
}

fn every_entry_point_is_counted(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let una = user_with_hotp(&db, "una");
    let (_, before) = get(&format!("{}/metrics", server.url));
    assert_eq!(
        value(
            &before,
            "latchkey_http_request_duration_seconds_count{family=\"api_authenticate\"}"
        ),
        0.0
    );

    // The API: two accepted, one refused.
    for (otp, want) in [
        (una.generate(0), "accept"),
        (una.generate(0), "reject"),
        (una.generate(1), "accept"),
    ] {
        let (status, body) = authenticate(&server.url, &key, "una", &otp);
        assert_eq!(status, 200);
        assert!(body.contains(want), "{body}");
    }
    // The portal: a wrong password, a right one, a wrong OTP, a right one.
    let mut visitor = Visitor::new(&server.url);
    let page = visitor.post(
        "/login",
        &[("username", "una"), ("password", "not the password")],
    );
    assert_eq!(page.status, 401, "{}", page.body);
    let page = visitor.post("/login", &[("username", "una"), ("password", PASSWORD)]);
    assert_eq!(page.location(), Some("/login/otp"));
    let page = visitor.post("/login/otp", &[("otp", "00000000")]);
    assert_eq!(page.status, 401, "{}", page.body);
    let page = visitor.post("/login/otp", &[("otp", &una.generate(2))]);
    assert_eq!(page.status, 303, "{}", page.body);
    // Ten wrong codes lock the token: a lockout.
    for _ in 0..10 {
        let (status, _) = authenticate(&server.url, &key, "una", "00000000");
        assert_eq!(status, 200);
    }
    // A mail the node sends itself.
    let mails_before = outbox_mails(&db).len();
    let mut stranger = Visitor::new(&server.url);
    let page = stranger.post("/password/forgot", &[("username", "una")]);
    assert_eq!(page.status, 200, "{}", page.body);
    wait_for_mails(&db, mails_before + 1);

    let (status, metrics) = get(&format!("{}/metrics", server.url));
    assert_eq!(status, 200);
    let sign_ins = |factor: &str, outcome: &str| {
        value(
            &metrics,
            &format!("latchkey_portal_sign_ins_total{{factor=\"{factor}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(sign_ins("password", "refused"), 1.0);
    assert_eq!(sign_ins("password", "success"), 1.0);
    assert_eq!(sign_ins("otp", "refused"), 1.0);
    assert_eq!(sign_ins("otp", "success"), 1.0);
    assert_eq!(sign_ins("questions", "success"), 0.0);
    let events = |action: &str, outcome: &str| {
        value_or_zero(
            &metrics,
            &format!("latchkey_audit_events_total{{action=\"{action}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(events("portal.sign-in", "success"), 1.0);
    let locks: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("latchkey_audit_events_total{action=\"token.lock\""))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(locks, 1.0, "one lockout: {metrics}");
    assert!(events("otp.verify", "success") >= 3.0, "{metrics}");
    assert!(events("otp.verify", "failure") >= 10.0, "{metrics}");
    assert_eq!(
        value(
            &metrics,
            "latchkey_authentications_total{result=\"accept\"}"
        ),
        2.0
    );
    assert!(value(&metrics, "latchkey_mail_total{result=\"sent\"}") >= 1.0);
    assert_eq!(
        value(&metrics, "latchkey_mail_total{result=\"failed\"}"),
        0.0
    );
    // Every API call was timed in its family, and the buckets add up.
    let family = "family=\"api_authenticate\"";
    let count = value(
        &metrics,
        &format!("latchkey_http_request_duration_seconds_count{{{family}}}"),
    );
    assert_eq!(count, 13.0);
    assert_eq!(
        value(
            &metrics,
            &format!("latchkey_http_request_duration_seconds_bucket{{{family},le=\"+Inf\"}}")
        ),
        count
    );
    assert!(
        value(
            &metrics,
            &format!("latchkey_http_request_duration_seconds_sum{{{family}}}")
        ) > 0.0
    );
    assert!(
        value(
            &metrics,
            "latchkey_http_request_duration_seconds_count{family=\"sign_in\"}"
        ) >= 5.0
    );
    // Nothing waits for Argon2 at rest.
    assert_eq!(value(&metrics, "latchkey_argon2_queue_depth"), 0.0);
    assert_eq!(value(&metrics, "latchkey_argon2_running"), 0.0);
    assert_eq!(value(&metrics, "latchkey_server_errors_total"), 0.0);
    assert_eq!(value(&metrics, "latchkey_database_writer_failing"), 0.0);
    if postgres {
        assert_eq!(
            value(&metrics, "latchkey_postgres_pool_max_connections"),
            16.0
        );
        let open = value(
            &metrics,
            "latchkey_postgres_pool_connections{state=\"idle\"}",
        ) + value(
            &metrics,
            "latchkey_postgres_pool_connections{state=\"in_use\"}",
        );
        assert!(open >= 1.0, "{metrics}");
    } else {
        let batches = value(&metrics, "latchkey_sqlite_batch_size_count");
        assert!(
            batches >= 14.0,
            "every accepted or refused OTP committed: {metrics}"
        );
        assert!(value(&metrics, "latchkey_sqlite_fsync_seconds_count") >= 1.0);
        assert_eq!(value(&metrics, "latchkey_sqlite_failed_batches_total"), 0.0);
    }
}

#[test]
fn every_entry_point_is_counted_on_sqlite() {
    every_entry_point_is_counted(false);
}

#[test]
fn every_entry_point_is_counted_on_postgres() {
    every_entry_point_is_counted(true);
}

/// A tmpfs of `size` mounted on `at` for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs and so needs root: {}",
            stderr(&out)
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A `latchkey serve` whose log goes to a file; killed when dropped.
struct Node {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Node {
    fn start(db: &Database, log: PathBuf) -> Node {
        let file = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(db.dir.path())
            .args(["--database", &db.url])
            .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
            .env("LATCHKEY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("latchkey listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Node { child, url, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fills the file system of `path` until a write fails for want of space;
/// the filler file.
fn fill(folder: &Path) -> PathBuf {
    use std::io::Write;
    let filler = folder.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        if let Err(error) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
            assert_eq!(error.raw_os_error(), Some(28), "ENOSPC: {error}");
            return filler;
        }
    }
}

/// L2 (S53): on a full disk writes fail with an opaque 500; the failures
/// are counted on the API and in the portal, the log says why, `/readyz`
/// answers 503 while the last write failed, and nothing is half done: once
/// there is room again the refused OTP is accepted once, the node is ready,
/// and the audit chain verifies. The disk is a real 4 MiB tmpfs, filled by
/// a file.
#[test]
fn l2_s53_a_full_disk_shows_in_readiness_metrics_and_the_log() {
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("latchkey.db").display()
    );
    let db = Database {
        url,
        dir: data,
        postgres: false,
    };
    // Unmounted before the folder is removed, after the node has stopped.
    let _disk = Tmpfs::mount(db.dir.path(), "4m");
    let key = db.api_key("vpn", "authenticate");
    let una = user_with_hotp(&db, "una");
    let node = Node::start(&db, outside.path().join("server.log"));
    let (status, body) = get(&format!("{}/readyz", node.url));
    assert_eq!(status, 200, "{body}");
    let (status, body) = authenticate(&node.url, &key, "una", &una.generate(0));
    assert_eq!((status, body.contains("accept")), (200, true), "{body}");

    let filler = fill(db.dir.path());
    // A small commit may still fit where a failed one left WAL pages; the
    // bigger ones do not. The portal first, then the API, so that the last
    // write before readiness is asked is one that failed.
    let mut errors = 0;
    let mut visitor = Visitor::new(&node.url);
    let mut portal_failed = false;
    for i in 0..20 {
        let name = format!("ghost{i}");
        let page = visitor.post(
            "/login",
            &[("username", &name), ("password", "a wrong password")],
        );
        if page.status == 500 {
            assert!(page.body.contains("Something went wrong"));
            assert!(
                !page.body.contains("full"),
                "the page tells nothing: {}",
                page.body
            );
            errors += 1;
            portal_failed = true;
            break;
        }
        assert_eq!(page.status, 401, "{}", page.body);
    }
    assert!(portal_failed, "a portal write failed on the full disk");
    let mut failed_code = None;
    for counter in 1..=20 {
        let code = una.generate(counter);
        let (status, body) = authenticate(&node.url, &key, "una", &code);
        if status == 500 {
            assert_eq!(
                body, "{\"error\":\"the server could not complete the request\"}",
                "opaque"
            );
            errors += 1;
            failed_code = Some(code);
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let failed_code = failed_code.expect("an API write failed on the full disk");
    let (status, body) = get(&format!("{}/readyz", node.url));
    assert_eq!(
        status,
        503,
        "readiness notices the failing writer: {body}\n{}",
        node.log()
    );
    assert!(body.contains("does not take writes"), "{body}");
    let (_, metrics) = get(&format!("{}/metrics", node.url));
    assert_eq!(
        value(&metrics, "latchkey_server_errors_total"),
        f64::from(errors),
        "both paths count"
    );
    assert_eq!(value(&metrics, "latchkey_database_writer_failing"), 1.0);
    assert!(value(&metrics, "latchkey_sqlite_failed_batches_total") >= 2.0);
    let log = node.log();
    let portal_line = log
        .lines()
        .find(|line| line.contains("portal request failed"))
        .unwrap_or_else(|| panic!("the portal's failure is logged:\n{log}"));
    assert!(
        portal_line.contains("disk is full"),
        "with its cause chain: {portal_line}"
    );
    assert!(
        log.lines().any(|line| !line.contains("portal")
            && line.contains("request failed")
            && line.contains("disk is full")),
        "the API's too:\n{log}"
    );

    // Room again: the code refused by the full disk was not spent, and the
    // write that accepts it makes the node ready again.
    std::fs::remove_file(filler).unwrap();
    let (status, body) = authenticate(&node.url, &key, "una", &failed_code);
    assert_eq!((status, body.contains("accept")), (200, true), "{body}");
    let (status, body) = get(&format!("{}/readyz", node.url));
    assert_eq!(status, 200, "ready once a write succeeds: {body}");
    let (status, body) = authenticate(&node.url, &key, "una", &failed_code);
    assert_eq!(
        (status, body.contains("reject")),
        (200, true),
        "once: {body}"
    );
    let (_, metrics) = get(&format!("{}/metrics", node.url));
    assert_eq!(value(&metrics, "latchkey_database_writer_failing"), 0.0);
    drop(node);
    let out = db.admin(&["audit", "verify"], "");
    assert!(out.status.success(), "{}", stderr(&out));
}
