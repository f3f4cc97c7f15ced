//! What every portal request starts from: the visit (who, from where, with
//! which session and CSRF token), the posted form whose token was checked,
//! and the portal's two answers to the unexpected.
//!
//! Sessions live in the database (any node can serve any request); the
//! cookie carries a 256-bit id whose hash is the key. Every form carries a
//! CSRF token: a MAC, under a key derived from the master key, of a random
//! value in a second cookie, so a page rendered by one node verifies on
//! another.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use latchkey_core::{
    AdminErrorKind, FullSession, KnownDevice, Mail, Mailer, PendingSession, PortalError,
    PortalSession, RecoverySession, Role, SessionId, SessionStage,
};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

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
    /// How users reach the help desk (`helpdesk_contact`), on every page.
    pub helpdesk_contact: Option<String>,
}

impl PortalSettings {
    pub(super) fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-latchkey_session"
        } else {
            "latchkey_session"
        }
    }
    pub(super) fn csrf_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-latchkey_csrf"
        } else {
            "latchkey_csrf"
        }
    }
    /// The known-device cookie (S47): set after a complete sign-in, it lets
    /// the browser through the account-wide password wait.
    pub(super) fn device_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-latchkey_device"
        } else {
            "latchkey_device"
        }
    }
    /// The unlock link a signed-out visitor opened, held through the
    /// sign-in (see [`Visit::held_unlock_link`]).
    pub(super) fn unlock_link_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-latchkey_unlock_link"
        } else {
            "latchkey_unlock_link"
        }
    }
    pub(super) fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
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

