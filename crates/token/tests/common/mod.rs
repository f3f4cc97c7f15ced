//! Helpers for the soft-token tests: a vault folder per test, the real
//! `latchkey-token` binary, and a small stand-in for the server's token API.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use latchkey_oath::{
    Algorithm, Digits, ResetCode, Secret, Serial, Totp, UnlockCode, UnlockSecret, base32,
    unlock_code,
};
use latchkey_token::record::TokenRecord;

pub use latchkey_testkit::pins::PIN;
use latchkey_testkit::pins::refused_pins;
#[allow(unused_imports)] // each test binary uses a part of them
pub use latchkey_testkit::token_cli::{StandInTokenApi, reset_code_in, run_with_input, unix_now};
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
        run_with_input(self.command(&all), input)
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

    pub fn activation_json(&self) -> String {
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

/// The stand-in token API for one token: its activation, and refresh
/// with its unlock secret.
pub fn stand_in_server(token: &IssuedToken) -> StandInTokenApi {
    let refresh =
        serde_json::json!({ "unlock_secret": hex::encode(token.unlock_secret) }).to_string();
    StandInTokenApi::start(token.activation_json(), Some(refresh))
}

/// A token home with one activated token.
pub fn activated(slots: usize) -> (TokenHome, IssuedToken) {
    let home = TokenHome::new();
    let token = IssuedToken::new(slots);
    let server = stand_in_server(&token);
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

/// Runs `code` with `pin`.
pub fn code_with(home: &TokenHome, pin: &str) -> std::process::Output {
    home.run(&["code"], &[pin])
}

/// Locks the one token in `home` with five wrong PINs.
pub fn lock(home: &TokenHome) {
    let wrong = home.wrong_pin();
    for _ in 0..5 {
        code_with(home, &wrong);
    }
    assert_eq!(home.list_json()[0]["state"], "locked");
}
