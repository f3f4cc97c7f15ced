//! The self-service portal: HTML pages that work without JavaScript.
//!
//! Sessions live in the database (any node can serve any request); the
//! cookie carries a 256-bit id whose hash is the key. Every form carries a
//! CSRF token: a MAC, under a key derived from the master key, of a random
//! value in a second cookie, so a page rendered by one node verifies on
//! another. No GET changes anything (S38).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use latchkey_core::{
    FullSession, Mail, Mailer, PendingSession, PortalError, PortalSession, RecoverySession, Role,
    SessionId, SessionStage,
};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::pages::*;
use super::{AppState, client_address};

/// What the portal needs besides the domain.
pub struct PortalSettings {
    /// The public base URL (links in mail and QR codes, S34).
    pub base_url: String,
    /// Served over TLS (directly or behind a proxy): cookies get `Secure`
    /// and the `__Host-` prefix (S36).
    pub secure_cookies: bool,
    /// Where mail goes.
    pub mailer: Arc<dyn Mailer>,
}

impl PortalSettings {
    fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-latchkey_session"
        } else {
            "latchkey_session"
        }
    }
    fn csrf_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-latchkey_csrf"
        } else {
            "latchkey_csrf"
        }
    }
    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure_cookies {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/portal.css", get(stylesheet))
        .route("/login", get(login_page).post(login))
        .route("/login/otp", get(otp_page).post(otp))
        .route("/login/questions", get(challenge_page).post(challenge))
        .route("/logout", post(logout))
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/reset/{link}", get(reset_page).post(reset))
        .merge(super::self_service::routes())
}

/// One request's view of the visitor: where from, their session if any,
/// and the CSRF token for the forms on the page.
pub struct Visit {
    pub state: AppState,
    pub source: String,
    pub session: Option<PortalSession>,
    pub csrf: String,
    csrf_seed: Option<String>,
    set_cookies: Vec<String>,
}

fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let source = client_address(state, peer, &parts.headers);
        let settings = &state.portal;
        let jar = cookies(&parts.headers);
        let mut set_cookies = Vec::new();
        let csrf_seed = jar
            .get(settings.csrf_cookie())
            .filter(|v| v.len() == 43)
            .cloned();
        let seed = match &csrf_seed {
            Some(seed) => seed.clone(),
            None => {
                let seed = random_token();
                set_cookies.push(settings.cookie(settings.csrf_cookie(), &seed, None));
                seed
            }
        };
        let csrf = HEXLOWER.encode(&state.app.keyed_digest("portal-csrf", seed.as_bytes()));
        let session_cookie = jar.get(settings.session_cookie()).cloned();
        let session = match &session_cookie {
            Some(id) => state
                .app
                .portal_session(id)
                .await
                .map_err(|e| server_error(&e))?,
            None => None,
        };
        if session_cookie.is_some() && session.is_none() {
            // A stale cookie: drop it so the browser stops sending it.
            set_cookies.push(settings.cookie(settings.session_cookie(), "", Some(0)));
        }
        Ok(Visit {
            state: state.clone(),
            source,
            session,
            csrf,
            csrf_seed,
            set_cookies,
        })
    }
}

impl Visit {
    /// The frame of a page.
    pub fn chrome(&self, title: &str) -> Chrome {
        let signed_in = self
            .session
            .as_ref()
            .filter(|s| s.stage() != SessionStage::Password);
        Chrome {
            title: title.to_owned(),
            csrf: self.csrf.clone(),
            user: signed_in.map(|s| s.user().username.to_string()),
            helpdesk: signed_in.is_some_and(|s| {
                s.stage() == SessionStage::Full
                    && matches!(s.user().role, Role::Helpdesk | Role::Admin)
            }),
            notice: None,
            alert: None,
        }
    }

