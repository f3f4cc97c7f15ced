//! Health, readiness and metrics.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use crate::directory::DirectoryState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers within a second and takes writes: a
/// load balancer's probe hears of an outage at once, not after the pool's
/// acquire timeout, and of a writer whose last write failed (a full disk)
/// although reads still work.
/// The directory's state is reported in the body but never makes the node
/// unready: local accounts (the break-glass administrators) still work
/// while it is down.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let answered =
        tokio::time::timeout(std::time::Duration::from_secs(1), state.lifecycle.ping()).await;
    let directory = match state.lifecycle.directory() {
        None => String::new(),
        Some(port) => match port.state() {
            DirectoryState::Up => "directory: up\n".to_owned(),
            DirectoryState::Unknown => "directory: not asked yet\n".to_owned(),
            DirectoryState::Down(cause) => format!("directory: down ({cause})\n"),
        },
    };
    if answered == Ok(true) && state.lifecycle.writer_failing() {
        // Reads still work, so the database answers, but nothing can be
        // changed: no OTP can be accepted (SECURITY-REVIEW L2).
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the database does not take writes (the last write failed and none succeeded since; is the disk full?)\n{directory}"
            ),
        )
    } else if answered == Ok(true) {
        (StatusCode::OK, format!("ready\n{directory}"))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database is not reachable\n{directory}"),
        )
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render()
            + &state.lifecycle.render_metrics()
            + &crate::radius::METRICS.render()
            + &state
                .lifecycle
                .directory()
                .map(|port| port.render_metrics())
                .unwrap_or_default(),
    )
}
