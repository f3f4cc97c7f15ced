//! The soft token on phones: an installable web app at `/app/`.
//!
//! Its files (hand-written HTML, CSS and JavaScript modules, a manifest, a
//! service worker and icons) are embedded in the binary when it is built,
//! so `latchkey serve` needs nothing beside itself. The app does its
//! cryptography with the browser's WebCrypto and talks to the server only
//! to activate a token and to refresh its unlock slots.
//!
//! It is mounted outside the portal's layers: the portal's CSP allows no
//! script at all, and this router answers with a policy of its own that
//! allows the app's own scripts and nothing from anywhere else. With an
//! `app_origin` the app may be served from an origin of its own (a proxy
//! sending `https://APP_ORIGIN/app/` here): it then calls the API at the
//! public URL, which its policy allows and `http::cors` answers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::AppState;

/// The app's own scripts, styles, images and manifest; calls to this
/// origin only (and to the server's, when the app has an origin of its
/// own); no inline script, no eval, no frames, no plug-ins.
fn csp(server_origin: Option<&str>) -> String {
    let connect = match server_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".into(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; manifest-src 'self'; worker-src 'self'; form-action 'none'; \
         base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The line of `js/server.js` the server fills in with its public URL when
/// the app has an origin of its own; left as it is, the app calls the
/// origin it was loaded from.
const SERVER_LINE: &str = "export const SERVER_URL = \"\";";

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
        "js/server.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/server.js"),
    ),
    (
        "js/keyuri.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/keyuri.js"),
    ),
    (
        "js/known-answers.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app/js/known-answers.js"),
    ),
];

const SERVICE_WORKER: &str = include_str!("../../static/app/sw.js");

/// The app as this server serves it, rendered once when the router is
/// built: its policy, the server it calls, and the service worker with the
/// version of exactly these bytes.
struct Site {
    csp: HeaderValue,
    server_js: Vec<u8>,
    service_worker: Vec<u8>,
}

impl Site {
    fn new(state: &AppState) -> Site {
        // With an origin of its own the app calls the public URL; else the
        // origin it was loaded from, which is this server however it was
        // reached.
        let server = state
            .app_origin
            .as_ref()
            .map(|_| state.portal.base_url.trim_end_matches('/').to_owned());
        let server_origin = server
            .as_deref()
            .and_then(|url| url::Url::parse(url).ok())
            .map(|url| url.origin())
            .filter(url::Origin::is_tuple)
            .map(|origin| origin.ascii_serialization());
        let csp = csp(server_origin.as_deref());
        let server_js = match &server {
            Some(url) => {
                let literal = serde_json::Value::from(url.as_str()).to_string();
                SERVER_JS.replace(
                    SERVER_LINE,
                    &format!("export const SERVER_URL = {literal};"),
                )
            }
            None => SERVER_JS.to_owned(),
        };
        let version = version(&[server_js.as_bytes(), csp.as_bytes()]);
        Site {
            // A URL's origin is ASCII with no control characters.
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
            server_js: server_js.into_bytes(),
            service_worker: SERVICE_WORKER.replace(VERSION_MARK, &version).into_bytes(),
        }
    }

    fn file(&self, path: &str) -> Response {
        if path == "js/server.js" {
            return self.with_headers("text/javascript; charset=utf-8", self.server_js.clone());
        }
        match FILES.iter().find(|(name, _, _)| *name == path) {
            Some((_, media_type, bytes)) => self.with_headers(media_type, bytes.to_vec()),
            None => {
                let mut response = self.with_headers(
                    "text/plain; charset=utf-8",
                    b"There is no such file in the app.\n".to_vec(),
                );
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
        }
    }

    fn with_headers(&self, media_type: &'static str, body: Vec<u8>) -> Response {
        let mut response = with_headers(media_type, body);
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        response
    }
}

const SERVER_JS: &str = include_str!("../../static/app/js/server.js");

/// The app's routes; they carry their own security headers.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route(
            "/app/",
            get(|State(site): State<Arc<Site>>| async move { site.file("index.html") }),
        )
        .route(
            "/app/sw.js",
            get(|State(site): State<Arc<Site>>| async move {
                site.with_headers(
                    "text/javascript; charset=utf-8",
                    site.service_worker.clone(),
                )
            }),
        )
        .route(
            "/app/{*path}",
            get(
                |State(site): State<Arc<Site>>, Path(path): Path<String>| async move {
                    site.file(&path)
                },
            ),
        )
        .with_state(Arc::new(Site::new(state)))
}

/// The phone's activation link for a token (the portal's QR code): the app
/// on its own origin when there is one, else on this server. The serial
/// and activation code go after `#`, which no server log ever sees; the
/// help desk's link leaves the code out (the user types it from the mail).
pub(super) fn phone_link(state: &AppState, serial: &str, activation_code: Option<&str>) -> String {
    let site = state
        .app_origin
        .as_deref()
        .unwrap_or(&state.portal.base_url)
        .trim_end_matches('/');
    match activation_code {
        Some(code) => format!("{site}/app/#activate?serial={serial}&activation_code={code}"),
        None => format!("{site}/app/#activate?serial={serial}"),
    }
}

/// A digest of every embedded file and of what the server rendered into
/// the app (64-bit FNV-1a, in hex): a label for the cache, so that any
/// change is a new service worker; not a security measure.
fn version(rendered: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let all = FILES
        .iter()
        .map(|(_, _, bytes)| *bytes)
        .chain([SERVICE_WORKER.as_bytes()])
        .chain(rendered.iter().copied());
    for bytes in all {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn with_headers(media_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
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
        assert_eq!(version(&[]).len(), 16);
        // What the server renders into the app is part of its version.
        assert_ne!(version(&[b"a"]), version(&[b"b"]));
    }

    #[test]
    fn the_server_line_is_there_to_fill_in() {
        assert!(SERVER_JS.contains(SERVER_LINE));
    }
}
