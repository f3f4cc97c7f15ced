//! The self-service portal: HTML pages that work without JavaScript.
//!
//! Sessions live in the database (any node can serve any request); the
//! cookie carries a 256-bit id whose hash is the key. Every form carries a
//! CSRF token: a MAC, under a key derived from the master key, of a random
//! value in a second cookie, so a page rendered by one node verifies on
//! another. No GET changes anything (S38).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_core::{
    PendingSession, PortalError, PortalSession, SessionId, SessionStage, TokenKind, TokenState,
};
use zeroize::Zeroizing;

use super::AppState;
use super::address_limits::{self, Limited};
use super::pages::*;
use super::visit::{NoFields, PostedForm, Visit, refusal, refusal_text, server_error};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/portal.css", get(stylesheet))
        .route("/login", get(login_page).post(login))
        .route("/login/otp", get(otp_page).post(otp))
        .route("/login/questions", get(challenge_page).post(challenge))
        .route("/logout", post(logout))
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route(RESET_ROUTE, get(reset_page).post(reset))
}

/// The reset link's route; [`reset_link`] makes the addresses mailed.
const RESET_ROUTE: &str = "/password/reset/{link}";

/// The address of a reset link on the configured public URL (S34).
fn reset_link(base_url: &str, token: &str) -> String {
    let path = RESET_ROUTE.replace("{link}", token);
    format!("{}{path}", base_url.trim_end_matches('/'))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/portal.css"),
    )
        .into_response()
}

async fn home(visit: Visit) -> Response {
    let to = match visit.session.as_ref().map(PortalSession::stage) {
        Some(SessionStage::Full) => "/account",
        Some(SessionStage::Recovery) => "/self-service",
        Some(SessionStage::Password) => "/login/otp",
        None => "/login",
    };
    visit.redirect(to)
}

#[derive(serde::Deserialize)]
struct Notice {
    done: Option<String>,
}

async fn login_page(visit: Visit, Query(notice): Query<Notice>) -> Response {
    if visit.full_session().is_some() {
        return visit.redirect("/account");
    }
    let mut chrome = visit.chrome("Sign in");
    chrome.notice = match notice.done.as_deref() {
        Some("signed-out") => Some("You are signed out.".into()),
        Some("password-reset") => Some(
            "Your password is changed. Sign in with it and a one-time password from your token."
                .into(),
        ),
        _ => None,
    };
    visit.page(
        StatusCode::OK,
        LoginPage {
            chrome,
            username: String::new(),
        },
    )
}

/// The sign-in form's first factor.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct LoginForm {
    username: String,
    password: Zeroizing<String>,
}

async fn login(
    PostedForm {
        mut visit,
        fields: LoginForm { username, password },
    }: PostedForm<LoginForm>,
) -> Response {
    let result = visit
        .state
        .app
        .portal_sign_in_on_device(
            &username,
            password,
            &visit.source,
            visit.known_device.as_deref(),
        )
        .await;
    match result {
        Ok(id) => {
            if let Some(old) = visit.session.take() {
                let _ = visit.state.app.portal_sign_out(&old, &visit.source).await;
            }
            visit.set_session(&id);
            visit.redirect("/login/otp")
        }
        Err(error) => match refusal(&error) {
            Some(status) => {
                let mut chrome = visit.chrome("Sign in");
                chrome.alert = Some(refusal_text(&error));
                visit.page(status, LoginPage { chrome, username })
            }
            None => server_error(&error),
        },
    }
}

async fn otp_page(visit: Visit) -> Response {
    if visit.pending_session().is_none() {
        return match visit.full_session() {
            Some(_) => visit.redirect("/account"),
            None => visit.redirect("/login"),
        };
    }
    let chrome = visit.chrome("One-time password");
    visit.page(StatusCode::OK, OtpPage { chrome })
}

/// The second factor: the code the token shows.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct OtpForm {
    otp: String,
}

async fn otp(
    headers: axum::http::HeaderMap,
    PostedForm {
        mut visit,
        fields: OtpForm { otp },
    }: PostedForm<OtpForm>,
) -> Response {
    let Some(session) = visit.pending_session() else {
        return visit.wrong_stage();
    };
    let code = otp.trim();
    let result = visit
        .state
        .app
        .portal_second_factor_on_device(&session, code, &visit.source)
        .await;
    match result {
        Ok((id, device)) => {
            visit.set_session(&id);
            visit.set_known_device(&device);
            // An application's sign-in request waits for this sign-in.
            if crate::oidc::holds_request(&visit.state, &headers) {
                return visit.redirect(crate::oidc::RESUME_PATH);
            }
            // So does a token's unlock link opened signed out.
            if let Some(link) = visit.held_unlock_link() {
                return visit.redirect(&link);
            }
            let needs_answers = match visit.state.app.portal_needs_answers(&session).await {
                Ok(needs) => needs,
                Err(e) => return server_error(&e),
            };
            visit.redirect(if needs_answers {
                "/self-service/questions"
            } else {
                "/account"
            })
        }
        Err(error) => match refusal(&error) {
            Some(status) => {
                let mut chrome = visit.chrome("One-time password");
                chrome.alert = Some(otp_step_refusal(&error));
                visit.page(status, OtpPage { chrome })
            }
            None => server_error(&error),
        },
    }
}

