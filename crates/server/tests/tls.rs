//! HTTPS served by `latchkey serve` itself (`tls_cert`, `tls_key`): a
//! certificate from a test CA made here with `openssl`, headless Chromium
//! trusting that CA alone (by its key's hash, not by ignoring every
//! certificate error) signing in and getting `Secure` `__Host-` cookies, a
//! renewed certificate served after SIGHUP while a bad one is not, start-up
//! refusing a key of another certificate, and the plain-HTTP redirect.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::*;
use serde_json::json;

/// A test CA and the leaf certificates it signed, in one folder.
struct TestPki {
    dir: tempfile::TempDir,
}

/// A leaf certificate (followed by the CA's, as a served chain) and its key.
struct Leaf {
    chain: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestPki {
    fn new() -> TestPki {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Latchkey Test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        std::fs::write(
            dir.path().join("leaf.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        TestPki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf for 127.0.0.1 with `name` as its common name.
    fn leaf(&self, name: &str) -> Leaf {
        let dir = self.dir.path();
        let (key, csr, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
                "-out",
                &cert,
            ],
        );
        let chain = format!("{name}-chain.pem");
        let mut text = std::fs::read_to_string(dir.join(&cert)).unwrap();
        text.push_str(&std::fs::read_to_string(dir.join("ca.pem")).unwrap());
        std::fs::write(dir.join(&chain), text).unwrap();
        Leaf {
            chain: dir.join(chain),
            key: dir.join(key),
        }
    }

    /// The base64 SHA-256 of the CA's SubjectPublicKeyInfo: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes.
    fn ca_spki_hash(&self) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(
                "openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform der \
                 | openssl dgst -sha256 -binary | base64",
            )
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The common name of the certificate served at `url`, verified against
    /// the test CA and for 127.0.0.1 (`openssl s_client`).
    fn served_name(&self, url: &str) -> String {
        let authority = url.strip_prefix("https://").unwrap();
        let out = Command::new("openssl")
            .args(["s_client", "-connect", authority, "-CAfile"])
            .arg(self.path("ca.pem"))
            .args(["-verify_ip", "127.0.0.1", "-verify_return_error"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "s_client: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let subject = text
            .lines()
            .find(|line| line.starts_with("subject="))
            .unwrap_or_else(|| panic!("s_client shows the subject: {text}"));
        subject
            .rsplit("CN")
            .next()
            .unwrap()
            .trim_start_matches([' ', '='])
            .trim()
            .to_owned()
    }
}

fn tls_settings(leaf: &Leaf) -> Vec<(&'static str, String)> {
    vec![
        ("LATCHKEY_TLS_CERT", leaf.chain.display().to_string()),
        ("LATCHKEY_TLS_KEY", leaf.key.display().to_string()),
    ]
}

fn serve_tls(db: &Database, settings: &[(&'static str, String)]) -> Server {
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    db.serve_with(&settings)
}

fn a_browser_signs_in_over_https_with_secure_host_cookies(postgres: bool) {
    let pki = TestPki::new();
    let leaf = pki.leaf("first");
    let db = Database::new(postgres);
    db.admin(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    // The soft token is activated over plain loopback HTTP (it would refuse
    // an https server whose CA it does not know), then the node restarts
    // with TLS on the same database.
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let token = SoftToken::new();
    {
        let plain = db.serve();
        token.activate(&plain, &issued);
    }
    let server = serve_tls(&db, &tls_settings(&leaf));
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let journey = if postgres {
        "tls-postgres"
    } else {
        "tls-sqlite"
    };
    let browser = Browser::start_with_flags(
        journey,
        &[format!(
            "--ignore-certificate-errors-spki-list={}",
            pki.ca_spki_hash()
        )],
    );
    browser.goto(&format!("{}/login", server.url));
    assert_eq!(
        browser.wait_for_path("/login"),
        "/login",
        "{}",
        browser.source()
    );
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &token.otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/self-service/questions"),
        "/self-service/questions",
        "signed in: {}",
        browser.text("body")
    );
    assert!(browser.url().starts_with("https://"), "{}", browser.url());

    let cookies = browser.cdp("Network.getCookies", json!({ "urls": [server.url] }));
    let cookies = cookies["cookies"].as_array().unwrap();
    let names: Vec<&str> = cookies
        .iter()
        .map(|cookie| cookie["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"__Host-latchkey_session") && names.contains(&"__Host-latchkey_csrf"),
        "{names:?}"
    );
    for cookie in cookies {
        assert!(
            cookie["name"].as_str().unwrap().starts_with("__Host-"),
            "{cookie}"
        );
        assert_eq!(cookie["secure"], true, "{cookie}");
        assert_eq!(cookie["httpOnly"], true, "{cookie}");
        assert_eq!(cookie["path"], "/", "{cookie}");
    }
}

#[test]
fn a_browser_signs_in_over_https_with_secure_host_cookies_sqlite() {
    a_browser_signs_in_over_https_with_secure_host_cookies(false);
}

#[test]
fn a_browser_signs_in_over_https_with_secure_host_cookies_postgres() {
    a_browser_signs_in_over_https_with_secure_host_cookies(true);
}

/// Waits until `url` serves the certificate named `name`.
fn wait_for_served_name(pki: &TestPki, url: &str, name: &str) {
    let started = Instant::now();
    loop {
        let served = pki.served_name(url);
        if served == name {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still serving {served}, not {name}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn hang_up(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sighup_serves_a_renewed_certificate_and_keeps_the_old_one_when_the_new_one_is_bad() {
    let pki = TestPki::new();
    let first = pki.leaf("first");
    let second = pki.leaf("second");
    // The node reads fixed paths, as certbot's live/ links are.
    let live_chain = pki.path("live-chain.pem");
    let live_key = pki.path("live.key");
    std::fs::copy(&first.chain, &live_chain).unwrap();
    std::fs::copy(&first.key, &live_key).unwrap();
    let db = Database::new(false);
    let mut server = serve_tls(
        &db,
        &tls_settings(&Leaf {
            chain: live_chain.clone(),
            key: live_key.clone(),
        }),
    );
    assert_eq!(pki.served_name(&server.url), "first");

    // A half-written renewal: the new chain with the old key. Refused; the
    // old pair is still served and the process lives.
    std::fs::copy(&second.chain, &live_chain).unwrap();
    hang_up(&server);
    assert_eq!(pki.served_name(&server.url), "first");
    assert!(server.is_running());

    std::fs::copy(&second.key, &live_key).unwrap();
    hang_up(&server);
    wait_for_served_name(&pki, &server.url, "second");
    assert!(server.is_running());
}

#[test]
fn sighup_without_tls_leaves_a_plain_node_serving() {
    let db = Database::new(false);
    let mut server = db.serve();
    hang_up(&server);
    // SIGHUP's default ends a process as soon as it is delivered, before
    // the node could accept another connection: these answers mean it was
    // handled.
    assert_eq!(server.get("/healthz", None).status, 200);
    assert_eq!(server.get("/healthz", None).status, 200);
    assert!(server.is_running(), "SIGHUP ended the node");
}

fn serve_refusal(db: &Database, settings: &[(&str, String)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database", &db.url])
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), stderr(&out))
}

#[test]
fn serve_refuses_a_missing_file_or_a_key_of_another_certificate() {
    let pki = TestPki::new();
    let first = pki.leaf("first");
    let second = pki.leaf("second");
    let db = Database::new(false);

    let (code, message) = serve_refusal(
        &db,
        &tls_settings(&Leaf {
            chain: first.chain.clone(),
            key: second.key.clone(),
        }),
    );
    assert_eq!(code, Some(2), "{message}");
    assert!(
        message.contains("does not go with the certificate")
            && message.contains(&second.key.display().to_string()),
        "{message}"
    );

    let missing = pki.path("no-such.pem");
    let (code, message) = serve_refusal(
        &db,
        &tls_settings(&Leaf {
            chain: missing.clone(),
            key: first.key.clone(),
        }),
    );
    assert_eq!(code, Some(2), "{message}");
    assert!(
        message.contains("cannot read the TLS certificate")
            && message.contains(&missing.display().to_string()),
        "{message}"
    );

    let (code, message) = serve_refusal(
        &db,
        &[("LATCHKEY_TLS_CERT", first.chain.display().to_string())],
    );
    assert_eq!(code, Some(2), "{message}");
    assert!(message.contains("only tls_cert is set"), "{message}");
}

#[test]
fn plain_http_is_redirected_to_the_public_https_url() {
    let pki = TestPki::new();
    let leaf = pki.leaf("first");
    let db = Database::new(false);
    let redirect_port = free_port();
    let mut settings = tls_settings(&leaf);
    settings.push((
        "LATCHKEY_REDIRECT_HTTP_LISTEN",
        format!("127.0.0.1:{redirect_port}"),
    ));
    settings.push(("LATCHKEY_PUBLIC_URL", "https://auth.example.org".into()));
    let server = serve_tls(&db, &settings);
    assert_eq!(pki.served_name(&server.url), "first");

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let response = agent
        .get(&format!(
            "http://127.0.0.1:{redirect_port}/login?next=%2Faccount"
        ))
        .header("Host", "attacker.example")
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(
        response.headers()["location"],
        "https://auth.example.org/login?next=%2Faccount",
        "to the public URL, never the request's Host"
    );
}
