//! The README's "The first hour", run as it is written: every command of
//! its `sh` blocks, in order, against a real `latchkey serve` in a fresh
//! folder, so the README cannot drift from the code. What a person does
//! in between (type a password when asked, copy the serial the previous
//! command printed) the test does the same way: a prompt is answered on
//! standard input (`--password-stdin`, `--pin-stdin`), a placeholder
//! (`SERIAL`, `CODE`, `KEY`, `PASSWORD`, `RESET_CODE`) becomes what an
//! earlier command printed, and `http://127.0.0.1:8080` the node's address.
//! The browser steps (7, 9) are the portal journey's test
//! (`portal_journey.rs`); here the help desk's CLI gives the unlock code.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::*;
use latchkey_testkit::token_cli::run_with_input;

const NEW_PIN: &str = "731950";

/// The `sh` blocks of the README's "The first hour", in order, each as its
/// commands (continuation lines joined, comments left out).
fn first_hour_blocks() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("## The first hour")
        .expect("the README has a first hour");
    let section = &readme[start..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```sh" {
            continue;
        }
        let mut commands = Vec::new();
        let mut pending = String::new();
        for line in lines.by_ref() {
            let line = line.trim();
            if line == "```" {
                break;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(part) => pending.push_str(part),
                None => {
                    pending.push_str(line);
                    commands.push(std::mem::take(&mut pending));
                }
            }
        }
        blocks.push(commands);
    }
    blocks
}

/// The folder the commands run in, its server and what they printed.
struct Walk {
    folder: tempfile::TempDir,
    token: SoftToken,
    binaries: PathBuf,
    url: String,
    found: HashMap<String, String>,
}

