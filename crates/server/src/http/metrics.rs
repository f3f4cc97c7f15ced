//! What the HTTP edge counts for `/metrics`: request latency per route
//! family (a histogram each), the portal's sign-in steps by factor and
//! outcome, and requests that failed unexpectedly. The domain's events are
//! counted where they are audited (`latchkey_store::metrics`), the mail,
//! the Argon2 pool, RADIUS and the directory by their own modules.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use latchkey_store::metrics::Histogram;

/// Requests that ended in an unexpected error (an opaque 500), on the API
/// and in the portal alike (SECURITY-REVIEW L2).
pub static SERVER_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Seconds, from a fast page to a slow Argon2 queue.
const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route families, by the first part of the route's pattern: a few
/// fixed names, never the path (a reset link's path is its secret).
const FAMILIES: [&str; 10] = [
    "sign_in",
    "self_service",
    "helpdesk",
    "console",
    "api_authenticate",
    "api",
    "oidc",
    "health",
    "static",
    "other",
];

static LATENCY: [Histogram; FAMILIES.len()] = [const { Histogram::new(LATENCY_BOUNDS) }; 10];

/// The portal's sign-in steps.
const FACTORS: [&str; 3] = ["password", "otp", "questions"];
/// How a step ended: it let the visitor on, it refused, or it failed.
const OUTCOMES: [&str; 3] = ["success", "refused", "error"];

static SIGN_INS: [[AtomicU64; 3]; 3] = [const { [const { AtomicU64::new(0) }; 3] }; 3];

/// The family a route pattern belongs to.
fn family(route: &str) -> usize {
    let index = |name: &str| FAMILIES.iter().position(|f| *f == name).unwrap_or(9);
    let name = match route {
        "/api/v1/authenticate" => "api_authenticate",
        "/healthz" | "/readyz" | "/metrics" => "health",
        r if r.starts_with("/login") || r.starts_with("/logout") || r.starts_with("/password") => {
            "sign_in"
        }
        r if r.starts_with("/account") || r.starts_with("/self-service") => "self_service",
        r if r.starts_with("/helpdesk") => "helpdesk",
        r if r.starts_with("/admin") => "console",
        r if r.starts_with("/api/") => "api",
        r if r.starts_with("/oauth2") || r.starts_with("/.well-known") => "oidc",
        r if r.starts_with("/static") || r.starts_with("/app") => "static",
        _ => "other",
    };
    index(name)
}

/// Which sign-in step a request is, if it is one.
fn sign_in_step(method: &Method, route: &str) -> Option<usize> {
    if method != Method::POST {
        return None;
    }
    FACTOR_ROUTES.iter().position(|r| *r == route)
}

/// The routes of the steps, in the order of [`FACTORS`].
const FACTOR_ROUTES: [&str; 3] = ["/login", "/login/otp", "/login/questions"];

/// Whether step `factor` let the visitor on, by where it sent them.
fn step_succeeded(factor: usize, to: &str) -> bool {
    match factor {
        // The password leads to the OTP step.
        0 => to == "/login/otp",
        // The OTP leads anywhere but back to the start.
        1 => !to.is_empty() && !to.starts_with("/login"),
        // The answers open the recovery actions.
        _ => to == "/self-service",
    }
}

/// Times the request by its route's family, counts the sign-in steps, and
/// runs it in its span (`request_span`): one layer for the
/// three, read off the matched route before the request moves on, so the
/// hot path allocates nothing for them.
pub(super) async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("", |path| path.as_str());
    let family = family(route);
    let step = sign_in_step(request.method(), route);
    let response = super::request_span(request, next).await;
    LATENCY[family].observe(started.elapsed().as_secs_f64());
    if let Some(factor) = step {
        let status = response.status();
        let to = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let outcome = if status.is_server_error() {
            2
        } else if status == StatusCode::SEE_OTHER && step_succeeded(factor, to) {
            0
        } else {
            1
        };
        SIGN_INS[factor][outcome].fetch_add(1, Ordering::Relaxed);
    }
    response
}

/// The edge's series in Prometheus' text format.
pub(super) fn render() -> String {
    let mut out = String::from(
        "# HELP latchkey_http_request_duration_seconds Time to answer a request, by route family.\n\
         # TYPE latchkey_http_request_duration_seconds histogram\n",
    );
    for (family, histogram) in FAMILIES.iter().zip(LATENCY.iter()) {
        histogram.render_series(
            &mut out,
            "latchkey_http_request_duration_seconds",
            &format!("family=\"{family}\""),
        );
    }
    out.push_str(
        "# HELP latchkey_portal_sign_ins_total The portal's sign-in steps, by factor and outcome.\n\
         # TYPE latchkey_portal_sign_ins_total counter\n",
    );
    for (factor, counts) in FACTORS.iter().zip(SIGN_INS.iter()) {
        for (outcome, count) in OUTCOMES.iter().zip(counts.iter()) {
            let _ = writeln!(
                out,
                "latchkey_portal_sign_ins_total{{factor=\"{factor}\",outcome=\"{outcome}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP latchkey_server_errors_total Requests that failed unexpectedly (answered with an opaque 500).\n\
         # TYPE latchkey_server_errors_total counter\n\
         latchkey_server_errors_total {}",
        SERVER_ERRORS.load(Ordering::Relaxed)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fall_into_their_families_by_pattern() {
        for (route, want) in [
            ("/login/otp", "sign_in"),
            ("/password/reset/{token}", "sign_in"),
            ("/self-service/unlock", "self_service"),
            ("/helpdesk/{action}", "helpdesk"),
            ("/admin/users/{name}", "console"),
            ("/api/v1/authenticate", "api_authenticate"),
            ("/api/v1/tokens/{serial}", "api"),
            ("/oauth2/token", "oidc"),
            ("/readyz", "health"),
            ("", "other"),
        ] {
            assert_eq!(FAMILIES[family(route)], want, "{route}");
        }
    }
}
