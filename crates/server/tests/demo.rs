//! `latchkey serve --demo`: the commands it prints run as printed, and it
//! sets up an empty database only (UX-REVIEW F1–F3).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use latchkey_testkit::token_cli::{run_with_input, token_binary};

/// Starts `serve --demo` and reads what it prints up to the last step.
fn serve_demo(db: &Database) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "127.0.0.1:0", "--demo"])
        .args([
            "--data-dir",
            db.dir.path().to_str().unwrap(),
            "--database",
            &db.url,
        ])
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.trim_start().starts_with("(\"My token");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    (child, lines)
}

/// The printed line that follows the line starting with `step`.
fn command_after(lines: &[String], step: &str) -> String {
    let at = lines
        .iter()
        .position(|line| line.starts_with(step))
        .unwrap_or_else(|| panic!("no step {step:?} in {lines:#?}"));
    lines[at + 1].trim().to_owned()
}

#[test]
fn the_demo_prints_commands_that_run_as_printed_and_refuses_a_used_database() {
    // The token binary beside the server's, as `cargo build` leaves it.
    token_binary(std::path::Path::new(env!("CARGO_BIN_EXE_latchkey")));
    let db = Database::new(false);
    let (mut server, lines) = serve_demo(&db);
    let home = tempfile::tempdir().unwrap();
    let shell = |command: &str, input: &[&str]| {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(command)
            .env("LATCHKEY_TOKEN_HOME", home.path())
            .env("LATCHKEY_TOKEN_TEST_KDF", "cheap")
            // Not on the PATH, as after the README's `cargo run`.
            .env("PATH", "/usr/bin:/bin");
        run_with_input(sh, input)
    };

    // Step 1 as printed; the PIN comes from standard input here, where the
    // printed command asks on the terminal.
    let activate = command_after(&lines, "1.");
    assert!(
        !activate.starts_with("latchkey-token "),
        "the command names where latchkey-token is: {activate}"
    );
    let out = shell(&format!("{activate} --pin-stdin"), &[PIN, PIN]);
    assert!(out.status.success(), "{activate}: {}", stderr(&out));

    // Step 3 as printed: the curl line carries a fresh code, no placeholder.
    let at = lines
        .iter()
        .position(|line| line.starts_with("3."))
        .unwrap();
    let curl = format!("{}\n{}", lines[at + 1], lines[at + 2]);
    assert!(!curl.contains("\"otp\": \"OTP\""), "{curl}");
    let curl = curl.replace(" code)", " --pin-stdin code)");
    let out = shell(&curl, &[PIN]);
    let answer = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        answer.contains("\"accept\""),
        "{curl}\n{answer}\n{}",
        stderr(&out)
    );
    server.kill().unwrap();
    server.wait().unwrap();

    // A second start with --demo on the same database adds nobody.
    let users_before = db.admin_json(&["user", "list"]);
    let (mut again, printed) = serve_demo(&db);
    let status = again.wait().unwrap();
    let mut message = String::new();
    std::io::Read::read_to_string(&mut again.stderr.take().unwrap(), &mut message).unwrap();
    assert!(!status.success(), "printed: {printed:#?}");
    assert!(
        message.contains("--demo sets up an empty database only"),
        "{message}"
    );
    assert_eq!(db.admin_json(&["user", "list"]), users_before);
}
