//! The listener's guard against slow and idle clients (SECURITY.md S50):
//! every connection must send a request's head within a deadline (which
//! also ends idle kept-alive connections), its body within another, and
//! have it answered within a third; and only so many connections are
//! served at once, fewer than the process may open files, so that a few
//! hundred idle or trickling sockets cannot starve `/healthz` of a slot.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::Semaphore;

use super::ApiError;

/// How long a client may take, and how many may be served at once.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// From when a request's head is awaited (a new connection's first, or
    /// a kept-alive connection's next) until it has all arrived: idle and
    /// trickling connections are closed after it.
    pub header_read_timeout: Duration,
    /// From when the handler starts reading a body until it has all
    /// arrived.
    pub body_read_timeout: Duration,
    /// From the end of the head until the answer.
    pub request_timeout: Duration,
    /// Connections served at once; the rest wait in the kernel's queue,
    /// holding no file of the process.
    pub max_connections: usize,
}

/// Files the process keeps for itself whatever the clients do: the
/// database, its pool, the log, the outbox, mail connections.
const RESERVED_FILES: usize = 64;

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: connection_cap(open_file_limit()),
        }
    }
}

/// At most 1,024 connections, and never so many that the clients' sockets
/// could use the files the server needs for itself.
fn connection_cap(open_files: Option<usize>) -> usize {
    let room = open_files.map_or(1024, |limit| limit.saturating_sub(RESERVED_FILES));
    room.clamp(16, 1024)
}

/// The soft limit on open files (`RLIMIT_NOFILE`), read from
/// `/proc/self/limits` where there is one.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `router` on `listener` within `limits` until `shutdown` ends,
/// then lets the requests in flight finish (30 s at most).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_over(listener, None, router, Paths::Any, limits, shutdown).await
}

/// Like [`serve`], over TLS when `tls` is given: the handshake must end
/// within the head's deadline, and holds a connection slot meanwhile.
async fn serve_over(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    paths: Paths,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // A slot first, then the connection: at the cap, new connections
        // wait in the kernel's queue rather than in the process's files.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of files or a reset before accept: wait a moment
                    // rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let paths = paths.clone();
        // The listener's own rules (which paths, the deadlines) run here,
        // as plain code rather than as router layers: every request passes
        // them, and a layer costs a few allocations a request.
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let refusal = paths.refusal(&request);
            let mut router = router.clone();
            async move {
                if let Some(refusal) = refusal {
                    return Ok::<_, Infallible>(refusal);
                }
                let request = request.map(|body| {
                    Body::new(DeadlineBody {
                        inner: body,
                        timeout: limits.body_read_timeout,
                        deadline: None,
                    })
                });
                let answer = tower_service::Service::call(&mut router, request);
                Ok(
                    match tokio::time::timeout(limits.request_timeout, answer).await {
                        Ok(Ok(response)) => response,
                        Ok(Err(never)) => match never {},
                        Err(_) => ApiError::new(
                            StatusCode::REQUEST_TIMEOUT,
                            "the request took too long; send it again",
                        )
                        .into_response(),
                    },
                )
            }
        });
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            // A timed-out, reset or malformed connection (or handshake) is
            // the client's doing: nothing to log.
            match tls {
                None => {
                    let _ = watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        let _ = watcher
                            .watch(builder.serve_connection(TokioIo::new(stream), service))
                            .await;
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("requests still in flight after 30 s; stopping anyway");
        }
    }
    Ok(())
}

/// Everything `serve` listens on, as the configuration asks.
pub struct Listeners {
    /// The public listener: the portal, the API, health.
    pub public: tokio::net::TcpListener,
    /// HTTPS on the public listener (`tls_cert`, `tls_key`).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Plain HTTP answered with redirects to `base_url`
    /// (`redirect_http_listen`).
    pub redirect: Option<tokio::net::TcpListener>,
    /// Where redirected requests are sent: the public URL, no trailing `/`.
    pub base_url: String,
    /// `/metrics` alone (`metrics_listen`); the public listener answers it 404.
    pub metrics: Option<tokio::net::TcpListener>,
    /// The bearer token `/metrics` asks for (`metrics_token`).
    pub metrics_token: Option<String>,
}