impl Walk {
    fn shell(&self, command: &str, input: &[&str]) -> Output {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(command)
            .current_dir(self.folder.path())
            .env("PATH", format!("{}:/usr/bin:/bin", self.binaries.display()))
            .env("LATCHKEY_TOKEN_HOME", self.token.home.path())
            .env("LATCHKEY_TOKEN_TEST_KDF", "cheap")
            .env("LATCHKEY_LOG", "warn");
        let out = run_with_input(sh, input);
        assert!(
            out.status.success(),
            "{command}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        out
    }

    /// A placeholder's value, from an earlier command's output.
    fn value(&self, name: &str) -> &str {
        self.found
            .get(name)
            .unwrap_or_else(|| panic!("nothing printed before gave {name}"))
    }

    fn substituted(&self, command: &str) -> String {
        let mut command = command.replace("http://127.0.0.1:8080", &self.url);
        for name in ["RESET_CODE", "SERIAL", "CODE", "KEY", "PASSWORD"] {
            if command.contains(name) {
                command = command.replace(name, self.value(name));
            }
        }
        command
    }

    fn run(&mut self, written: &str) {
        let words: Vec<&str> = written.split_whitespace().collect();
        let command = self.substituted(written);
        let printed = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();
        match words.as_slice() {
            ["latchkey", "admin", "user", "add", name, ..] => {
                let password = password_of(name);
                self.shell(&format!("{command} --password-stdin"), &[&password]);
                if *name == "alice" {
                    self.found.insert("PASSWORD".into(), password);
                }
            }
            ["latchkey", "admin", "token", "issue", name] => {
                let out = printed(&self.shell(&command, &[]));
                let field = |label: &str| {
                    out.lines()
                        .find_map(|line| line.strip_prefix(label))
                        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
                        .trim()
                        .to_owned()
                };
                if *name == "alice" {
                    self.found.insert("SERIAL".into(), field("Serial:"));
                    self.found.insert("CODE".into(), field("Activation code:"));
                }
            }
            ["latchkey-token", "activate", ..] => {
                let command = command.replacen("latchkey-token", "latchkey-token --pin-stdin", 1);
                self.shell(&command, &[PIN, PIN]);
            }
            ["latchkey-token", "code"] => {
                let out = printed(&self.shell("latchkey-token --pin-stdin code", &[PIN]));
                let code = out.trim();
                assert!(
                    code.len() >= 6 && code.bytes().all(|b| b.is_ascii_digit()),
                    "a code: {out}"
                );
            }
            ["latchkey", "admin", "apikey", "create", _] => {
                let out = printed(&self.shell(&command, &[]));
                let key = out.lines().last().unwrap().trim().to_owned();
                self.found.insert("KEY".into(), key);
            }
            ["curl", ..] => {
                let command = command.replace(
                    "$(latchkey-token code)",
                    "$(latchkey-token --pin-stdin code)",
                );
                let out = printed(&self.shell(&command, &[PIN]));
                assert!(out.contains("\"accept\""), "{command}\n{out}");
            }
            ["latchkey-token", "forgot-pin"] => {
                // Step 8's five wrong PINs first.
                self.token.lock_with_wrong_pins();
                let out = self.shell(&command, &[]);
                let message = stderr(&out);
                let reset_code = reset_code_in(&message).expect("the PIN Reset Code");
                let link = format!(
                    "{}/self-service/unlock?serial={}&reset_code={reset_code}",
                    self.url,
                    self.value("SERIAL").replace('-', "")
                );
                assert!(message.contains(&link), "{link} in {message}");
                self.found.insert("RESET_CODE".into(), reset_code);
            }
            ["latchkey", "admin", "token", "unlock-code", ..] => {
                let out = printed(&self.shell(&command, &[]));
                let code = out
                    .trim()
                    .strip_prefix("Unlock code: ")
                    .unwrap_or_else(|| panic!("an unlock code: {out}"))
                    .to_owned();
                self.found.insert("UNLOCK_CODE".into(), code);
            }
            ["latchkey-token", "unlock"] => {
                let code = self.value("UNLOCK_CODE").to_owned();
                self.shell(
                    "latchkey-token --pin-stdin unlock",
                    &[&code, NEW_PIN, NEW_PIN],
                );
                // Open again, with the new PIN.
                self.shell("latchkey-token --pin-stdin code", &[NEW_PIN]);
            }
            _ => panic!("the first hour has a command this test does not know: {written}"),
        }
    }
}

/// A password per account that the password rules take.
fn password_of(name: &str) -> String {
    format!(
        "a long passphrase number {}",
        name.len() * 7 + name.as_bytes()[0] as usize
    )
}

/// The served node, stopped however the test ends (a panic included), so
/// that it does not hold the test's output open.
struct Node(std::process::Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_readmes_first_hour_runs_as_written() {
    let blocks = first_hour_blocks();
    assert_eq!(blocks.len(), 9, "{blocks:#?}");
    // Step 1 builds and puts target/release on the PATH; here the test's
    // own build is on it instead.
    assert_eq!(
        blocks[0],
        [
            "cargo build --release -p latchkey-token",
            "export PATH=\"$PWD/target/release:$PATH\""
        ]
    );
    let server_binary = PathBuf::from(env!("CARGO_BIN_EXE_latchkey"));
    token_binary();

    // The server as the README's first command starts it, in a fresh folder
    // (its data folder is ./latchkey-data there), on a free port.
    let folder = tempfile::tempdir().unwrap();
    let mut server = Node(
        Command::new(&server_binary)
            .arg("serve")
            .current_dir(folder.path())
            .env("LATCHKEY_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("latchkey listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();

    let mut walk = Walk {
        folder,
        token: SoftToken::new(),
        binaries: server_binary.parent().unwrap().to_owned(),
        url,
        found: HashMap::new(),
    };
    for block in &blocks[1..] {
        for command in block {
            walk.run(command);
        }
    }
    let users: serde_json::Value =
        serde_json::from_slice(&walk.shell("latchkey admin user list --json", &[]).stdout).unwrap();
    let roles: Vec<(&str, &str)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [("alice", "user"), ("helen", "helpdesk"), ("root", "admin")]
    );
    drop(server);
}
