//! `/metrics` kept off the public port: on its own listener
//! (`metrics_listen`, the public port then answers 404) or behind a bearer
//! token (`metrics_token`, 401 without it); open as before with neither.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const TOKEN: &str = "metrics-token-for-the-test-5b1f";

/// The status and body of `GET url`, with `Authorization: Bearer token`.
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().expect("the server answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn with_neither_setting_metrics_are_on_the_public_port() {
    let db = Database::new(false);
    let server = db.serve();
    let (status, body) = get(&format!("{}/metrics", server.url), None);
    assert_eq!(status, 200);
    assert!(body.contains("latchkey_authentications_total"), "{body}");
}

#[test]
fn metrics_listen_serves_metrics_alone_and_the_public_port_answers_404() {
    let db = Database::new(false);
    let port = free_port();
    let metrics = format!("127.0.0.1:{port}");
    let server = db.serve_with(&[("LATCHKEY_METRICS_LISTEN", &metrics)]);

    let (status, _) = get(&format!("{}/metrics", server.url), None);
    assert_eq!(status, 404, "not on the public port");
    let (status, _) = get(&format!("{}/healthz", server.url), None);
    assert_eq!(status, 200, "the rest of the public port is unchanged");

    let (status, body) = get(&format!("http://{metrics}/metrics"), None);
    assert_eq!(status, 200);
    assert!(body.contains("latchkey_authentications_total"), "{body}");
    for path in ["/healthz", "/login", "/api/v1/openapi.json"] {
        let (status, _) = get(&format!("http://{metrics}{path}"), None);
        assert_eq!(status, 404, "{path} is not on the metrics listener");
    }
}

#[test]
fn metrics_token_makes_metrics_ask_for_the_bearer_token() {
    let db = Database::new(false);
    let server = db.serve_with(&[("LATCHKEY_METRICS_TOKEN", TOKEN)]);
    let url = format!("{}/metrics", server.url);
    assert_eq!(get(&url, None).0, 401, "without a token");
    assert_eq!(get(&url, Some("metrics-token-for-the-test-5b1e")).0, 401);
    assert_eq!(get(&url, Some("")).0, 401);
    let (status, body) = get(&url, Some(TOKEN));
    assert_eq!(status, 200);
    assert!(body.contains("latchkey_authentications_total"), "{body}");

    // With its own listener too, the token is asked for there.
    let port = free_port();
    let metrics = format!("127.0.0.1:{port}");
    let both = db.serve_with(&[
        ("LATCHKEY_METRICS_TOKEN", TOKEN),
        ("LATCHKEY_METRICS_LISTEN", &metrics),
    ]);
    assert_eq!(get(&format!("{}/metrics", both.url), Some(TOKEN)).0, 404);
    assert_eq!(get(&format!("http://{metrics}/metrics"), None).0, 401);
    assert_eq!(
        get(&format!("http://{metrics}/metrics"), Some(TOKEN)).0,
        200
    );
}
