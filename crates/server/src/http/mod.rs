//! HTTP: the self-service portal, the JSON API, health, readiness and metrics.

pub(crate) mod address_limits;
mod admin;
mod api;
mod app;
mod cors;
mod enrolment;
mod helpdesk;
mod listener;
mod metrics;
mod ops;
mod pages;
mod portal;
mod rejections;
mod self_service;
mod stock_api;
mod visit;

pub use listener::ListenerLimits;
pub use listener::Listeners;
/// What the OIDC provider's pages share with the portal's.
pub(crate) use pages::Chrome;
pub use visit::PortalSettings;
pub(crate) use visit::{PostedForm, Visit, server_error};

pub use crate::views::token_json;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::App;

/// What every handler shares, behind one `Arc`: axum's extractors clone
/// the state for every request, and one count to bump is cheaper than the
/// dozen that [`Shared`]'s parts hold (the authenticate path clones it
/// several times per request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state of a node serving `shared`.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    /// The domain.
    pub app: App,
    /// The database's life (readiness), not its contents.
    pub lifecycle: crate::Lifecycle,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// The portal's base URL, cookie settings and mailer.
    pub portal: Arc<PortalSettings>,
    /// The origin the phone app is served from when not this server's
    /// (`app_origin`, in its normal form).
    pub app_origin: Option<String>,
}

/// Prometheus counters of the JSON API; the rest of `/metrics` comes from
/// the edge's layer (`http::metrics`), the store, the mailer, the Argon2 pool,
/// RADIUS and the directory.
#[derive(Default)]
pub struct Metrics {
    /// Authentications accepted.
    pub auth_accept: AtomicU64,
    /// Authentications rejected.
    pub auth_reject: AtomicU64,
    /// Activations that succeeded.
    pub activations: AtomicU64,
}

impl Metrics {
    fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "# HELP latchkey_authentications_total Authentications by result.\n\
             # TYPE latchkey_authentications_total counter\n\
             latchkey_authentications_total{{result=\"accept\"}} {}\n\
             latchkey_authentications_total{{result=\"reject\"}} {}\n\
             # HELP latchkey_activations_total Soft tokens activated.\n\
             # TYPE latchkey_activations_total counter\n\
             latchkey_activations_total {}\n",
            get(&self.auth_accept),
            get(&self.auth_reject),
            get(&self.activations),
        ) + &metrics::render()
            + &crate::mail::render_metrics()
            + &crate::hasher::render_metrics()
    }
}

/// An error answered as `{"error": message}` with a status. Unexpected
/// errors are logged with their cause and answered with an opaque 500.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// A client error with a message that says what to do.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// An unexpected failure: the cause goes to the log only.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let chain = crate::report::error_chain(cause);
        tracing::error!(error = %chain, "request failed");
        metrics::SERVER_ERRORS.fetch_add(1, Ordering::Relaxed);
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the server could not complete the request".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Sends a mail in the background (the answer does not wait for it).
pub(crate) fn send_mail(state: &AppState, mail: Option<latchkey_core::Mail>) {
    if let Some(mail) = mail {
        let mailer = state.portal.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(mail).await {
                tracing::warn!(error = %e, "a mail was not delivered");
            }
        });
    }
}

/// The client's address: the peer, or `X-Forwarded-For` from a trusted proxy.
pub fn client_address(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    if state.trusted_proxies.contains(&peer.ip())
        && let Some(forwarded) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
        // Each proxy appends the address it heard from: with one trusted
        // proxy in front, the last entry is the one it vouches for.
        && let Some(nearest_hop) = forwarded.split(',').next_back().map(str::trim)
        && let Ok(ip) = nearest_hop.parse::<IpAddr>()
    {
        return ip.to_string();
    }
    peer.ip().to_string()
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let phone_app = app::routes(&state);
    let routes = Router::new()
        .merge(portal::routes())
        .merge(self_service::routes())
        .merge(enrolment::routes())
        .merge(helpdesk::routes())
        .merge(admin::routes())
        .merge(api::routes())
        .merge(stock_api::routes())
        .merge(ops::routes())
        .merge(crate::oidc::routes())
        .fallback(not_found)
        .route_layer(axum::middleware::from_fn(metrics::observe))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(rejections::json_errors_on_api));
    let app_origin = state.app_origin.clone();
    cors::mount(routes, app_origin.as_deref())
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
        .merge(phone_app)
}

/// An unknown path: a page with the way in for people, an empty 404 for
/// programs under `/api/`.
async fn not_found(uri: axum::http::Uri, visit: visit::Visit) -> Response {
    if uri.path().starts_with("/api/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    visit.message(
        StatusCode::NOT_FOUND,
        "There is no such page",
        vec!["The address may be mistyped, or the page has moved.".into()],
        Some(("/login", "Go to the sign-in page")),
    )
}

/// Runs each request inside a span with a request id, its method and its
/// route, so every line logged while serving it can be told apart; the id
/// is sent back as `X-Request-Id`. The route is the pattern, never the
/// path: a reset link's path is its secret. When the log does not take
/// info lines the span is disabled and nothing is numbered or added: no
/// work on the hot path for an id that no log line would carry.
async fn request_span(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    if !tracing::enabled!(target: "latchkey_server::http", tracing::Level::INFO) {
        return next.run(request).await;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("", |path| path.as_str());
    let span = tracing::info_span!("request", id, method = %request.method(), route = %route);
    let mut response = tracing::Instrument::instrument(
        async move {
            let response = next.run(request).await;
            tracing::debug!(status = response.status().as_u16(), "answered");
            response
        },
        span,
    )
    .await;
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from(id));
    response
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        // The portal needs its own stylesheet and inline SVG (QR codes), and
        // posts forms to itself; nothing else, and never a script.
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight;
/// slow and idle clients are cut off, and connections capped, as
/// [`ListenerLimits::default`] says (S50).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    listener::serve(
        listener,
        router(state),
        ListenerLimits::default(),
        shutdown_signal(),
    )
    .await
}

/// Like [`serve`], on every listener the configuration asks for: HTTPS,
/// the HTTP redirect, `/metrics` apart or behind a token.
pub async fn serve_all(listeners: Listeners, state: AppState) -> std::io::Result<()> {
    listener::serve_all(
        listeners,
        router(state),
        ListenerLimits::default(),
        shutdown_signal(),
    )
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