/// Serves every listener in `listeners` until `shutdown` ends, then lets
/// each finish its requests in flight.
pub async fn serve_all(
    listeners: Listeners,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(());
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<()>| async move {
        // A send or the sender's drop: either way, the server stops.
        let _ = stopped.changed().await;
    };
    let token: Option<Arc<str>> = listeners.metrics_token.map(Arc::from);
    let public_paths = if listeners.metrics.is_some() {
        Paths::All(MetricsAccess::Elsewhere)
    } else {
        Paths::All(MetricsAccess::Open(token.clone()))
    };
    let metrics_router = router.clone();
    let metrics = async {
        match listeners.metrics {
            Some(listener) => {
                serve_over(
                    listener,
                    None,
                    metrics_router,
                    Paths::MetricsOnly(MetricsAccess::Open(token.clone())),
                    limits,
                    until_stopped(stopped.clone()),
                )
                .await
            }
            None => Ok(()),
        }
    };
    let redirect = async {
        match listeners.redirect {
            Some(listener) => {
                let redirects = redirect_router(listeners.base_url.clone());
                serve(listener, redirects, limits, until_stopped(stopped.clone())).await
            }
            None => Ok(()),
        }
    };
    let public = serve_over(
        listeners.public,
        listeners.tls,
        router,
        public_paths,
        limits,
        until_stopped(stopped.clone()),
    );
    let signal = async move {
        shutdown.await;
        let _ = stop.send(());
    };
    let ((), public, metrics, redirect) = tokio::join!(signal, public, metrics, redirect);
    public.and(metrics).and(redirect)
}

/// Who may read `/metrics` on a listener.
#[derive(Clone)]
enum MetricsAccess {
    /// Anyone, or whoever shows the bearer token.
    Open(Option<Arc<str>>),
    /// Nobody here: it is served on its own listener.
    Elsewhere,
}

/// Which paths a listener serves.
#[derive(Clone)]
enum Paths {
    /// Every path, `/metrics` as the access says.
    All(MetricsAccess),
    /// `/metrics` alone, as the access says (the metrics listener).
    MetricsOnly(MetricsAccess),
    /// Whatever its router answers (the redirect listener).
    Any,
}

impl Paths {
    /// The answer to a request this listener does not pass to its router.
    fn refusal<B>(&self, request: &Request<B>) -> Option<Response> {
        let metrics = request.uri().path() == "/metrics";
        let access = match self {
            Paths::Any => return None,
            Paths::All(_) if !metrics => return None,
            Paths::MetricsOnly(_) if !metrics => {
                return Some((StatusCode::NOT_FOUND, "not found\n").into_response());
            }
            Paths::All(access) | Paths::MetricsOnly(access) => access,
        };
        match access {
            MetricsAccess::Elsewhere => {
                Some((StatusCode::NOT_FOUND, "not found\n").into_response())
            }
            MetricsAccess::Open(None) => None,
            MetricsAccess::Open(Some(token)) => {
                if bearer_matches(request.headers(), token) {
                    None
                } else {
                    Some(
                        (
                            StatusCode::UNAUTHORIZED,
                            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                            "/metrics needs the metrics token as a bearer token\n",
                        )
                            .into_response(),
                    )
                }
            }
        }
    }
}

/// Whether the request carries `Authorization: Bearer <token>`, compared in
/// constant time.
fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Some(shown) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    bool::from(shown.as_bytes().ct_eq(token.as_bytes()))
}

/// Every request answered with a permanent redirect to the same path under
/// `base_url` (never the request's `Host`, S34).
fn redirect_router(base_url: String) -> Router {
    let base_url: Arc<str> = Arc::from(base_url.trim_end_matches('/'));
    Router::new().fallback(move |uri: axum::http::Uri| {
        let base_url = Arc::clone(&base_url);
        async move {
            let path = uri.path_and_query().map_or("/", |path| path.as_str());
            (
                StatusCode::PERMANENT_REDIRECT,
                [(axum::http::header::LOCATION, format!("{base_url}{path}"))],
            )
        }
    })
}

/// A body that fails once `timeout` has passed since it was first read.
struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let timeout = self.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_err(axum::BoxError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_servers_own_files() {
        assert_eq!(connection_cap(Some(256)), 192);
        assert_eq!(connection_cap(Some(1_048_576)), 1024);
        assert_eq!(connection_cap(Some(20)), 16);
        assert_eq!(connection_cap(None), 1024);
    }
}
