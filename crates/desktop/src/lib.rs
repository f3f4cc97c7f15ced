//! # latchkey-desktop
//!
//! The Latchkey soft token as a desktop window, for people who never open a
//! terminal: pick the token, type the PIN, read the code; when the token has
//! locked, read the PIN Reset Code off the window, type the unlock code the
//! portal or help desk gives back, and choose a new PIN.
//!
//! It is a thin shell over [`latchkey_token::ops`]: every read and write of
//! the vault goes through that library, under its folder lock, so the
//! `latchkey-token` command and this window share one vault without
//! conflict. The window keeps no vault logic of its own.
//!
//! [`App`] is the whole interface as plain egui code, so that tests drive
//! it headlessly with `egui_kittest`; `main.rs` only puts it in a window.

mod app;
mod clock;
mod format;
mod jobs;
mod secret_text;
mod style;
mod views;

pub use app::App;
pub use clock::Clock;
pub use format::{group_otp, policy_explanation};

/// How long a code stays on screen before it is hidden again, at most. A
/// TOTP code is hidden sooner, when its time step ends and no next code was
/// fetched.
pub const SHOW_CODE_FOR_SECONDS: u64 = 60;

/// When a TOTP code has fewer seconds than this left, the next step's code is
/// fetched with the same PIN too, so that nobody is shown a code about to
/// expire and then asked for the PIN again.
pub const NEXT_CODE_WITHIN_SECONDS: u64 = 5;

/// The window's title, also what the desktop menu shows.
pub const TITLE: &str = "Latchkey";

/// The application id (Wayland app id, X11 class): the name of the
/// `.desktop` file, so that desktops put the window under its menu entry.
pub const APP_ID: &str = "latchkey-desktop";
