//! The portal's pages: one struct per template (crates/server/templates),
//! rendered by askama with HTML escaping on.

use askama::Template;
use latchkey_core::{Token, TokenState};
use zeroize::Zeroizing;

/// What every page shows around its content.
pub struct Chrome {
    pub title: String,
    pub csrf: String,
    pub user: Option<String>,
    pub helpdesk: bool,
    /// An admin or auditor after a full sign-in: the console's link.
    pub console: bool,
    /// How users reach the help desk, when it is configured.
    pub helpdesk_contact: Option<String>,
    pub notice: Option<String>,
    pub alert: Option<String>,
}

/// Messages for the fields of a form, shown beside the field they concern.
#[derive(Default)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        FieldErrors(vec![(field, message.into())])
    }
    pub fn for_field(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, message)| message.as_str())
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub username: String,
}

#[derive(Template)]
#[template(path = "otp.html")]
pub struct OtpPage {
    pub chrome: Chrome,
}

#[derive(Template)]
#[template(path = "challenge.html")]
pub struct ChallengePage {
    pub chrome: Chrome,
    pub questions: Vec<String>,
}

/// A token as a page lists it.
pub struct TokenRow {
    pub serial: String,
    pub kind: String,
    pub state: String,
    pub locked: bool,
    pub can_be_lost: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    pub username: String,
    pub tokens: Vec<TokenRow>,
}

#[derive(Template)]
#[template(path = "self_service.html")]
pub struct SelfServicePage {
    pub chrome: Chrome,
    pub recovery: bool,
}

#[derive(Template)]
#[template(path = "unlock.html")]
pub struct UnlockPage {
    pub chrome: Chrome,
    pub tokens: Vec<TokenRow>,
    pub chosen: Option<String>,
    pub reset_code: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "unlock_done.html")]
pub struct UnlockDonePage {
    pub chrome: Chrome,
    pub serial: String,
    pub code: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    pub chrome: Chrome,
    pub tokens: Vec<TokenRow>,
    pub can_issue: bool,
}

#[derive(Template)]
#[template(path = "token_issued.html")]
pub struct TokenIssuedPage {
    pub chrome: Chrome,
    pub serial: String,
    pub serial_digits: String,
    pub activation_code: String,
    pub activation_digits: String,
    pub server: String,
    pub qr_svg: String,
    pub phone_link: String,
    pub desktop_link: String,
}

/// One question to choose and answer.
pub struct QuestionSlot {
    pub selected: i64,
    /// What was typed, shown again after a refusal (UX-REVIEW F17).
    pub answer: Zeroizing<String>,
    pub question_error: Option<String>,
    pub answer_error: Option<String>,
}

/// A question of the pool, for the `<select>`s.
pub struct PoolQuestion {
    pub id: i64,
    pub text: String,
}

#[derive(Template)]
#[template(path = "questions_setup.html")]
pub struct QuestionsSetupPage {
    pub chrome: Chrome,
    pub pool: Vec<PoolQuestion>,
    pub slots: Vec<QuestionSlot>,
}

/// One input of a password form.
pub struct PasswordField {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub hint: Option<&'static str>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub chrome: Chrome,
    pub fields: Vec<PasswordField>,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub chrome: Chrome,
    pub sent: bool,
    /// Where directory users recover their password (`password_help_url`).
    pub directory_help: Option<String>,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub chrome: Chrome,
    pub link: String,
    pub fields: Vec<PasswordField>,
}

/// "Report lost", asked once more: it takes the token out of use at once.
#[derive(Template)]
#[template(path = "report_lost.html")]
pub struct ReportLostPage {
    pub chrome: Chrome,
    pub serial: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub code: Option<String>,
    pub code_id: &'static str,
    pub link: Option<(&'static str, &'static str)>,
}

/// The inputs of the new-password forms (change and reset).
pub fn new_password_fields(with_current: bool, errors: &FieldErrors) -> Vec<PasswordField> {
    let mut fields = Vec::new();
    if with_current {
        fields.push(PasswordField {
            name: "current_password",
            label: "Current password",
            kind: "password",
            autocomplete: "current-password",
            hint: None,
            error: None,
        });
        fields.push(PasswordField {
            name: "otp",
            label: "One-time password",
            kind: "text",
            autocomplete: "one-time-code",
            hint: Some("The code your token shows now."),
            error: None,
        });
    }
    fields.push(PasswordField {
        name: "password",
        label: "New password",
        kind: "password",
        autocomplete: "new-password",
        hint: Some("At least 8 characters; a phrase of several words is good. Common passwords and your user name are refused."),
        error: None,
    });
    fields.push(PasswordField {
        name: "password_confirm",
        label: "New password again",
        kind: "password",
        autocomplete: "new-password",
        hint: None,
        error: None,
    });
    for field in &mut fields {
        field.error = errors.for_field(field.name).map(str::to_owned);
    }
    fields
}

/// A token as the account page lists it.
pub(super) fn token_row(token: &Token) -> TokenRow {
    TokenRow {
        serial: token.serial.grouped(),
        kind: token.kind.to_string(),
        state: if token.locked {
            format!("{} (locked after wrong one-time passwords)", token.state)
        } else {
            token.state.to_string()
        },
        locked: token.locked,
        can_be_lost: matches!(token.state, TokenState::Active | TokenState::New),
    }
}
