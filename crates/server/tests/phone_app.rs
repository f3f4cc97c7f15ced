//! The soft token on phones: the web app at `/app/`, in headless Chromium
//! emulating a phone (390×844 CSS pixels, touch), against a real
//! `latchkey serve`. The known answers run in the browser; the app
//! activates from the portal's link, its code agrees with oathtool and signs
//! in; five wrong PINs lock it; the portal's recovery journey gives an
//! unlock code that opens it; a reload in the middle of a PIN check keeps
//! the count; records cross between the app and `latchkey-token`; the app
//! installs and opens offline. Screenshots of each screen are saved under
//! target/tmp/portal-screenshots/phone-app/.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::browser::Browser;
use common::phone::*;
use common::*;
use latchkey_token::kdf::KdfParams;
use latchkey_token::record::PIN_CHECK_BITS;
use latchkey_token::{Pin, TokenRecord, VaultFolder};
use serde_json::{Value, json};

const NEW_PIN: &str = "731950";

#[test]
fn known_answers_agree_in_the_browser() {
    let db = Database::new(false);
    let server = db.serve();
    let mut browser = Browser::start_phone("phone-app/known-answers");
    browser.goto(&format!("{}/app/known-answers.html", server.url));
    assert!(
        browser.wait_until(
            "return document.getElementById('summary').dataset.failed !== undefined;",
            60
        ),
        "the known answers did not run: {}",
        browser.text("body")
    );
    browser.screenshot("known-answers");
    let summary = browser.text("#summary");
    let rows = browser.execute(
        "return [...document.querySelectorAll('#results tr')].map(r => [r.dataset.id, r.cells[1].textContent, r.cells[2].textContent, r.dataset.ok]);",
        json!([]),
    );
    let rows: HashMap<String, (String, String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |i: usize| r[i].as_str().unwrap().to_owned();
            (s(0), (s(1), s(2), s(3)))
        })
        .collect();
    for (id, (expected, got, ok)) in &rows {
        assert_eq!(
            ok, "true",
            "{id}: expected {expected}, the browser computed {got}"
        );
    }
    assert_eq!(
        browser.attribute(&browser.find("#summary"), "data-failed"),
        Some("0".into()),
        "{summary}"
    );

    // The page's tables are the published ones the Rust code is tested on.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../oath/tests/data");
    let rfc: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("oath-rfc.json")).unwrap())
            .unwrap();
    let mut oath_rows = 0;
    for vector in rfc["vectors"].as_array().unwrap() {
        if !matches!(vector["algorithm"].as_str(), Some("HOTP" | "TOTP")) {
            continue;
        }
        let id = vector["id"].as_str().unwrap();
        let (expected, _, _) = rows
            .get(id)
            .unwrap_or_else(|| panic!("the browser runs {id}"));
        assert_eq!(expected, vector["expected"].as_str().unwrap(), "{id}");
        oath_rows += 1;
    }
    assert_eq!(oath_rows, 28, "RFC 4226's 10 and RFC 6238's 18 rows");
    let unlock: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("unlock-code.json")).unwrap())
            .unwrap();
    for (n, vector) in unlock["vectors"].as_array().unwrap().iter().enumerate() {
        let (expected, _, _) = rows
            .get(&format!("unlock-{n}"))
            .unwrap_or_else(|| panic!("the browser runs unlock vector {n}"));
        assert_eq!(expected, vector["unlock_code"].as_str().unwrap());
    }
    for id in [
        "rfc7914-11-1",
        "rfc7914-11-2",
        "rfc6070-sha256-1",
        "rfc6070-sha256-2",
        "rfc6070-sha256-4096",
        "rfc6070-sha256-long",
    ] {
        assert!(
            rows.contains_key(id),
            "the browser runs the PBKDF2 vector {id}"
        );
    }
    // The tagged PIN Reset Codes are latchkey-oath's (S45).
    let mut tag_rows = 0;
    for (id, (expected, _, _)) in rows.iter().filter(|(id, _)| id.starts_with("reset-tag-")) {
        let random = &expected[..8];
        let tag: u64 = expected[8..11].parse().unwrap();
        let rust = latchkey_oath::tagged_reset_code_from(random, tag).unwrap();
        assert_eq!(rust.digits(), expected, "{id}");
        tag_rows += 1;
    }
    assert_eq!(tag_rows, 5, "the browser runs the five reset-tag vectors");
    assert_eq!(
        rows["rfc7914-11-1"].0,
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
    );
    // The same derivation as latchkey-token's.
    assert_eq!(
        latchkey_token::kdf::pbkdf2_sha256(b"passwd", b"salt", 1, 64).as_slice(),
        hex_bytes(&rows["rfc7914-11-1"].0).as_slice()
    );
}

