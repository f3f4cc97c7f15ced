//! `/oauth2/authorize`: the request checked, then a code at once for a
//! full session, or the request held while the portal's pages sign the
//! user in (and, for a recovery session, through the unlock journey
//! first), then `/oauth2/authorize/resume` gives the code.

use std::collections::HashMap;

use axum::Form;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use latchkey_core::FullSession;
use latchkey_core::oidc::{
    AuthorizationParams, AuthorizationRequest, AuthorizeError, AuthorizeRefusal, AuthorizeStep,
    IssuedCode, REQUEST_LIFETIME,
};

use super::{issuer, request_cookie_header, request_handle};
use crate::http::{Visit, server_error};

/// Where the portal sends a browser that holds a request, once signed in.
pub const RESUME_PATH: &str = "/oauth2/authorize/resume";

fn params(map: &HashMap<String, String>) -> AuthorizationParams {
    let get = |name: &str| map.get(name).cloned();
    AuthorizationParams {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        response_type: get("response_type"),
        scope: get("scope"),
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        prompt: get("prompt"),
        max_age: get("max_age"),
    }
}

/// `redirect_uri` with `pairs` and `iss` (RFC 9207) added to its query.
fn to_client(visit: &Visit, redirect_uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        query.append_pair("iss", &issuer(&visit.state));
    }
    Some(url.into())
}

fn redirect_to_client(visit: Visit, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    match to_client(&visit, redirect_uri, pairs) {
        Some(location) => visit.redirect(&location),
        None => not_for_a_client(visit),
    }
}

/// The words of an authorization error (RFC 6749 §4.1.2.1, OIDC Core
/// §3.1.2.6).
fn error_code(refusal: AuthorizeRefusal) -> &'static str {
    match refusal {
        AuthorizeRefusal::ResponseTypeNotCode => "unsupported_response_type",
        AuthorizeRefusal::NoOpenidScope => "invalid_scope",
        AuthorizeRefusal::LoginRequired => "login_required",
        AuthorizeRefusal::PkceMissing
        | AuthorizeRefusal::PkceNotS256
        | AuthorizeRefusal::BadChallenge
        | AuthorizeRefusal::StateMissing
        | AuthorizeRefusal::BadPrompt
        | AuthorizeRefusal::BadMaxAge => "invalid_request",
    }
}

