//! Drawing each screen. A view only reads what it shows and reports what
//! was done as an [`Action`]; `app` acts on it after the frame is drawn.
//!
//! Every field has a visible label that also names it for screen readers
//! (and for the tests). Fields come in reading order, which is the Tab
//! order; Enter in a field moves on to the next and in the last submits;
//! Escape goes back.

use std::str::FromStr;

use eframe::egui::{self, Key, Response, RichText, TextEdit, Ui};
use latchkey_oath::{ActivationCode, CodeError, Serial, UnlockCode};
use zeroize::Zeroizing;

use crate::app::{
    Action, ActivateScreen, App, CodeScreen, ImportScreen, LockedScreen, NewPinScreen, Notice,
    PinScreen, RecoveryScreen, Row, SERIAL_FIELD, SERVER_FIELD, Screen, TokenRow, sentence,
};
use crate::format::{group_otp, policy_explanation};
use crate::secret_text::SecretText;
use crate::style;

const FIELD_WIDTH: f32 = 300.0;

impl App {
    /// Draws the frame; returns what the person did, if anything.
    pub(crate) fn draw(&mut self, ctx: &egui::Context) -> Option<Action> {
        let busy = self.job.as_ref().map(|job| job.doing);
        let mut action = None;
        egui::TopBottomPanel::top("bar").show(ctx, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                ui.label(RichText::new(crate::TITLE).strong());
                let can_leave = !matches!(self.screen, Screen::List | Screen::Recovery(_));
                if can_leave && busy.is_none() {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button("All tokens").clicked() {
                            action = Some(Action::ShowList);
                        }
                    });
                }
            });
            ui.add_space(2.0);
        });
        let focus_first = self.focus_first && busy.is_none();
        let frame = egui::Frame::central_panel(&ctx.style()).inner_margin(16.0);
        egui::CentralPanel::default().frame(frame).show(ctx, |ui| {
            egui::ScrollArea::vertical()
                .auto_shrink(false)
                .show(ui, |ui| {
                    // Lines longer than this are hard to read on a wide window.
                    ui.set_max_width(ui.available_width().min(560.0));
                    match &self.notice {
                        Some(Notice::Info(text)) => {
                            ui.label(style::success(ui, text));
                        }
                        Some(Notice::Warning(text)) => {
                            ui.label(style::warning(ui, text));
                        }
                        None => {}
                    }
                    let done = ui
                        .add_enabled_ui(busy.is_none(), |ui| self.draw_screen(ui, focus_first))
                        .inner;
                    if let Some(doing) = busy {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label(doing);
                        });
                    }
                    action = action.take().or(done);
                });
        });
        if focus_first {
            self.focus_first = false;
        }
        if action.is_none() && busy.is_none() && ctx.input(|i| i.key_pressed(Key::Escape)) {
            action = self.back();
        }
        action
    }

    /// Where Escape leads from the screen that is up.
    fn back(&self) -> Option<Action> {
        match &self.screen {
            Screen::Pin(_) | Screen::Activate(_) | Screen::Import(_) => Some(Action::ShowList),
            Screen::Locked(screen) if screen.forgot => Some(Action::BackToPin),
            Screen::Locked(_) => Some(Action::ShowList),
            Screen::NewPin(_) => Some(Action::BackToPin),
            Screen::Code(_) => Some(Action::HideCode),
            Screen::List | Screen::Recovery(_) => None,
        }
    }

    fn draw_screen(&mut self, ui: &mut Ui, focus_first: bool) -> Option<Action> {
        let App {
            screen,
            rows,
            load_error,
            clock,
            ..
        } = self;
        let token = |id: &str| {
            rows.iter().find_map(|row| match row {
                Row::Token(token) if token.id == id => Some(token),
                _ => None,
            })
        };
        match screen {
            Screen::List => list(ui, rows, load_error.as_deref()),
            Screen::Pin(screen) => {
                let row = token(&screen.id);
                pin(ui, screen, row, focus_first)
            }
            Screen::Code(screen) => {
                let row = token(&screen.id);
                code(ui, screen, row, clock.now().as_secs_f64())
            }
            Screen::Locked(screen) => {
                let row = token(&screen.id);
                locked(ui, screen, row, focus_first)
            }
            Screen::NewPin(screen) => {
                let row = token(&screen.id);
                new_pin(ui, screen, row, focus_first)
            }
            Screen::Activate(screen) => activate(ui, screen, focus_first),
            Screen::Import(screen) => import(ui, screen, focus_first),
            Screen::Recovery(screen) => recovery(ui, screen),
        }
    }
}

