//! The JSON API under `/api/v1`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use latchkey_api as wire;
use latchkey_core::{
    ActivateError, Admin, AdminError, AdminErrorKind, ApiPrincipal, ApiRole, Decision, OtpParams,
    RefreshError, Role, TokenKind, TokenState,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::address_limits::{self, Limited};
use super::{ApiError, AppState, client_address};
use crate::views::{api_key_view, audit_view, issued_view, token_view, user_view, wire_api_role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/tokens/activate", post(activate))
        .route("/api/v1/tokens/refresh", post(refresh))
        .route("/api/v1/authenticate", post(authenticate))
        .route("/api/v1/users", get(list_users).post(add_user))
        .route("/api/v1/users/{username}/answers", delete(reset_answers))
        .route("/api/v1/tokens", get(list_tokens).post(issue_token))
        .route("/api/v1/tokens/{serial}", get(show_token))
        .route("/api/v1/tokens/{serial}/{action}", post(token_action))
        .route("/api/v1/apikeys", get(list_api_keys).post(create_api_key))
        .route("/api/v1/apikeys/{name}", delete(revoke_api_key))
        .route("/api/v1/questions", get(list_questions).post(add_question))
        .route("/api/v1/questions/{id}", delete(retire_question))
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/audit/verify", get(verify_audit))
}

/// JSON in, with malformed bodies answered as `{"error"}` with the right status.
/// The body is a JSON object, as the document's schemas say (S55): serde
/// would read a struct from an array of its fields too, and a struct whose
/// fields are all optional from `[]`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large")
                } else {
                    ApiError::new(rejection.status(), rejection.body_text())
                }
            })?;
        if let Some(refusal) = not_an_object(&bytes, StatusCode::UNPROCESSABLE_ENTITY) {
            return Err(refusal);
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Whether the request says its body is JSON (`application/json`, or a
/// `+json` type), as axum's `Json` asks.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The refusal of a body that is not a JSON object: 400 for one that is
/// not JSON at all, `shape` for JSON of another kind (an array, a number).
fn not_an_object(bytes: &[u8], shape: StatusCode) -> Option<ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return None;
    }
    Some(
        match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => ApiError::new(shape, "the body must be a JSON object, {…}"),
            Err(_) => ApiError::new(StatusCode::BAD_REQUEST, "the body is not valid JSON"),
        },
    )
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let message = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "send the body as JSON with Content-Type: application/json".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_owned(),
        JsonRejection::JsonDataError(e) => format!(
            "the JSON does not have the expected fields: {}",
            e.body_text()
        ),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            "the body is too large".to_owned()
        }
        _ => rejection.body_text(),
    };
    ApiError::new(rejection.status(), message)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "a valid API key is required: Authorization: Bearer KEY",
    )
}

async fn principal(
    state: &AppState,
    headers: &HeaderMap,
    source: &str,
) -> Result<ApiPrincipal, ApiError> {
    let key = bearer(headers).ok_or_else(unauthorized)?;
    state
        .app
        .authorize_api_key(key, source)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(unauthorized)
}

async fn admin(state: &AppState, headers: &HeaderMap, source: &str) -> Result<Admin, ApiError> {
    principal(state, headers, source)
        .await?
        .admin()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "this API key may only call /api/v1/authenticate",
            )
        })
}

/// The caller of an admin route, proven by an `admin` API key: a handler
/// that takes one holds the [`Admin`] right and cannot forget to check it.
/// A missing or unknown key is answered 401, an `authenticate` key 403,
/// before the handler runs.
pub struct AdminCaller(pub Admin);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let source = client_address(state, peer, &parts.headers);
        admin(state, &parts.headers, &source).await.map(AdminCaller)
    }
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

#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
async fn openapi() -> Json<Value> {
    Json(
        serde_json::from_str(include_str!("../../openapi.json"))
            .expect("the bundled OpenAPI document is JSON"),
    )
}