fn refuse(
    visit: Visit,
    redirect_uri: &str,
    state: Option<&str>,
    refusal: AuthorizeRefusal,
) -> Response {
    let description = refusal.to_string();
    let mut pairs = vec![
        ("error", error_code(refusal)),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = state.filter(|s| !s.is_empty()) {
        pairs.push(("state", state));
    }
    redirect_to_client(visit, redirect_uri, &pairs)
}

/// A request that names no registered client, or a redirect URI the
/// client did not register: a page here, never a redirect (RFC 6749
/// §4.1.2.1), so the endpoint cannot send anyone anywhere.
fn not_for_a_client(visit: Visit) -> Response {
    visit.message(
        StatusCode::BAD_REQUEST,
        "This sign-in link does not work",
        vec![
            "The application that sent you here is not registered with Latchkey, or asked to send you back to an address it did not register. Go back to the application and try again; if it keeps happening, tell the application's administrator.".into(),
        ],
        None,
    )
}

fn with_request_cookie(
    state: &crate::http::AppState,
    mut response: Response,
    value: &str,
    max_age: i64,
) -> Response {
    if let Ok(cookie) = HeaderValue::from_str(&request_cookie_header(state, value, max_age)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub(super) async fn authorize(
    visit: Visit,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    handle(visit, &query).await
}

pub(super) async fn authorize_posted(
    visit: Visit,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    handle(visit, &form).await
}

async fn handle(visit: Visit, map: &HashMap<String, String>) -> Response {
    let app = visit.state.app.clone();
    let request = match app.oidc_authorization(&params(map)).await {
        Ok(request) => request,
        Err(AuthorizeError::UnknownClient | AuthorizeError::UnregisteredRedirect) => {
            return not_for_a_client(visit);
        }
        Err(AuthorizeError::Refused {
            redirect_uri,
            state,
            refusal,
        }) => return refuse(visit, &redirect_uri, state.as_deref(), refusal),
        Err(AuthorizeError::Store(e)) => return server_error(&e),
    };
    let step = match app.oidc_authorize_step(&request, visit.session.as_ref()) {
        Ok(step) => step,
        Err(refusal) => {
            return refuse(visit, &request.redirect_uri, Some(&request.state), refusal);
        }
    };
    match step {
        AuthorizeStep::Issue(full) => issue(visit, &full, &request).await,
        AuthorizeStep::SignIn {
            signed_in_after,
            end_session,
        } => {
            if end_session && let Some(session) = &visit.session {
                // A fresh sign-in was asked for: the old session ends, and
                // the portal's sign-in page shows.
                if let Err(e) = app.portal_sign_out(session, &visit.source).await {
                    return server_error(&e);
                }
            }
            if visit.session.is_none() && signed_in_after == 0 {
                // The portal's cookies are SameSite=Strict: a browser sent
                // here from the client's site does not show them on this
                // request. A page of this site moving on to the resume
                // step is a same-site request, where a session shows.
                return hold(visit, &request, 0, Next::Resume).await;
            }
            hold(visit, &request, signed_in_after, Next::Page("/login")).await
        }
        AuthorizeStep::SecondFactor => hold(visit, &request, 0, Next::Page("/login/otp")).await,
        AuthorizeStep::Recovery => hold(visit, &request, 0, Next::Unlock).await,
    }
}

enum Next {
    Page(&'static str),
    Resume,
    Unlock,
}

async fn hold(
    visit: Visit,
    request: &AuthorizationRequest,
    signed_in_after: i64,
    next: Next,
) -> Response {
    let handle = match visit.state.app.oidc_hold(request, signed_in_after).await {
        Ok(handle) => handle,
        Err(e) => return server_error(&e),
    };
    let state = visit.state.clone();
    let response = match next {
        Next::Page(to) => visit.redirect(to),
        Next::Resume => visit.page(
            StatusCode::OK,
            ContinuePage {
                heading: "Signing you in",
                text: "Taking you to the sign-in.",
                location: RESUME_PATH.to_owned(),
            },
        ),
        // Security questions open the recovery actions only: no code for
        // them. The request waits for the sign-in that follows the unlock.
        Next::Unlock => visit.message(
            StatusCode::FORBIDDEN,
            "Unlock your token first",
            vec![
                format!(
                    "You signed in with your security questions, which open the recovery actions only, so Latchkey cannot sign you in to {} yet. Unlock or replace your token, then sign out and sign in with your password and a one-time password: you will then be sent on to the application.",
                    request.client.name
                ),
            ],
            Some(("/self-service", "Go to the recovery actions")),
        ),
    };
    with_request_cookie(&state, response, &handle, REQUEST_LIFETIME)
}

async fn issue(visit: Visit, full: &FullSession, request: &AuthorizationRequest) -> Response {
    match visit
        .state
        .app
        .oidc_issue_code(full, request, &visit.source)
        .await
    {
        Ok(issued) => code_to_client(visit, &issued),
        Err(e) => server_error(&e),
    }
}

fn code_to_client(visit: Visit, issued: &IssuedCode) -> Response {
    redirect_to_client(
        visit,
        &issued.redirect_uri,
        &[("code", issued.code.as_str()), ("state", &issued.state)],
    )
}

/// A page that moves on by itself (a meta refresh: the portal allows no
/// script). Back to the client after the portal's sign-in form, where a
/// redirect would not do: the portal's `form-action 'self'` forbids a
/// form's redirects from leaving the site. And on to the resume step from
/// a request that came from the client's site (see [`handle`]).
#[derive(askama::Template)]
#[template(path = "oidc_continue.html")]
struct ContinuePage {
    heading: &'static str,
    text: &'static str,
    location: String,
}

/// After the portal's sign-in: the held request's code, to the client.
pub(super) async fn resume(visit: Visit, headers: HeaderMap) -> Response {
    let state = visit.state.clone();
    let Some(handle) = request_handle(&state, &headers) else {
        return visit.redirect("/");
    };
    let Some(full) = visit.full_session() else {
        // Not signed in fully (or a recovery session): the portal says
        // where to go, and the request keeps waiting.
        return visit.wrong_stage();
    };
    let resumed = state.app.oidc_resume(&handle, &full, &visit.source).await;
    let response = match resumed {
        Ok(Some(issued)) => {
            let pairs = [("code", issued.code.as_str()), ("state", &issued.state)];
            match to_client(&visit, &issued.redirect_uri, &pairs) {
                Some(location) => visit.page(
                    StatusCode::OK,
                    ContinuePage {
                        heading: "You are signed in",
                        text: "Taking you back to the application.",
                        location,
                    },
                ),
                None => not_for_a_client(visit),
            }
        }
        Ok(None) => visit.message(
            StatusCode::BAD_REQUEST,
            "This sign-in request has ended",
            vec!["The application's sign-in request waited too long or was used already. Go back to the application and sign in again.".into()],
            Some(("/account", "Go to your account")),
        ),
        Err(e) => server_error(&e),
    };
    with_request_cookie(&state, response, "", 0)
}