/// A labelled single-line field. The label names the field for screen
/// readers, and so for the tests.
fn field(ui: &mut Ui, label: &str, edit: TextEdit<'_>) -> Response {
    let label = ui.label(label);
    let width = ui.available_width().min(FIELD_WIDTH);
    ui.add(edit.desired_width(width).margin(egui::vec2(8.0, 6.0)))
        .labelled_by(label.id)
}

/// A masked field for a PIN or another secret.
fn secret_field(ui: &mut Ui, label: &str, text: &mut SecretText, hint: &str) -> Response {
    let id = text.id();
    field(
        ui,
        label,
        TextEdit::singleline(text.buffer())
            .id(id)
            .password(true)
            .hint_text(hint),
    )
}

/// A field for a code people copy off paper or a screen: shown as typed,
/// so that they can compare it digit by digit.
fn code_field(ui: &mut Ui, label: &str, text: &mut SecretText, hint: &str) -> Response {
    let id = text.id();
    field(
        ui,
        label,
        TextEdit::singleline(text.buffer())
            .id(id)
            .hint_text(hint)
            .font(egui::TextStyle::Monospace),
    )
}

/// Enter in a field moves to the next one; in the last one it submits.
fn entered(ui: &Ui, fields: &[Response]) -> bool {
    if !ui.input(|i| i.key_pressed(Key::Enter)) {
        return false;
    }
    match fields.iter().position(Response::lost_focus) {
        Some(index) if index + 1 < fields.len() => {
            fields[index + 1].request_focus();
            false
        }
        Some(_) => true,
        None => false,
    }
}

/// Flags a typo by the check digit as soon as all the digits are there,
/// before anything is tried.
fn check_as_typed<T: FromStr<Err = CodeError>>(ui: &mut Ui, text: &str, len: usize) {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if digits < len && !text.chars().any(|c| !matches!(c, '0'..='9' | ' ' | '-')) {
        return;
    }
    match text.parse::<T>() {
        Ok(_) => {
            ui.label(style::success(ui, "The check digit matches."));
        }
        Err(error) => {
            ui.label(style::error(ui, sentence(error)));
        }
    }
}

fn show_error(ui: &mut Ui, error: &Option<String>) {
    if let Some(error) = error {
        ui.label(style::error(ui, error));
    }
}

fn list(ui: &mut Ui, rows: &[Row], load_error: Option<&str>) -> Option<Action> {
    let mut action = None;
    ui.heading("Your tokens");
    if let Some(error) = load_error {
        ui.label(style::error(ui, error));
    }
    if rows.is_empty() && load_error.is_none() {
        ui.label(
            "There is no token here yet. Activate the token your organisation has issued \
             to you, or import one from another service.",
        );
    } else {
        egui::Grid::new("tokens")
            .num_columns(4)
            .striped(true)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                for heading in ["Token", "Serial", "State", "Unlock codes left"] {
                    ui.label(RichText::new(heading).strong());
                }
                ui.end_row();
                for row in rows {
                    match row {
                        Row::Token(token) => {
                            if ui.button(&token.name).clicked() {
                                action = Some(Action::Open(token.id.clone()));
                            }
                            ui.label(token.serial.as_deref().unwrap_or("imported"));
                            if token.locked {
                                ui.label(style::error(ui, "Locked"));
                            } else {
                                ui.label("Active");
                            }
                            if token.imported {
                                ui.label("recovery code");
                            } else {
                                ui.label(token.slots_left.to_string());
                            }
                        }
                        Row::Unreadable { file, reason } => {
                            ui.label(file);
                            ui.label("");
                            ui.label(style::error(ui, "Unreadable"));
                            ui.label(reason);
                        }
                    }
                    ui.end_row();
                }
            });
    }
    ui.add_space(12.0);
    ui.horizontal_wrapped(|ui| {
        if ui.button("Activate a token…").clicked() {
            action = Some(Action::StartActivate);
        }
        if ui.button("Import from a link…").clicked() {
            action = Some(Action::StartImport);
        }
    });
    action
}

