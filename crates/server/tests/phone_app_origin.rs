//! The phone app on an origin of its own (`app_origin`, issue 20): CORS for
//! exactly that origin on exactly the two endpoints the app calls, nothing
//! for other origins and nothing at all without the setting; the portal's
//! phone link pointing at the app's origin; the app's policy and its
//! server URL; and headless Chromium running the app from a second
//! loopback origin (a copy of the files the server serves, behind Python's
//! `http.server`) that activates a token and refreshes its unlock slots
//! against the real `latchkey serve` across origins.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::{Browser, free_port};
use common::phone::*;
use common::web::{Account, Visitor};
use common::*;
use latchkey_token::TokenRecord;

const APP_ORIGIN: &str = "https://app.example.org";
const OTHER_ORIGIN: &str = "https://portal-lookalike.example.net";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Status and the `access-control-*` headers (name, value) of an answer.
fn cors_headers(response: &ureq::http::Response<ureq::Body>) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// A browser's preflight for a JSON `POST` to `path` from `origin`.
fn preflight(server: &Server, path: &str, origin: &str) -> (u16, Vec<(String, String)>) {
    let response = agent()
        .options(&format!("{}{path}", server.url))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .call()
        .unwrap();
    (response.status().as_u16(), cors_headers(&response))
}

