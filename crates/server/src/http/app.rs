//! The soft token on phones: an installable web app at `/app/`.
//!
//! Its files (hand-written HTML, CSS and JavaScript modules, a manifest, a
//! service worker and icons) are embedded in the binary when it is built,
//! so `latchkey serve` needs nothing beside itself. The app does its
//! cryptography with the browser's WebCrypto and talks to the server only
//! to activate a token (`POST /api/v1/tokens/activate`).
//!
//! It is mounted outside the portal's layers: the portal's CSP allows no
//! script at all, and this router answers with a policy of its own that
//! allows the app's own scripts and nothing from anywhere else.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::sync::OnceLock;

/// The app's own scripts, styles, images and manifest; calls to this
/// origin only; no inline script, no eval, no frames, no plug-ins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'none'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The placeholder in `sw.js` that becomes a digest of the embedded files,
/// so every build with changed files is a new service worker.
const VERSION_MARK: &str = "__LATCHKEY_APP_VERSION__";

/// Every file the app has: its path under `/app/`, media type, contents.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../static/app/index.html"),
    ),
    (
        "known-answers.html",
        "text/html; charset=utf-8",
        include_bytes!("../../static/app/known-answers.html"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app/app.css"),
    ),
    (
        "manifest.webmanifest",
        "application/manifest+json",
        include_bytes!("../../static/app/manifest.webmanifest"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../static/app/icon.svg"),
    ),
    (
        "icon-192.png",
        "image/png",
        include_bytes!("../../static/app/icon-192.png"),
    ),
    (
        "icon-512.png",
        "image/png",
        include_bytes!("../../static/app/icon-512.png"),
    ),
    (
        "js/main.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/main.js"),
    ),
    (
        "js/codes.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/codes.js"),
    ),
    (
        "js/oath.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/oath.js"),
    ),
    (
        "js/vault.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/vault.js"),
    ),
    (
        "js/store.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/store.js"),
    ),
    (
        "js/vectors.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/vectors.js"),
    ),
    (
        "js/known-answers.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/known-answers.js"),
    ),
];

const SERVICE_WORKER: &str = include_str!("../../static/app/sw.js");

/// The app's routes; they carry their own security headers.
pub fn routes() -> Router {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(|| async { file("index.html") }))
        .route("/app/sw.js", get(service_worker))
        .route(
            "/app/{*path}",
            get(|Path(path): Path<String>| async move { file(&path) }),
        )
}

fn file(path: &str) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == path) {
        Some((_, media_type, bytes)) => with_headers(media_type, bytes.to_vec()),
        None => not_found(),
    }
}

async fn service_worker() -> Response {
    static BODY: OnceLock<String> = OnceLock::new();
    let body = BODY.get_or_init(|| SERVICE_WORKER.replace(VERSION_MARK, &version()));
    with_headers("text/javascript; charset=utf-8", body.as_bytes().to_vec())
}

/// A digest of every embedded file (64-bit FNV-1a, in hex): a label for the
/// cache, not a security measure.
fn version() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let all = FILES
        .iter()
        .map(|(_, _, bytes)| *bytes)
        .chain([SERVICE_WORKER.as_bytes()]);
    for bytes in all {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn not_found() -> Response {
    let mut response = with_headers(
        "text/plain; charset=utf-8",
        b"There is no such file in the app.\n".to_vec(),
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

fn with_headers(media_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Always asked again: the service worker keeps the offline copy, and an
    // update reaches it only through a fresh fetch.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_service_worker_caches_is_served() {
        let list = SERVICE_WORKER
            .split("const FILES = [")
            .nth(1)
            .and_then(|rest| rest.split("];").next())
            .expect("sw.js lists its files");
        for entry in list.split(',') {
            let name = entry.trim().trim_matches('"');
            if name.is_empty() || name == "./" {
                continue;
            }
            assert!(
                FILES.iter().any(|(file, _, _)| *file == name),
                "{name} is cached by the service worker but not served"
            );
        }
    }

    #[test]
    fn the_version_marks_the_service_worker() {
        assert!(SERVICE_WORKER.contains(VERSION_MARK));
        assert_eq!(version().len(), 16);
    }
}