fn token_heading(ui: &mut Ui, row: Option<&TokenRow>) {
    if let Some(row) = row {
        ui.heading(&row.name);
        if let Some(serial) = &row.serial {
            ui.label(RichText::new(format!("Serial {serial}")).small());
        }
    }
}

fn pin(
    ui: &mut Ui,
    screen: &mut PinScreen,
    row: Option<&TokenRow>,
    focus_first: bool,
) -> Option<Action> {
    let mut action = None;
    token_heading(ui, row);
    ui.add_space(8.0);
    let field = secret_field(ui, "PIN", &mut screen.pin, "Your PIN");
    if focus_first {
        field.request_focus();
    }
    show_error(ui, &screen.error);
    if let Some(row) = row
        && screen.error.is_none()
        && row.attempts_left < row.max_failures
    {
        ui.label(style::warning(
            ui,
            format!(
                "An incorrect PIN was typed before: {} {} left before this token locks.",
                row.attempts_left,
                if row.attempts_left == 1 {
                    "attempt"
                } else {
                    "attempts"
                }
            ),
        ));
    }
    ui.horizontal(|ui| {
        if ui.button("Show code").clicked() {
            action = Some(Action::SubmitPin);
        }
        if ui.link("Forgot PIN?").clicked() {
            action = Some(Action::ForgotPin);
        }
    });
    if entered(ui, &[field]) {
        action = Some(Action::SubmitPin);
    }
    action
}

fn code(ui: &mut Ui, screen: &CodeScreen, row: Option<&TokenRow>, now: f64) -> Option<Action> {
    let mut action = None;
    token_heading(ui, row);
    ui.add_space(8.0);
    ui.label("Your one-time code:");
    let grouped = group_otp(&screen.current.code);
    ui.label(style::big_code(&grouped));
    match (screen.current.valid_until, row.and_then(|row| row.period)) {
        (Some(until), Some(period)) => {
            let left = (until as f64 - now).max(0.0);
            ui.add(
                egui::ProgressBar::new((left / period as f64) as f32)
                    .desired_width(FIELD_WIDTH)
                    .text(format!("Changes in {} s", left.ceil() as u64)),
            );
        }
        _ => {
            ui.label("Each code works once. Hide it when you have typed it.");
        }
    }
    ui.horizontal(|ui| {
        if ui.button("Copy").clicked() {
            action = Some(Action::CopyCode);
        }
        if ui.button("Hide").clicked() {
            action = Some(Action::HideCode);
        }
        if screen.copied {
            ui.label(style::success(ui, "Copied."));
        }
    });
    ui.label(
        RichText::new(format!(
            "The code is hidden again after at most {} seconds.",
            crate::SHOW_CODE_FOR_SECONDS
        ))
        .small(),
    );
    action
}

