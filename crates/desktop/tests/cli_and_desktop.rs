//! The `latchkey-token` command and the window share one vault: a token
//! locked in one is locked in the other, and an unlock in one shows in the
//! other. Both go through the token library, whose folder lock serialises
//! the writers.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use eframe::egui::Key;
use latchkey_desktop::group_otp;
use latchkey_token::TokenState;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn locked_in_the_window_is_locked_for_the_command_line() {
    let (home, _) = home_with_token();
    let mut window = window(&home, &TestClock::at(early_in_a_step()));
    for pin in wrong_pins(&home.record(), 5) {
        type_text(&mut window, &pin);
        press(&mut window, Key::Enter);
    }
    assert_shows(&window, "This token is locked");
    let reset = reset_code_on_screen(&window);

    // The right PIN on the command line is refused, with the same reset code.
    let out = token_cli(&home, &["code"], &[PIN]);
    assert_eq!(out.status.code(), Some(4), "locked: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("PIN Reset Code: {}", reset.grouped())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn locked_on_the_command_line_is_locked_in_the_window_and_unlocks_there() {
    let (home, issued) = home_with_token();
    let now = early_in_a_step();
    let mut window = window(&home, &TestClock::at(now));
    assert_focused(&window, "PIN");

    for pin in wrong_pins(&home.record(), 5) {
        let out = token_cli(&home, &["code"], &[&pin]);
        assert!(matches!(out.status.code(), Some(3 | 4)), "{}", stderr(&out));
    }
    assert_eq!(home.record().state(), TokenState::Locked);

    // The window, still on its PIN prompt, refuses even the right PIN.
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, "This token is locked");
    let reset = reset_code_on_screen(&window);

    type_text(&mut window, issued.unlock_code_for(&reset).digits());
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, &group_otp(&issued.oathtool_code(now)));

    // The command line takes the new PIN the window set.
    let out = token_cli(&home, &["code"], &[NEW_PIN]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = token_cli(&home, &["list", "--json"], &[]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains(r#""state":"active""#), "{list}");
    assert!(list.contains(r#""unlock_slots":9"#), "{list}");
}

#[test]
fn the_window_and_the_command_line_write_at_once_without_losing_a_count() {
    let (home, _) = home_with_token();
    let mut window = window(&home, &TestClock::at(early_in_a_step()));
    let wrong = wrong_pins(&home.record(), 4);
    // Two wrong PINs from the command line while the window takes two.
    let cli = {
        let pins = wrong[..2].to_vec();
        let home_path = home.path().to_owned();
        std::thread::spawn(move || {
            for pin in pins {
                let out = std::process::Command::new(token_binary())
                    .args(["--pin-stdin", "code"])
                    .env("LATCHKEY_TOKEN_HOME", &home_path)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .and_then(|mut child| {
                        use std::io::Write;
                        writeln!(child.stdin.take().unwrap(), "{pin}")?;
                        child.wait()
                    })
                    .unwrap();
                assert_eq!(out.code(), Some(3));
            }
        })
    };
    for pin in &wrong[2..] {
        type_text(&mut window, pin);
        press(&mut window, Key::Enter);
    }
    cli.join().unwrap();
    assert_eq!(home.record().failures, 4, "every attempt was counted");
    assert_eq!(home.record().attempts_left(), 1);
}