/// The OTP step's refusal. The password is proved by now, so the message
/// may say what is usually wrong: a code already used (signing in twice
/// within one step) or mistyped, and that the next code will do.
fn otp_step_refusal(error: &PortalError) -> String {
    match error {
        PortalError::SignInRefused => "That one-time password is not right, or it was used already. Wait for the next code your token shows and type that one; after several wrong codes, wait a few minutes.".into(),
        other => refusal_text(other),
    }
}

async fn challenge_questions(
    visit: &Visit,
    session: &PendingSession,
) -> Result<Vec<String>, PortalError> {
    Ok(visit
        .state
        .app
        .portal_challenge(session)
        .await?
        .into_iter()
        .map(|q| q.text)
        .collect())
}

async fn challenge_page(visit: Visit) -> Response {
    let Some(session) = visit.pending_session() else {
        return visit.wrong_stage();
    };
    match challenge_questions(&visit, &session).await {
        Ok(questions) => {
            let chrome = visit.chrome("Security questions");
            visit.page(StatusCode::OK, ChallengePage { chrome, questions })
        }
        Err(error) => challenge_refused(visit, error),
    }
}

fn challenge_refused(visit: Visit, error: PortalError) -> Response {
    match refusal(&error) {
        Some(status) => visit.message(
            status,
            "Security questions",
            vec![refusal_text(&error)],
            Some(("/login/otp", "Back to the one-time password")),
        ),
        None => server_error(&error),
    }
}

/// The answers to the security questions, `answer_1`, `answer_2`, … in
/// the order the page asked them (how many is the policy's).
#[derive(serde::Deserialize)]
struct ChallengeForm {
    #[serde(flatten)]
    answers: HashMap<String, Zeroizing<String>>,
}

impl ChallengeForm {
    /// The answers in order, up to the first one missing (at most ten).
    fn in_order(mut self) -> Vec<Zeroizing<String>> {
        (1..=10)
            .map_while(|i| self.answers.remove(&format!("answer_{i}")))
            .collect()
    }
}

async fn challenge(
    PostedForm {
        mut visit,
        fields: form,
    }: PostedForm<ChallengeForm>,
) -> Response {
    let Some(session) = visit.pending_session() else {
        return visit.wrong_stage();
    };
    let answers = form.in_order();
    let result = visit
        .state
        .app
        .portal_answer_challenge(&session, answers, &visit.source)
        .await;
    match result {
        Ok(id) => {
            visit.set_session(&id);
            // Straight to the unlock form (the token's own link, or the
            // user's soft tokens), the usual reason for the questions; the
            // other recovery actions are a link away from it.
            if let Some(link) = visit.held_unlock_link() {
                return visit.redirect(&link);
            }
            match has_soft_token(&visit, &id).await {
                Ok(true) => visit.redirect("/self-service/unlock"),
                Ok(false) => visit.redirect("/self-service"),
                Err(e) => server_error(&e),
            }
        }
        Err(PortalError::AnswersRefused) => {
            // The same questions again (S30).
            match challenge_questions(&visit, &session).await {
                Ok(questions) => {
                    let mut chrome = visit.chrome("Security questions");
                    chrome.alert = Some(refusal_text(&PortalError::AnswersRefused));
                    visit.page(
                        StatusCode::UNAUTHORIZED,
                        ChallengePage { chrome, questions },
                    )
                }
                Err(error) => challenge_refused(visit, error),
            }
        }
        Err(error) => challenge_refused(visit, error),
    }
}

/// Whether the user of the recovery session `id` has an active soft token
/// (one an unlock code can open).
async fn has_soft_token(visit: &Visit, id: &SessionId) -> Result<bool, PortalError> {
    let app = &visit.state.app;
    let Some(session) = app
        .portal_session(id.expose())
        .await?
        .as_ref()
        .and_then(PortalSession::recovery)
    else {
        return Ok(false);
    };
    Ok(app
        .portal_tokens(&session)
        .await?
        .iter()
        .any(|t| t.kind == TokenKind::Latchkey && t.state == TokenState::Active))
}

