//! The window's state: which screen is up, what it holds, and how each
//! action moves from one screen to the next. Drawing is in `views`.

use std::time::{Duration, Instant};

use eframe::egui;
use latchkey_oath::Serial;
use latchkey_token::VaultFolder;
use latchkey_token::record::{OtpParams, TokenState};

use crate::clock::Clock;
use crate::jobs::{Codes, Job};
use crate::secret_text::SecretText;
use crate::{SHOW_CODE_FOR_SECONDS, style};

/// How often the token list is read again, so that what the command line
/// does (a lock, an unlock, a new token) shows here too.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The egui ids of the activation screen's plain fields.
pub(crate) const SERVER_FIELD: &str = "latchkey-field-server";
pub(crate) const SERIAL_FIELD: &str = "latchkey-field-serial";

/// The desktop soft token: every screen, over one vault folder.
pub struct App {
    pub(crate) folder: VaultFolder,
    pub(crate) clock: Clock,
    pub(crate) rows: Vec<Row>,
    pub(crate) load_error: Option<String>,
    loaded_at: Option<Instant>,
    pub(crate) screen: Screen,
    pub(crate) job: Option<Job>,
    pub(crate) notice: Option<Notice>,
    /// Set when a screen opens: its first field takes the keyboard focus.
    pub(crate) focus_first: bool,
    styled: bool,
}

mod screens;
mod submit;

pub(crate) use screens::*;
use submit::fields_of;

impl App {
    /// The window over `folder`, reading the time from `clock`. With one
    /// token it opens straight on that token's PIN prompt (or its locked
    /// view); otherwise on the token list.
    pub fn new(folder: VaultFolder, clock: Clock) -> Self {
        let mut app = App {
            folder,
            clock,
            rows: Vec::new(),
            load_error: None,
            loaded_at: None,
            screen: Screen::List,
            job: None,
            notice: None,
            focus_first: true,
            styled: false,
        };
        app.reload();
        // A lone unreadable file keeps the list up, so that it is seen.
        let start = match app.rows.as_slice() {
            [Row::Token(only)] => Some(app.screen_for(only)),
            _ => None,
        };
        if let Some(screen) = start {
            app.screen = screen;
        }
        app
    }

    /// Opens the activation screen filled from an activation link (the
    /// `latchkey://activate?…` the portal shows, given on the command line
    /// when the desktop opens such a link); a link that cannot be used
    /// opens the screen empty with the reason.
    pub fn open_activation_link(&mut self, link: &str) {
        let mut screen = ActivateScreen::empty();
        screen.fill_from_link(link);
        self.notice = None;
        self.screen = Screen::Activate(screen);
        self.focus_first = true;
    }

    fn use_activation_link(&mut self, ctx: &egui::Context) {
        if let Screen::Activate(screen) = &mut self.screen {
            let link = screen.link.as_str().to_owned();
            let link = zeroize::Zeroizing::new(link);
            screen.link.wipe(ctx);
            screen.fill_from_link(&link);
        }
    }