/// One request's view of the visitor: where from, their session if any,
/// and the CSRF token for the forms on the page.
pub struct Visit {
    pub state: AppState,
    pub source: String,
    pub session: Option<PortalSession>,
    pub csrf: String,
    /// The known-device cookie's value, if the browser sent one (S47).
    pub known_device: Option<String>,
    /// The request's path and query.
    target: String,
    /// The unlock link held through the sign-in, if any.
    held_unlock: Option<String>,
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

pub(super) fn random_token() -> String {
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
        let known_device = jar.get(settings.device_cookie()).cloned();
        let held_unlock = jar
            .get(settings.unlock_link_cookie())
            .and_then(|held| unlock_link_query(held));
        let target = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        Ok(Visit {
            state: state.clone(),
            source,
            session,
            csrf,
            known_device,
            target,
            held_unlock,
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
            console: signed_in.is_some_and(|s| {
                s.stage() == SessionStage::Full
                    && matches!(s.user().role, Role::Admin | Role::Auditor)
            }),
            helpdesk_contact: self.state.portal.helpdesk_contact.clone(),
            notice: None,
            alert: None,
        }
    }

    /// Whether a form's `csrf` field matches this visitor's cookie (S38).
    fn csrf_ok(&self, given: &str) -> bool {
        self.csrf_seed.is_some() && bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
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

    /// Remembers this browser as a known device of the user who just
    /// signed in completely (S47).
    pub fn set_known_device(&mut self, device: &KnownDevice) {
        let settings = &self.state.portal;
        let name = settings.device_cookie();
        self.set_cookies.retain(|c| !c.starts_with(name));
        self.set_cookies.push(settings.cookie(
            name,
            device.expose(),
            Some(latchkey_core::KNOWN_DEVICE_LIFETIME),
        ));
    }

    pub(super) fn clear_session(&mut self) {
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
    /// the second factor, or a refusal for a recovery session (S28). A
    /// signed-out visitor who opened a token's unlock link
    /// (`/self-service/unlock?serial=…&reset_code=…`) is brought back to it
    /// after the sign-in, the reset code filled in.
    pub fn wrong_stage(mut self) -> Response {
        let stage = self.session.as_ref().map(PortalSession::stage);
        if matches!(stage, None | Some(SessionStage::Password)) {
            self.hold_unlock_link();
        }
        match stage {
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

    /// Holds this request through the sign-in if it is a token's unlock
    /// link: its serial and reset code (no secret: a reset code yields
    /// nothing without a recovery session) in a short-lived cookie.
    fn hold_unlock_link(&mut self) {
        let Some(query) = self.target.strip_prefix("/self-service/unlock?") else {
            return;
        };
        let Some(held) = unlock_link_query(query) else {
            return;
        };
        let settings = &self.state.portal;
        let name = settings.unlock_link_cookie();
        self.set_cookies.retain(|c| !c.starts_with(name));
        self.set_cookies
            .push(settings.cookie(name, &held, Some(UNLOCK_LINK_LIFETIME)));
    }

    /// Where the sign-in that just ended goes when a token's unlock link
    /// waited for it: that link (and the hold is let go), else nothing.
    pub fn held_unlock_link(&mut self) -> Option<String> {
        let held = self.held_unlock.take()?;
        let settings = &self.state.portal;
        self.set_cookies
            .push(settings.cookie(settings.unlock_link_cookie(), "", Some(0)));
        Some(format!("/self-service/unlock?{held}"))
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
        super::send_mail(&self.state, mail);
    }
}

/// Seconds a held unlock link waits for the sign-in.
const UNLOCK_LINK_LIFETIME: i64 = 30 * 60;

/// An unlock link's query (`serial=…&reset_code=…`) in a form safe to
/// hold in a cookie and to put back in a link: each value cut to the
/// digits and dashes a serial or a reset code is written with (at most
/// 20). None when it names neither.
fn unlock_link_query(query: &str) -> Option<String> {
    let mut serial = None;
    let mut reset_code = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let clean: String = value
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .take(20)
            .collect();
        match name.as_ref() {
            "serial" if !clean.is_empty() => serial = Some(clean),
            "reset_code" if !clean.is_empty() => reset_code = Some(clean),
            _ => {}
        }
    }
    let pairs: Vec<String> = [("serial", serial), ("reset_code", reset_code)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| format!("{name}={value}")))
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("&"))
}

/// An unexpected failure: logged with its cause, answered with an opaque 500.
pub fn server_error(cause: &dyn std::error::Error) -> Response {
    let chain = crate::report::error_chain(cause);
    tracing::error!(error = %chain, "portal request failed");
    super::metrics::SERVER_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<!doctype html><title>Error · Latchkey</title><h1>Something went wrong</h1><p>The server could not complete the request. Try again in a moment; if it keeps happening, tell your help desk.</p>"),
    )
        .into_response()
}

/// The status for a refused portal operation; `None` for the unexpected
/// ones, which become a 500.
pub fn refusal(error: &PortalError) -> Option<StatusCode> {
    Some(match error {
        PortalError::SignInRefused | PortalError::AnswersRefused => StatusCode::UNAUTHORIZED,
        PortalError::NoAnswers => StatusCode::FORBIDDEN,
        PortalError::SessionEnded => StatusCode::UNAUTHORIZED,
        PortalError::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        PortalError::LinkInvalid => StatusCode::GONE,
        PortalError::PendingSoftTokens { .. } | PortalError::PendingEnrolments { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        PortalError::TokenRefused(refused) if refused.kind() == AdminErrorKind::RateLimited => {
            StatusCode::TOO_MANY_REQUESTS
        }
        // Storage, a sealed secret or the directory failed underneath: not
        // the visitor's doing, so not a refusal (a 500, its cause logged).
        PortalError::TokenRefused(refused) if refused.kind() == AdminErrorKind::Unexpected => {
            return None;
        }
        PortalError::NoFreeSerial
        | PortalError::EnrolmentCancelled
        | PortalError::EnrolmentNotWaiting
        | PortalError::EnrolmentGone
        | PortalError::TokenRefused(_) => StatusCode::CONFLICT,
        PortalError::Store(_) | PortalError::Cipher(_) => return None,
    })
}

/// What a page says of a refused portal operation: the portal's words for
/// each refusal, written here once.
pub fn refusal_text(error: &PortalError) -> String {
    match error {
        PortalError::SignInRefused => "The user name, password or one-time password is not right, or the account is locked. Check them and try again; after several wrong tries, wait a few minutes.".into(),
        PortalError::AnswersRefused => "One or more answers do not match what you chose. Check them and try again; after several wrong tries, wait a few minutes.".into(),
        PortalError::NoAnswers => "You have not set up security questions, so they cannot stand in for your token. Ask the help desk for help.".into(),
        PortalError::SessionEnded => "Your session has ended. Sign in again.".into(),
        PortalError::Field { message, .. } => message.clone(),
        PortalError::LinkInvalid => "This link does not work any more: it was used already or it expired. Ask for a new one.".into(),
        PortalError::PendingSoftTokens { pending } => format!("You have {pending} soft tokens waiting for activation. Activate one, or report it lost, before you ask for another."),
        PortalError::PendingEnrolments { pending } => format!("You have {pending} tokens waiting for activation or confirmation. Finish one, or report it lost, before you add another."),
        PortalError::NoFreeSerial => "A new token could not be made just now. Try again.".into(),
        PortalError::EnrolmentCancelled => "Too many wrong codes: this enrolment is cancelled. Remove the entry from the app and start again.".into(),
        PortalError::EnrolmentNotWaiting => "This enrolment is no longer waiting for a code. Start again.".into(),
        PortalError::EnrolmentGone => "This enrolment expired or was cancelled: the app is not added. Remove the entry from the app and start again.".into(),
        // The token operation's own words (the CLI and the API say the same).
        PortalError::TokenRefused(refused) => refused.to_string(),
        // Never shown: the page is an opaque 500.
        PortalError::Store(_) | PortalError::Cipher(_) => error.to_string(),
    }
}

/// A form with no fields of its own: a button (sign out, enrol a token).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// What a browser posts: the CSRF token beside the page's own fields.
#[derive(serde::Deserialize)]
struct Posted<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A posted form whose CSRF token matched, with the visit it came in: a
/// handler that takes one cannot forget the check. A form without the
/// right token is answered 403 before the handler runs (S38).
///
/// `T` is the page's own form (its fields as named in the template, the
/// secrets as `Zeroizing<String>`); the CSRF token is checked here and is
/// not among them. The default, a map of every field but the token, serves
/// forms read field by field.
pub struct PostedForm<T = HashMap<String, String>> {
    /// The visit the form came in.
    pub visit: Visit,
    /// The form's fields.
    pub fields: T,
}

impl<T> FromRequest<AppState> for PostedForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let visit = Visit::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(posted) = match Form::<Posted<T>>::from_request(request, state).await {
            Ok(form) => form,
            // A page that says what happened, not axum's plain text (L6).
            Err(rejection) => {
                let status = rejection.status();
                let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "The form is too large to send. Shorten what you typed and send it again."
                } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    "This address takes the portal's own forms only. Go back, reload the page and send the form again."
                } else {
                    "The form could not be read. Go back, reload the page and send the form again."
                };
                return Err(visit.message(
                    status,
                    "The form was not sent",
                    vec![text.into()],
                    Some(("/", "Start again")),
                ));
            }
        };
        if !visit.csrf_ok(&posted.csrf) {
            return Err(visit.forbidden_form());
        }
        Ok(PostedForm {
            visit,
            fields: posted.fields,
        })
    }
}