fn locked(
    ui: &mut Ui,
    screen: &mut LockedScreen,
    row: Option<&TokenRow>,
    focus_first: bool,
) -> Option<Action> {
    let mut action = None;
    let Some(row) = row else {
        ui.label(style::error(ui, "This token is no longer in the vault."));
        return None;
    };
    if screen.forgot {
        ui.heading("Forgot your PIN?");
        ui.label(RichText::new(&row.name).strong());
        ui.label(
            "You can choose a new PIN with an unlock code. Until then the token stays as it \
             is: if the PIN comes back to you, go back and type it.",
        );
    } else {
        ui.heading("This token is locked");
        ui.label(RichText::new(&row.name).strong());
        ui.label(
            "Too many incorrect PINs were typed, so it refuses every PIN, even the right one, \
             until it is unlocked.",
        );
    }
    ui.add_space(8.0);
    let label = match (&row.reset_code, row.imported) {
        (Some(reset), _) => {
            ui.label("PIN Reset Code:");
            let grouped = reset.grouped();
            ui.horizontal(|ui| {
                ui.label(style::big_code(&grouped));
                if ui
                    .button("Copy")
                    .on_hover_text("Copy the PIN Reset Code")
                    .clicked()
                {
                    ui.ctx().copy_text(grouped.clone());
                }
            });
            ui.label(RichText::new("To unlock it:").strong());
            if let Some(page) = &row.unlock_page {
                // Opens the portal's unlock page in the browser with the
                // serial and this code filled in: nothing is typed twice.
                ui.hyperlink_to("Get an unlock code", page)
                    .on_hover_text("Opens the self-service portal's unlock page in your browser");
            }
            ui.label(
                "1. Sign in to the self-service portal and choose \"My soft token is locked\", \
                 or call your help desk.",
            );
            ui.label("2. Give them the PIN Reset Code above. You get a 16-digit unlock code back.");
            ui.label("3. Type the unlock code below and press Unlock. Then choose a new PIN.");
            "Unlock code"
        }
        (None, true) => {
            ui.label(
                "This token was imported, so it opens with the recovery code you wrote down \
                 when you imported it. Type it below and press Unlock, then choose a new PIN.",
            );
            "Recovery code"
        }
        (None, false) => {
            ui.label(style::error(
                ui,
                "This token has no unlock codes left. Ask your help desk for a new \
                 activation code, then activate the token again.",
            ));
            if ui.button("Activate a token…").clicked() {
                action = Some(Action::StartActivate);
            }
            if screen.forgot && ui.link("Back to the PIN").clicked() {
                action = Some(Action::BackToPin);
            }
            return action;
        }
    };
    ui.add_space(8.0);
    let field = code_field(ui, label, &mut screen.code, "1234-5678-9012-3456");
    if focus_first {
        field.request_focus();
    }
    check_as_typed::<UnlockCode>(ui, screen.code.as_str(), UnlockCode::LEN);
    show_error(ui, &screen.error);
    ui.horizontal(|ui| {
        if ui.button("Unlock").clicked() {
            action = Some(Action::SubmitUnlockCode);
        }
        if screen.forgot && ui.link("Back to the PIN").clicked() {
            action = Some(Action::BackToPin);
        }
    });
    if entered(ui, &[field]) {
        action = Some(Action::SubmitUnlockCode);
    }
    if !row.imported {
        ui.label(
            RichText::new(format!(
                "Unlock codes left on this token: {}.",
                row.slots_left
            ))
            .small(),
        );
    }
    action
}

/// The two new-PIN fields, the error, and the policy when a PIN was refused.
fn pin_pair(
    ui: &mut Ui,
    first: &mut SecretText,
    again: &mut SecretText,
    error: &Option<String>,
    explain_policy: bool,
    policy: &latchkey_token::PinPolicy,
) -> [Response; 2] {
    let fields = [
        secret_field(ui, "New PIN", first, "At least 6 digits"),
        secret_field(ui, "New PIN again", again, "The same PIN"),
    ];
    show_error(ui, error);
    if explain_policy {
        ui.label(policy_explanation(policy));
    }
    fields
}

