//! Helpers for the desktop tests: a vault folder per test holding a token
//! made the way activation makes it (no server needed), a clock the test
//! moves, the window in an `egui_kittest` harness, `oathtool`, and the real
//! `latchkey-token` command over the same folder.
#![allow(dead_code)]

pub mod server;
pub mod x11;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui::{self, Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use latchkey_desktop::{App, Clock};
use latchkey_oath::{ResetCode, Secret, Serial, UnlockCode, UnlockSecret, base32, unlock_code};
use latchkey_token::client::{Activation, OtpDescription, ServerPolicy};
use latchkey_token::kdf::KdfParams;
use latchkey_token::{Pin, TokenRecord, VaultFolder, ops};

pub use latchkey_testkit::pins::PIN;
use latchkey_testkit::pins::refused_pins;
#[allow(unused_imports)] // each test binary uses a part of them
pub use latchkey_testkit::token_cli::{StandInTokenApi, run_with_input, unix_now};
pub const NEW_PIN: &str = "583920";

/// A temporary vault folder.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub folder: VaultFolder,
}

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let folder = VaultFolder::open(dir.path()).expect("the vault folder opens");
        Home { dir, folder }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The only token's record, read from disk.
    pub fn record(&self) -> TokenRecord {
        self.folder.find(None).expect("one token").1
    }
}

/// What the server hands out for one token, kept so the test can play the
/// server's part: compute unlock codes and expected one-time passwords.
pub struct Issued {
    pub serial: Serial,
    pub seed: Vec<u8>,
    pub unlock_secret: [u8; 32],
}

impl Issued {
    pub fn new() -> Self {
        Issued {
            serial: Serial::generate(),
            seed: Secret::generate(32).expose().to_vec(),
            unlock_secret: *UnlockSecret::generate().expose(),
        }
    }

    /// The unlock code the server would give for `reset`.
    pub fn unlock_code_for(&self, reset: &ResetCode) -> UnlockCode {
        unlock_code(
            &UnlockSecret::from_bytes(self.unlock_secret),
            &self.serial,
            reset,
        )
    }

    /// What `oathtool` says the code is at `unix_time` (SHA-256, 8 digits, 30 s).
    pub fn oathtool_code(&self, unix_time: u64) -> String {
        oathtool(
            &["--totp=SHA256", "--digits=8", &hex(&self.seed)],
            unix_time,
        )
    }

    pub fn activation_json(&self) -> String {
        format!(
            r#"{{"serial":"{}","label":"alice","issuer":"Example Corp","otp":{{"kind":"totp","algorithm":"SHA256","digits":8,"period":30}},"secret":"{}","unlock_secret":"{}","policy":{{"max_pin_failures":5,"min_pin_length":6,"unlock_slots":10}}}}"#,
            self.serial.digits(),
            base32::encode(&self.seed),
            hex(&self.unlock_secret)
        )
    }

    /// Stores the token in `home` as activation would, with the cheap test
    /// Argon2 parameters (records keep theirs, so the test stays fast).
    pub fn store_in(&self, home: &Home) {
        let activation = Activation {
            serial: self.serial.clone(),
            label: "alice".into(),
            issuer: Some("Example Corp".into()),
            otp: OtpDescription {
                kind: "totp".into(),
                algorithm: "SHA256".into(),
                digits: 8,
                period: Some(30),
                counter: None,
            },
            secret: Secret::from_bytes(self.seed.clone()),
            unlock_secret: UnlockSecret::from_bytes(self.unlock_secret),
            policy: ServerPolicy {
                max_pin_failures: 5,
                min_pin_length: 6,
                unlock_slots: 10,
            },
        };
        let record = ops::record_from_activation(
            &activation,
            "https://auth.example.org",
            &Pin::entered(PIN),
            &KdfParams::CHEAP,
        )
        .expect("a record");
        let lock = home.folder.lock().unwrap();
        home.folder.save(&lock, &record).unwrap();
    }
}

/// A vault holding one activated token.
pub fn home_with_token() -> (Home, Issued) {
    let home = Home::new();
    let issued = Issued::new();
    issued.store_in(&home);
    (home, issued)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn oathtool(args: &[&str], unix_time: u64) -> String {
    let out = Command::new("oathtool")
        .args(args)
        .args(["--now", &format!("@{unix_time}")])
        .output()
        .expect("oathtool must be installed (Debian package oathtool; .ci/run installs it)");
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Wrong PINs that the record's 10-bit check refuses. A wrong PIN passes
/// that check once in 1,024 tries (by design); those are left out so that
/// every one of these counts as a mistake.
pub fn wrong_pins(record: &TokenRecord, count: usize) -> Vec<String> {
    refused_pins(std::slice::from_ref(record), &[PIN])
        .take(count)
        .collect()
}

/// A clock the test sets and moves, in milliseconds.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn at(unix_time: u64) -> Self {
        TestClock(Arc::new(AtomicU64::new(unix_time * 1000)))
    }

    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst) / 1000
    }

    pub fn set(&self, unix_time: u64) {
        self.0.store(unix_time * 1000, Ordering::SeqCst);
    }

    pub fn clock(&self) -> Clock {
        let millis = self.0.clone();
        Clock::from_fn(move || Duration::from_millis(millis.load(Ordering::SeqCst)))
    }
}