async fn activate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<wire::ActivateRequest>,
) -> Result<Json<wire::ActivateResponse>, ApiError> {
    let source = client_address(&state, peer, &headers);
    // Each failure adds an audit row: so many per address (S52, L1).
    let node = &state.portal.base_url;
    let now = state.app.clock_now();
    if !address_limits::under_limit(node, Limited::FailedActivation, &source, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed activations from this address; wait ten minutes and try again",
        ));
    }
    let result = state
        .app
        .activate(&body.serial, &body.activation_code, &source)
        .await;
    if result.is_err() {
        address_limits::count(node, Limited::FailedActivation, &source, now);
    }
    let grant = match result {
        Ok(grant) => grant,
        Err(ActivateError::Malformed(message)) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, message));
        }
        Err(ActivateError::Refused) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ActivateError::Refused.to_string(),
            ));
        }
        Err(ActivateError::Store(e)) => return Err(ApiError::internal(&e)),
        Err(ActivateError::Cipher(e)) => return Err(ApiError::internal(&e)),
    };
    let OtpParams {
        algorithm,
        digits,
        period,
    } = grant.otp;
    let otp = match grant.kind {
        TokenKind::Hotp => wire::OtpDescription::hotp(algorithm, digits, 0),
        _ => wire::OtpDescription::totp(algorithm, digits, period),
    };
    state.metrics.activations.fetch_add(1, Ordering::Relaxed);
    let policy = state.app.policy();
    Ok(Json(wire::ActivateResponse {
        issuer: Some(grant.issuer),
        label: grant.label,
        otp,
        policy: wire::TokenPolicy {
            max_pin_failures: policy.pin_max_failures,
            min_pin_length: policy.pin_min_length,
            unlock_slots: policy.unlock_slots,
        },
        secret: grant.secret,
        serial: grant.serial,
        unlock_secret: grant.unlock_secret,
    }))
}

/// The least time a refresh takes to answer: more than its work takes.
const REFRESH_ANSWER_TIME: std::time::Duration = std::time::Duration::from_millis(50);

async fn refresh(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<wire::RefreshRequest>,
) -> Result<Json<wire::RefreshResponse>, ApiError> {
    let source = client_address(&state, peer, &headers);
    // Every answer takes at least this long, so a known serial and an
    // unknown one cannot be told apart by time (S46).
    let answer_at = tokio::time::Instant::now() + REFRESH_ANSWER_TIME;
    let result = state.app.refresh(&body.serial, &body.otp, &source).await;
    tokio::time::sleep_until(answer_at).await;
    match result {
        Ok(refreshed) => {
            super::send_mail(&state, refreshed.notice);
            Ok(Json(wire::RefreshResponse {
                generation: refreshed.generation,
                unlock_secret: refreshed.unlock_secret,
            }))
        }
        Err(RefreshError::Refused) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            RefreshError::Refused.to_string(),
        )),
        Err(RefreshError::RateLimited) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            RefreshError::RateLimited.to_string(),
        )),
        Err(RefreshError::Store(e)) => Err(ApiError::internal(&e)),
        Err(RefreshError::Cipher(e)) => Err(ApiError::internal(&e)),
    }
}

async fn authenticate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    // Any other field (a client's idea of the time, say) is ignored: only
    // the server's clock counts (S09).
    ApiJson(body): ApiJson<wire::AuthenticateRequest>,
) -> Result<Json<wire::AuthenticateResponse>, ApiError> {
    let source = client_address(&state, peer, &headers);
    let key = bearer(&headers).ok_or_else(unauthorized)?;
    // The user's own address, when the application forwards it (S47).
    let client = match body.client_address.as_deref().map(str::parse) {
        None => None,
        Some(Ok(ip)) => Some(ip),
        Some(Err(_)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "client_address must be an IP address, such as 203.0.113.7 or 2001:db8::7",
            ));
        }
    };
    let decision = state
        .app
        .authenticate_for_client(
            key,
            &source,
            client,
            &body.username,
            body.password,
            &body.otp,
        )
        .await
        .map_err(admin_error)?
        .ok_or_else(unauthorized)?;
    let result = match decision {
        Decision::Accept => {
            state.metrics.auth_accept.fetch_add(1, Ordering::Relaxed);
            wire::AuthResult::Accept
        }
        Decision::Reject => {
            state.metrics.auth_reject.fetch_add(1, Ordering::Relaxed);
            wire::AuthResult::Reject
        }
    };
    Ok(Json(wire::AuthenticateResponse { result }))
}

