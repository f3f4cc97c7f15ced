//! The help desk's page: find a user by part of a name or mail address,
//! see their card (mail, last sign-in, recent events, tokens with the soft
//! token's PIN lock as far as the server knows), and act on them. The
//! destructive actions ask once more before they act, and an unlock code is
//! issued only once the agent says they verified the caller (UX-REVIEW
//! F29–F32).

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::console::TokenStatus;
use latchkey_core::{AdminError, AdminErrorKind, Helpdesk, TokenKind, TokenState};

use super::admin::time::utc;
use super::pages::*;
use super::visit::{PostedForm, Visit, server_error};

pub fn routes() -> Router<super::AppState> {
    Router::new()
        .route("/helpdesk", get(helpdesk_page))
        .route("/helpdesk/{action}", post(helpdesk_action))
}

/// Users per page of a search.
const PAGE: i64 = 20;

#[derive(serde::Deserialize)]
struct Find {
    /// Part of a name or mail address: a list of the users that match.
    #[serde(default)]
    q: String,
    /// The last name of the page before (paging).
    #[serde(default)]
    after: String,
    /// A user's exact name: their card.
    #[serde(default)]
    username: String,
}

/// A user in a search's list.
struct FoundLine {
    username: String,
    email: String,
    role: String,
    status: String,
}

/// A token on the user's card.
struct CardToken {
    serial: String,
    serial_grouped: String,
    kind: String,
    state: String,
    /// Locked on the server after wrong one-time passwords.
    locked: bool,
    /// A soft token (it has a PIN and unlock slots).
    soft: bool,
    /// PIN-locked as far as the server knows: an unlock code issued, and
    /// no later code accepted (F30).
    pin_locked: bool,
    /// When the latest unlock code was issued, if ever.
    unlock_issued: String,
    can_resume: bool,
}

/// An audit row on the user's card.
struct CardEvent {
    time: String,
    actor: String,
    action: String,
    outcome: String,
    source: String,
    detail: String,
}

/// A user as the help desk sees them.
struct FoundUser {
    username: String,
    email: String,
    status: String,
    role: String,
    has_answers: bool,
    last_sign_in: String,
    password_failures: u32,
    within_reach: bool,
    tokens: Vec<CardToken>,
    recent: Vec<CardEvent>,
}

#[derive(Template)]
#[template(path = "helpdesk.html")]
struct HelpdeskPage {
    chrome: Chrome,
    query: String,
    /// A search's matches (empty when none was asked or none matched).
    results: Vec<FoundLine>,
    next: Option<String>,
    found: Option<FoundUser>,
    actions: Vec<(&'static str, &'static str, &'static str)>,
}

/// "Are you sure?" before a destructive action (F31).
#[derive(Template)]
#[template(path = "helpdesk_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    heading: String,
    paragraphs: Vec<String>,
    action: String,
    username: String,
    button: &'static str,
    back: String,
}

/// A soft token the help desk issued: where the activation code went, and
/// how the user activates it (F32). The code itself never shows here (S49).
#[derive(Template)]
#[template(path = "helpdesk_issued.html")]
struct IssuedPage {
    chrome: Chrome,
    username: String,
    serial: String,
    serial_digits: String,
    sent_to: String,
    server: String,
    phone_link: String,
    qr_svg: String,
    back: String,
}

/// The actions below the card: path, button, and what it does.
const HELPDESK_ACTIONS: &[(&str, &str, &str)] = &[
    (
        "clear-lockouts",
        "Clear the server's locks",
        "Lets the user try their password, answers and one-time passwords again after too many wrong ones. It does not open a PIN-locked soft token: for that, issue an unlock code above.",
    ),
    (
        "reset-questions",
        "Remove the security answers",
        "The user chooses new questions and answers at their next sign-in; until then they cannot recover on their own.",
    ),
    (
        "issue-token",
        "Issue a new soft token",
        "Its activation code is mailed to the user, never shown here.",
    ),
];

/// What a destructive action says before it acts: heading, what happens,
/// and the button that does it.
fn confirmation(action: &str, username: &str) -> Option<(String, String, &'static str)> {
    Some(match action {
        "clear-lockouts" => (
            format!("Clear the server's locks of {username}?"),
            "Their wrong-password and wrong-answer counts are cleared, and every token of theirs that the server locked after wrong one-time passwords works again. A PIN-locked soft token stays locked: it needs an unlock code.".into(),
            "Yes, clear the locks",
        ),
        "reset-questions" => (
            format!("Remove the security answers of {username}?"),
            "Their answers are deleted. They choose new ones at their next sign-in, and until then they cannot get back in on their own with a locked or lost token.".into(),
            "Yes, remove the answers",
        ),
        "issue-token" => (
            format!("Issue a new soft token for {username}?"),
            "A new soft token is added to their account, and its activation code is mailed to them. Whoever activates it holds a second factor of the account.".into(),
            "Yes, issue the token",
        ),
        _ => return None,
    })
}

