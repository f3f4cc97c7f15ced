//! "Add an authenticator app": Chromium signs in and opens the page, an
//! independent reader (zbar's `zbarimg`) decodes the QR code on the
//! screenshot, OATH Toolkit's `oathtool` computes the app's codes from the
//! decoded `otpauth://` URI, and Latchkey takes the token into use only
//! after one right code. The node runs in-process on a clock the test
//! moves, and `oathtool --now` computes at that time: no waiting for steps.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::browser::Browser;
use common::web::{Account, Visitor};
use common::*;

/// The data of the one QR code `zbarimg` finds in the image at `path`.
fn zbar_decode(path: &std::path::Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(path)
        .output()
        .expect("zbarimg runs (Debian's zbar-tools; .ci/run installs it)");
    assert!(
        out.status.success(),
        "zbarimg found no QR code in {}: {}",
        path.display(),
        stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The query parameters of an `otpauth://` URI.
fn params(uri: &str) -> std::collections::HashMap<String, String> {
    let query = uri.split_once('?').expect("a query").1;
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The code `oathtool` computes from the URI's parameters at Unix time `at`.
fn oathtool(uri: &str, at: u64) -> String {
    let p = params(uri);
    let out = Command::new("oathtool")
        .arg(format!(
            "--totp={}",
            p.get("algorithm").map_or("SHA1", String::as_str)
        ))
        .arg(format!(
            "--digits={}",
            p.get("digits").map_or("6", String::as_str)
        ))
        .arg(format!(
            "--time-step-size={}s",
            p.get("period").map_or("30", String::as_str)
        ))
        .arg(format!("--now=@{at}"))
        .args(["--base32", p.get("secret").expect("a secret")])
        .output()
        .expect("oathtool runs (Debian's oathtool; .ci/run installs it)");
    assert!(out.status.success(), "oathtool: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Maria's tokens of one kind, as `admin token list --json` shows them.
fn tokens_of(db: &Database, user: &str, kind: &str) -> Vec<serde_json::Value> {
    db.admin_json(&["token", "list"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["user"] == user && t["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn a_phone_app_scans_the_qr_code_and_counts_only_after_one_right_code() {
    let db = Database::new(false);
    let mut account = Account::new(&db, "maria");
    let server = db.spawn_app();
    let key = db.api_key("vpn", "authenticate");
    let mut browser = Browser::start("authenticator-app");

    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "maria");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &account.next_otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert!(
        browser.wait_until("return location.pathname !== '/login/otp'", 10),
        "signed in: {}",
        browser.text("body")
    );

    browser.goto(&format!("{}/self-service", server.url));
    browser.click("#action-authenticator-app");
    assert_eq!(
        browser.wait_for_path("/self-service/authenticator-app"),
        "/self-service/authenticator-app"
    );
    // Maria has a token already: adding one needs a fresh code from it.
    // A wrong one adds nothing.
    browser.type_into("#otp", "000000");
    browser.click("#start-enrolment");
    browser
        .wait_find("#otp-error", 10)
        .expect("the wrong OTP is named");
    assert!(browser.try_find("#enrolment-qr").is_none());
    assert!(tokens_of(&db, "maria", "totp").is_empty(), "nothing added");
    browser.type_into("#otp", &account.next_otp());
    browser.click("#start-enrolment");
    browser
        .wait_find("#enrolment-qr svg", 10)
        .unwrap_or_else(|| panic!("the QR code: {}", browser.text("body")));
    let shot = browser.screenshot("scan-this-code");

    // What an app reads from the screen.
    let uri = zbar_decode(&shot);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let p = params(&uri);
    assert_eq!(p["issuer"], "Latchkey");
    assert!(
        uri.starts_with("otpauth://totp/Latchkey:maria?"),
        "the app shows the issuer and the user name: {uri}"
    );
    let typed: String = browser
        .text("#secret")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(typed, p["secret"], "the key for typing is the QR code's");
    let pending = tokens_of(&db, "maria", "totp");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["state"], "new", "not in use before a code");
    let serial = pending[0]["serial"].as_str().unwrap().to_owned();

    // A wrong first code: said so, and the token stays out of use.
    let now = server.now();
    let right = oathtool(&uri, now);
    let nearby: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| oathtool(&uri, *t))
        .collect();
    let wrong = (0..)
        .map(|n: u32| format!("{:06}", (right.parse::<u32>().unwrap() + 1 + n) % 1_000_000))
        .find(|c| !nearby.contains(c))
        .unwrap();
    browser.type_into("#code", &wrong);
    browser.click("#confirm-enrolment");
    let error = browser
        .wait_find("#code-error", 10)
        .unwrap_or_else(|| panic!("the wrong code is named: {}", browser.text("body")));
    assert!(browser.element_text(&error).contains("not right"));
    browser.screenshot("wrong-first-code");
    assert_eq!(db.admin_json(&["token", "show", &serial])["state"], "new");
    assert_eq!(
        server.authenticate(&key, "maria", &right),
        "reject",
        "an unconfirmed app's codes sign nobody in"
    );

    // The right code takes it into use, and is spent by it.
    browser.type_into("#code", &right);
    browser.click("#confirm-enrolment");
    assert!(
        browser.wait_until(
            "return document.querySelector('h1').textContent.includes('Your authenticator app is added')",
            10
        ),
        "{}",
        browser.text("body")
    );
    browser.screenshot("app-added");
    assert_eq!(
        db.admin_json(&["token", "show", &serial])["state"],
        "active"
    );
    assert_eq!(
        server.authenticate(&key, "maria", &right),
        "reject",
        "the confirming code does not sign in a second time"
    );
    server.clock().advance(30);
    let next = oathtool(&uri, server.now());
    assert_eq!(server.authenticate(&key, "maria", &next), "accept");

    // Maria is told a token was added.
    assert!(
        server
            .mail()
            .wait_until(std::time::Duration::from_secs(10), |m| m.to
                == "maria@example.org"
                && m.subject == "A new token was added to your account"
                && m.body.contains(&serial[..4])),
        "the new-token mail"
    );
}

/// The rules around the page, without a browser, on both backends: an
/// enrolment left unconfirmed expires (10 minutes), a pending cap applies,
/// and another user's enrolment cannot be confirmed.
fn enrolment_rules(postgres: bool) {
    let db = Database::new(postgres);
    let mut account = Account::new(&db, "nils");
    let server = db.spawn_app();
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);

    let page = visitor.get("/self-service/authenticator-app");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"otp\""), "a fresh OTP is asked");
    let page = visitor.post("/self-service/authenticator-app", &[]);
    assert_eq!(page.status, 422, "no OTP, no enrolment");
    assert!(tokens_of(&db, "nils", "totp").is_empty());

    let otp = account.next_otp();
    let page = visitor.post("/self-service/authenticator-app", &[("otp", &otp)]);
    assert_eq!(page.status, 200, "{}", page.body);
    let first = tokens_of(&db, "nils", "totp");
    assert_eq!(first.len(), 1);
    let first_serial = first[0]["serial"].as_str().unwrap().to_owned();
    let otp = account.next_otp();
    let page = visitor.post("/self-service/authenticator-app", &[("otp", &otp)]);
    assert_eq!(page.status, 200);
    let otp = account.next_otp();
    let page = visitor.post("/self-service/authenticator-app", &[("otp", &otp)]);
    assert_eq!(page.status, 429, "two waiting is the cap: {}", page.body);
    assert_eq!(tokens_of(&db, "nils", "totp").len(), 2);

    // Ten minutes on, the unconfirmed ones are void: a code is refused.
    server.clock().advance(10 * 60);
    visitor.get("/self-service/authenticator-app");
    let page = visitor.post(
        "/self-service/authenticator-app/confirm",
        &[("serial", &first_serial), ("code", "123456")],
    );
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("expired"), "{}", page.body);
    assert_eq!(
        db.admin_json(&["token", "show", &first_serial])["state"],
        "new"
    );
    // Starting again revokes the expired ones, so they no longer count.
    visitor.get("/self-service/authenticator-app");
    let otp = account.next_otp();
    let page = visitor.post("/self-service/authenticator-app", &[("otp", &otp)]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        db.admin_json(&["token", "show", &first_serial])["state"],
        "revoked"
    );

    // Another user cannot confirm nils's enrolment, even with its code.
    let mine: Vec<_> = tokens_of(&db, "nils", "totp")
        .into_iter()
        .filter(|t| t["state"] == "new")
        .collect();
    assert_eq!(mine.len(), 1);
    let serial = mine[0]["serial"].as_str().unwrap().to_owned();
    let mut other = Account::new(&db, "olga");
    let mut olga = Visitor::new(&server.url);
    other.sign_in_with_answers(&mut olga);
    olga.get("/self-service/authenticator-app");
    let page = olga.post(
        "/self-service/authenticator-app/confirm",
        &[("serial", &serial), ("code", "123456")],
    );
    assert_eq!(page.status, 409);
    assert_eq!(db.admin_json(&["token", "show", &serial])["state"], "new");
    // And a recovery session or no session never reaches the page.
    let mut stranger = Visitor::new(&server.url);
    let page = stranger.get("/self-service/authenticator-app");
    assert_eq!(page.location(), Some("/login"));
}

#[test]
fn unconfirmed_enrolments_expire_and_are_capped_on_sqlite() {
    enrolment_rules(false);
}

#[test]
fn unconfirmed_enrolments_expire_and_are_capped_on_postgres() {
    enrolment_rules(true);
}
