//! What an operator reads when the server or the admin CLI cannot open its
//! database: the whole cause, never only "storage failed", and never a
//! password from the URL.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn latchkey(args: &[&str]) -> Output {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    let (first, rest) = args.split_first().unwrap();
    command
        .arg(first)
        .arg("--data-dir")
        .arg(data.path())
        .args(rest);
    command.env("LATCHKEY_LOG", "off").output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_unknown_database_scheme_is_named_without_its_password() {
    for args in [
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://app:hunter2@db.example.org/latchkey",
        ][..],
        &[
            "admin",
            "--database",
            "mysql://app:hunter2@db.example.org/latchkey",
            "user",
            "list",
        ][..],
    ] {
        let output = latchkey(args);
        assert!(!output.status.success(), "{args:?}");
        let message = stderr(&output);
        assert!(message.contains("cannot open the database"), "{message}");
        assert!(
            message.contains("unsupported database URL scheme"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[test]
fn a_postgres_server_that_does_not_answer_is_reported_with_its_cause() {
    // Nothing listens on port 1 of loopback.
    for args in [
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "postgres://postgres:hunter2@127.0.0.1:1/latchkey",
        ][..],
        &[
            "admin",
            "--database",
            "postgres://postgres:hunter2@127.0.0.1:1/latchkey",
            "user",
            "list",
        ][..],
    ] {
        let output = latchkey(args);
        assert!(!output.status.success(), "{args:?}");
        let message = stderr(&output);
        assert!(
            message.contains("cannot open the database: storage failed: "),
            "{message}"
        );
        assert!(
            message.to_lowercase().contains("refused"),
            "the cause is told: {message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }
}

/// The first lines `serve` prints on a database with these users.
fn first_lines_of_serve(admin_first: bool) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let key = "6c6174636b6b65792d746573742d6d61737465722d6b65792d30313233343536";
    if admin_first {
        let mut add = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        add.args(["admin", "--data-dir"])
            .arg(data.path())
            .args(["user", "add", "root", "--role", "admin", "--no-password"])
            .env("LATCHKEY_MASTER_KEY", key)
            .env("LATCHKEY_LOG", "off");
        assert!(add.output().unwrap().status.success());
    }
    let mut serve = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("LATCHKEY_MASTER_KEY", key)
        .env("LATCHKEY_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(serve.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    lines.push(line.trim_end().to_owned());
    // What follows the address comes at once, or not at all: a request
    // answered proves the start-up's printing is over.
    let address = lines[0].rsplit(' ').next().unwrap().to_owned();
    let ready = ureq::get(&format!("{address}/healthz")).call();
    assert!(ready.is_ok(), "{ready:?}");
    serve.kill().unwrap();
    serve.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    lines.extend(rest.lines().map(str::to_owned));
    lines
}

#[test]
fn serve_on_a_database_without_an_administrator_says_how_to_make_the_first() {
    let lines = first_lines_of_serve(false);
    assert!(
        lines[0].starts_with("latchkey listening on http://"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("No administrator yet"), "{lines:?}");
    assert!(
        lines[2].contains("latchkey admin user add NAME --role admin"),
        "{lines:?}"
    );
    let lines = first_lines_of_serve(true);
    assert_eq!(lines.len(), 1, "nothing more once there is one: {lines:?}");
}
