//! The real Latchkey server for the desktop's tests: `latchkey serve` on a
//! loopback port over a fresh SQLite file, and `latchkey admin` over the
//! same database, as the server's own tests run them.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// A test master key (32 bytes, hex).
const MASTER_KEY: &str = "6c6174636b6b65792d746573742d6d61737465722d6b65792d30313233343536";
/// The password the test users get.
pub const PASSWORD: &str = "correct horse battery";

/// A running `latchkey serve`, stopped when dropped.
pub struct RealServer {
    child: Child,
    data: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

fn binary() -> &'static Path {
    latchkey_testkit::token_cli::server_binary(Path::new(env!("CARGO_BIN_EXE_latchkey-desktop")))
}

impl RealServer {
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("a data folder");
        let mut child = Command::new(binary())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(location(data.path()))
            .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
            .env("LATCHKEY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("latchkey serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("a piped output"))
            .read_line(&mut line)
            .expect("latchkey serve prints its address");
        let url = line
            .trim()
            .strip_prefix("latchkey listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        RealServer { child, data, url }
    }

    /// `latchkey admin ARGS` over the server's database, `input` on its
    /// standard input.
    pub fn admin(&self, args: &[&str], input: &str) -> Output {
        let mut child = Command::new(binary())
            .arg("admin")
            .args(location(self.data.path()))
            .args(args)
            .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("latchkey admin starts");
        child
            .stdin
            .take()
            .expect("a piped input")
            .write_all(input.as_bytes())
            .expect("latchkey admin reads its input");
        child.wait_with_output().expect("latchkey admin ends")
    }

    /// `latchkey admin ARGS --json`, parsed.
    pub fn admin_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.admin(&all, "");
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    pub fn add_user(&self, name: &str) {
        let out = self.admin(
            &["user", "add", name, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What `POST /api/v1/authenticate` answers for the user's password
    /// and `otp`, with an API key of the `authenticate` role.
    pub fn authenticate(&self, user: &str, otp: &str) -> String {
        // A key of its own for each call: key names are unique.
        static KEYS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "desktop-test-{}",
            KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let key = self.admin_json(&["apikey", "create", &name, "--role", "authenticate"])["key"]
            .as_str()
            .expect("a key")
            .to_owned();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let body = serde_json::json!({ "username": user, "password": PASSWORD, "otp": otp });
        let mut response = agent
            .post(&format!("{}/api/v1/authenticate", self.url))
            .header("Content-Type", "application/json")
            .header("Authorization", &format!("Bearer {key}"))
            .send(body.to_string().as_bytes())
            .expect("the server answers");
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        answer["result"].as_str().unwrap_or(&text).to_owned()
    }
}

fn location(data: &Path) -> Vec<String> {
    vec![
        "--data-dir".into(),
        data.display().to_string(),
        "--database".into(),
        format!("sqlite://{}?mode=rwc", data.join("latchkey.db").display()),
    ]
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