/// A time early in a 30-second step, so that a code has most of it left.
pub fn early_in_a_step() -> u64 {
    unix_now() / 30 * 30 + 2
}

pub type Window = Harness<'static, App>;

/// The window over `home`, at the test clock's time.
pub fn window(home: &Home, clock: &TestClock) -> Window {
    let app = App::new(home.folder.clone(), clock.clock());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(600.0, 900.0))
        // A desktop's frame time. (kittest's default of 1/4 s would turn the
        // window's 1/4 s countdown repaint into an immediate one.)
        .with_step_dt(1.0 / 60.0)
        .build_state(|ctx, app: &mut App| app.ui(ctx), app);
    settle(&mut harness);
    harness
}

/// Runs frames until the window is idle: no operation under way (they run
/// on a thread of their own) and nothing left to redraw at once.
pub fn settle(window: &mut Window) {
    let deadline = Instant::now() + Duration::from_secs(60);
    // Not `run` while busy: the spinner asks for frames without end.
    window.step();
    window.step();
    while window.state().is_busy() {
        assert!(Instant::now() < deadline, "the operation never finished");
        std::thread::sleep(Duration::from_millis(5));
        window.step();
    }
    window.run();
}

/// Types into whichever field has the keyboard focus.
pub fn type_text(window: &mut Window, text: &str) {
    window.event(egui::Event::Text(text.to_owned()));
    window.run();
}

pub fn press(window: &mut Window, key: Key) {
    window.key_press(key);
    settle(window);
}

/// Selects all of the focused field and deletes it.
pub fn clear_field(window: &mut Window) {
    window.key_press_modifiers(Modifiers::COMMAND, Key::A);
    window.key_press(Key::Backspace);
    window.run();
}

pub fn click(window: &mut Window, label: &str) {
    window.get_by_label(label).click();
    settle(window);
}

/// The text a node shows: a label's text is its value, a button's its label.
/// (A label's text runs repeat its text; they are skipped.)
pub fn text_of(node: &egui_kittest::kittest::AccessKitNode<'_>) -> String {
    if node.role() == eframe::egui::accesskit::Role::TextRun {
        return String::new();
    }
    node.label().or_else(|| node.value()).unwrap_or_default()
}

pub fn shows(window: &Window, text: &str) -> bool {
    window
        .query_all_by(|node| text_of(node).contains(text))
        .next()
        .is_some()
}

#[track_caller]
pub fn assert_shows(window: &Window, text: &str) {
    assert!(
        shows(window, text),
        "the window does not show {text:?}:\n{window:#?}"
    );
}

#[track_caller]
pub fn assert_focused(window: &Window, label: &str) {
    assert!(
        window.get_by_label(label).is_focused(),
        "{label} should have the keyboard focus"
    );
}

/// The PIN Reset Code as the window shows it: `1234-5678-9012`, read back.
pub fn reset_code_on_screen(window: &Window) -> ResetCode {
    let node = window.get_by(|node| {
        Some(text_of(node)).is_some_and(|label| {
            label.len() == 14
                && label.char_indices().all(|(i, c)| {
                    if i == 4 || i == 9 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }
                })
        })
    });
    text_of(&node.accesskit_node())
        .parse()
        .expect("a reset code")
}

/// The `latchkey-token` binary of this workspace, built if need be.
pub fn token_binary() -> &'static Path {
    latchkey_testkit::token_cli::token_binary(Path::new(env!("CARGO_BIN_EXE_latchkey-desktop")))
}

/// Runs `latchkey-token --pin-stdin ARGS` on `home`, feeding `input` lines.
pub fn token_cli(home: &Home, args: &[&str], input: &[&str]) -> Output {
    let mut command = Command::new(token_binary());
    command
        .arg("--pin-stdin")
        .args(args)
        .env("LATCHKEY_TOKEN_HOME", home.path());
    run_with_input(command, input)
}

/// A stand-in for the server's activation endpoint on a loopback port: it
/// answers every activation with `answer`.
pub fn stand_in_server(answer: String) -> String {
    StandInTokenApi::start(answer, None).url
}