async fn list_users(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
) -> Result<Json<Vec<wire::UserView>>, ApiError> {
    let users = state
        .app
        .list_users(&admin)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(users.iter().map(user_view).collect()))
}

async fn add_user(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<wire::AddUserRequest>,
) -> Result<(StatusCode, Json<wire::UserView>), ApiError> {
    let role: Role = body
        .role
        .as_deref()
        .unwrap_or("user")
        .parse()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "role must be user, helpdesk, auditor or admin",
            )
        })?;
    let user = state
        .app
        .add_user(&admin, &body.username, body.email, role, body.password)
        .await
        .map_err(admin_error)?;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}

async fn list_tokens(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
) -> Result<Json<Vec<wire::TokenView>>, ApiError> {
    let tokens = state.app.list_tokens(&admin).await.map_err(admin_error)?;
    Ok(Json(
        tokens
            .iter()
            .map(|(t, u)| token_view(t, u.as_ref().map(|u| u.username.as_str())))
            .collect(),
    ))
}

async fn issue_token(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<wire::IssueTokenRequest>,
) -> Result<(StatusCode, Json<wire::IssuedToken>), ApiError> {
    let kind: TokenKind = body
        .kind
        .as_deref()
        .unwrap_or("latchkey")
        .parse()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "kind must be latchkey, totp or hotp",
            )
        })?;
    let issued = state
        .app
        .issue_token(&admin, &body.username, kind)
        .await
        .map_err(admin_error)?;
    // Every new token tells its user (S49).
    super::send_mail(&state, issued.notice.clone());
    Ok((StatusCode::CREATED, Json(issued_view(&issued))))
}

async fn show_token(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(serial): Path<String>,
) -> Result<Json<wire::TokenView>, ApiError> {
    let (token, owner) = state
        .app
        .show_token_with_owner(&admin, &serial)
        .await
        .map_err(admin_error)?;
    Ok(Json(token_view(
        &token,
        owner.as_ref().map(|u| u.username.as_str()),
    )))
}

async fn token_action(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path((serial, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    // The body is optional here: only unlock-code and resync need one. No
    // body at all is none; anything else is JSON, as the document says (a
    // body of white space alone is not JSON, and is refused, S55).
    let body: wire::TokenActionRequest = if body.is_empty() {
        wire::TokenActionRequest::default()
    } else if let Some(refusal) = not_an_object(&body, StatusCode::BAD_REQUEST) {
        return Err(refusal);
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not the expected JSON: {e}"),
            )
        })?
    };
    let Ok(action) = action.parse::<wire::TokenAction>() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "the action must be reset, suspend, resume, revoke, unlock-code or resync",
        ));
    };
    let app = &state.app;
    match action {
        wire::TokenAction::Reset => app.reset_token(&admin.helpdesk(), &serial).await,
        wire::TokenAction::Suspend => {
            app.set_token_state(&admin, &serial, TokenState::Suspended)
                .await
        }
        wire::TokenAction::Resume => {
            app.set_token_state(&admin, &serial, TokenState::Active)
                .await
        }
        wire::TokenAction::Revoke => {
            app.set_token_state(&admin, &serial, TokenState::Revoked)
                .await
        }
        wire::TokenAction::UnlockCode => {
            let reset = body.reset_code.ok_or_else(|| {
                ApiError::new(StatusCode::BAD_REQUEST, "send {\"reset_code\": \"…\"}")
            })?;
            let unlock_code = app
                .issue_unlock_code(&admin.helpdesk(), &serial, &reset)
                .await
                .map_err(admin_error)?;
            return Ok(Json(to_json(&wire::UnlockCodeIssued { unlock_code })));
        }
        wire::TokenAction::Resync => {
            let (Some(first), Some(second)) = (&body.otp1, &body.otp2) else {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "send {\"otp1\": \"…\", \"otp2\": \"…\"}: two consecutive codes from the token",
                ));
            };
            app.resync_hotp(&admin.helpdesk(), &serial, first, second)
                .await
                .map(|_| ())
        }
    }
    .map_err(admin_error)?;
    Ok(Json(to_json(&wire::TokenActionDone {
        done: action,
        serial,
    })))
}