async fn logout(PostedForm { mut visit, .. }: PostedForm<NoFields>) -> Response {
    if let Some(session) = visit.session.take() {
        if let Err(e) = visit
            .state
            .app
            .portal_sign_out(&session, &visit.source)
            .await
        {
            return server_error(&e);
        }
        // The clients this sign-in let in lose their tokens with it.
        if let Err(e) = visit
            .state
            .app
            .oidc_end_sign_in(&session, &visit.source)
            .await
        {
            return server_error(&e);
        }
    }
    visit.clear_session();
    visit.redirect("/login?done=signed-out")
}

async fn forgot_page(visit: Visit) -> Response {
    let chrome = visit.chrome("I've forgotten my password");
    let directory_help = directory_help(&visit);
    visit.page(
        StatusCode::OK,
        ForgotPage {
            chrome,
            sent: false,
            directory_help,
        },
    )
}

/// "I've forgotten my password": the account's name.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ForgotForm {
    username: String,
}

/// Answers at once and the same for every user name (S31): the lookup, the
/// link and the mail happen after the answer, in the background.
async fn forgot(
    PostedForm {
        visit,
        fields: ForgotForm { username },
    }: PostedForm<ForgotForm>,
) -> Response {
    // Each request adds an audit row: so many per address (S52, L1), the
    // same answer past it whatever the name.
    let node = &visit.state.portal.base_url;
    let now = visit.state.app.clock_now();
    if !address_limits::admit(node, Limited::ResetRequest, &visit.source, now) {
        return visit.message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            vec!["Too many password-reset requests came from your network. Wait ten minutes and try again.".into()],
            Some(("/password/forgot", "Try again")),
        );
    }
    let app = visit.state.app.clone();
    let mailer = visit.state.portal.mailer.clone();
    let base_url = visit.state.portal.base_url.clone();
    let source = visit.source.clone();
    tokio::spawn(async move {
        match app.portal_issue_reset_link(&username, &source).await {
            Ok(Some(issued)) => {
                let mail = issued.mail(&reset_link(&base_url, &issued.token));
                if let Err(e) = mailer.send(mail).await {
                    tracing::warn!(error = %e, "a password-reset mail was not delivered");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "a password-reset request failed"),
        }
    });
    let chrome = visit.chrome("I've forgotten my password");
    let directory_help = directory_help(&visit);
    visit.page(
        StatusCode::OK,
        ForgotPage {
            chrome,
            sent: true,
            directory_help,
        },
    )
}

fn link_gone(visit: Visit) -> Response {
    visit.message(
        StatusCode::GONE,
        "This link does not work any more",
        vec![
            "It was used already, it expired, or a newer link was sent. Ask for a new one.".into(),
        ],
        Some(("/password/forgot", "Ask for a new link")),
    )
}

async fn reset_page(visit: Visit, Path(link): Path<String>) -> Response {
    match visit.state.app.portal_reset_link_works(&link).await {
        Ok(true) => {
            let chrome = visit.chrome("Choose a new password");
            let fields = new_password_fields(false, &FieldErrors::default());
            visit.page(
                StatusCode::OK,
                ResetPage {
                    chrome,
                    link,
                    fields,
                },
            )
        }
        Ok(false) => link_gone(visit),
        Err(e) => server_error(&e),
    }
}

/// The new password, twice, through a reset link.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ResetForm {
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
}

async fn reset(
    Path(link): Path<String>,
    PostedForm {
        visit,
        fields: ResetForm {
            password,
            password_confirm: confirm,
        },
    }: PostedForm<ResetForm>,
) -> Response {
    let result = visit
        .state
        .app
        .portal_reset_password(&link, password, confirm, &visit.source)
        .await;
    match result {
        Ok(mail) => {
            visit.send_mail(mail);
            visit.redirect("/login?done=password-reset")
        }
        Err(PortalError::LinkInvalid) => link_gone(visit),
        Err(PortalError::Field { field, message }) => {
            let chrome = visit.chrome("Choose a new password");
            let fields = new_password_fields(false, &FieldErrors::one(field, message));
            visit.page(
                StatusCode::UNPROCESSABLE_ENTITY,
                ResetPage {
                    chrome,
                    link,
                    fields,
                },
            )
        }
        Err(error) => server_error(&error),
    }
}

/// Where the directory's users recover their password, when one is set:
/// shown to everyone, so it tells nothing about an account.
fn directory_help(visit: &Visit) -> Option<String> {
    visit
        .state
        .lifecycle
        .directory()
        .and_then(|port| port.directory().password_help_url())
        .map(str::to_owned)
}