#[test]
fn a_phone_activates_locks_recovers_through_the_portal_and_signs_in() {
    let db = Database::new(false);
    db.add_user("alice");
    let key = db.api_key("phone-app", "authenticate");
    let server = db.serve();
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let mut browser = Browser::start_phone("phone-app/journey");
    browser.goto(&format!("{}/app/", server.url));
    wait_ready(&browser);
    browser.screenshot("empty-list");
    let serial = activate_in_app(&mut browser, &server, &issued);
    browser.screenshot("token-list");
    assert_fits_a_phone(&browser, "list");

    // The code: the same as oathtool's for the seed, and accepted.
    open_token(&browser, &server, &serial);
    browser.screenshot("pin");
    let Outcome::Code(_) = try_pin(&browser, PIN) else {
        panic!("the right PIN opens the token: {}", browser.text("main"))
    };
    let (code1, step1) = code_and_step(&browser);
    browser.screenshot("code");
    assert_fits_a_phone(&browser, "code");
    assert_eq!(code1.len(), 8, "a Latchkey token shows 8 digits");
    let exported = export_from_app(&browser, &serial);
    let record =
        TokenRecord::from_json(exported.as_bytes()).expect("latchkey-token reads the app's record");
    assert_eq!(
        serde_json::from_str::<Value>(&exported).unwrap()["kdf"],
        json!({"algorithm": "pbkdf2-sha256", "iterations": 600_000})
    );
    assert_eq!(
        record.slots.len(),
        10,
        "ten unlock slots made at activation"
    );
    assert!(
        !exported.contains("unlock_secret"),
        "the unlock secret is forgotten"
    );
    let seed = record
        .pin
        .open(&record.kdf, PIN.as_bytes(), PIN_CHECK_BITS)
        .expect("the PIN opens the exported record");
    assert_eq!(
        code1,
        oathtool_code(seed.expose(), step1),
        "the app agrees with oathtool"
    );
    assert_eq!(server.authenticate(&key, "alice", &code1), "accept");

    // The first full sign-in with the app's next code; alice chooses her questions.
    let code2 = code_after_step(&browser, step1);
    let step2 = now() / 30;
    sign_in_password(&browser, &server);
    browser.type_into("#otp", &code2);
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/self-service/questions"),
        "/self-service/questions",
        "{}",
        browser.text("body")
    );
    let mut answers: HashMap<String, String> = HashMap::new();
    for i in 1..=5 {
        let question = browser.text(&format!("#question_{i} option:checked"));
        let answer = answer_for(&question);
        browser.type_into(&format!("#answer_{i}"), &answer);
        answers.insert(question, answer);
    }
    browser.click("form[action='/self-service/questions'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/account"), "/account");
    sign_out(&browser);

    // Five wrong PINs in a row lock it (a wrong PIN that passes the 10-bit
    // check shows a decoy code and clears the count: then it starts over).
    open_token(&browser, &server, &serial);
    let mut refused = 0;
    for n in 0..40 {
        let wrong = format!("{}", 902_417 + n * 13);
        match try_pin(&browser, &wrong) {
            Outcome::Wrong(message) => {
                refused += 1;
                assert!(refused < 5, "the fifth wrong PIN locks the token");
                let left = 5 - refused;
                assert!(
                    message.contains(&format!("{left} tr")),
                    "{message:?} says {left} tries are left"
                );
                if refused == 1 {
                    browser.screenshot("wrong-pin");
                }
            }
            Outcome::Locked => {
                assert_eq!(refused, 4, "locked at the fifth wrong PIN in a row");
                refused += 1;
                break;
            }
            Outcome::Code(_) => {
                refused = 0;
                open_token(&browser, &server, &serial);
            }
        }
    }
    assert_eq!(refused, 5);
    let reset_code = browser.text("#reset-code");
    assert_eq!(digits(&reset_code).len(), 12, "{reset_code:?}");
    assert_eq!(
        digits(&reset_code),
        record.slots[0].reset_code,
        "the slot in use"
    );
    browser.screenshot("locked");
    assert_fits_a_phone(&browser, "locked");
    // Locked: the right PIN is not even asked for.
    open_token(&browser, &server, &serial);
    assert!(
        visible(&browser, "view-locked"),
        "a locked token refuses every PIN"
    );

    // The portal's recovery journey: password, "My token is locked, lost, or I forgot its PIN", questions.
    sign_in_password(&browser, &server);
    browser.click("#misplaced");
    assert_eq!(
        browser.wait_for_path("/login/questions"),
        "/login/questions"
    );
    let labels = browser.find_all("form[action='/login/questions'] label");
    for (index, label) in labels.iter().enumerate() {
        let question = browser.element_text(label);
        browser.type_into(&format!("#answer_{}", index + 1), &answers[&question]);
    }
    browser.click("form[action='/login/questions'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/self-service/unlock"),
        "/self-service/unlock",
        "{}",
        browser.text("body")
    );
    // The app's "Get an unlock code" link leads to the unlock page.
    open_token(&browser, &server, &serial);
    let link = browser
        .attribute(&browser.find("#get-unlock-code"), "href")
        .unwrap();
    assert!(link.contains("/self-service/unlock?serial="), "{link}");
    browser.click("#get-unlock-code");
    assert_eq!(
        browser.wait_for_path("/self-service/unlock"),
        "/self-service/unlock"
    );
    // The link brought the reset code along: nothing is typed twice.
    let filled = browser
        .attribute(&browser.find("#reset_code"), "value")
        .unwrap_or_default();
    assert_eq!(
        digits(&filled),
        digits(&reset_code),
        "the reset code is filled in"
    );
    browser.click("form[action='/self-service/unlock'] button[type=submit]");
    let unlock_code = browser.text("#unlock-code");
    assert_eq!(digits(&unlock_code).len(), 16, "{}", browser.text("body"));
    browser.screenshot("portal-unlock-code");
    sign_out(&browser);

    // The app: a typo is caught as it is typed; the right code opens it.
    open_token(&browser, &server, &serial);
    let code_digits = digits(&unlock_code);
    let last = code_digits.chars().last().unwrap().to_digit(10).unwrap();
    let typo = format!("{}{}", &code_digits[..15], (last + 1) % 10);
    browser.type_into("#unlock-code", &typo);
    assert!(
        browser.text("#unlock-hint").contains("typo"),
        "{}",
        browser.text("#unlock-hint")
    );
    assert_eq!(
        browser.execute(
            "return document.getElementById('unlock-submit').disabled;",
            json!([])
        ),
        json!(true),
        "a code with a wrong check digit cannot be sent"
    );
    browser.screenshot("unlock-typo");
    browser.type_into("#unlock-code", &unlock_code);
    assert_eq!(
        browser.execute(
            "return document.getElementById('unlock-submit').disabled;",
            json!([])
        ),
        json!(false)
    );
    browser.screenshot("unlock-code");
    browser.click("#unlock-submit");
    wait_visible(&browser, "view-new-pin", 60);
    browser.type_into("#choose-pin", "123456");
    browser.type_into("#choose-pin-again", "123456");
    browser.click("#new-pin-submit");
    // The policy's answer is written once the check has run.
    assert!(
        browser.wait_until(
            "return document.getElementById('new-pin-status').textContent.includes('counts up');",
            20
        ),
        "the PIN policy holds: {}",
        browser.text("#new-pin-status")
    );
    browser.type_into("#choose-pin", NEW_PIN);
    browser.type_into("#choose-pin-again", NEW_PIN);
    browser.screenshot("new-pin");
    browser.click("#new-pin-submit");
    wait_visible(&browser, "view-code", 60);
    assert!(browser.wait_until("return !!document.getElementById('otp').dataset.code;", 10));
    browser.screenshot("unlocked-code");

    // Its next code signs alice in.
    let code3 = code_after_step(&browser, step2);
    sign_in_password(&browser, &server);
    browser.type_into("#otp", &code3);
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/account"),
        "/account",
        "{}",
        browser.text("body")
    );
    assert!(browser.text("h1").contains("Welcome, alice"));
    browser.screenshot("signed-in");

    // The new PIN opens it, the old one does not, and one slot is spent.
    open_token(&browser, &server, &serial);
    assert!(matches!(try_pin(&browser, NEW_PIN), Outcome::Code(_)));
    let after = TokenRecord::from_json(export_from_app(&browser, &serial).as_bytes()).unwrap();
    assert_eq!(after.slots.len(), 9, "the spent slot is gone");
    assert_ne!(after.slots[0].reset_code, record.slots[0].reset_code);
    assert!(
        after
            .pin
            .open(&after.kdf, NEW_PIN.as_bytes(), PIN_CHECK_BITS)
            .is_some()
    );
}

