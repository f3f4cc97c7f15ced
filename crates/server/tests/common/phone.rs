//! What the phone app's browser tests share: starting the app, activating
//! a token through the portal's link, the PIN screen's outcomes, reading the
//! code with its TOTP step, exporting a record, oathtool's answer, and the
//! portal's password step and the tests' security answers.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::browser::Browser;
use super::{PASSWORD, PIN, Server, SoftToken, stderr, token_binary};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

pub fn wait_ready(browser: &Browser) {
    assert!(
        browser.wait_until("return document.body.dataset.ready === 'true';", 30),
        "the app did not start: {}",
        browser.text("body")
    );
}

pub fn visible(browser: &Browser, id: &str) -> bool {
    browser
        .execute(
            "const e = document.getElementById(arguments[0]); return !!e && !e.hidden;",
            json!([id]),
        )
        .as_bool()
        .unwrap_or(false)
}

pub fn wait_visible(browser: &Browser, id: &str, seconds: u64) {
    let script = format!("const e = document.getElementById('{id}'); return !!e && !e.hidden;");
    assert!(
        browser.wait_until(&script, seconds),
        "#{id} is not shown; the page says: {}",
        browser.text("main")
    );
}

pub fn assert_fits_a_phone(browser: &Browser, screen: &str) {
    assert!(
        !browser.scrolls_sideways(),
        "the {screen} screen runs off the side of a 390 px phone"
    );
}

/// Opens `/app/#activate?…` as the portal's link does and activates with [`PIN`].
pub fn activate_in_app(browser: &mut Browser, server: &Server, issued: &Value) -> String {
    let serial = digits(issued["serial"].as_str().unwrap());
    let code = digits(issued["activation_code"].as_str().unwrap());
    activate_from_link(
        browser,
        &format!(
            "{}/app/#activate?serial={serial}&activation_code={code}",
            server.url
        ),
        &serial,
        &code,
    );
    serial
}