/// The two answers of a token action as one JSON value.
#[allow(
    clippy::expect_used,
    reason = "serialising a wire type, whose fields are strings, numbers and enums, cannot fail"
)]
fn to_json(answer: &impl serde::Serialize) -> Value {
    serde_json::to_value(answer).expect("the wire types are JSON")
}

async fn list_api_keys(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
) -> Result<Json<Vec<wire::ApiKeyView>>, ApiError> {
    let keys = state
        .app
        .list_api_keys(&admin)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(keys.iter().map(api_key_view).collect()))
}

async fn create_api_key(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<wire::CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<wire::CreatedApiKey>), ApiError> {
    let role: ApiRole = body
        .role
        .as_deref()
        .unwrap_or("authenticate")
        .parse()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "role must be authenticate or admin",
            )
        })?;
    let key = state
        .app
        .create_api_key(&admin, &body.name, role)
        .await
        .map_err(admin_error)?;
    Ok((
        StatusCode::CREATED,
        Json(wire::CreatedApiKey {
            key,
            name: body.name,
            role: wire_api_role(role),
        }),
    ))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_api_key(&admin, &name)
        .await
        .map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_questions(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
) -> Result<Json<Vec<wire::QuestionView>>, ApiError> {
    let pool = state
        .app
        .list_questions(&admin)
        .await
        .map_err(admin_error)?;
    Ok(Json(
        pool.iter()
            .map(|q| wire::QuestionView {
                active: q.active,
                id: q.id,
                text: q.text.clone(),
            })
            .collect(),
    ))
}

async fn add_question(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<wire::AddQuestionRequest>,
) -> Result<(StatusCode, Json<wire::QuestionCreated>), ApiError> {
    // The API takes the text as it will be shown, as the document's
    // pattern says (S55): the store would make runs of white space one
    // space, and a length checked after that is not the length sent.
    if body.text.split_whitespace().collect::<Vec<_>>().join(" ") != body.text {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "write the question with single spaces between words and none around them",
        ));
    }
    let id = state
        .app
        .add_question(&admin, &body.text)
        .await
        .map_err(admin_error)?;
    Ok((StatusCode::CREATED, Json(wire::QuestionCreated { id })))
}

/// Retires a question (`DELETE`: it leaves the pool users choose from; the
/// row stays for the answers given to it).
async fn retire_question(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no security question {id}")))?;
    state
        .app
        .retire_question(&admin, id)
        .await
        .map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The help desk's "remove answers": the user chooses new ones at the next
/// full sign-in.
async fn reset_answers(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .reset_answers(&admin.helpdesk(), &username)
        .await
        .map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_audit(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Query(query): Query<wire::AuditQuery>,
) -> Result<Json<Vec<wire::AuditRowView>>, ApiError> {
    let rows = state
        .app
        .audit_rows(&admin, query.after, query.limit.clamp(1, 1000))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(rows.iter().map(audit_view).collect()))
}

async fn verify_audit(
    State(state): State<AppState>,
    // Only an admin may ask, though the answer is a verdict, not rows.
    AdminCaller(_admin): AdminCaller,
) -> Result<Json<wire::AuditVerification>, ApiError> {
    match state
        .app
        .verify_audit()
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Ok(rows) => Ok(Json(wire::AuditVerification::intact(rows))),
        Err(broken) => Ok(Json(wire::AuditVerification::broken(broken.to_string()))),
    }
}
