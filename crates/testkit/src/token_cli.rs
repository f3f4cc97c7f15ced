//! The real `latchkey-token` binary from a test: where it is, running it
//! with secrets on standard input, reading the PIN Reset Code it shows, and
//! a stand-in for the server's token API for tests without a server.
// Test support: a failure here is a failed test, and each message says why.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use latchkey_core::oath::ResetCode;

/// The `latchkey-token` binary of this workspace, next to `beside` (the
/// calling test's own binary, `env!("CARGO_BIN_EXE_…")`); built once if
/// it is not there yet.
pub fn token_binary(beside: &Path) -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let binary = beside.with_file_name("latchkey-token");
        if !binary.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "latchkey-token", "--bin", "latchkey-token"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building latchkey-token failed");
        }
        binary
    })
}

/// The server's `latchkey` binary of this workspace, next to `beside` (the
/// calling test's own binary), built once if it is not there yet: for the
/// desktop's and the token's tests that run against the real server. A
/// plain `cargo test --workspace` builds it already (the server's tests
/// need it), so the build here runs only when one crate is tested alone.
pub fn server_binary(beside: &Path) -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let binary = beside.with_file_name("latchkey");
        if !binary.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "latchkey-server", "--bin", "latchkey"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building latchkey failed");
        }
        binary
    })
}

/// Runs `command` (the token binary with its arguments and environment)
/// with `input` written to standard input a line each, and waits for it.
pub fn run_with_input(mut command: Command, input: &[&str]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("latchkey-token starts");
    let mut stdin = child.stdin.take().expect("a piped standard input");
    // A command that stops early (a usage error) may not read its input:
    // what it printed and its exit status are what the test looks at.
    for line in input {
        if writeln!(stdin, "{line}").is_err() {
            break;
        }
    }
    drop(stdin);
    child.wait_with_output().expect("latchkey-token ends")
}

/// The first PIN Reset Code (three groups of four digits, `1234-5678-9012`)
/// in `text`, such as what `forgot-pin` or a locked `code` prints.
pub fn reset_code_in(text: &str) -> Option<ResetCode> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .find(|word| {
            let groups: Vec<&str> = word.split('-').collect();
            groups.len() == 3 && groups.iter().all(|g| g.len() == 4)
        })
        .and_then(|word| word.parse().ok())
}

/// The machine's time, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A stand-in for the server's token API on a loopback port, for the
/// token's own tests: `POST /api/v1/tokens/activate` answers `activation`,
/// `POST /api/v1/tokens/refresh` answers `refresh` (404 without one), any
/// other path 404. Runs until the test process ends.
pub struct StandInTokenApi {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl StandInTokenApi {
    /// Starts it.
    pub fn start(activation: String, refresh: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Some(request_line) = read_request(&stream) else {
                    continue;
                };
                let not_found = r#"{"error":"no such path"}"#.to_owned();
                let (status, answer) = if request_line.contains("/api/v1/tokens/activate") {
                    ("200 OK", activation.clone())
                } else if request_line.contains("/api/v1/tokens/refresh") {
                    match &refresh {
                        Some(refresh) => ("200 OK", refresh.clone()),
                        None => ("404 Not Found", not_found),
                    }
                } else {
                    ("404 Not Found", not_found)
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        StandInTokenApi { url }
    }
}

/// Reads one HTTP/1.1 request (headers and a `Content-Length` body) and
/// gives its request line.
fn read_request(stream: &std::net::TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    Some(request_line)
}
