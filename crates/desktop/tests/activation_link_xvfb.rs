//! Issue 16: the real `latchkey-desktop`, opened under Xvfb with a
//! `latchkey://activate?…` link on its command line (as the desktop's
//! `x-scheme-handler/latchkey` entry opens it), activates against the real
//! `latchkey serve`: the server then shows the token active and accepts its
//! first code. A link to plain http on another host is refused with the
//! reason. The PIN is typed with xdotool, as a person would.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::server::RealServer;
use common::x11::{self, Display, Program};
use common::*;

fn activation_link(server: &str, serial: &str, code: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("server", server)
        .append_pair("serial", serial)
        .append_pair("activation_code", code)
        .finish();
    format!("latchkey://activate?{query}")
}

fn token_files(vault: &Path) -> usize {
    std::fs::read_dir(vault)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("token-"))
        .count()
}

/// The two tests take turns: two Xvfb servers started at the same moment
/// once left one window without a display (CI, session 9).
static ONE_DISPLAY_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn issue16_a_latchkey_link_on_the_command_line_activates_against_the_real_server() {
    let _turn = ONE_DISPLAY_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = RealServer::start();
    server.add_user("alice");
    let issued = server.admin_json(&["token", "issue", "alice"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let code = issued["activation_code"].as_str().unwrap().to_owned();
    assert_ne!(
        server.admin_json(&["token", "show", &serial])["state"],
        "active",
        "not active before the app activates it"
    );
    let link = activation_link(&server.url, &serial, &code);

    let vault = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let device_key = keys.path().join("device.key");
    let logs = tempfile::tempdir().unwrap();
    let display = Display::start();
    let program = Program::start_with(
        &display,
        vault.path(),
        logs.path(),
        // The key's place by flag; latchkey-token finds it below by
        // $LATCHKEY_DEVICE_KEY, so the two agree only if the flag was used.
        &["--device-key", device_key.to_str().unwrap(), link.as_str()],
        &[],
    );
    program.focus(&display);
    // The link filled server, serial and code, and the server field has
    // the focus: Enter moves through the three to the PIN fields.
    x11::settle();
    for _ in 0..3 {
        x11::key(&display, "Return");
    }
    x11::type_text(&display, PIN);
    x11::key(&display, "Return");
    x11::type_text(&display, PIN);
    x11::key(&display, "Return");

    let deadline = Instant::now() + Duration::from_secs(60);
    while token_files(vault.path()) == 0 {
        assert!(
            Instant::now() < deadline,
            "no token stored within a minute:\n{}",
            program.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let shot = x11::artifacts_dir().join("activation-link.png");
    x11::screenshot(&display, &program, &shot);
    eprintln!("screenshot: {}", shot.display());
    let shown = server.admin_json(&["token", "show", &serial]);
    assert_eq!(shown["state"], "active", "{shown}");

    // The code the token the app stored makes, read by latchkey-token over
    // the app's own vault (and device key), is accepted by the server.
    let mut command = std::process::Command::new(token_binary());
    command
        .args(["--pin-stdin", "code"])
        .env("LATCHKEY_TOKEN_HOME", vault.path())
        .env("LATCHKEY_DEVICE_KEY", &device_key);
    let out = run_with_input(command, &[PIN]);
    assert!(
        out.status.success(),
        "code: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let otp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(server.authenticate("alice", &otp), "accept");
    assert_eq!(
        server.authenticate("alice", &otp),
        "reject",
        "a code is accepted once"
    );
}

#[test]
fn issue16_a_link_to_plain_http_on_another_host_is_refused_with_the_reason() {
    let _turn = ONE_DISPLAY_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let issued = Issued::new();
    let link = activation_link(
        "http://auth.example.org",
        issued.serial.digits(),
        "1234567890123452",
    );
    let vault = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let display = Display::start();
    let program = Program::start_with(&display, vault.path(), logs.path(), &[link.as_str()], &[]);
    // The window opens (on the activation screen, with the reason), and
    // the command line says why too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !program.log().contains("only over https") {
        assert!(
            Instant::now() < deadline,
            "no reason given:\n{}",
            program.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        program.log().contains("http://auth.example.org"),
        "{}",
        program.log()
    );
    program.focus(&display);
    for _ in 0..3 {
        x11::key(&display, "Return");
    }
    x11::type_text(&display, PIN);
    x11::key(&display, "Return");
    x11::type_text(&display, PIN);
    x11::key(&display, "Return");
    x11::settle();
    assert_eq!(token_files(vault.path()), 0, "nothing fetched or stored");
}
