//! The real `latchkey-token` binary with a vault folder of its own, and
//! reading what it prints.

use std::path::Path;
use std::process::{Command, Output};

use latchkey_core::ManualClock;
use latchkey_testkit::token_cli::run_with_input;

use super::{PIN, Server};

/// The `latchkey-token` binary of this workspace, built if need be.
pub fn token_binary() -> &'static Path {
    latchkey_testkit::token_cli::token_binary(Path::new(env!("CARGO_BIN_EXE_latchkey")))
}

/// A vault folder for the real soft token.
pub struct SoftToken {
    pub home: tempfile::TempDir,
    /// The clock of the in-process node the token is used with: its codes
    /// are for that clock's time (`latchkey-token --now`).
    clock: Option<ManualClock>,
}

impl SoftToken {
    pub fn new() -> Self {
        SoftToken {
            home: tempfile::tempdir().unwrap(),
            clock: None,
        }
    }

    /// A token whose codes follow the moved clock of `server` (a node
    /// started by [`Database::spawn_app`]).
    pub fn following(server: &Server) -> Self {
        SoftToken {
            clock: Some(server.clock().clone()),
            ..SoftToken::new()
        }
    }

    pub fn run(&self, args: &[&str], input: &[&str]) -> Output {
        let now = self
            .clock
            .as_ref()
            .map(|clock| latchkey_core::Clock::now(clock).to_string());
        let mut command = Command::new(token_binary());
        command
            .arg("--pin-stdin")
            .args(now.iter().flat_map(|now| ["--now", now.as_str()]))
            .args(args)
            .env("LATCHKEY_TOKEN_HOME", self.home.path())
            .env("LATCHKEY_TOKEN_TEST_KDF", "cheap");
        run_with_input(command, input)
    }

    pub fn code(&self, pin: &str) -> Output {
        self.run(&["code"], &[pin])
    }

    /// The vault's token records.
    pub fn records(&self) -> Vec<latchkey_token::TokenRecord> {
        std::fs::read_dir(self.home.path())
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("token-")
            })
            .map(|path| {
                latchkey_token::TokenRecord::from_json(&std::fs::read(path).unwrap()).unwrap()
            })
            .collect()
    }

    /// Five wrong PINs, the first four refused and the fifth locking the
    /// token (exit code 4); the answer to the fifth. The PIN is one the
    /// vault's 10-bit check refuses (a wrong PIN that passes it shows a
    /// decoy code by design, see `latchkey_testkit::pins`).
    pub fn lock_with_wrong_pins(&self) -> Output {
        let wrong = latchkey_testkit::pins::refused_pins(&self.records(), &[PIN])
            .next()
            .expect("a PIN the vault refuses");
        for attempt in 1..=5 {
            let out = self.code(&wrong);
            let expected = if attempt < 5 { 3 } else { 4 };
            assert_eq!(
                out.status.code(),
                Some(expected),
                "wrong PIN {attempt}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if attempt == 5 {
                return out;
            }
        }
        unreachable!("the fifth wrong PIN returned")
    }

    pub fn otp(&self) -> String {
        let out = self.code(PIN);
        assert!(
            out.status.success(),
            "code: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl SoftToken {
    /// Activates the token `latchkey admin token issue … --json` printed,
    /// with the PIN [`PIN`]; panics with the token's message on failure.
    pub fn activate(&self, server: &Server, issued: &serde_json::Value) {
        let out = self.run(
            &[
                "activate",
                "--server",
                &server.url,
                "--serial",
                issued["serial"].as_str().expect("a serial"),
                "--activation-code",
                issued["activation_code"]
                    .as_str()
                    .expect("an activation code"),
            ],
            &[PIN, PIN],
        );
        assert!(out.status.success(), "activate: {}", stderr(&out));
    }

    /// The PIN Reset Code `forgot-pin` shows (grouped, 1234-5678-9012).
    pub fn reset_code(&self) -> String {
        reset_code_in(&stderr(&self.run(&["forgot-pin"], &[])))
            .expect("forgot-pin shows the PIN Reset Code")
    }
}

/// The first grouped PIN Reset Code (three groups of four digits) in `text`.
pub fn reset_code_in(text: &str) -> Option<String> {
    latchkey_testkit::token_cli::reset_code_in(text).map(|code| code.grouped())
}
