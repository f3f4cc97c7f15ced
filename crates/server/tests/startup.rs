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
