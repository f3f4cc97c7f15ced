//! What each screen's submit does, and the outcome of the work it starts.

use eframe::egui;
use latchkey_oath::{ActivationCode, Serial, UnlockCode};
use latchkey_token::ops::{self, EnrolError, OpenError, UnlockError};
use latchkey_token::record::FEW_SLOTS;
use latchkey_token::{Pin, PinPolicy, PinPolicyError};

use super::*;
use crate::jobs::{self, AfterUnlock, Job, Outcome};
use crate::secret_text::SecretText;

impl App {
    pub(super) fn submit_pin(&mut self, ctx: &egui::Context) {
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

    pub(super) fn forgot_pin(&mut self, ctx: &egui::Context) {
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

    pub(super) fn submit_unlock_code(&mut self, ctx: &egui::Context) {
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

    pub(super) fn submit_new_pin(&mut self, ctx: &egui::Context) {
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

    pub(super) fn submit_activate(&mut self, ctx: &egui::Context) {
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

    pub(super) fn submit_import(&mut self, ctx: &egui::Context) {
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

    pub(super) fn poll_job(&mut self, ctx: &egui::Context) {
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

    pub(super) fn finish(&mut self, ctx: &egui::Context, outcome: Outcome) {
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

pub(super) fn unlock_message(error: &UnlockError) -> String {
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

pub(super) fn enrol_message(error: EnrolError) -> String {
    match error {
        EnrolError::Policy(error) => policy_message(&error),
        other => sentence(other),
    }
}

/// The secret fields a screen holds, to wipe when it closes.
pub(super) fn fields_of(screen: &mut Screen) -> Vec<&mut SecretText> {
    match screen {
        Screen::Pin(s) => vec![&mut s.pin],
        Screen::Locked(s) => vec![&mut s.code],
        Screen::NewPin(s) => vec![&mut s.first, &mut s.again],
        Screen::Activate(s) => vec![&mut s.link, &mut s.code, &mut s.first, &mut s.again],
        Screen::Import(s) => vec![&mut s.uri, &mut s.first, &mut s.again],
        Screen::List | Screen::Code(_) | Screen::Recovery(_) => Vec::new(),
    }
}
