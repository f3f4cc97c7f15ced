//! Health, readiness and metrics.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers within a second: a load balancer's
/// probe hears of an outage at once, not after the pool's acquire timeout.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let answered =
        tokio::time::timeout(std::time::Duration::from_secs(1), state.lifecycle.ping()).await;
    if answered == Ok(true) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is not reachable\n",
        )
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render() + &crate::radius::METRICS.render(),
    )
}