    /// Whether a form's `csrf` field matches this visitor's cookie (S38).
    pub fn csrf_ok(&self, form: &HashMap<String, String>) -> bool {
        self.csrf_seed.is_some()
            && form
                .get("csrf")
                .is_some_and(|given| bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes())))
    }

    /// The page, with the cookies this visit sets.
    pub fn page(self, status: StatusCode, page: impl Template) -> Response {
        match page.render() {
            Ok(html) => self.finish((status, Html(html)).into_response()),
            Err(e) => server_error(&e),
        }
    }

    /// A 303 to `to`.
    pub fn redirect(self, to: &str) -> Response {
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(location) = HeaderValue::from_str(to) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        self.finish(response)
    }

    fn finish(self, mut response: Response) -> Response {
        for cookie in self.set_cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }

    /// Starts using a new session id (after each factor, S35).
    pub fn set_session(&mut self, id: &SessionId) {
        let settings = &self.state.portal;
        self.set_cookies
            .retain(|c| !c.starts_with(settings.session_cookie()));
        self.set_cookies
            .push(settings.cookie(settings.session_cookie(), id.expose(), None));
    }

    fn clear_session(&mut self) {
        let settings = &self.state.portal;
        self.set_cookies
            .push(settings.cookie(settings.session_cookie(), "", Some(0)));
    }

    /// A message page.
    pub fn message(
        self,
        status: StatusCode,
        title: &str,
        paragraphs: Vec<String>,
        link: Option<(&'static str, &'static str)>,
    ) -> Response {
        let page = MessagePage {
            chrome: self.chrome(title),
            heading: title.to_owned(),
            paragraphs,
            code: None,
            code_id: "code",
            link,
        };
        self.page(status, page)
    }

    /// The answer to a form without a valid CSRF token.
    pub fn forbidden_form(self) -> Response {
        self.message(
            StatusCode::FORBIDDEN,
            "This form has expired",
            vec!["The form was not sent from this site's page, or the page is too old. Go back, reload the page and send the form again.".into()],
            Some(("/", "Start again")),
        )
    }

    /// Where a visitor without the right session goes: to sign in, or to
    /// the second factor, or a refusal for a recovery session (S28).
    pub fn wrong_stage(self) -> Response {
        match self.session.as_ref().map(PortalSession::stage) {
            None => self.redirect("/login"),
            Some(SessionStage::Password) => self.redirect("/login/otp"),
            Some(_) => self.message(
                StatusCode::FORBIDDEN,
                "This page needs a full sign-in",
                vec!["You signed in with your security questions, which open the recovery actions only. Unlock or replace your token, then sign out and sign in with it.".into()],
                Some(("/self-service", "Back to the recovery actions")),
            ),
        }
    }

    /// The session, if it is at the password step.
    pub fn pending_session(&self) -> Option<PendingSession> {
        self.session.as_ref().and_then(PortalSession::pending)
    }

    /// The session, if it is a full one.
    pub fn full_session(&self) -> Option<FullSession> {
        self.session.as_ref().and_then(PortalSession::full)
    }

    /// The session, if it may take the recovery actions (full or recovery).
    pub fn recovery_session(&self) -> Option<RecoverySession> {
        self.session.as_ref().and_then(PortalSession::recovery)
    }

    /// Sends a mail in the background; a failure is logged, never shown.
    pub fn send_mail(&self, mail: Option<Mail>) {
        if let Some(mail) = mail {
            let mailer = self.state.portal.mailer.clone();
            tokio::spawn(async move {
                if let Err(e) = mailer.send(mail).await {
                    tracing::warn!(error = %e, "a mail was not delivered");
                }
            });
        }
    }
}

/// An unexpected failure: logged with its cause, answered with an opaque 500.
pub fn server_error(cause: &dyn std::error::Error) -> Response {
    let chain = crate::report::error_chain(cause);
    tracing::error!(error = %chain, "portal request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<!doctype html><title>Error · Latchkey</title><h1>Something went wrong</h1><p>The server could not complete the request. Try again in a moment; if it keeps happening, tell your help desk.</p>"),
    )
        .into_response()
}

/// The status and message for a refused portal operation; `None` for the
/// unexpected ones, which become a 500.
pub fn refusal(error: &PortalError) -> Option<StatusCode> {
    Some(match error {
        PortalError::SignInRefused | PortalError::AnswersRefused => StatusCode::UNAUTHORIZED,
        PortalError::NoAnswers => StatusCode::FORBIDDEN,
        PortalError::SessionEnded => StatusCode::UNAUTHORIZED,
        PortalError::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        PortalError::LinkInvalid => StatusCode::GONE,
        PortalError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        PortalError::Refused(_) => StatusCode::CONFLICT,
        PortalError::Store(_) | PortalError::Cipher(_) => return None,
    })
}

