//! The real `latchkey-desktop` starts under Xvfb with Mesa's software
//! OpenGL, draws its window over a vault with one token, and a screenshot
//! of it is not blank. The screenshot is kept as an artifact.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::x11::{self, Display, Program};
use common::*;

#[test]
fn the_program_draws_its_window_under_xvfb() {
    let (home, _) = home_with_token();
    let logs = tempfile::tempdir().unwrap();
    let display = Display::start();
    let program = Program::start(&display, home.path(), logs.path());

    // The window may exist before its first frame is drawn: wait for
    // content, that is antialiased text in many shades.
    let shot = x11::artifacts_dir().join("xvfb-smoke.png");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut count = 0;
    while Instant::now() < deadline {
        x11::screenshot(&display, &program, &shot);
        count = x11::colours(&shot);
        if count >= 16 {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        count >= 16,
        "the window looks blank ({count} colours in {}):\n{}",
        shot.display(),
        program.log()
    );
    eprintln!("screenshot: {} ({count} colours)", shot.display());
}
