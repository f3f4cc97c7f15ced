//! The OpenID Connect tests' shared set-up: clients registered with the
//! CLI, authorization requests with PKCE, a full portal sign-in and its
//! code, and the token side over plain HTTP.

use std::collections::HashMap;

use data_encoding::BASE64URL_NOPAD;
use serde_json::Value;

use super::web::{Account, Page, Visitor};
use super::{Database, PASSWORD, Server};

// RFC 7636, Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// Never listened on: the HTTP tests read codes from the Location header.
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A registered relying party, as the CLI printed it.
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
}

pub fn add_client(db: &Database, name: &str, extra: &[&str]) -> Client {
    let mut args = vec!["oidc-client", "add", name];
    args.extend_from_slice(extra);
    if !extra.contains(&"--redirect-uri") {
        args.extend_from_slice(&["--redirect-uri", REDIRECT]);
    }
    let added = db.admin_json(&args);
    Client {
        id: added["client_id"].as_str().unwrap().to_owned(),
        secret: added["client_secret"].as_str().map(str::to_owned),
    }
}

pub fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

/// An authorization request for `client` with PKCE S256, `state` and
/// `nonce`, with `changes` set (an empty value leaves the parameter out).
pub fn authorize_path(client: &Client, changes: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    format!("/oauth2/authorize?{}", query(&pairs))
}

/// Where the page sends the browser back to the client: its redirect, or
/// the continue link of the page after a sign-in form.
pub fn location_of(page: &Page) -> Option<String> {
    if let Some(location) = page.location() {
        return Some(location.to_owned());
    }
    let marker = "id=\"continue\" href=\"";
    let start = page.body.find(marker)? + marker.len();
    let end = page.body[start..].find('"')?;
    Some(
        page.body[start..start + end]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// The query of a redirect back to the client.
pub fn redirect_query(page: &Page) -> HashMap<String, String> {
    let location = location_of(page)
        .unwrap_or_else(|| panic!("a way back, not {}: {}", page.status, page.body));
    assert!(
        location.starts_with(REDIRECT),
        "back to the client: {location}"
    );
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn signed_in(server: &Server, account: &mut Account) -> Visitor {
    let mut visitor = Visitor::new(&server.url);
    let otp = account.next_otp();
    let page = visitor.sign_in(&account.name, PASSWORD, &otp);
    assert_eq!(page.status, 303, "{}", page.body);
    visitor
}

pub fn code_for(visitor: &mut Visitor, client: &Client) -> String {
    let page = visitor.get(&authorize_path(client, &[]));
    assert_eq!(page.status, 303, "{}", page.body);
    let back = redirect_query(&page);
    assert_eq!(back["state"], "st-1");
    back["code"].clone()
}

/// A JSON answer of the token side.
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub cache_control: Option<String>,
    pub retry_after: Option<String>,
}

pub fn post_form(server: &Server, path: &str, client: &Client, fields: &[(&str, &str)]) -> Answer {
    post_form_from(server, path, client, fields, None)
}

/// [`post_form`] from `forwarded_for` (an `X-Forwarded-For`, for a server
/// that trusts the test's address as its proxy).
pub fn post_form_from(
    server: &Server,
    path: &str,
    client: &Client,
    fields: &[(&str, &str)],
    forwarded_for: Option<&str>,
) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut fields = fields.to_vec();
    let mut request = agent
        .post(&format!("{}{path}", server.url))
        .header("Content-Type", "application/x-www-form-urlencoded");
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    match &client.secret {
        Some(secret) => {
            let basic = data_encoding::BASE64.encode(format!("{}:{secret}", client.id).as_bytes());
            request = request.header("Authorization", &format!("Basic {basic}"));
        }
        None => fields.push(("client_id", &client.id)),
    }
    let mut response = request.send(query(&fields).as_bytes()).unwrap();
    let status = response.status().as_u16();
    let cache_control = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        cache_control,
        retry_after,
    }
}

pub fn exchange(server: &Server, client: &Client, code: &str, verifier: &str) -> Answer {
    post_form(
        server,
        "/oauth2/token",
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
}

pub fn refresh(server: &Server, client: &Client, token: &str) -> Answer {
    post_form(
        server,
        "/oauth2/token",
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
}

pub fn userinfo_status(server: &Server, access_token: &str) -> u16 {
    server.get("/oauth2/userinfo", Some(access_token)).status
}

pub fn assert_invalid_grant(answer: &Answer) {
    assert_eq!(answer.status, 400, "{}", answer.json);
    assert_eq!(answer.json["error"], "invalid_grant", "{}", answer.json);
    assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
}

pub fn audit(db: &Database) -> String {
    String::from_utf8_lossy(
        &db.admin(&["audit", "list", "--json", "--limit", "10000"], "")
            .stdout,
    )
    .into_owned()
}

/// The JOSE header of a compact JWS.
pub fn jws_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&BASE64URL_NOPAD.decode(header.as_bytes()).unwrap()).unwrap()
}