fn secret(form: &mut HashMap<String, String>, name: &str) -> Zeroizing<String> {
    Zeroizing::new(form.remove(name).unwrap_or_default())
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

async fn login(mut visit: Visit, Form(mut form): Form<HashMap<String, String>>) -> Response {
    if !visit.csrf_ok(&form) {
        return visit.forbidden_form();
    }
    let username = form.remove("username").unwrap_or_default();
    let password = secret(&mut form, "password");
    let result = visit
        .state
        .app
        .portal_sign_in(&username, password, &visit.source)
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
                chrome.alert = Some(error.to_string());
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

async fn otp(mut visit: Visit, Form(form): Form<HashMap<String, String>>) -> Response {
    if !visit.csrf_ok(&form) {
        return visit.forbidden_form();
    }
    let Some(session) = visit.pending_session() else {
        return visit.wrong_stage();
    };
    let code = form.get("otp").map(String::as_str).unwrap_or("").trim();
    let result = visit
        .state
        .app
        .portal_second_factor(&session, code, &visit.source)
        .await;
    match result {
        Ok(id) => {
            visit.set_session(&id);
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
                chrome.alert = Some(error.to_string());
                visit.page(status, OtpPage { chrome })
            }
            None => server_error(&error),
        },
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
            vec![error.to_string()],
            Some(("/login/otp", "Back to the one-time password")),
        ),
        None => server_error(&error),
    }
}

async fn challenge(mut visit: Visit, Form(mut form): Form<HashMap<String, String>>) -> Response {
    if !visit.csrf_ok(&form) {
        return visit.forbidden_form();
    }
    let Some(session) = visit.pending_session() else {
        return visit.wrong_stage();
    };
    let answers: Vec<Zeroizing<String>> = (1..=10)
        .map_while(|i| form.remove(&format!("answer_{i}")).map(Zeroizing::new))
        .collect();
    let result = visit
        .state
        .app
        .portal_answer_challenge(&session, answers, &visit.source)
        .await;
    match result {
        Ok(id) => {
            visit.set_session(&id);
            visit.redirect("/self-service")
        }
        Err(PortalError::AnswersRefused) => {
            // The same questions again (S30).
            match challenge_questions(&visit, &session).await {
                Ok(questions) => {
                    let mut chrome = visit.chrome("Security questions");
                    chrome.alert = Some(PortalError::AnswersRefused.to_string());
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

async fn logout(mut visit: Visit, Form(form): Form<HashMap<String, String>>) -> Response {
    if !visit.csrf_ok(&form) {
        return visit.forbidden_form();
    }
    if let Some(session) = visit.session.take()
        && let Err(e) = visit
            .state
            .app
            .portal_sign_out(&session, &visit.source)
            .await
    {
        return server_error(&e);
    }
    visit.clear_session();
    visit.redirect("/login?done=signed-out")
}

async fn forgot_page(visit: Visit) -> Response {
    let chrome = visit.chrome("I've forgotten my password");
    visit.page(
        StatusCode::OK,
        ForgotPage {
            chrome,
            sent: false,
        },
    )
}

/// Answers at once and the same for every user name (S31): the lookup, the
/// link and the mail happen after the answer, in the background.
async fn forgot(visit: Visit, Form(form): Form<HashMap<String, String>>) -> Response {
    if !visit.csrf_ok(&form) {
        return visit.forbidden_form();
    }
    let username = form.get("username").cloned().unwrap_or_default();
    let app = visit.state.app.clone();
    let mailer = visit.state.portal.mailer.clone();
    let base_url = visit.state.portal.base_url.clone();
    let source = visit.source.clone();
    tokio::spawn(async move {
        match app
            .portal_request_reset(&username, &base_url, &source)
            .await
        {
            Ok(Some(mail)) => {
                if let Err(e) = mailer.send(mail).await {
                    tracing::warn!(error = %e, "a password-reset mail was not delivered");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "a password-reset request failed"),
        }
    });
    let chrome = visit.chrome("I've forgotten my password");
    visit.page(StatusCode::OK, ForgotPage { chrome, sent: true })
}

fn link_gone(visit: Visit) -> Response {
    visit.message(
        StatusCode::GONE,
        "This link does not work any more",
        vec![PortalError::LinkInvalid.to_string()],
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

async fn reset(
    visit: Visit,
    Path(link): Path<String>,
    Form(mut form): Form<HashMap<String, String>>,
) -> Response {
    if !visit.csrf_ok(&form) {
        return visit.forbidden_form();
    }
    let password = secret(&mut form, "password");
    let confirm = secret(&mut form, "password_confirm");
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
