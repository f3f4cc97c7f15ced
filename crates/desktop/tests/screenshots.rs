//! Makes the README's screenshots: the real program under Xvfb, driven
//! with the keyboard through xdotool (which also shows that the keyboard
//! is enough). Ignored by default; run it with
//!
//! ```sh
//! cargo test -p latchkey-desktop --test screenshots -- --ignored
//! ```
//!
//! It writes to `crates/desktop/screenshots/` (or `$LATCHKEY_SCREENSHOTS`).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::x11::{self, Display, Program};
use common::*;

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("LATCHKEY_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shoot(display: &Display, program: &Program, name: &str) {
    let path = out_dir().join(format!("{name}.png"));
    x11::screenshot(display, program, &path);
    assert!(x11::colours(&path) >= 16, "{name} looks blank");
    // 64 colours without dithering: a third of the size, and text as sharp.
    let status = std::process::Command::new("/usr/bin/convert")
        .arg(&path)
        .args(["+dither", "-colors", "64"])
        .arg(format!("PNG8:{}", path.display()))
        .status()
        .expect("ImageMagick's convert must be installed: Debian package imagemagick");
    assert!(status.success(), "convert failed");
}

#[test]
#[ignore = "makes the README's screenshots; needs Xvfb, xdotool and ImageMagick"]
fn screenshots_of_every_screen() {
    let logs = tempfile::tempdir().unwrap();
    let display = Display::start();

    // One token: the locked-token story.
    let (home, issued) = home_with_token();
    let wrong = wrong_pins(&home.record(), 5);
    let program = Program::start(&display, home.path(), logs.path());
    program.focus(&display);
    x11::settle();
    x11::type_text(&display, "2048");
    shoot(&display, &program, "1-pin");
    x11::key(&display, "ctrl+a");
    x11::key(&display, "BackSpace");
    for pin in &wrong[..4] {
        x11::type_text(&display, pin);
        x11::key(&display, "Return");
    }
    shoot(&display, &program, "2-wrong-pin");
    x11::type_text(&display, &wrong[4]);
    x11::key(&display, "Return");
    let reset = home.record().reset_code().unwrap();
    let unlock = issued.unlock_code_for(&reset).grouped();
    x11::type_text(&display, &unlock[..10]);
    shoot(&display, &program, "3-locked");
    x11::type_text(&display, &unlock[10..]);
    x11::key(&display, "Return");
    for _ in 0..2 {
        x11::type_text(&display, "123456");
        x11::key(&display, "Return");
    }
    shoot(&display, &program, "4-new-pin-refused");
    for _ in 0..2 {
        x11::type_text(&display, NEW_PIN);
        x11::key(&display, "Return");
    }
    shoot(&display, &program, "5-code");
    drop(program);

    // Two tokens, one locked: the list, then activation and import.
    let second = Issued::new();
    second.store_in(&home);
    let (_, mut record) = home.folder.find(Some(second.serial.digits())).unwrap();
    record.failures = 5;
    home.folder
        .save(&home.folder.lock().unwrap(), &record)
        .unwrap();
    let program = Program::start(&display, home.path(), logs.path());
    program.focus(&display);
    x11::settle();
    shoot(&display, &program, "6-list");
    // Tab past the two tokens to "Activate a token…".
    for _ in 0..3 {
        x11::key(&display, "Tab");
    }
    x11::key(&display, "Return");
    x11::type_text(&display, "https://auth.example.org");
    x11::key(&display, "Tab");
    x11::type_text(&display, "12345-67898");
    shoot(&display, &program, "7-activate");
    x11::key(&display, "Escape");
    for _ in 0..4 {
        x11::key(&display, "Tab");
    }
    x11::key(&display, "Return");
    shoot(&display, &program, "8-import");
    eprintln!("screenshots in {}", out_dir().display());
}
