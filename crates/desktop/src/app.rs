//! The window's state: which screen is up, what it holds, and how each
//! action moves from one screen to the next. Drawing is in `views`.

use std::time::{Duration, Instant};

use eframe::egui;
use latchkey_oath::{ActivationCode, ResetCode, Serial, UnlockCode};
use latchkey_token::ops::{self, EnrolError, OpenError, UnlockError};
use latchkey_token::record::{FEW_SLOTS, OtpParams, TokenState};
use latchkey_token::{Pin, PinPolicy, PinPolicyError, VaultFolder};

use crate::clock::Clock;
use crate::jobs::{self, AfterUnlock, CodeAt, Codes, Job, Outcome};
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

/// One line of the token list.
pub(crate) enum Row {
    Token(TokenRow),
    Unreadable { file: String, reason: String },
}

/// What the window shows of a token, read from its vault file.
pub(crate) struct TokenRow {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The serial grouped for reading; `None` for imported tokens.
    pub(crate) serial: Option<String>,
    pub(crate) locked: bool,
    pub(crate) attempts_left: u32,
    pub(crate) max_failures: u32,
    pub(crate) slots_left: usize,
    pub(crate) imported: bool,
    pub(crate) reset_code: Option<ResetCode>,
    pub(crate) period: Option<u64>,
    pub(crate) policy: PinPolicy,
}

/// A message above the screen.
pub(crate) enum Notice {
    Info(String),
    Warning(String),
}

pub(crate) enum Screen {
    List,
    Pin(PinScreen),
    Code(CodeScreen),
    Locked(LockedScreen),
    NewPin(NewPinScreen),
    Activate(ActivateScreen),
    Import(ImportScreen),
    Recovery(RecoveryScreen),
}

pub(crate) struct PinScreen {
    pub(crate) id: String,
    pub(crate) pin: SecretText,
    pub(crate) error: Option<String>,
}

pub(crate) struct CodeScreen {
    pub(crate) id: String,
    pub(crate) current: CodeAt,
    pub(crate) next: Option<CodeAt>,
    pub(crate) hide_at: u64,
    pub(crate) copied: bool,
}

pub(crate) struct LockedScreen {
    pub(crate) id: String,
    /// Reached by "Forgot PIN?" rather than by too many wrong PINs.
    pub(crate) forgot: bool,
    pub(crate) code: SecretText,
    pub(crate) error: Option<String>,
}

pub(crate) struct NewPinScreen {
    pub(crate) id: String,
    pub(crate) unlock: UnlockCode,
    pub(crate) first: SecretText,
    pub(crate) again: SecretText,
    pub(crate) error: Option<String>,
    /// Set when the policy refused a PIN, so the screen explains the policy.
    pub(crate) explain_policy: bool,
}

pub(crate) struct ActivateScreen {
    pub(crate) server: String,
    pub(crate) serial: String,
    pub(crate) code: SecretText,
    pub(crate) first: SecretText,
    pub(crate) again: SecretText,
    pub(crate) error: Option<String>,
    pub(crate) explain_policy: bool,
}

pub(crate) struct ImportScreen {
    pub(crate) uri: SecretText,
    pub(crate) first: SecretText,
    pub(crate) again: SecretText,
    pub(crate) error: Option<String>,
    pub(crate) explain_policy: bool,
}

pub(crate) struct RecoveryScreen {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) code: UnlockCode,
    /// After an unlock, the first code under the new PIN waits here.
    pub(crate) then: Option<Codes>,
}

/// What a person did on a screen this frame.
pub(crate) enum Action {
    Open(String),
    ShowList,
    SubmitPin,
    ForgotPin,
    BackToPin,
    SubmitUnlockCode,
    SubmitNewPin,
    CopyCode,
    HideCode,
    StartActivate,
    StartImport,
    SubmitActivate,
    SubmitImport,
    Continue,
}

impl PinScreen {
    fn new(id: String) -> Self {
        PinScreen {
            id,
            pin: SecretText::short("pin"),
            error: None,
        }
    }
}

impl LockedScreen {
    fn new(id: String, forgot: bool) -> Self {
        LockedScreen {
            id,
            forgot,
            code: SecretText::short("unlock-code"),
            error: None,
        }
    }
}

fn pin_pair() -> (SecretText, SecretText) {
    (
        SecretText::short("new-pin"),
        SecretText::short("new-pin-again"),
    )
}

