//! Helpers for the soft-token tests: a vault folder per test, the real
//! `latchkey-token` binary, and a small stand-in for the server's token API.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use latchkey_oath::{
    Algorithm, Digits, ResetCode, Secret, Serial, Totp, UnlockCode, UnlockSecret, base32,
    unlock_code,
};
use latchkey_token::record::TokenRecord;

pub use latchkey_testkit::pins::PIN;
use latchkey_testkit::pins::refused_pins;
pub const NEW_PIN: &str = "583920";

/// A temporary vault folder and the binary pointed at it.
pub struct TokenHome {
    pub dir: tempfile::TempDir,
}

impl TokenHome {
    pub fn new() -> Self {
        TokenHome {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey-token"));
        command
            .args(args)
            .env("LATCHKEY_TOKEN_HOME", self.path())
            .env("LATCHKEY_TOKEN_TEST_KDF", "cheap")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs the binary with `--pin-stdin`, feeding `input` lines.
    pub fn run(&self, args: &[&str], input: &[&str]) -> Output {
        let mut all = vec!["--pin-stdin"];
        all.extend_from_slice(args);
        let mut child = self.command(&all).spawn().expect("the binary starts");
        let mut stdin = child.stdin.take().expect("stdin");
        for line in input {
            writeln!(stdin, "{line}").expect("write stdin");
        }
        drop(stdin);
        child.wait_with_output().expect("the binary ends")
    }

    pub fn token_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("token-")
            })
            .collect()
    }

    pub fn list_json(&self) -> serde_json::Value {
        let out = self.run(&["list", "--json"], &[]);
        assert_eq!(out.status.code(), Some(0), "list: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("list --json prints JSON")
    }

    /// A wrong PIN that every token here refuses. A wrong PIN passes the
    /// vault's 10-bit check once in 1,024 tries and then shows a decoy code
    /// (by design), which clears the failure count; tests that count wrong
    /// PINs need one that cannot pass, picked by opening the vault files.
    pub fn wrong_pin(&self) -> String {
        let records: Vec<TokenRecord> = self
            .token_files()
            .iter()
            .map(|file| TokenRecord::from_json(&std::fs::read(file).unwrap()).unwrap())
            .collect();
        refused_pins(&records, &[PIN, NEW_PIN])
            .next()
            .expect("a PIN that fails the check")
    }

    /// The PIN Reset Code `forgot-pin` shows.
    pub fn reset_code(&self) -> ResetCode {
        let out = self.run(&["forgot-pin"], &[]);
        assert_eq!(out.status.code(), Some(0), "forgot-pin: {}", stderr(&out));
        reset_code_in(&stderr(&out)).expect("forgot-pin shows a reset code")
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Finds `PIN Reset Code: 1234-5678-9012` in a message.
pub fn reset_code_in(text: &str) -> Option<ResetCode> {
    let line = text.lines().find(|l| l.contains("PIN Reset Code: "))?;
    let code = line.split("PIN Reset Code: ").nth(1)?.trim();
    assert!(
        code.len() == 14 && code.chars().nth(4) == Some('-') && code.chars().nth(9) == Some('-'),
        "grouped: {code}"
    );
    code.parse().ok()
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What the stand-in server hands out for one token.
pub struct IssuedToken {
    pub serial: Serial,
    pub seed: Vec<u8>,
    pub unlock_secret: [u8; 32],
    pub slots: usize,
}

impl IssuedToken {
    pub fn new(slots: usize) -> Self {
        let mut seed = vec![0u8; 32];
        let mut unlock_secret = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut seed);
        rand::Rng::fill_bytes(&mut rand::rng(), &mut unlock_secret);
        IssuedToken {
            serial: Serial::generate(),
            seed,
            unlock_secret,
            slots,
        }
    }

    pub fn totp(&self) -> Totp {
        Totp::new(
            Secret::from_bytes(self.seed.clone()),
            Algorithm::Sha256,
            Digits::EIGHT,
            30,
        )
        .unwrap()
    }

    pub fn unlock_code_for(&self, reset: &ResetCode) -> UnlockCode {
        unlock_code(
            &UnlockSecret::from_bytes(self.unlock_secret),
            &self.serial,
            reset,
        )
    }

    fn activation_json(&self) -> String {
        serde_json::json!({
            "serial": self.serial.digits(),
            "label": "alice",
            "issuer": "Example Corp",
            "otp": {"kind": "totp", "algorithm": "SHA256", "digits": 8, "period": 30},
            "secret": base32::encode(&self.seed),
            "unlock_secret": hex::encode(self.unlock_secret),
            "policy": {"max_pin_failures": 5, "min_pin_length": 6, "unlock_slots": self.slots},
        })
        .to_string()
    }
}

/// A stand-in for the server's token API on a loopback port: answers
/// activation for one token and refresh with its unlock secret.
pub struct StandInServer {
    pub url: String,
}

impl StandInServer {
    pub fn start(token: &IssuedToken) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let activation = token.activation_json();
        let refresh =
            serde_json::json!({ "unlock_secret": hex::encode(token.unlock_secret) }).to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err()
                        || header == "\r\n"
                        || header.is_empty()
                    {
                        break;
                    }
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let (status, answer) = if request_line.contains("/api/v1/tokens/activate") {
                    ("200 OK", activation.clone())
                } else if request_line.contains("/api/v1/tokens/refresh") {
                    ("200 OK", refresh.clone())
                } else {
                    ("404 Not Found", r#"{"error":"no such path"}"#.to_owned())
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        StandInServer { url }
    }
}

/// A token home with one activated token.
pub fn activated(slots: usize) -> (TokenHome, IssuedToken) {
    let home = TokenHome::new();
    let token = IssuedToken::new(slots);
    let server = StandInServer::start(&token);
    let serial = token.serial.digits().to_owned();
    let out = home.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            &serial,
            "--activation-code",
            "1234567890123452",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "activate: {}", stderr(&out));
    (home, token)
}
