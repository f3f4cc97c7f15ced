//! Every refusal under `/api/` answers `{"error": message}` as JSON, as the
//! OpenAPI document says (SECURITY.md S55, review finding L6): the
//! handlers' own errors are JSON already; this maps the rest — axum's
//! rejections of a query string, a path or a body (400, 413, 415, 422),
//! an unknown path (404), a method the path does not take (405) — whose
//! bodies are plain text or empty.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The most of a plain-text rejection kept as the message.
const MESSAGE_LIMIT: usize = 1024;

/// The middleware: a non-JSON refusal of an `/api/` request becomes JSON.
pub async fn json_errors_on_api(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !api || !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MESSAGE_LIMIT * 4)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = message_for(parts.status, &text);
    let mut mapped = (
        parts.status,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response();
    // Keep what the refusal said besides its body (`Allow`, `WWW-Authenticate`).
    for (name, value) in &parts.headers {
        if *name != header::CONTENT_TYPE && *name != header::CONTENT_LENGTH {
            mapped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    mapped
}

/// The message for a refusal whose body said `text`.
fn message_for(status: StatusCode, text: &str) -> String {
    let said: String = text.chars().take(MESSAGE_LIMIT).collect();
    match status {
        StatusCode::NOT_FOUND if said.is_empty() => "there is no such API path".into(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "this API path does not take that method (see Allow)".into()
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the body is too large".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "send the body as JSON with Content-Type: application/json".into()
        }
        _ if !said.is_empty() => said,
        _ => status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_lowercase(),
    }
}