/// A library message as a sentence: capital first, full stop last.
pub(crate) fn sentence(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return text,
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn policy_message(error: &PinPolicyError) -> String {
    match error {
        PinPolicyError::Mismatch => "The two PINs differ. Type the new PIN twice.".into(),
        other => format!("That PIN cannot be used: {other}."),
    }
}

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
                let (first, again) = pin_pair();
                self.notice = None;
                self.go(
                    ctx,
                    Screen::Activate(ActivateScreen {
                        server: String::new(),
                        serial: String::new(),
                        code: SecretText::short("activation-code"),
                        first,
                        again,
                        error: None,
                        explain_policy: false,
                    }),
                );
            }
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

    fn submit_pin(&mut self, ctx: &egui::Context) {
        let Screen::Pin(screen) = &mut self.screen else {
            return;
        };
        if screen.pin.is_empty() {
            screen.error = Some("Type the token's PIN.".into());
            return;
        }
        let pin = Pin::entered(screen.pin.as_str());
        screen.pin.wipe(ctx);
        screen.error = None;
        let (folder, id, now) = (
            self.folder.clone(),
            screen.id.clone(),
            self.clock.unix_seconds(),
        );
        self.job = Some(Job::start(ctx, "Checking the PIN…", move || {
            let result = jobs::fetch_codes(&folder, &id, &pin, now);
            Outcome::Codes { id, result }
        }));
    }

    fn forgot_pin(&mut self, ctx: &egui::Context) {
        let Screen::Pin(screen) = &self.screen else {
            return;
        };
        let id = screen.id.clone();
        // The library's "forgot PIN" reads the token afresh: its reset code
        // is the one of the slot in use right now.
        match ops::forgot_pin(&self.folder, Some(&id)) {
            Ok(_) => {
                self.reload();
                self.notice = None;
                self.go(ctx, Screen::Locked(LockedScreen::new(id, true)));
            }
            Err(error) => {
                if let Screen::Pin(screen) = &mut self.screen {
                    screen.error = Some(sentence(error));
                }
            }
        }
    }

    fn submit_unlock_code(&mut self, ctx: &egui::Context) {
        let Screen::Locked(screen) = &mut self.screen else {
            return;
        };
        // The check digit catches a typo here, before anything is tried.
        let code: UnlockCode = match screen.code.as_str().parse() {
            Ok(code) => code,
            Err(error) => {
                screen.error = Some(format!("{} Nothing was used up.", sentence(error)));
                // The text stays, so that the typo can be corrected in place.
                ctx.memory_mut(|memory| memory.request_focus(screen.code.id()));
                return;
            }
        };
        screen.code.wipe(ctx);
        screen.error = None;
        let (folder, id) = (self.folder.clone(), screen.id.clone());
        self.job = Some(Job::start(ctx, "Checking the unlock code…", move || {
            let result = ops::check_unlock_code(&folder, Some(&id), &code).map(|_| ());
            Outcome::CodeChecked { id, code, result }
        }));
    }

    fn submit_new_pin(&mut self, ctx: &egui::Context) {
        let policy = match &self.screen {
            Screen::NewPin(screen) => self
                .token(&screen.id)
                .map_or_else(PinPolicy::default, |token| token.policy),
            _ => return,
        };
        let Screen::NewPin(screen) = &mut self.screen else {
            return;
        };
        let chosen = Pin::choose(screen.first.as_str(), screen.again.as_str(), &policy);
        screen.first.wipe(ctx);
        screen.again.wipe(ctx);
        let pin = match chosen {
            Ok(pin) => pin,
            Err(error) => {
                screen.explain_policy = error != PinPolicyError::Mismatch;
                screen.error = Some(policy_message(&error));
                self.focus_first = true;
                return;
            }
        };
        screen.error = None;
        let (folder, id, code) = (
            self.folder.clone(),
            screen.id.clone(),
            screen.unlock.clone(),
        );
        let clock = self.clock.clone();
        self.job = Some(Job::start(ctx, "Unlocking the token…", move || {
            let result = ops::unlock(&folder, Some(&id), &code, &pin).map(|unlocked| {
                // The person unlocked to sign in: show the code under the new
                // PIN at once rather than ask for it a third time.
                let codes = jobs::fetch_codes(&folder, &id, &pin, clock.unix_seconds()).ok();
                AfterUnlock { unlocked, codes }
            });
            Outcome::Unlocked { id, result }
        }));
    }

    fn submit_activate(&mut self, ctx: &egui::Context) {
        let Screen::Activate(screen) = &mut self.screen else {
            return;
        };
        let server = screen.server.trim().to_owned();
        let parsed = (|| {
            if server.is_empty() {
                return Err((
                    "Type the server's address, such as https://auth.example.org.".to_owned(),
                    SERVER_FIELD.into(),
                ));
            }
            let serial: Serial = screen
                .serial
                .parse()
                .map_err(|e| (format!("The serial: {}", sentence(e)), SERIAL_FIELD.into()))?;
            let code: ActivationCode = screen.code.as_str().parse().map_err(|e| {
                (
                    format!("The activation code: {}", sentence(e)),
                    screen.code.id(),
                )
            })?;
            Ok((serial, code))
        })();
        let chosen = Pin::choose(
            screen.first.as_str(),
            screen.again.as_str(),
            &PinPolicy::default(),
        );
        screen.first.wipe(ctx);
        screen.again.wipe(ctx);
        let (serial, code) = match parsed {
            Ok(parsed) => parsed,
            Err((message, field)) => {
                screen.error = Some(message);
                screen.explain_policy = false;
                ctx.memory_mut(|memory| memory.request_focus(field));
                return;
            }
        };
        let pin = match chosen {
            Ok(pin) => pin,
            Err(error) => {
                screen.explain_policy = error != PinPolicyError::Mismatch;
                screen.error = Some(policy_message(&error));
                ctx.memory_mut(|memory| memory.request_focus(screen.first.id()));
                return;
            }
        };
        screen.error = None;
        let folder = self.folder.clone();
        self.job = Some(Job::start(ctx, "Activating the token…", move || {
            Outcome::Activated(ops::activate(&folder, &server, &serial, &code, &pin))
        }));
    }

    fn submit_import(&mut self, ctx: &egui::Context) {
        let Screen::Import(screen) = &mut self.screen else {
            return;
        };
        let chosen = Pin::choose(
            screen.first.as_str(),
            screen.again.as_str(),
            &PinPolicy::default(),
        );
        screen.first.wipe(ctx);
        screen.again.wipe(ctx);
        if screen.uri.is_empty() {
            screen.error = Some("Paste the otpauth:// link the service gave you.".into());
            ctx.memory_mut(|memory| memory.request_focus(screen.uri.id()));
            return;
        }
        let pin = match chosen {
            Ok(pin) => pin,
            Err(error) => {
                screen.explain_policy = error != PinPolicyError::Mismatch;
                screen.error = Some(policy_message(&error));
                ctx.memory_mut(|memory| memory.request_focus(screen.first.id()));
                return;
            }
        };
        // The URI carries the seed: it goes to the library and is wiped here.
        let uri = zeroize::Zeroizing::new(screen.uri.as_str().trim().to_owned());
        screen.uri.wipe(ctx);
        screen.error = None;
        let folder = self.folder.clone();
        self.job = Some(Job::start(ctx, "Importing the token…", move || {
            Outcome::Imported(ops::import(&folder, &uri, &pin))
        }));
    }

    fn poll_job(&mut self, ctx: &egui::Context) {
        let Some(job) = &self.job else {
            return;
        };
        let Some(outcome) = job.poll() else {
            return;
        };
        self.job = None;
        self.focus_first = true;
        match outcome {
            Some(outcome) => self.finish(ctx, outcome),
            None => {
                self.notice = Some(Notice::Warning(
                    "Something went wrong inside the program; nothing was changed by it. Try again."
                        .into(),
                ));
            }
        }
    }

    fn finish(&mut self, ctx: &egui::Context, outcome: Outcome) {
        match outcome {
            Outcome::Codes { id, result } => match result {
                Ok(codes) => {
                    self.notice = None;
                    let screen = self.code_screen(id, codes);
                    self.go(ctx, screen);
                }
                Err(OpenError::Locked { .. }) => {
                    self.reload();
                    self.notice = None;
                    self.go(ctx, Screen::Locked(LockedScreen::new(id, false)));
                }
                Err(error) => {
                    let message = match error {
                        OpenError::WrongPin { attempts_left } => format!(
                            "Incorrect PIN. {attempts_left} {} left before this token locks.",
                            if attempts_left == 1 {
                                "attempt"
                            } else {
                                "attempts"
                            }
                        ),
                        other => sentence(other),
                    };
                    self.reload();
                    if let Screen::Pin(screen) = &mut self.screen {
                        screen.error = Some(message);
                    }
                }
            },
            Outcome::CodeChecked { id, code, result } => match result {
                Ok(()) => {
                    let (first, again) = pin_pair();
                    self.go(
                        ctx,
                        Screen::NewPin(NewPinScreen {
                            id,
                            unlock: code,
                            first,
                            again,
                            error: None,
                            explain_policy: false,
                        }),
                    );
                }
                Err(error) => {
                    self.reload();
                    if let Screen::Locked(screen) = &mut self.screen {
                        screen.error = Some(unlock_message(&error));
                    }
                }
            },
            Outcome::Unlocked { id, result } => match result {
                Ok(AfterUnlock { unlocked, codes }) => {
                    self.reload();
                    let mut message = "The token is unlocked and has its new PIN.".to_owned();
                    let few =
                        unlocked.new_recovery_code.is_none() && unlocked.slots_left <= FEW_SLOTS;
                    if few {
                        message.push_str(&match unlocked.slots_left {
                            0 => " It has no unlock codes left: if it locks again it must be \
                                  activated anew. Run `latchkey-token refresh` to get new ones."
                                .to_owned(),
                            n => format!(
                                " Only {n} unlock {} left. Run `latchkey-token refresh` to get new ones.",
                                if n == 1 { "code is" } else { "codes are" }
                            ),
                        });
                    }
                    self.notice = Some(if few {
                        Notice::Warning(message)
                    } else {
                        Notice::Info(message)
                    });
                    let name = self.token(&id).map(|t| t.name.clone()).unwrap_or_default();
                    let next = match (unlocked.new_recovery_code, codes) {
                        (Some(code), then) => Screen::Recovery(RecoveryScreen {
                            id,
                            name,
                            code,
                            then,
                        }),
                        (None, Some(codes)) => self.code_screen(id, codes),
                        (None, None) => Screen::Pin(PinScreen::new(id)),
                    };
                    self.go(ctx, next);
                }
                Err(UnlockError::Policy(error)) => {
                    if let Screen::NewPin(screen) = &mut self.screen {
                        screen.explain_policy = true;
                        screen.error = Some(policy_message(&error));
                    }
                }
                Err(error @ (UnlockError::WrongCode | UnlockError::NoSlots)) => {
                    // Another program spent the slot meanwhile: back to the
                    // locked view, which shows the current reset code.
                    self.reload();
                    let mut screen = LockedScreen::new(id, false);
                    screen.error = Some(unlock_message(&error));
                    self.go(ctx, Screen::Locked(screen));
                }
                Err(error) => {
                    if let Screen::NewPin(screen) = &mut self.screen {
                        screen.error = Some(sentence(error));
                    }
                }
            },
            Outcome::Activated(result) => match result {
                Ok(record) => {
                    self.reload();
                    self.notice = Some(Notice::Info(format!(
                        "{} is activated, with {} unlock codes. Type its PIN to see a code.",
                        record.display_name(),
                        record.slots.len()
                    )));
                    self.go(ctx, Screen::Pin(PinScreen::new(record.id)));
                }
                Err(error) => {
                    if let Screen::Activate(screen) = &mut self.screen {
                        screen.explain_policy = matches!(error, EnrolError::Policy(_));
                        screen.error = Some(enrol_message(error));
                    }
                }
            },
            Outcome::Imported(result) => match result {
                Ok((record, code)) => {
                    self.reload();
                    self.notice = None;
                    self.go(
                        ctx,
                        Screen::Recovery(RecoveryScreen {
                            name: record.display_name(),
                            id: record.id,
                            code,
                            then: None,
                        }),
                    );
                }
                Err(error) => {
                    if let Screen::Import(screen) = &mut self.screen {
                        screen.explain_policy = matches!(error, EnrolError::Policy(_));
                        screen.error = Some(enrol_message(error));
                    }
                }
            },
        }
    }
}

fn unlock_message(error: &UnlockError) -> String {
    match error {
        UnlockError::WrongCode => "That unlock code does not match this token's PIN Reset Code. \
             Check that it was issued for the code shown above and type it again. Nothing was changed."
            .into(),
        UnlockError::NoSlots => "This token has no unlock codes left. Ask your help desk for a new \
             activation code and activate the token again."
            .into(),
        other => sentence(other),
    }
}

fn enrol_message(error: EnrolError) -> String {
    match error {
        EnrolError::Policy(error) => policy_message(&error),
        other => sentence(other),
    }
}

/// The secret fields a screen holds, to wipe when it closes.
fn fields_of(screen: &mut Screen) -> Vec<&mut SecretText> {
    match screen {
        Screen::Pin(s) => vec![&mut s.pin],
        Screen::Locked(s) => vec![&mut s.code],
        Screen::NewPin(s) => vec![&mut s.first, &mut s.again],
        Screen::Activate(s) => vec![&mut s.code, &mut s.first, &mut s.again],
        Screen::Import(s) => vec![&mut s.uri, &mut s.first, &mut s.again],
        Screen::List | Screen::Code(_) | Screen::Recovery(_) => Vec::new(),
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