async fn helpdesk_page(visit: Visit, Query(find): Query<Find>) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let Some(helpdesk) = visit.state.app.portal_helpdesk(&session, &visit.source) else {
        return not_helpdesk(visit);
    };
    let mut page = HelpdeskPage {
        chrome: visit.chrome("Help desk"),
        query: find.q.clone(),
        results: Vec::new(),
        next: None,
        found: None,
        actions: HELPDESK_ACTIONS.to_vec(),
    };
    if !find.username.trim().is_empty() {
        match find_user(&visit, &helpdesk, &find.username).await {
            Ok(Some(user)) => page.found = Some(user),
            Ok(None) => {
                page.chrome.alert = Some(format!(
                    "No user is named {:?}. Check the spelling, or search by part of the name or e-mail address.",
                    find.username.trim()
                ))
            }
            Err(response) => return response,
        }
    } else if !find.q.trim().is_empty() {
        let users = match visit
            .state
            .app
            .helpdesk_search_users(&helpdesk, &find.q, &find.after, PAGE)
            .await
        {
            Ok(users) => users,
            Err(e) => return server_error(&e),
        };
        if users.is_empty() {
            page.chrome.alert = Some(format!(
                "No user's name or e-mail address contains {:?}.",
                find.q.trim()
            ));
        }
        page.next = (users.len() as i64 == PAGE)
            .then(|| users.last())
            .flatten()
            .map(|last| {
                format!(
                    "/helpdesk?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("q", &find.q)
                        .append_pair("after", last.username.as_str())
                        .finish()
                )
            });
        page.results = users
            .iter()
            .map(|user| FoundLine {
                username: user.username.to_string(),
                email: user.email.clone().unwrap_or_default(),
                role: user.role.to_string(),
                status: user.status.to_string(),
            })
            .collect();
    }
    visit.page(StatusCode::OK, page)
}

fn not_helpdesk(visit: Visit) -> Response {
    visit.message(
        StatusCode::FORBIDDEN,
        "Help desk",
        vec!["These pages are for the help desk. Ask an administrator if you need them.".into()],
        Some(("/account", "Back to my account")),
    )
}

async fn find_user(
    visit: &Visit,
    helpdesk: &Helpdesk,
    name: &str,
) -> Result<Option<FoundUser>, Response> {
    let found = visit
        .state
        .app
        .helpdesk_find_user(helpdesk, name.trim())
        .await
        .map_err(|e| server_error(&e))?;
    Ok(found.map(|found| FoundUser {
        username: found.user.username.to_string(),
        email: found.user.email.clone().unwrap_or_default(),
        status: found.user.status.to_string(),
        role: found.user.role.to_string(),
        has_answers: found.has_answers,
        last_sign_in: found.last_sign_in.map(utc).unwrap_or_default(),
        password_failures: found.user.password_failures,
        within_reach: found.within_reach,
        tokens: found.tokens.iter().map(card_token).collect(),
        recent: found
            .recent
            .iter()
            .map(|row| CardEvent {
                time: utc(row.event.at),
                actor: row.event.actor.clone(),
                action: row.event.action.to_string(),
                outcome: row.event.outcome.to_string(),
                source: row.event.source.clone(),
                detail: row.event.detail.clone(),
            })
            .collect(),
    }))
}

fn card_token(status: &TokenStatus) -> CardToken {
    let token = &status.token;
    CardToken {
        serial: token.serial.to_string(),
        serial_grouped: token.serial.grouped(),
        kind: token.kind.to_string(),
        state: token.state.to_string(),
        locked: token.locked,
        soft: token.kind == TokenKind::Latchkey,
        pin_locked: status.pin_locked,
        unlock_issued: status.unlock_issued_at.map(utc).unwrap_or_default(),
        can_resume: token.state == TokenState::Suspended,
    }
}

fn grouped(serial: &str) -> String {
    serial
        .parse::<latchkey_core::oath::Serial>()
        .map(|s| s.grouped())
        .unwrap_or_else(|_| serial.to_owned())
}

fn card_link(username: &str) -> String {
    format!(
        "/helpdesk?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", username)
            .finish()
    )
}