/// A JSON `POST` to `path` from `origin`: status, CORS headers, body.
fn post_from(
    server: &Server,
    path: &str,
    origin: &str,
    body: &serde_json::Value,
) -> (u16, Vec<(String, String)>, serde_json::Value) {
    let mut response = agent()
        .post(&format!("{}{path}", server.url))
        .header("Origin", origin)
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    let headers = cors_headers(&response);
    let text = response.body_mut().read_to_string().unwrap();
    (
        response.status().as_u16(),
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

fn get_text(url: &str) -> (String, String) {
    let mut response = agent().get(url).call().unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    let csp = response
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.body_mut().read_to_string().unwrap(), csp)
}

#[test]
fn cors_answers_the_app_origin_on_the_app_endpoints_and_no_one_else() {
    let db = Database::new(false);
    db.add_user("alice");
    let server = db.spawn_app_with(|config| config.app_origin = Some(APP_ORIGIN.into()));

    for path in ["/api/v1/tokens/activate", "/api/v1/tokens/refresh"] {
        let (status, headers) = preflight(&server, path, APP_ORIGIN);
        assert_eq!(status, 204, "{path}: the preflight is answered");
        assert_eq!(
            header(&headers, "access-control-allow-origin").as_deref(),
            Some(APP_ORIGIN),
            "{path}"
        );
        assert_eq!(
            header(&headers, "access-control-allow-methods").as_deref(),
            Some("POST")
        );
        assert_eq!(
            header(&headers, "access-control-allow-headers").as_deref(),
            Some("content-type")
        );
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            None,
            "never with credentials"
        );
        // Another origin learns nothing: the browser's same-origin rule holds.
        let (status, headers) = preflight(&server, path, OTHER_ORIGIN);
        assert_eq!(headers, vec![], "{path} from another origin");
        assert_ne!(status, 204);
    }

    // A real activation from the app's origin can be read there.
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let body = serde_json::json!({
        "serial": issued["serial"].as_str().unwrap(),
        "activation_code": issued["activation_code"].as_str().unwrap(),
    });
    let (status, headers, answer) =
        post_from(&server, "/api/v1/tokens/activate", APP_ORIGIN, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        header(&headers, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    assert!(answer["secret"].is_string());
    // A refusal is readable too, so the app can say why.
    let (status, headers, answer) =
        post_from(&server, "/api/v1/tokens/activate", APP_ORIGIN, &body);
    assert!((400..500).contains(&status), "a spent code: {status}");
    assert!(answer["error"].is_string(), "{answer}");
    assert_eq!(
        header(&headers, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    // The same request from another origin carries no CORS header.
    let (_, headers, _) = post_from(&server, "/api/v1/tokens/activate", OTHER_ORIGIN, &body);
    assert_eq!(headers, vec![]);
    // Nothing else the server answers is opened to the app's origin.
    let (_, headers, _) = post_from(
        &server,
        "/api/v1/authenticate",
        APP_ORIGIN,
        &serde_json::json!({"username": "alice", "password": PASSWORD, "otp": "12345678"}),
    );
    assert_eq!(headers, vec![], "authenticate is not the app's");
    let (_, headers) = preflight(&server, "/api/v1/tokens", APP_ORIGIN);
    assert_eq!(headers, vec![], "issuing tokens is not the app's");

    // The app's policy lets it call this server, and it knows where that is.
    let (server_js, csp) = get_text(&format!("{}/app/js/server.js", server.url));
    assert!(
        server_js.contains(&format!("export const SERVER_URL = \"{}\";", server.url)),
        "{server_js}"
    );
    assert!(
        csp.contains(&format!("connect-src 'self' {};", server.url)),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"));
}

#[test]
fn without_app_origin_there_is_no_cors_at_all() {
    let db = Database::new(false);
    db.add_user("alice");
    let server = db.serve();
    for origin in [APP_ORIGIN, OTHER_ORIGIN] {
        let (_, headers) = preflight(&server, "/api/v1/tokens/activate", origin);
        assert_eq!(headers, vec![], "a preflight from {origin}");
        let (_, headers, _) = post_from(
            &server,
            "/api/v1/tokens/activate",
            origin,
            &serde_json::json!({"serial": "1", "activation_code": "2"}),
        );
        assert_eq!(headers, vec![], "a request from {origin}");
    }
    // The app calls the origin it came from, and its policy only that.
    let (server_js, csp) = get_text(&format!("{}/app/js/server.js", server.url));
    assert!(server_js.contains("export const SERVER_URL = \"\";"));
    assert!(csp.contains("connect-src 'self';"), "{csp}");
}

#[test]
fn app_origin_comes_from_the_environment_in_its_normal_form_and_bad_ones_are_refused() {
    let db = Database::new(false);
    let server = db.serve_with(&[("LATCHKEY_APP_ORIGIN", "HTTPS://App.Example.org:443/")]);
    let (status, headers) = preflight(&server, "/api/v1/tokens/activate", APP_ORIGIN);
    assert_eq!(status, 204);
    assert_eq!(
        header(&headers, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    drop(server);

    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("LATCHKEY_APP_ORIGIN", "https://app.example.org/app/")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a path is not an origin");
    let said = stderr(&out);
    assert!(
        said.contains("LATCHKEY_APP_ORIGIN") && said.contains("https://app.example.org"),
        "the message names the variable and the form it takes: {said}"
    );
}

#[test]
fn the_portals_phone_link_opens_the_app_on_its_own_origin() {
    let db = Database::new(false);
    let server = db.spawn_app_with(|config| config.app_origin = Some(APP_ORIGIN.into()));
    let mut account = Account::new(&db, "rosa");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    visitor.get("/self-service/tokens");
    let page = visitor.post("/self-service/tokens/new", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    let link = href(&page.body, "phone-link");
    let query = link
        .strip_prefix(&format!("{APP_ORIGIN}/app/#activate?serial="))
        .unwrap_or_else(|| panic!("the link opens the app on its origin: {link}"));
    let (serial, code) = query.split_once("&activation_code=").unwrap();
    assert_eq!(
        db.admin_json(&["token", "show", serial])["state"],
        "new",
        "the link names the new token"
    );
    assert_eq!(digits(code).len(), 16, "and its activation code: {link}");
}

/// The `href` of the link with this id, with Askama's `&#38;` undone.
fn href(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" href=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} in {body}"))
        + marker.len();
    let end = body[start..].find('"').unwrap();
    body[start..start + end]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Python's `http.server` serving a folder on a loopback port; stopped
/// (by its own process id) when dropped.
struct StaticSite {
    child: Child,
}

impl StaticSite {
    fn start(folder: &std::path::Path, port: u16) -> StaticSite {
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(folder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is installed");
        let site = StaticSite { child };
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{port}/app/");
        while agent().get(&url).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the static site did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        site
    }
}

impl Drop for StaticSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file of the app as `server` serves it (the service worker's list,
/// the worker itself and the known-answers page), written under `folder/app/`.
fn mirror_app(server: &Server, folder: &std::path::Path) {
    let (worker, _) = get_text(&format!("{}/app/sw.js", server.url));
    let list = worker
        .split("const FILES = [")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .unwrap();
    let mut files: Vec<String> = list
        .split(',')
        .map(|entry| entry.trim().trim_matches('"').to_owned())
        .filter(|name| !name.is_empty() && name != "./")
        .collect();
    files.push("sw.js".into());
    assert!(files.iter().any(|f| f == "js/server.js"));
    for file in files {
        let mut response = agent()
            .get(&format!("{}/app/{file}", server.url))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{file}");
        let bytes = response.body_mut().read_to_vec().unwrap();
        let path = folder.join("app").join(&file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn the_app_on_a_second_origin_activates_and_refreshes_across_origins() {
    let db = Database::new(false);
    let app_port = free_port();
    let app_origin = format!("http://127.0.0.1:{app_port}");
    let server = db.serve_with(&[("LATCHKEY_APP_ORIGIN", &app_origin)]);
    assert_ne!(server.url, app_origin);
    let copy = tempfile::tempdir().unwrap();
    mirror_app(&server, copy.path());
    let _site = StaticSite::start(copy.path(), app_port);

    // The portal's link leads to the app on its own origin.
    let mut account = Account::new(&db, "rosa");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    visitor.get("/self-service/tokens");
    let page = visitor.post("/self-service/tokens/new", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    let link = href(&page.body, "phone-link");
    let query = link
        .strip_prefix(&format!("{app_origin}/app/#activate?"))
        .unwrap_or_else(|| panic!("the link opens the app's origin: {link}"));
    let field = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (serial, code) = (field("serial"), field("activation_code"));

    let mut browser = Browser::start_phone("phone-app/second-origin");
    activate_from_link(&mut browser, &link, &serial, &code);
    assert!(
        browser.url().starts_with(&app_origin),
        "the app ran on its own origin: {}",
        browser.url()
    );
    browser.screenshot("second-origin-list");
    assert_eq!(
        db.admin_json(&["token", "show", &serial])["state"],
        "active",
        "the server activated the token"
    );

    // The record names the server, and a refresh (which a current code
    // authorises) crosses origins too.
    open_token_at(&browser, &app_origin, &serial);
    assert!(matches!(try_pin(&browser, PIN), Outcome::Code(_)));
    let record = TokenRecord::from_json(export_from_app(&browser, &serial).as_bytes()).unwrap();
    assert_eq!(record.server.as_deref(), Some(server.url.as_str()));
    browser.click("#refresh-slots");
    assert!(
        browser.wait_until(
            "const s = document.getElementById('refresh-status').dataset.state;
             return s === 'done' || s === 'error';",
            180
        ),
        "the refresh did not finish: {}",
        browser.text("main")
    );
    let said = browser.text("#refresh-status");
    assert!(said.contains("10 new unlock codes"), "{said}");
    browser.screenshot("second-origin-refreshed");
    // The portal's unlock link in the locked view goes to the server.
    open_token_at(&browser, &app_origin, &serial);
    browser.click("#forgot-pin");
    wait_visible(&browser, "view-locked", 10);
    let unlock = browser
        .attribute(&browser.find("#get-unlock-code"), "href")
        .unwrap();
    assert!(
        unlock.starts_with(&format!("{}/self-service/unlock?serial=", server.url)),
        "{unlock}"
    );
}
