//! `POST /api/v1/tokens/{serial}/assign`: an unassigned hardware token
//! (from a PSKC import) handed to a user, with an admin key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_api as wire;
use latchkey_core::{AdminError, AdminErrorKind};

use super::api::{AdminCaller, ApiJson};
use super::{ApiError, AppState, send_mail};
use crate::views::token_view;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tokens/{serial}/assign", post(assign))
}

fn admin_error(error: AdminError) -> ApiError {
    let status = match error.kind() {
        AdminErrorKind::NotFound => StatusCode::NOT_FOUND,
        AdminErrorKind::Conflict => StatusCode::CONFLICT,
        AdminErrorKind::Malformed => StatusCode::BAD_REQUEST,
        AdminErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AdminErrorKind::Forbidden => StatusCode::FORBIDDEN,
        // The cause chain goes to the log; the caller hears nothing of it.
        AdminErrorKind::Unexpected => return ApiError::internal(&error),
    };
    ApiError::new(status, error.to_string())
}

async fn assign(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(serial): Path<String>,
    ApiJson(body): ApiJson<wire::AssignTokenRequest>,
) -> Result<Json<wire::TokenView>, ApiError> {
    let (token, owner, mail) = state
        .app
        .assign_stock_token(&admin, &serial, &body.user)
        .await
        .map_err(admin_error)?;
    send_mail(&state, mail);
    Ok(Json(token_view(&token, Some(owner.username.as_str()))))
}
