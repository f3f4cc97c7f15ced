//! The help desk's page: find a user, see their tokens, and act on them.

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::{AdminError, AdminErrorKind, Helpdesk};

use super::pages::*;
use super::visit::{PostedForm, Visit, server_error};

pub fn routes() -> Router<super::AppState> {
    Router::new()
        .route("/helpdesk", get(helpdesk_page))
        .route("/helpdesk/{action}", post(helpdesk_action))
}

#[derive(serde::Deserialize)]
struct Find {
    username: Option<String>,
}

const HELPDESK_ACTIONS: &[(&str, &str)] = &[
    (
        "clear-lockouts",
        "Clear the password throttle and token locks",
    ),
    (
        "reset-questions",
        "Remove the security answers (the user chooses new ones)",
    ),
    ("issue-token", "Issue a new soft token (activation code)"),
];

async fn helpdesk_page(visit: Visit, Query(find): Query<Find>) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let Some(helpdesk) = visit.state.app.portal_helpdesk(&session, &visit.source) else {
        return not_helpdesk(visit);
    };
    let query = find.username.unwrap_or_default();
    let mut found = None;
    let mut alert = None;
    if !query.trim().is_empty() {
        match find_user(&visit, &helpdesk, &query).await {
            Ok(Some(user)) => found = Some(user),
            Ok(None) => {
                alert = Some(format!(
                    "No user is named {:?}. Check the spelling.",
                    query.trim()
                ))
            }
            Err(response) => return response,
        }
    }
    let mut chrome = visit.chrome("Help desk");
    chrome.alert = alert;
    visit.page(
        StatusCode::OK,
        HelpdeskPage {
            chrome,
            query,
            found,
            actions: HELPDESK_ACTIONS.to_vec(),
        },
    )
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
        .helpdesk_find_user(helpdesk, name)
        .await
        .map_err(|e| server_error(&e))?;
    Ok(found.map(|found| FoundUser {
        username: found.user.username.to_string(),
        status: found.user.status.to_string(),
        role: found.user.role.to_string(),
        has_answers: found.has_answers,
        throttled: found.user.password_failures > 0,
        tokens: found.tokens.iter().map(token_row).collect(),
    }))
}

/// What a help-desk action reports: a sentence, and perhaps a code to read
/// out with the id of the element that shows it.
type HelpdeskOutcome = (String, Option<(String, &'static str)>);

async fn helpdesk_action(
    axum::extract::Path(action): axum::extract::Path<String>,
    PostedForm {
        visit,
        fields: form,
    }: PostedForm,
) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let Some(helpdesk) = visit.state.app.portal_helpdesk(&session, &visit.source) else {
        return not_helpdesk(visit);
    };
    let app = visit.state.app.clone();
    let username = form.get("username").cloned().unwrap_or_default();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let back = Some(("/helpdesk", "Back to the help desk"));
    let outcome: Result<HelpdeskOutcome, AdminError> = match action.as_str() {
        "unlock" => app
            .issue_unlock_code(&helpdesk, field("serial"), field("reset_code").trim())
            .await
            .map(|code| {
                (
                    format!("Read this unlock code to {username}. It opens their soft token once."),
                    Some((code.grouped(), "unlock-code")),
                )
            }),
        "resume" => app
            .helpdesk_resume_token(&helpdesk, field("serial"))
            .await
            .map(|()| (format!("Token {} of {username} works again.", field("serial")), None)),
        "clear-lockouts" => app
            .clear_lockouts(&helpdesk, &username)
            .await
            .map(|()| (format!("The password throttle and token locks of {username} are cleared."), None)),
        "reset-questions" => app.reset_answers(&helpdesk, &username).await.map(|()| {
            (
                format!("The security answers of {username} are removed; they choose new ones at their next sign-in."),
                None,
            )
        }),
        "issue-token" => app.helpdesk_issue_token(&helpdesk, &username).await.map(|(serial, mail)| {
            // The activation code goes to the user, never to this screen (S49).
            visit.send_mail(Some(mail));
            (
                format!(
                    "Soft token {} is issued for {username}. Its activation code was mailed to them; they activate the token themselves.",
                    serial.grouped()
                ),
                None,
            )
        }),
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
        Err(AdminError::Store(e)) => server_error(&e),
        Err(AdminError::Cipher(e)) => server_error(&e),
        Err(error) => {
            let status = match error.kind() {
                AdminErrorKind::NotFound => StatusCode::NOT_FOUND,
                AdminErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                AdminErrorKind::Forbidden => StatusCode::FORBIDDEN,
                AdminErrorKind::Malformed => StatusCode::UNPROCESSABLE_ENTITY,
                // Unexpected errors were answered above.
                AdminErrorKind::Conflict | AdminErrorKind::Unexpected => StatusCode::CONFLICT,
            };
            visit.message(status, "Help desk", vec![error.to_string()], back)
        }
    }
}
