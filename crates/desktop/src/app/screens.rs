//! The screens' state and what a person can do on them.

use latchkey_oath::{ResetCode, UnlockCode};
use latchkey_token::link::ActivationLink;
use latchkey_token::{PinPolicy, PinPolicyError};

use crate::jobs::{CodeAt, Codes};
use crate::secret_text::SecretText;

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
    /// The portal's unlock page with the serial and reset code filled in.
    pub(crate) unlock_page: Option<String>,
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
    /// The activation link pasted (it carries the activation code).
    pub(crate) link: SecretText,
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
    UseActivationLink,
    SubmitImport,
    Continue,
}

impl PinScreen {
    pub(super) fn new(id: String) -> Self {
        PinScreen {
            id,
            pin: SecretText::short("pin"),
            error: None,
        }
    }
}

impl LockedScreen {
    pub(super) fn new(id: String, forgot: bool) -> Self {
        LockedScreen {
            id,
            forgot,
            code: SecretText::short("unlock-code"),
            error: None,
        }
    }
}

impl ActivateScreen {
    pub(super) fn empty() -> Self {
        let (first, again) = pin_pair();
        ActivateScreen {
            link: SecretText::new("activation-link", 1024),
            server: String::new(),
            serial: String::new(),
            code: SecretText::short("activation-code"),
            first,
            again,
            error: None,
            explain_policy: false,
        }
    }

    /// Fills the server, serial and activation code from `link`, every
    /// part checked first; a link that cannot be used changes no field and
    /// says why.
    pub(super) fn fill_from_link(&mut self, link: &str) {
        match link.parse::<ActivationLink>() {
            Ok(link) => {
                self.server = link.server.clone();
                self.serial = link.serial.grouped();
                let code = self.code.buffer();
                code.clear();
                code.push_str(&link.activation_code.grouped());
                self.error = None;
            }
            Err(error) => {
                let text = error.to_string();
                let mut chars = text.chars();
                self.error = chars
                    .next()
                    .map(|first| format!("{}{}.", first.to_uppercase(), chars.as_str()));
            }
        }
        self.explain_policy = false;
    }
}

pub(super) fn pin_pair() -> (SecretText, SecretText) {
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

pub(super) fn policy_message(error: &PinPolicyError) -> String {
    match error {
        PinPolicyError::Mismatch => "The two PINs differ. Type the new PIN twice.".into(),
        other => format!("That PIN cannot be used: {other}."),
    }
}