#[test]
fn the_failure_count_survives_a_reload_right_after_the_submit() {
    let db = Database::new(false);
    db.add_user("alice");
    let server = db.serve();
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let mut browser = Browser::start_phone("phone-app/reload");
    let serial = activate_in_app(&mut browser, &server, &issued);
    for left in [4, 3] {
        open_token(&browser, &server, &serial);
        // The page is closed (reloaded) the moment the attempt is counted,
        // while the PIN is still being checked.
        browser.execute(
            "window.beforeReload = true;
             const s = document.getElementById('pin-status');
             new MutationObserver(() => { if (s.dataset.state === 'checking') location.reload(); })
               .observe(s, { attributes: true, childList: true });",
            json!([]),
        );
        browser.type_into("#pin", "902417");
        browser.click("#pin-submit");
        assert!(
            browser.wait_until(
                "return window.beforeReload === undefined && document.body.dataset.ready === 'true';",
                60
            ),
            "the page reloaded during the check"
        );
        open_token(&browser, &server, &serial);
        let attempts = browser.text("#attempts-left");
        assert!(
            attempts.contains(&format!("{left} tries left")),
            "the count went up before the check: {attempts:?}"
        );
    }
    browser.screenshot("count-after-reload");
    // The right PIN still opens it and clears the count.
    assert!(matches!(try_pin(&browser, PIN), Outcome::Code(_)));
    open_token(&browser, &server, &serial);
    assert_eq!(browser.text("#attempts-left"), "");
}