fn new_pin(
    ui: &mut Ui,
    screen: &mut NewPinScreen,
    row: Option<&TokenRow>,
    focus_first: bool,
) -> Option<Action> {
    let mut action = None;
    ui.heading("Choose a new PIN");
    if let Some(row) = row {
        ui.label(RichText::new(&row.name).strong());
    }
    ui.label("The unlock code is right. Now choose the token's new PIN and type it twice.");
    ui.add_space(8.0);
    let policy = row.map(|row| row.policy).unwrap_or_default();
    let fields = pin_pair(
        ui,
        &mut screen.first,
        &mut screen.again,
        &screen.error,
        screen.explain_policy,
        &policy,
    );
    if focus_first {
        fields[0].request_focus();
    }
    if ui.button("Set new PIN").clicked() || entered(ui, &fields) {
        action = Some(Action::SubmitNewPin);
    }
    action
}

fn activate(ui: &mut Ui, screen: &mut ActivateScreen, focus_first: bool) -> Option<Action> {
    let mut action = None;
    ui.heading("Activate a token");
    ui.label(
        "Your organisation gives you the server's address, the token's serial number and a \
         single-use activation code. Type them here and choose the PIN that will protect the token.",
    );
    ui.add_space(8.0);
    ui.label("Or paste the activation link the portal shows (latchkey://activate?…):");
    let link = secret_field(
        ui,
        "Activation link",
        &mut screen.link,
        "latchkey://activate?server=…",
    );
    if ui.button("Use the link").clicked() || entered(ui, &[link]) {
        action = Some(Action::UseActivationLink);
    }
    ui.add_space(8.0);
    let server = field(
        ui,
        "Server address",
        TextEdit::singleline(&mut screen.server)
            .id(SERVER_FIELD.into())
            .hint_text("https://auth.example.org"),
    );
    let serial = field(
        ui,
        "Serial",
        TextEdit::singleline(&mut screen.serial)
            .id(SERIAL_FIELD.into())
            .hint_text("12345-67897")
            .font(egui::TextStyle::Monospace),
    );
    check_as_typed::<Serial>(ui, &screen.serial, Serial::LEN);
    let code = code_field(
        ui,
        "Activation code",
        &mut screen.code,
        "1234-5678-9012-3456",
    );
    check_as_typed::<ActivationCode>(ui, screen.code.as_str(), ActivationCode::LEN);
    let [first, again] = pin_pair(
        ui,
        &mut screen.first,
        &mut screen.again,
        &screen.error,
        screen.explain_policy,
        &latchkey_token::PinPolicy::default(),
    );
    if focus_first {
        server.request_focus();
    }
    if ui.button("Activate").clicked() || entered(ui, &[server, serial, code, first, again]) {
        action = Some(Action::SubmitActivate);
    }
    action
}

fn import(ui: &mut Ui, screen: &mut ImportScreen, focus_first: bool) -> Option<Action> {
    let mut action = None;
    ui.heading("Import a token");
    ui.label(
        "A service that offers two-factor sign-in shows a QR code and, beside it, a link that \
         starts with otpauth://. Paste that link here and choose the PIN that will protect the token.",
    );
    ui.add_space(8.0);
    let uri = secret_field(ui, "otpauth:// link", &mut screen.uri, "otpauth://totp/…");
    let [first, again] = pin_pair(
        ui,
        &mut screen.first,
        &mut screen.again,
        &screen.error,
        screen.explain_policy,
        &latchkey_token::PinPolicy::default(),
    );
    if focus_first {
        uri.request_focus();
    }
    if ui.button("Import").clicked() || entered(ui, &[uri, first, again]) {
        action = Some(Action::SubmitImport);
    }
    action
}

fn recovery(ui: &mut Ui, screen: &RecoveryScreen) -> Option<Action> {
    let mut action = None;
    ui.heading("Write down your recovery code");
    ui.label(RichText::new(&screen.name).strong());
    ui.label(
        "This token has no server to give you an unlock code. If you forget its PIN, this \
         recovery code is the only way back in. It is shown only this once: write it down and \
         keep it somewhere safe.",
    );
    ui.add_space(8.0);
    ui.label("Recovery code:");
    ui.label(style::big_code(&Zeroizing::new(screen.code.grouped())));
    ui.add_space(8.0);
    if ui.button("I have written it down").clicked() {
        action = Some(Action::Continue);
    }
    action
}
