//! `/oauth2/token` (authorization_code with PKCE, refresh_token),
//! `/oauth2/userinfo` and `/oauth2/revoke` (RFC 7009): the JSON side,
//! for relying parties' servers. Clients authenticate with
//! `client_secret_basic` or `client_secret_post`; a public client sends
//! its `client_id` alone.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use latchkey_core::oidc::{OidcClient, TokenError, TokenSet};
use serde_json::json;
use zeroize::Zeroizing;

use super::{ensure_keys, issuer, oauth_error, server_error};
use crate::http::address_limits::{self, Limited};
use crate::http::{AppState, client_address};

/// The client's credentials as sent: the Basic header, or the form's
/// fields.
struct Credentials {
    client_id: String,
    secret: Option<Zeroizing<String>>,
    basic: bool,
}

/// One value of `application/x-www-form-urlencoded` undone (RFC 6749
/// §2.3.1 has Basic credentials encoded so).
fn form_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn credentials(
    headers: &HeaderMap,
    form: &mut HashMap<String, String>,
) -> Result<Credentials, &'static str> {
    let invalid = |description: &'static str| Err(description);
    let form_id = form.remove("client_id");
    let form_secret = form.remove("client_secret").map(Zeroizing::new);
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        return match form_id {
            Some(client_id) => Ok(Credentials {
                client_id,
                secret: form_secret,
                basic: false,
            }),
            None => invalid("client authentication is required"),
        };
    };
    if form_secret.is_some() {
        return invalid("use one client authentication method, not two");
    }
    let basic = authorization
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| BASE64.decode(b.trim().as_bytes()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .map(Zeroizing::new);
    let Some(pair) = basic else {
        return invalid("the Authorization header is not Basic client credentials");
    };
    let Some((id, secret)) = pair.split_once(':') else {
        return invalid("the Authorization header is not Basic client credentials");
    };
    let client_id = form_decoded(id);
    if form_id.is_some_and(|f| f != client_id) {
        return invalid("client_id differs from the Authorization header's");
    }
    Ok(Credentials {
        client_id,
        secret: Some(Zeroizing::new(form_decoded(secret))),
        basic: true,
    })
}

fn invalid_client(basic: bool) -> Response {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"latchkey\""),
        );
    }
    response
}

async fn authenticated_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &mut HashMap<String, String>,
    source: &str,
) -> Result<OidcClient, Response> {
    let credentials = credentials(headers, form).map_err(|description| {
        oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
    })?;
    match state
        .app
        .oidc_authenticate_client(
            &credentials.client_id,
            credentials.secret.as_ref().map(|s| s.as_str()),
            source,
        )
        .await
    {
        Ok(client) => Ok(client),
        Err(TokenError::InvalidClient) => {
            count_failure(state, source);
            Err(invalid_client(credentials.basic))
        }
        Err(e) => Err(server_error(&e)),
    }
}

/// Counts a failed request from `source` toward its limit (S52).
fn count_failure(state: &AppState, source: &str) {
    let now = state.app.clock_now();
    address_limits::count(
        &state.portal.base_url,
        Limited::FailedOidcToken,
        source,
        now,
    );
}

/// The answer to an address past its limit of failed requests (S52): the
/// same whatever client it names, before the client is looked at, so
/// neither a secret nor a code can be guessed at speed from one address.
/// The first refusal of a window is audited.
async fn throttled(state: &AppState, source: &str) -> Option<Response> {
    let node = &state.portal.base_url;
    let now = state.app.clock_now();
    let wait = address_limits::wait(node, Limited::FailedOidcToken, source, now)?;
    if address_limits::first_refusal(node, Limited::FailedOidcToken, source, now)
        && let Err(e) = state.app.oidc_token_throttled(source).await
    {
        return Some(server_error(&e));
    }
    let mut response = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "slow_down",
        "too many failed token requests came from this address; wait and try again",
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// The form, or why not: the body was not `application/x-www-form-urlencoded`.
fn posted(
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Option<HashMap<String, String>> {
    form.ok().map(|Form(f)| f)
}

fn not_a_form() -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "send the parameters as application/x-www-form-urlencoded",
    )
}

fn tokens_json(tokens: &TokenSet) -> Response {
    (
        [(header::PRAGMA, "no-cache")],
        Json(json!({
            "access_token": tokens.access_token.as_str(),
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "refresh_token": tokens.refresh_token.as_str(),
            "id_token": tokens.id_token,
            "scope": tokens.scope,
        })),
    )
        .into_response()
}

fn token_refusal(error: TokenError) -> Response {
    match error {
        TokenError::InvalidGrant(problem) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            &problem.to_string(),
        ),
        TokenError::InvalidClient => invalid_client(false),
        other => server_error(&other),
    }
}

pub(super) async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Some(mut form) = posted(form) else {
        return not_a_form();
    };
    let source = client_address(&state, peer, &headers);
    if let Some(response) = throttled(&state, &source).await {
        return response;
    }
    let client = match authenticated_client(&state, &headers, &mut form, &source).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    if let Err(e) = ensure_keys(&state).await {
        return server_error(&e);
    }
    let issuer = issuer(&state);
    let result = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = form.get("code").filter(|c| !c.is_empty()) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required",
                );
            };
            state
                .app
                .oidc_exchange_code(
                    &client,
                    code,
                    form.get("redirect_uri").map(String::as_str),
                    form.get("code_verifier").map(String::as_str),
                    &issuer,
                    &source,
                )
                .await
        }
        Some("refresh_token") => {
            let Some(refresh) = form.get("refresh_token").filter(|c| !c.is_empty()) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            state
                .app
                .oidc_refresh(&client, refresh, &issuer, &source)
                .await
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    };
    // A bad code, refresh token or verifier counts from a public client,
    // which anyone may name. A confidential client's own failures do not:
    // its server exchanges whatever code a browser brings to its callback,
    // so counting them would let any visitor stop every user of that
    // client; its secret is what a guesser lacks, counted above.
    if matches!(result, Err(TokenError::InvalidGrant(_))) && client.is_public() {
        count_failure(&state, &source);
    }
    match result {
        Ok(tokens) => tokens_json(&tokens),
        Err(error) => token_refusal(error),
    }
}

pub(super) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let invalid = || {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Bearer error=\"invalid_token\", error_description=\"the access token is not valid\"",
            )],
        )
            .into_response()
    };
    let Some(token) = bearer else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    };
    match state.app.oidc_userinfo(token).await {
        Ok(Some(claims)) => Json(claims).into_response(),
        Ok(None) => invalid(),
        Err(e) => server_error(&e),
    }
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Some(mut form) = posted(form) else {
        return not_a_form();
    };
    let source = client_address(&state, peer, &headers);
    if let Some(response) = throttled(&state, &source).await {
        return response;
    }
    let client = match authenticated_client(&state, &headers, &mut form, &source).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    // RFC 7009 §2.2: an unknown or already revoked token is no error.
    match state.app.oidc_revoke(&client, token, &source).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => server_error(&e),
    }
}