/// Opens a phone activation `link` (for `serial` and activation `code`)
/// and activates with [`PIN`].
pub fn activate_from_link(browser: &mut Browser, link: &str, serial: &str, code: &str) {
    browser.goto(link);
    wait_ready(browser);
    wait_visible(browser, "view-activate", 10);
    let typed = |id: &str| {
        browser
            .execute(
                "return document.getElementById(arguments[0]).value;",
                json!([id]),
            )
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(typed("serial"), serial, "the link fills in the serial");
    assert_eq!(typed("activation-code"), code, "and the activation code");
    assert!(
        !browser.url().contains(code),
        "the activation code leaves the address bar: {}",
        browser.url()
    );
    browser.type_into("#new-pin", PIN);
    browser.type_into("#new-pin-again", PIN);
    browser.screenshot("activate");
    assert_fits_a_phone(browser, "activation");
    browser.click("#activate-submit");
    let item = format!("return !!document.querySelector(\"li.token[data-id='{serial}']\");");
    assert!(
        browser.wait_until(&item, 180),
        "the token is not listed after activation: {}",
        browser.text("main")
    );
}

/// From anywhere in the app: the list, then the token's PIN (or locked) screen.
pub fn open_token(browser: &Browser, server: &Server, id: &str) {
    open_token_at(browser, &server.url, id);
}

/// [`open_token`] for the app served from `base` (`http://HOST:PORT`).
pub fn open_token_at(browser: &Browser, base: &str, id: &str) {
    browser.goto(&format!("{base}/app/"));
    wait_ready(browser);
    browser.click(&format!("li.token[data-id='{id}'] button.open-token"));
    assert!(
        browser.wait_until(
            "return !document.getElementById('view-pin').hidden || !document.getElementById('view-locked').hidden;",
            10
        ),
        "the token does not open: {}",
        browser.text("main")
    );
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Code(String),
    Wrong(String),
    Locked,
}

/// Types `pin` on the PIN screen and waits for what the app does.
pub fn try_pin(browser: &Browser, pin: &str) -> Outcome {
    browser.type_into("#pin", pin);
    browser.click("#pin-submit");
    let settled = browser.wait_until(
        "const code = document.getElementById('otp').dataset.code;
         return (!document.getElementById('view-code').hidden && !!code)
             || document.getElementById('pin-status').dataset.state === 'wrong'
             || !document.getElementById('view-locked').hidden;",
        60,
    );
    assert!(
        settled,
        "the PIN check did not finish: {}",
        browser.text("main")
    );
    if visible(browser, "view-locked") {
        Outcome::Locked
    } else if visible(browser, "view-code") {
        Outcome::Code(shown_code(browser))
    } else {
        Outcome::Wrong(browser.text("#pin-status"))
    }
}

pub fn shown_code(browser: &Browser) -> String {
    browser
        .execute(
            "return document.getElementById('otp').dataset.code || '';",
            json!([]),
        )
        .as_str()
        .unwrap()
        .to_owned()
}

/// The code on screen together with the time step it was read in (read
/// again if a step boundary fell in between).
pub fn code_and_step(browser: &Browser) -> (String, u64) {
    loop {
        let started = now();
        // The app changes its code within a second of a step's start, so
        // a code read in a step's first seconds may still be the last
        // step's; one read in its last second may be the next step's.
        if started % 30 < 3 || started % 30 > 27 {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        let code = shown_code(browser);
        if now() / 30 == started / 30 && now() % 30 <= 28 {
            return (code, started / 30);
        }
    }
}

/// `latchkey-token code` at the middle of TOTP step `step`.
pub fn code_in_step(token: &SoftToken, step: u64) -> String {
    let now = (step * 30 + 15).to_string();
    let out = token.run(&["--now", &now, "code"], &[PIN]);
    assert!(out.status.success(), "code: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Waits until the app shows a code of a later step than `spent`.
pub fn code_after_step(browser: &Browser, spent: u64) -> String {
    while now() / 30 <= spent {
        std::thread::sleep(Duration::from_millis(200));
    }
    // The app changes its code within a second of the step.
    std::thread::sleep(Duration::from_millis(1500));
    let (code, step) = code_and_step(browser);
    assert!(step > spent);
    code
}

/// "Export to a file" on the code screen of token `id`: the file's text.
pub fn export_from_app(browser: &Browser, id: &str) -> String {
    browser.click("#export");
    assert!(browser.wait_until("return !document.getElementById('export-link').hidden;", 10));
    String::from_utf8(browser.downloaded(&format!("token-{id}.json"), 20)).unwrap()
}

/// The code `oathtool` computes for `seed` at `step` (SHA-256, 8 digits, 30 s).
pub fn oathtool_code(seed: &[u8], step: u64) -> String {
    oathtool_totp(seed, step, "sha256", 8)
}

/// The TOTP code `oathtool` computes for `seed` at 30-second `step` with
/// `hash` (sha1, sha256, sha512) and `digits`.
pub fn oathtool_totp(seed: &[u8], step: u64, hash: &str, digits: u32) -> String {
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("oathtool")
        .args([
            &format!("--totp={hash}"),
            &format!("--digits={digits}"),
            "--time-step-size=30s",
            &format!("--now=@{}", step * 30 + 1),
            &hex,
        ])
        .output()
        .expect("oathtool is installed (Debian package oathtool; .ci/run installs it)");
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The `latchkey-token` binary. `cargo test --workspace` builds it with
/// this tree's verbs (import-vault, export-vault) and the token tests' test
/// hooks; building it again here without those features would replace the
/// one the token's own tests run.
pub fn fresh_token_binary() {
    token_binary();
}

/// The answer the tests give to `question`: its initials and "answer".
pub fn answer_for(question: &str) -> String {
    let initials: String = question
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect();
    format!("{initials} answer")
}

/// Signs in as alice with [`PASSWORD`], up to the portal's OTP step.
pub fn sign_in_password(browser: &Browser, server: &Server) {
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/login/otp"),
        "/login/otp",
        "{}",
        browser.text("body")
    );
}

/// Signs out with the header's button.
pub fn sign_out(browser: &Browser) {
    browser.click("header button[type=submit]");
    assert_eq!(browser.wait_for_path("/login"), "/login");
}

/// The bytes of a hex string.
pub fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
