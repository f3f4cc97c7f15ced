//! The OpenID Connect provider's HTTP side (DESIGN.md, "OpenID Connect
//! provider"): discovery, the authorization endpoint (whose sign-in pages
//! are the portal's), the token, userinfo, JWK Set, revocation and logout
//! endpoints. The rules are `latchkey_core::oidc`; here are the wire words
//! (RFC 6749 error codes, JSON, query strings) and the browser's way
//! through the portal and back.
//!
//! Every step's state is in the database, so any node serves any step: an
//! authorization request waiting for its user to sign in is held there,
//! and the browser carries only a random handle to it, in a cookie of its
//! own that the portal's second-factor page looks for.

mod authorize;
mod logout;
mod token;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_core::oidc::OidcKeyError;
use serde_json::json;
use zeroize::Zeroizing;

use crate::http::AppState;

pub use authorize::RESUME_PATH;

/// The OIDC routes, merged into the portal's router (same layers).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth2/jwks", get(jwks))
        .route(
            "/oauth2/authorize",
            get(authorize::authorize).post(authorize::authorize_posted),
        )
        .route(RESUME_PATH, get(authorize::resume))
        .route("/oauth2/token", axum::routing::post(token::token))
        .route(
            "/oauth2/userinfo",
            get(token::userinfo).post(token::userinfo),
        )
        .route("/oauth2/revoke", axum::routing::post(token::revoke))
        .route(
            "/oauth2/logout",
            get(logout::logout).post(logout::logout_confirmed),
        )
}

/// Whether the browser carries a held authorization request: the portal
/// sends it to [`RESUME_PATH`] after the second factor instead of home.
pub fn holds_request(state: &AppState, headers: &HeaderMap) -> bool {
    request_handle(state, headers).is_some()
}

/// The issuer: the public URL, without a trailing slash.
fn issuer(state: &AppState) -> String {
    state.portal.base_url.trim_end_matches('/').to_owned()
}

/// The held request's cookie name (`__Host-` when served over TLS).
fn request_cookie(state: &AppState) -> &'static str {
    if state.portal.secure_cookies {
        "__Host-latchkey_oidc_request"
    } else {
        "latchkey_oidc_request"
    }
}

/// A `Set-Cookie` value for the held request's handle. `SameSite=Lax`:
/// the cookie is set on a navigation from the client's site, and must be
/// there when the portal's own pages send the browser on.
fn request_cookie_header(state: &AppState, value: &str, max_age: i64) -> String {
    let mut cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}",
        request_cookie(state)
    );
    if state.portal.secure_cookies {
        cookie.push_str("; Secure");
    }
    cookie
}

fn request_handle(state: &AppState, headers: &HeaderMap) -> Option<Zeroizing<String>> {
    let name = request_cookie(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty() && v.len() <= 64)
        .map(|(_, v)| Zeroizing::new(v.to_owned()))
}

/// An RSA-2048 private key as PKCS#8. `ring` signs RS256 but cannot make
/// RSA keys, so the `rsa` crate makes them, here only: the first keys at
/// the first request that needs one, and `admin oidc-key rotate`.
pub fn generate_rsa_pkcs8() -> Zeroizing<Vec<u8>> {
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rsa::rand_core::OsRng;
    // Both fail only if the system's random source or the encoder is
    // broken: nothing safe is left to do then.
    #[allow(clippy::expect_used)]
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("an RSA key is made");
    #[allow(clippy::expect_used)]
    let document = key.to_pkcs8_der().expect("an RSA key encodes as PKCS#8");
    Zeroizing::new(document.as_bytes().to_vec())
}

/// Makes the first signing keys if there are none yet.
async fn ensure_keys(state: &AppState) -> Result<(), OidcKeyError> {
    if state.app.oidc_has_keys().await? {
        return Ok(());
    }
    let pkcs8 = tokio::task::spawn_blocking(generate_rsa_pkcs8)
        .await
        .map_err(|e| OidcKeyError::Store(latchkey_core::StoreError::Backend(Box::new(e))))?;
    state.app.oidc_first_keys(&pkcs8).await
}

/// An unexpected failure, logged with its cause, answered as OAuth's
/// `server_error`.
fn server_error(cause: &dyn std::error::Error) -> Response {
    let chain = crate::report::error_chain(cause);
    tracing::error!(error = %chain, "OIDC request failed");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the server could not complete the request",
    )
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::PRAGMA, "no-cache")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn discovery(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let issuer = issuer(&state);
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "jwks_uri": format!("{issuer}/oauth2/jwks"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp",
            "sid", "amr", "acr", "preferred_username", "name", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    }))
    .into_response()
}

async fn jwks(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    if let Err(e) = ensure_keys(&state).await {
        return server_error(&e);
    }
    match state.app.oidc_jwks().await {
        Ok(keys) => (
            [(header::CONTENT_TYPE, "application/jwk-set+json")],
            keys.to_string(),
        )
            .into_response(),
        Err(e) => server_error(&e),
    }
}