#[test]
fn records_cross_between_the_app_and_latchkey_token() {
    fresh_token_binary();
    let db = Database::new(false);
    db.add_user("alice");
    let server = db.serve();
    let mut browser = Browser::start_phone("phone-app/exchange");
    let files = tempfile::tempdir().unwrap();

    // The app's record opens in latchkey-token and gives the same code.
    let first = db.admin_json(&["token", "issue", "alice"]);
    let serial = activate_in_app(&mut browser, &server, &first);
    open_token(&browser, &server, &serial);
    assert!(matches!(try_pin(&browser, PIN), Outcome::Code(_)));
    let exported = export_from_app(&browser, &serial);
    let file = files.path().join("from-app.json");
    std::fs::write(&file, &exported).unwrap();
    let cli = SoftToken::new();
    let out = cli.run(&["import-vault", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "import-vault: {}", stderr(&out));
    let (app_code, step) = code_and_step(&browser);
    let cli_code = code_in_step(&cli, step);
    assert_eq!(cli_code, app_code, "latchkey-token shows the app's code");

    // A PBKDF2 record from latchkey-token opens in the app, beside the first.
    let second = db.admin_json(&["token", "issue", "alice"]);
    let second_serial: latchkey_token::oath::Serial =
        second["serial"].as_str().unwrap().parse().unwrap();
    let activation = latchkey_token::client::activate(
        &server.url,
        &second_serial,
        &second["activation_code"].as_str().unwrap().parse().unwrap(),
    )
    .unwrap();
    let record = latchkey_token::ops::record_from_activation(
        &activation,
        &server.url,
        &Pin::entered(PIN),
        &KdfParams::pbkdf2(600_000),
    )
    .unwrap();
    let other = SoftToken::new();
    let folder = VaultFolder::open(other.home.path()).unwrap();
    let lock = folder.lock().unwrap();
    folder.save(&lock, &record).unwrap();
    drop(lock);
    let file = files.path().join("from-cli.json");
    let out = other.run(&["export-vault", file.to_str().unwrap()], &[PIN]);
    assert!(out.status.success(), "export-vault: {}", stderr(&out));
    browser.goto(&format!("{}/app/", server.url));
    wait_ready(&browser);
    browser.choose_file("#import-file", &file);
    let id = record.id.clone();
    assert!(
        browser.wait_until(
            &format!("return !!document.querySelector(\"li.token[data-id='{id}']\");"),
            20
        ),
        "the app imports the file: {}",
        browser.text("main")
    );
    assert_eq!(
        browser.find_all("li.token").len(),
        2,
        "two tokens side by side"
    );
    browser.screenshot("two-tokens");
    open_token(&browser, &server, &id);
    assert!(matches!(try_pin(&browser, PIN), Outcome::Code(_)));
    let (app_code, step) = code_and_step(&browser);
    let cli_code = code_in_step(&other, step);
    assert_eq!(app_code, cli_code, "the app shows latchkey-token's code");
    // Wrong PINs on one token leave the other alone.
    open_token(&browser, &server, &id);
    assert!(matches!(
        try_pin(&browser, "902417"),
        Outcome::Wrong(_) | Outcome::Code(_)
    ));
    open_token(&browser, &server, &serial);
    assert_eq!(
        browser.text("#attempts-left"),
        "",
        "the first token's count is its own"
    );
}

#[test]
fn the_app_installs_and_shows_codes_offline() {
    let db = Database::new(false);
    db.add_user("alice");
    let server = db.serve();
    let issued = db.admin_json(&["token", "issue", "alice"]);

    // Its own strict policy: scripts from itself only, nothing inline.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent.get(&format!("{}/app/", server.url)).call().unwrap();
    let csp = response
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let manifest = agent
        .get(&format!("{}/app/manifest.webmanifest", server.url))
        .call()
        .unwrap();
    assert_eq!(
        manifest.headers().get("content-type").unwrap(),
        "application/manifest+json"
    );
    let missing = agent
        .get(&format!("{}/app/nothing.js", server.url))
        .call()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    let mut browser = Browser::start_phone("phone-app/offline");
    let serial = activate_in_app(&mut browser, &server, &issued);
    assert!(
        browser.wait_until("return navigator.serviceWorker.controller !== null;", 30),
        "the service worker takes over the app"
    );
    let errors = browser.cdp("Page.getInstallabilityErrors", json!({}));
    assert_eq!(
        errors["installabilityErrors"],
        json!([]),
        "Chromium finds the app installable"
    );
    let manifest = browser.cdp("Page.getAppManifest", json!({}));
    assert_eq!(
        manifest["errors"],
        json!([]),
        "the manifest is valid: {manifest}"
    );
    let persisted = browser.text("#storage-note");
    assert!(
        !persisted.is_empty(),
        "the app says whether storage is persistent"
    );

    // The server stops; the app still opens and shows codes.
    drop(server);
    let offline = format!("{}/app/", browser.url().split("/app/").next().unwrap());
    browser.goto(&offline);
    wait_ready(&browser);
    browser.click(&format!("li.token[data-id='{serial}'] button.open-token"));
    wait_visible(&browser, "view-pin", 10);
    let Outcome::Code(code) = try_pin(&browser, PIN) else {
        panic!("the app opens the token offline: {}", browser.text("main"))
    };
    assert_eq!(code.len(), 8);
    browser.screenshot("offline-code");
}

/// Issue 20, S45: the app's "Refresh unlock slots" on the code screen. A
/// current code gets a new unlock-secret generation from the server; every
/// slot is replaced with one whose reset code names it; the secret is not
/// kept; the help desk's unlock code for a new reset code opens its slot.
#[test]
fn h2_s45_the_phone_app_refreshes_its_unlock_slots() {
    let db = Database::new(false);
    db.add_user("alice");
    let server = db.serve();
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let mut browser = Browser::start_phone("phone-app/refresh");
    let serial = activate_in_app(&mut browser, &server, &issued);
    open_token(&browser, &server, &serial);
    assert!(matches!(try_pin(&browser, PIN), Outcome::Code(_)));
    let before = TokenRecord::from_json(export_from_app(&browser, &serial).as_bytes()).unwrap();
    assert!(before.slots.iter().all(|s| &s.reset_code[8..11] == "000"));

    assert!(
        visible(&browser, "refresh-slots"),
        "a server token offers it"
    );
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
    browser.screenshot("refreshed");
    assert_fits_a_phone(&browser, "refreshed code");
    let said = browser.text("#refresh-status");
    assert!(said.contains("10 new unlock codes"), "{said}");

    let exported = export_from_app(&browser, &serial);
    assert!(
        !exported.contains("unlock_secret"),
        "the secret is not kept"
    );
    let after = TokenRecord::from_json(exported.as_bytes()).unwrap();
    assert_eq!(after.slots.len(), 10);
    for slot in &after.slots {
        assert_eq!(
            &slot.reset_code[8..11],
            "001",
            "generation 1 names its slots"
        );
        assert!(
            before
                .slots
                .iter()
                .all(|old| old.reset_code != slot.reset_code)
        );
    }
    // The server answers the new slot, and its code opens it.
    let reset = &after.slots[0].reset_code;
    let unlock = db.admin_json(&["token", "unlock-code", &serial, reset])["unlock_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        after.slots[0]
            .mask
            .open(
                &after.kdf,
                unlock.as_bytes(),
                latchkey_token::record::CODE_CHECK_BITS
            )
            .is_some(),
        "the help desk's unlock code opens the refreshed slot"
    );
    // The refresh is audited with its generation.
    let audit = db.admin_json(&["audit", "list", "--limit", "1000"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "token.refresh"
                && r["subject"] == serial.as_str()
                && r["outcome"] == "success"
                && r["detail"] == "generation=1")
    );
}
