//! The real program on a real X server: Xvfb, Mesa's software OpenGL, and
//! xdotool and ImageMagick to type and to take screenshots. Missing tools
//! fail the test; they are never a reason to skip it. Debian packages:
//! xvfb, xauth, libgl1-mesa-dri, libegl1, libxkbcommon-x11-0, xdotool,
//! imagemagick.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Xvfb server on a display number of its own choosing.
pub struct Display {
    xvfb: Child,
    /// Xvfb's standard output, kept open for as long as it runs: were the
    /// pipe closed, a later write there would end the server (SIGPIPE).
    _stdout: BufReader<std::process::ChildStdout>,
    pub name: String,
}

impl Display {
    pub fn start() -> Self {
        // -displayfd makes Xvfb pick a free display and print its number,
        // so that parallel tests never fight over one.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "800x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed: Debian package xvfb (and libgl1-mesa-dri for OpenGL)");
        let mut line = String::new();
        let mut stdout = BufReader::new(xvfb.stdout.take().unwrap());
        stdout
            .read_line(&mut line)
            .expect("Xvfb prints its display number");
        assert!(
            !line.trim().is_empty(),
            "Xvfb did not start (no display number)"
        );
        let display = Display {
            xvfb,
            _stdout: stdout,
            name: format!(":{}", line.trim()),
        };
        // Xvfb names its display a moment before every client can connect
        // to it (a window once failed to open on a display just named):
        // wait until one does.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !display
            .command("xdotool")
            .arg("getdisplaygeometry")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "Xvfb on {} accepts no connection",
                display.name
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        display
    }

    /// A command that talks to this display.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("DISPLAY", &self.name);
        command
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // SIGTERM first, so that Xvfb removes its lock file and socket: a
        // server killed outright leaves them for the next display to trip
        // on.
        let _ = Command::new("kill")
            .args(["-TERM", &self.xvfb.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.xvfb.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

/// `latchkey-desktop` running on a display, over a vault folder.
pub struct Program {
    child: Child,
    log: PathBuf,
    pub window: String,
}

impl Program {
    pub fn start(display: &Display, vault: &Path, log_dir: &Path) -> Self {
        Program::start_with(display, vault, log_dir, &[], &[])
    }

    /// As [`Program::start`], with command-line arguments (an activation
    /// link) and more environment.
    pub fn start_with(
        display: &Display,
        vault: &Path,
        log_dir: &Path,
        args: &[&str],
        envs: &[(&str, &Path)],
    ) -> Self {
        let log = log_dir.join("latchkey-desktop.log");
        let mut child = display
            .command(env!("CARGO_BIN_EXE_latchkey-desktop"))
            .args(args)
            .envs(envs.iter().copied())
            .env("LATCHKEY_TOKEN_HOME", vault)
            // X11 even where the test itself runs under Wayland.
            .env_remove("WAYLAND_DISPLAY")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("latchkey-desktop starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let window = loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "latchkey-desktop exited ({status}) before showing a window:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let found = display
                .command("xdotool")
                .args(["search", "--name", "^Latchkey$"])
                .output()
                .expect("xdotool must be installed: Debian package xdotool");
            let id = String::from_utf8_lossy(&found.stdout)
                .lines()
                .next()
                .map(str::to_owned);
            if let Some(id) = id {
                break id;
            }
            assert!(
                Instant::now() < deadline,
                "no Latchkey window within a minute:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        Program { child, log, window }
    }

    /// Gives the window the keyboard (there is no window manager to do it).
    /// Retries while the window is not yet mapped, which X refuses.
    pub fn focus(&self, display: &Display) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = display
                .command("xdotool")
                .args(["windowfocus", "--sync", &self.window])
                .stderr(Stdio::null())
                .status()
                .expect("xdotool must be installed: Debian package xdotool");
            if status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "the window never took the focus");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn xdotool(display: &Display, args: &[&str]) {
    let status = display
        .command("xdotool")
        .args(args)
        .status()
        .expect("xdotool must be installed: Debian package xdotool");
    assert!(status.success(), "xdotool {args:?} failed");
}

/// Types text, then waits a moment for the window to draw it.
pub fn type_text(display: &Display, text: &str) {
    xdotool(display, &["type", "--delay", "20", text]);
    settle();
}

pub fn key(display: &Display, key: &str) {
    xdotool(display, &["key", key]);
    settle();
}

/// Long enough for a frame or two, and for a PIN check with the test's
/// cheap Argon2 parameters.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(600));
}

/// A PNG of the window. The X server refuses to read a window that is
/// being mapped or redrawn at that instant ("Resource temporarily
/// unavailable"), so a refusal is tried again a few times before it counts.
pub fn screenshot(display: &Display, program: &Program, path: &Path) {
    let mut last_error = String::new();
    for _ in 0..5 {
        let out = display
            .command("import")
            .args(["-window", &program.window])
            .arg(format!("png:{}", path.display()))
            .output()
            .expect("ImageMagick's import must be installed: Debian package imagemagick");
        if out.status.success() {
            return;
        }
        last_error = String::from_utf8_lossy(&out.stderr).into_owned();
        settle();
    }
    panic!("import: {last_error}");
}

/// How many distinct colours a picture has.
pub fn colours(path: &Path) -> usize {
    let out = Command::new("identify")
        .args(["-format", "%k"])
        .arg(path)
        .output()
        .expect("ImageMagick's identify must be installed: Debian package imagemagick");
    assert!(
        out.status.success(),
        "identify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a colour count")
}

/// Where screenshots are kept: `$LATCHKEY_ARTIFACTS`, else the crate's
/// `target-artifacts/` (ignored by git).
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("LATCHKEY_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target-artifacts"));
    std::fs::create_dir_all(&dir).expect("the artifacts folder");
    dir
}
