//! CORS for the phone app on an origin of its own (`app_origin`).
//!
//! When the app is served from another origin than the server's, its two
//! API calls (activate, and refresh the unlock slots) are cross-origin
//! requests with a JSON body, so the browser first asks with a preflight
//! `OPTIONS`. Exactly those two paths answer, and only to exactly that
//! origin: any other origin, path or configuration gets no CORS header at
//! all, and the browser keeps its same-origin rule. Credentials are never
//! allowed: the app sends no cookie and needs none, and the portal's
//! session cookie must not ride along on a script's request.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The paths the app calls (`static/app/js/main.js`); nothing else is
/// opened to the app's origin.
pub const APP_ENDPOINTS: [&str; 2] = ["/api/v1/tokens/activate", "/api/v1/tokens/refresh"];

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";

/// The one origin allowed, as browsers write it in `Origin`.
#[derive(Clone)]
struct AllowedOrigin(HeaderValue);

/// `router` answering CORS for `app_origin` on [`APP_ENDPOINTS`]; without
/// an `app_origin`, `router` unchanged.
pub fn mount(router: Router<AppState>, app_origin: Option<&str>) -> Router<AppState> {
    let Some(origin) = app_origin.and_then(|o| HeaderValue::from_str(o).ok()) else {
        return router;
    };
    router.layer(axum::middleware::from_fn_with_state(
        AllowedOrigin(origin),
        answer,
    ))
}

async fn answer(State(allowed): State<AllowedOrigin>, request: Request, next: Next) -> Response {
    if !APP_ENDPOINTS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let from_app = request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|origin| origin == allowed.0);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if from_app && preflight {
        // The browser compares what it wants to send with these lists.
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECONDS),
        );
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if from_app {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed.0);
    }
    // The answer depends on the Origin asked from: a cache must not give
    // one origin's answer to another.
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    response
}