    /// Whether an operation (a PIN check, an unlock, an activation) is
    /// under way; the screen's fields are disabled meanwhile.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Draws one frame and acts on what was done in it.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if !self.styled {
            style::apply(ctx);
            self.styled = true;
        }
        self.poll_job(ctx);
        self.housekeeping(ctx);
        if let Some(action) = self.draw(ctx) {
            self.act(ctx, action);
        }
    }

    pub(crate) fn tokens(&self) -> impl Iterator<Item = &TokenRow> {
        self.rows.iter().filter_map(|row| match row {
            Row::Token(token) => Some(token),
            Row::Unreadable { .. } => None,
        })
    }

    pub(crate) fn token(&self, id: &str) -> Option<&TokenRow> {
        self.tokens().find(|token| token.id == id)
    }

    /// Reads the vault folder again.
    fn reload(&mut self) {
        self.loaded_at = Some(Instant::now());
        match self.folder.entries() {
            Ok(entries) => {
                self.load_error = None;
                self.rows = entries
                    .into_iter()
                    .map(|entry| match entry.record {
                        Ok(record) => Row::Token(TokenRow {
                            id: record.id.clone(),
                            name: record.display_name(),
                            serial: record
                                .serial
                                .as_deref()
                                .and_then(|s| s.parse::<Serial>().ok())
                                .map(|s| s.to_string()),
                            locked: record.state() == TokenState::Locked,
                            attempts_left: record.attempts_left(),
                            max_failures: record.policy.max_failures,
                            slots_left: record.slots.len(),
                            imported: record.recovery.is_some(),
                            reset_code: record.reset_code(),
                            unlock_page: record.unlock_page_link(),
                            period: match record.otp {
                                OtpParams::Totp { period, .. } => Some(period),
                                OtpParams::Hotp { .. } => None,
                            },
                            policy: record.policy,
                        }),
                        Err(reason) => Row::Unreadable {
                            file: entry.path.display().to_string(),
                            reason,
                        },
                    })
                    .collect();
            }
            Err(error) => {
                self.rows.clear();
                self.load_error = Some(sentence(error));
            }
        }
    }

    fn screen_for(&self, token: &TokenRow) -> Screen {
        if token.locked {
            Screen::Locked(LockedScreen::new(token.id.clone(), false))
        } else {
            Screen::Pin(PinScreen::new(token.id.clone()))
        }
    }

    /// Moves to another screen. The old screen's secrets are dropped (and
    /// so zeroized) with it, and egui forgets its fields' undo history.
    fn go(&mut self, ctx: &egui::Context, screen: Screen) {
        let mut old = std::mem::replace(&mut self.screen, screen);
        for field in fields_of(&mut old) {
            field.wipe(ctx);
        }
        self.focus_first = true;
    }

    /// Reads the folder again every few seconds; hides a code whose time is up.
    fn housekeeping(&mut self, ctx: &egui::Context) {
        if self.job.is_some() {
            ctx.request_repaint_after(Duration::from_millis(100));
            return;
        }
        if let Screen::Code(_) = self.screen {
            self.age_code(ctx);
            // Keeps the countdown moving.
            ctx.request_repaint_after(Duration::from_millis(250));
            return;
        }
        if self.loaded_at.is_none_or(|at| at.elapsed() >= RELOAD_EVERY) {
            self.reload();
            self.follow_vault(ctx);
        }
        ctx.request_repaint_after(RELOAD_EVERY);
    }

    /// After a reload: what another program did to the token on screen.
    fn follow_vault(&mut self, ctx: &egui::Context) {
        let (id, locked_screen) = match &self.screen {
            Screen::Pin(screen) => (screen.id.clone(), false),
            Screen::Locked(screen) if !screen.forgot => (screen.id.clone(), true),
            _ => return,
        };
        match self.token(&id).map(|token| token.locked) {
            None => {
                self.notice = Some(Notice::Warning(
                    "That token is no longer in the vault.".into(),
                ));
                self.go(ctx, Screen::List);
            }
            Some(true) if !locked_screen => {
                self.notice = Some(Notice::Warning(
                    "This token has been locked after too many incorrect PINs.".into(),
                ));
                self.go(ctx, Screen::Locked(LockedScreen::new(id, false)));
            }
            Some(false) if locked_screen => {
                self.notice = Some(Notice::Info(
                    "This token has been unlocked in another program. Type its PIN.".into(),
                ));
                self.go(ctx, Screen::Pin(PinScreen::new(id)));
            }
            Some(_) => {}
        }
    }

    /// Moves to the next code at the end of a step; hides the code when
    /// there is none or when it has been up for long enough.
    fn age_code(&mut self, ctx: &egui::Context) {
        let now = self.clock.unix_seconds();
        let Screen::Code(screen) = &mut self.screen else {
            return;
        };
        if screen.current.valid_until.is_some_and(|until| now >= until)
            && let Some(next) = screen.next.take()
        {
            // The old code is dropped here, and so wiped.
            screen.current = next;
            screen.copied = false;
        }
        let expired = screen.current.valid_until.is_some_and(|until| now >= until);
        if expired || now >= screen.hide_at {
            let id = screen.id.clone();
            self.notice = Some(Notice::Info(if expired {
                "The code has changed. Type your PIN to see the new one.".into()
            } else {
                "The code was hidden. Type your PIN to see it again.".into()
            }));
            self.reload();
            self.go(ctx, Screen::Pin(PinScreen::new(id)));
        }
    }

    fn code_screen(&self, id: String, codes: Codes) -> Screen {
        Screen::Code(CodeScreen {
            id,
            current: codes.current,
            next: codes.next,
            hide_at: codes.shown_at + SHOW_CODE_FOR_SECONDS,
            copied: false,
        })
    }

    fn act(&mut self, ctx: &egui::Context, action: Action) {
        if self.job.is_some() {
            return;
        }
        match action {
            Action::Open(id) => {
                self.notice = None;
                self.reload();
                if let Some(token) = self.token(&id) {
                    let screen = self.screen_for(token);
                    self.go(ctx, screen);
                }
            }
            Action::ShowList => {
                self.notice = None;
                self.reload();
                self.go(ctx, Screen::List);
            }
            Action::SubmitPin => self.submit_pin(ctx),
            Action::ForgotPin => self.forgot_pin(ctx),
            Action::BackToPin => {
                let id = match &self.screen {
                    Screen::Locked(screen) => screen.id.clone(),
                    Screen::Code(screen) => screen.id.clone(),
                    Screen::NewPin(screen) => screen.id.clone(),
                    _ => return,
                };
                self.notice = None;
                self.reload();
                let screen = match self.token(&id) {
                    Some(token) => self.screen_for(token),
                    None => Screen::List,
                };
                self.go(ctx, screen);
            }
            Action::SubmitUnlockCode => self.submit_unlock_code(ctx),
            Action::SubmitNewPin => self.submit_new_pin(ctx),
            Action::CopyCode => {
                if let Screen::Code(screen) = &mut self.screen {
                    ctx.copy_text(screen.current.code.to_string());
                    screen.copied = true;
                }
            }
            Action::HideCode => {
                if let Screen::Code(screen) = &self.screen {
                    let id = screen.id.clone();
                    self.notice = None;
                    self.go(ctx, Screen::Pin(PinScreen::new(id)));
                }
            }
            Action::StartActivate => {
                self.notice = None;
                self.go(ctx, Screen::Activate(ActivateScreen::empty()));
            }
            Action::UseActivationLink => self.use_activation_link(ctx),
            Action::StartImport => {
                let (first, again) = pin_pair();
                self.notice = None;
                self.go(
                    ctx,
                    Screen::Import(ImportScreen {
                        // otpauth URIs with long labels run to a few hundred bytes.
                        uri: SecretText::new("otpauth-uri", 8192),
                        first,
                        again,
                        error: None,
                        explain_policy: false,
                    }),
                );
            }
            Action::SubmitActivate => self.submit_activate(ctx),
            Action::SubmitImport => self.submit_import(ctx),
            Action::Continue => {
                let Screen::Recovery(screen) = &mut self.screen else {
                    return;
                };
                let id = screen.id.clone();
                let then = screen.then.take();
                self.reload();
                let next = match then {
                    Some(codes) => self.code_screen(id, codes),
                    None => Screen::Pin(PinScreen::new(id)),
                };
                self.go(ctx, next);
                // A code that expired while the recovery code was up goes at once.
                self.age_code(ctx);
            }
        }
    }
}

impl eframe::App for App {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.ui(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_token::{PinPolicy, PinPolicyError};

    #[test]
    fn library_messages_become_sentences() {
        assert_eq!(
            sentence("enter the 16-digit code"),
            "Enter the 16-digit code."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn policy_refusals_say_what_to_do() {
        assert!(policy_message(&PinPolicyError::Mismatch).contains("twice"));
        assert!(
            policy_message(&PinPolicyError::StraightRun).starts_with("That PIN cannot be used")
        );
        assert!(crate::format::policy_explanation(&PinPolicy::default()).contains("123456"));
    }
}
