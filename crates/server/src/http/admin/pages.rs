//! The console's pages: one struct per template in
//! `crates/server/templates/admin`, rendered by askama with HTML escaping on.

use askama::Template;

use crate::http::pages::Chrome;

/// The console's own navigation: which page is open, and whether the
/// visitor may change anything (an auditor sees no action buttons).
pub struct Nav {
    pub here: &'static str,
    pub read_only: bool,
}

pub struct StateCount {
    pub state: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub tokens_by_state: Vec<StateCount>,
    pub users_without_second_factor: Vec<String>,
    pub charts: Vec<Chart>,
    pub expiring: Vec<ExpiringLine>,
}

/// A user as a list of users shows them.
pub struct UserLine {
    pub username: String,
    pub email: String,
    pub role: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub query: String,
    pub users: Vec<UserLine>,
    /// The link to the next page, if there may be one.
    pub next: Option<String>,
}

/// A token as the console lists it.
pub struct TokenLine {
    pub serial: String,
    pub serial_grouped: String,
    pub kind: String,
    pub state: String,
    pub owner: String,
    pub failures: u32,
    pub locked: bool,
    pub soft: bool,
    pub pin_locked: bool,
    pub unlock_issued: String,
    pub can_suspend: bool,
    pub can_resume: bool,
    pub can_revoke: bool,
    /// An active HOTP token: its counter can be brought back in step.
    pub can_resync: bool,
}

/// One audit row as a page shows it.
pub struct AuditLine {
    pub id: i64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub source: String,
    pub outcome: String,
    pub detail: String,
}

pub struct SessionLine {
    /// The session id's hash in hex: names the session in the end-session
    /// form (a hash cannot be made into a cookie).
    pub reference: String,
    pub stage: String,
    pub created: String,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub username: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub active: bool,
    pub created: String,
    pub has_answers: bool,
    pub password_failures: u32,
    pub password_blocked_until: String,
    pub answer_failures: u32,
    pub tokens: Vec<TokenLine>,
    pub sessions: Vec<SessionLine>,
    pub recent: Vec<AuditLine>,
    pub roles: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
pub struct TokensPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub serial: String,
    pub kind: String,
    pub state: String,
    pub owner: String,
    pub kinds: Vec<&'static str>,
    pub states: Vec<&'static str>,
    pub tokens: Vec<TokenLine>,
    pub next: Option<String>,
    /// How many hardware tokens wait in the stock, for the link to them.
    pub unassigned: usize,
}

/// An unassigned hardware token as the stock's list shows it.
pub struct StockLine {
    pub serial: String,
    pub serial_grouped: String,
    pub vendor_serial: String,
    pub kind: String,
    pub digits: u8,
    pub imported: String,
}

#[derive(Template)]
#[template(path = "admin/stock.html")]
pub struct StockPage {
    pub chrome: Chrome,
    pub nav: Nav,
    /// What the search asked for (a serial, Latchkey's or the vendor's).
    pub serial: String,
    pub tokens: Vec<StockLine>,
    /// How many matched; more than are shown when above the page's limit.
    pub total: usize,
}

/// The audit filters as the form shows them.
#[derive(Default, Clone)]
pub struct AuditFields {
    pub from: String,
    pub until: String,
    pub actor: String,
    pub user: String,
    pub serial: String,
    pub action: String,
    pub outcome: String,
    pub source: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub fields: AuditFields,
    pub outcomes: Vec<&'static str>,
    pub rows: Vec<AuditLine>,
    /// The filter as a query string, for the export links.
    pub query: String,
    pub next: Option<String>,
    pub first_page: bool,
}

#[derive(Template)]
#[template(path = "admin/verify.html")]
pub struct VerifyPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub intact: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin/done.html")]
pub struct DonePage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub text: String,
    pub code: Option<String>,
    pub back: String,
}

/// The fields of a form that asked for a fresh OTP, carried through the
/// prompt unchanged (the CSRF token is the page's own).
pub struct Carried {
    pub name: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub what: String,
    pub action: String,
    pub carried: Vec<Carried>,
    pub back: String,
}

/// A secret shown once, on the page that made it: an API key, a RADIUS
/// client's shared secret, an OIDC client's secret. Never shown again:
/// only its hash or its sealed form is kept.
#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub heading: String,
    /// What was made, and how to use it.
    pub text: Vec<String>,
    /// The label of the secret.
    pub label: String,
    pub secret: Option<String>,
    pub back: String,
}

pub struct ApiKeyLine {
    pub name: String,
    pub role: String,
    pub revoked: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
pub struct ApiKeysPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub keys: Vec<ApiKeyLine>,
}

pub struct RadiusLine {
    pub name: String,
    pub address: String,
    pub mode: String,
    pub legacy: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/radius.html")]
pub struct RadiusPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub clients: Vec<RadiusLine>,
    pub modes: Vec<&'static str>,
}

pub struct OidcLine {
    pub name: String,
    pub client_id: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub algorithm: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/oidc.html")]
pub struct OidcPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub clients: Vec<OidcLine>,
}

pub struct QuestionLine {
    pub id: i64,
    pub text: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin/questions.html")]
pub struct QuestionsPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub questions: Vec<QuestionLine>,
    /// What was typed, kept after a refusal.
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin/directory.html")]
pub struct DirectoryPage {
    pub chrome: Chrome,
    pub nav: Nav,
    pub configured: bool,
    /// `up`, `down` or `not asked yet`.
    pub state: String,
    pub cause: String,
    pub accounts: usize,
    /// The last sync: when (UTC), who, and what it did; empty if none.
    pub last_sync: Option<AuditLine>,
}

pub struct ImportLineView {
    pub number: usize,
    pub username: String,
    pub serial: String,
    pub kind: String,
    pub problem: String,
}

#[derive(Template)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    pub chrome: Chrome,
    pub nav: Nav,
    /// The report of a JSON-lines dry run or import, if one ran. What was
    /// pasted is never shown again: it holds seeds and password hashes.
    pub report: Option<ImportReportView>,
    /// The report of a PSKC dry run or import, if one ran.
    pub pskc: Option<PskcReportView>,
}

/// A PSKC file's dry run or import: the tokens by serial, or why the
/// whole file was refused.
pub struct PskcReportView {
    pub dry_run: bool,
    /// Why nothing was imported, if so.
    pub refusal: Option<String>,
    pub tokens: Vec<PskcTokenView>,
}

pub struct PskcTokenView {
    pub serial_grouped: String,
    pub vendor_serial: String,
    pub kind: String,
}

pub struct ImportReportView {
    pub dry_run: bool,
    pub clean: bool,
    pub imported: usize,
    pub lines: Vec<ImportLineView>,
}

/// One bar of a chart: an hour and its count, drawn.
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    pub count: i64,
    /// The hour's start, UTC (`13:00`), and its full time for the title.
    pub label: String,
    pub at: String,
    /// Whether the hour's label is written under the axis.
    pub labelled: bool,
}

/// One server-drawn chart of the last 24 hours.
pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    pub colour: &'static str,
    pub total: i64,
    pub max: i64,
    pub bars: Vec<Bar>,
}

pub struct ExpiringLine {
    pub serial: String,
    pub serial_grouped: String,
    pub owner: String,
    pub expires: String,
}