/// What a help-desk action reports: a sentence, and perhaps a code to read
/// out with the id of the element that shows it.
type HelpdeskOutcome = (String, Option<(String, &'static str)>);

/// A help-desk action's form: whom it is for, the token when it is about
/// one, and the agent's two ticks (`yes`): the confirmation of a
/// destructive action and the caller's verification before an unlock code.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ActionForm {
    username: String,
    serial: String,
    reset_code: String,
    confirmed: String,
    caller_verified: String,
}

async fn helpdesk_action(
    axum::extract::Path(action): axum::extract::Path<String>,
    PostedForm {
        visit,
        fields: form,
    }: PostedForm<ActionForm>,
) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let Some(helpdesk) = visit.state.app.portal_helpdesk(&session, &visit.source) else {
        return not_helpdesk(visit);
    };
    let app = visit.state.app.clone();
    let username = form.username.trim().to_owned();
    let back = Some(("/helpdesk", "Back to the help desk"));
    // A destructive action asks once more (F31); the refusals that need no
    // answer (no such user, beyond reach) come before the question.
    if let Some((heading, explained, button)) = confirmation(&action, &username)
        && form.confirmed != "yes"
    {
        if let Err(error) = app.helpdesk_reaches(&helpdesk, &username).await {
            return refused(visit, error);
        }
        let page = ConfirmPage {
            chrome: visit.chrome("Help desk"),
            heading,
            paragraphs: vec![explained],
            action: action.clone(),
            username: username.clone(),
            button,
            back: card_link(&username),
        };
        return visit.page(StatusCode::OK, page);
    }
    let outcome: Result<HelpdeskOutcome, AdminError> = match action.as_str() {
        "unlock" => {
            // The agent vouches for who is calling before a code that opens
            // the token is read out (F31); nothing is issued otherwise.
            if form.caller_verified != "yes" {
                return visit.message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Verify the caller first",
                    vec![format!(
                        "An unlock code opens the soft token of {username}. Check that the caller is {username} (call them back on the number on file, or compare what they tell you with the card), then tick the box and issue the code."
                    )],
                    back,
                );
            }
            app.issue_unlock_code(&helpdesk, &form.serial, form.reset_code.trim())
                .await
                .map(|code| {
                    (
                        format!("Read this unlock code to {username}. It opens their soft token once."),
                        Some((code.grouped(), "unlock-code")),
                    )
                })
        }
        "resume" => app
            .helpdesk_resume_token(&helpdesk, &form.serial)
            .await
            .map(|()| (format!("Token {} of {username} works again.", grouped(&form.serial)), None)),
        "clear-lockouts" => app
            .clear_lockouts(&helpdesk, &username)
            .await
            .map(|()| (format!("The server's locks of {username} are cleared: wrong passwords, answers and one-time passwords. A PIN-locked soft token still needs an unlock code."), None)),
        "reset-questions" => app.reset_answers(&helpdesk, &username).await.map(|()| {
            (
                format!("The security answers of {username} are removed; they choose new ones at their next sign-in."),
                None,
            )
        }),
        "issue-token" => {
            return match app.helpdesk_issue_token(&helpdesk, &username).await {
                Ok((serial, mail)) => {
                    let sent_to = mail.to.clone();
                    // The activation code goes to the user, never to this
                    // screen (S49).
                    visit.send_mail(Some(mail));
                    issued_page(visit, username, serial, sent_to)
                }
                Err(error) => refused(visit, error),
            };
        }
        _ => {
            return visit.message(StatusCode::NOT_FOUND, "Help desk", vec!["There is no such help-desk action.".into()], back);
        }
    };
    match outcome {
        Ok((text, code)) => {
            let chrome = visit.chrome("Help desk");
            let (code, code_id) = match code {
                Some((code, id)) => (Some(code), id),
                None => (None, "code"),
            };
            visit.page(
                StatusCode::OK,
                MessagePage {
                    chrome,
                    heading: "Done".into(),
                    paragraphs: vec![text],
                    code,
                    code_id,
                    link: back,
                },
            )
        }
        Err(error) => refused(visit, error),
    }
}

/// The answer to a refused action: the unexpected ones are an opaque 500,
/// the others say what was wrong, with the status that fits.
fn refused(visit: Visit, error: AdminError) -> Response {
    let status = match &error {
        AdminError::Store(e) => return server_error(e),
        AdminError::Cipher(e) => return server_error(e),
        error => match error.kind() {
            AdminErrorKind::NotFound => StatusCode::NOT_FOUND,
            AdminErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AdminErrorKind::Forbidden => StatusCode::FORBIDDEN,
            AdminErrorKind::Malformed => StatusCode::UNPROCESSABLE_ENTITY,
            AdminErrorKind::Conflict => StatusCode::CONFLICT,
            // Every unexpected error was answered above.
            AdminErrorKind::Unexpected => return server_error(error),
        },
    };
    visit.message(
        status,
        "Help desk",
        vec![error.to_string()],
        Some(("/helpdesk", "Back to the help desk")),
    )
}

/// The page after the help desk issued a soft token: the mail address the
/// activation code went to, the server address, the command and a QR code
/// of the phone app's link with the serial filled in; the user types the
/// activation code from the mail.
fn issued_page(
    visit: Visit,
    username: String,
    serial: latchkey_core::oath::Serial,
    sent_to: String,
) -> Response {
    let server = visit.state.portal.base_url.clone();
    let phone_link = super::app::phone_link(&visit.state, serial.digits(), None);
    let qr_svg = match qrcode::QrCode::new(phone_link.as_bytes()) {
        Ok(qr) => qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(192, 192)
            .build(),
        Err(e) => return server_error(&e),
    };
    let page = IssuedPage {
        chrome: visit.chrome("Help desk"),
        back: card_link(&username),
        username,
        serial: serial.grouped(),
        serial_digits: serial.digits().to_owned(),
        sent_to,
        server,
        phone_link,
        qr_svg,
    };
    visit.page(StatusCode::OK, page)
}
