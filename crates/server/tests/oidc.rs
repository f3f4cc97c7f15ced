//! The OpenID Connect provider, end to end. A certified relying-party
//! library (npm `openid-client`, installed by `.ci/run` into
//! `target/oidc-rp/`) drives the real server through the real portal in
//! headless Chromium: discovery, authorization with PKCE, the portal's
//! password and OTP pages, the code exchange with the ID token verified by
//! the library against `/oauth2/jwks`, userinfo, refresh rotation and
//! reuse detection, revocation and RP-initiated logout. Beside it, one
//! named test for each refusal (RFC 9700 §4's attacks that apply), over
//! plain HTTP.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::browser::Browser;
use common::oidc::*;
use common::web::{Account, Visitor};
use common::*;
use serde_json::Value;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    openid_client_signs_in_with_password_and_otp_in_a_browser,
    pkce_plain_or_missing_and_state_missing_are_refused,
    redirect_uri_variations_and_unknown_clients_get_a_page_never_a_redirect,
    a_reused_code_is_refused_and_revokes_what_it_gave,
    a_code_or_token_of_client_a_presented_by_client_b_is_refused,
    a_recovery_session_gets_no_code_until_a_real_sign_in,
    prompt_none_without_a_session_is_login_required_and_prompt_login_asks_again,
    oidc_client_cli_adds_lists_and_removes,
    rp_initiated_logout_checks_its_hint_and_where_it_goes_back,
    signing_out_of_the_portal_ends_what_that_sign_in_gave_the_clients,
);

// ---- the certified relying party in a browser ----

/// The relying-party script beside this file, run by Node from
/// `target/oidc-rp/`, where `.ci/run` installs `openid-client`.
struct RelyingParty {
    child: Child,
    url: String,
}

impl Drop for RelyingParty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rp_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/oidc-rp")
}

impl RelyingParty {
    fn start(issuer: &str, client: &Client, port: u16) -> RelyingParty {
        let folder = rp_folder();
        assert!(
            folder.join("node_modules/openid-client").exists(),
            "openid-client is not installed in {}; .ci/run installs it (npm install --prefix target/oidc-rp openid-client@6)",
            folder.display()
        );
        let script = folder.join(format!("relying-party-{port}.mjs"));
        std::fs::write(&script, include_str!("oidc/relying_party.mjs")).unwrap();
        let mut child = Command::new("node")
            .arg(&script)
            .env("ISSUER", issuer)
            .env("CLIENT_ID", &client.id)
            .env("CLIENT_SECRET", client.secret.as_deref().unwrap())
            .env("PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "listening", "the relying party starts");
        RelyingParty {
            child,
            url: format!("http://localhost:{port}"),
        }
    }
}

fn rp_result(browser: &Browser) -> Value {
    if let Some(error) = browser.try_find("#error") {
        panic!("the relying party failed: {}", browser.element_text(&error));
    }
    serde_json::from_str(&browser.text("#result")).unwrap()
}

fn openid_client_signs_in_with_password_and_otp_in_a_browser(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let port = common::browser::free_port();
    let callback = format!("http://localhost:{port}/callback");
    let signed_out = format!("http://localhost:{port}/signed-out");
    let client = add_client(
        &db,
        "webapp",
        &[
            "--redirect-uri",
            &callback,
            "--post-logout-uri",
            &signed_out,
        ],
    );
    // The first request that needs a key makes the first keys (an RSA key
    // takes a moment): before the browser's clock starts.
    let started = std::time::Instant::now();
    let jwks = server.get("/oauth2/jwks", None).body;
    eprintln!("first keys made in {:?}", started.elapsed());
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2), "{jwks}");
    let rp = RelyingParty::start(&server.url, &client, port);
    let mut browser = Browser::start("oidc");

    browser.goto(&format!("{}/start", rp.url));
    assert_eq!(browser.wait_for_path("/login"), "/login");
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    browser.screenshot("portal-sign-in");
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &account.next_otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/callback"),
        "/callback",
        "{}",
        browser.text("body")
    );
    let first = rp_result(&browser);
    let claims = &first["claims"];
    assert_eq!(claims["iss"], server.url.as_str());
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["azp"], client.id.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(claims["auth_time"].as_i64().is_some());
    let sub = claims["sub"].as_str().unwrap();
    assert_ne!(sub, "alice", "sub is the account's stable id, not its name");
    assert_eq!(first["userinfo"]["sub"], sub);
    assert_eq!(first["userinfo"]["preferred_username"], "alice");
    assert_eq!(first["userinfo"]["email"], "alice@example.org");
    assert_eq!(
        first["rotated"], true,
        "a refresh gives a new refresh token"
    );
    assert_eq!(first["refreshedSub"], sub);
    assert_eq!(first["reuse"], "invalid_grant", "{first}");
    assert_eq!(
        first["afterReuse"], "invalid_grant",
        "the reuse revoked the family: {first}"
    );
    assert_ne!(first["userinfoAfterReuse"], "accepted");

    // Signed in already: the next request comes back with a code without a
    // page to fill in, though the portal's cookies stay behind on the way
    // in from the client's site.
    browser.goto(&format!("{}/start", rp.url));
    assert_eq!(browser.wait_for_path("/callback"), "/callback");
    let second = rp_result(&browser);
    assert_eq!(second["refreshAfterRevoke"], "invalid_grant", "{second}");
    assert_ne!(second["userinfoAfterRevoke"], "accepted");

    // RP-initiated logout with the ID token as hint ends the portal session.
    browser.goto(second["logout"].as_str().unwrap());
    assert_eq!(browser.wait_for_path("/signed-out"), "/signed-out");
    assert_eq!(rp_result(&browser)["state"], "bye");
    browser.goto(&format!("{}/account", server.url));
    assert_eq!(browser.wait_for_path("/login"), "/login");

    let audit = audit(&db);
    for action in [
        "oidc.code",
        "oidc.token",
        "oidc.refresh",
        "oidc.refresh-reuse",
        "oidc.revoke",
        "oidc.logout",
    ] {
        assert!(audit.contains(&format!("\"{action}\"")), "{action} audited");
    }
}

// ---- refusals ----

fn pkce_plain_or_missing_and_state_missing_are_refused(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut visitor = signed_in(&server, &mut account);
    for (changes, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "profile")], "invalid_scope"),
    ] {
        let page = visitor.get(&authorize_path(&client, &changes));
        let back = redirect_query(&page);
        assert_eq!(back["error"], error, "{changes:?}");
        assert_eq!(back["state"], "st-1", "state is echoed");
        assert_eq!(
            back["iss"],
            server.url.as_str(),
            "iss is returned (RFC 9207)"
        );
        assert!(!back.contains_key("code"));
    }
    let page = visitor.get(&authorize_path(&client, &[("state", "")]));
    let back = redirect_query(&page);
    assert_eq!(back["error"], "invalid_request", "a request without state");
    assert!(!back.contains_key("code"));

    // The token endpoint wants the verifier of the challenge.
    let code = code_for(&mut visitor, &client);
    let answer = post_form(
        &server,
        "/oauth2/token",
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    );
    assert_invalid_grant(&answer);
    let code = code_for(&mut visitor, &client);
    // The challenge itself as a "plain" verifier.
    assert_invalid_grant(&exchange(&server, &client, &code, CHALLENGE));
}

fn redirect_uri_variations_and_unknown_clients_get_a_page_never_a_redirect(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut visitor = signed_in(&server, &mut account);
    for redirect in [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:10/callback",
        "http://127.0.0.1:9/other",
        "http://127.0.0.1:9/callback?next=https://evil.example/",
        "https://evil.example/callback",
        "",
    ] {
        let page = visitor.get(&authorize_path(&client, &[("redirect_uri", redirect)]));
        assert_eq!(page.status, 400, "{redirect}: {}", page.body);
        assert!(page.location().is_none(), "{redirect}: never a redirect");
        assert!(page.body.contains("This sign-in link does not work"));
    }
    let stranger = Client {
        id: "no-such-client".into(),
        secret: None,
    };
    let page = visitor.get(&authorize_path(&stranger, &[]));
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    // A redirect URI that differs at the token endpoint is refused too.
    let code = code_for(&mut visitor, &client);
    let answer = post_form(
        &server,
        "/oauth2/token",
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback/"),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_invalid_grant(&answer);
}

fn a_reused_code_is_refused_and_revokes_what_it_gave(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut visitor = signed_in(&server, &mut account);
    let code = code_for(&mut visitor, &client);
    let first = exchange(&server, &client, &code, VERIFIER);
    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(first.cache_control.as_deref(), Some("no-store"));
    let access = first.json["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&server, access), 200);
    let header = jws_header(first.json["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().is_some());

    assert_invalid_grant(&exchange(&server, &client, &code, VERIFIER));
    assert_eq!(
        userinfo_status(&server, access),
        401,
        "the reuse revoked what the first exchange gave"
    );
    assert_invalid_grant(&refresh(
        &server,
        &client,
        first.json["refresh_token"].as_str().unwrap(),
    ));
    // A code older than 60 s does not work.
    let late = code_for(&mut visitor, &client);
    server.clock().advance(61);
    assert_invalid_grant(&exchange(&server, &client, &late, VERIFIER));
    assert!(audit(&db).contains("\"oidc.code-reuse\""));
}

fn a_code_or_token_of_client_a_presented_by_client_b_is_refused(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let a = add_client(&db, "client-a", &[]);
    let b = add_client(&db, "client-b", &[]);
    let public = add_client(&db, "spa", &["--public"]);
    assert!(public.secret.is_none());
    let mut visitor = signed_in(&server, &mut account);
    let code = code_for(&mut visitor, &a);
    assert_invalid_grant(&exchange(&server, &b, &code, VERIFIER));

    let code = code_for(&mut visitor, &a);
    let tokens = exchange(&server, &a, &code, VERIFIER);
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let refresh_token = tokens.json["refresh_token"].as_str().unwrap();
    assert_invalid_grant(&refresh(&server, &b, refresh_token));
    assert_eq!(
        refresh(&server, &a, refresh_token).status,
        200,
        "client B's attempt did not burn client A's token"
    );
    // A wrong secret, or a public client's id with a secret, is invalid_client.
    let wrong = Client {
        id: a.id.clone(),
        secret: Some("wrong".into()),
    };
    let answer = refresh(&server, &wrong, refresh_token);
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "invalid_client");
    // A public client exchanges with PKCE alone.
    let code = code_for(&mut visitor, &public);
    assert_eq!(exchange(&server, &public, &code, VERIFIER).status, 200);
}

/// The right answers to `/login/questions` for an account that answered
/// question N with "answer N" ([`Account::sign_in_with_answers`]).
fn challenge_answers(visitor: &mut Visitor) -> Vec<(String, String)> {
    let page = visitor.get("/login/questions");
    assert_eq!(page.status, 200, "{}", page.body);
    let pool = [
        "What was the name of your first pet?",
        "In which town or city did your parents meet?",
        "What was the first name of your childhood best friend?",
        "What was the make of your first car or bicycle?",
        "What is the name of the street you grew up on?",
    ];
    let mut asked: Vec<usize> = (1..=pool.len())
        .filter(|n| page.body.contains(pool[n - 1]))
        .collect();
    asked.sort_by_key(|n| page.body.find(pool[n - 1]));
    asked
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("answer_{}", i + 1), format!("answer {n}")))
        .collect()
}

fn a_recovery_session_gets_no_code_until_a_real_sign_in(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    account.sign_in_with_answers(&mut Visitor::new(&server.url));
    // Her soft token, locked after five wrong PINs.
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let token = SoftToken::following(&server);
    token.activate(&server, &issued);
    token.lock_with_wrong_pins();
    let reset_code = token.reset_code();

    let mut recovering = Visitor::new(&server.url);
    let page = recovering.post("/login", &[("username", "alice"), ("password", PASSWORD)]);
    assert_eq!(page.status, 303);
    let answers = challenge_answers(&mut recovering);
    let borrowed: Vec<(&str, &str)> = answers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let page = recovering.post("/login/questions", &borrowed);
    // A user with one soft token lands on its unlock form.
    assert_eq!(
        page.location(),
        Some("/self-service/unlock"),
        "{}",
        page.body
    );

    let page = recovering.get(&authorize_path(&client, &[]));
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.location().is_none(), "no code for a recovery session");
    assert!(page.body.contains("Unlock your token first"));
    let page = recovering.get("/oauth2/authorize/resume");
    assert!(
        location_of(&page).is_none_or(|l| !l.starts_with(REDIRECT)),
        "the held request gives no code to a recovery session either"
    );

    // The unlock journey inside the recovery session: the reset code gives
    // an unlock code, the token takes it and a new PIN.
    let page = recovering.get(&format!("/self-service/unlock?serial={serial}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let page = recovering.post(
        "/self-service/unlock",
        &[
            ("serial", serial.as_str()),
            ("reset_code", reset_code.as_str()),
        ],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = "id=\"unlock-code\" aria-label=\"Unlock code\">";
    let at = page.body.find(marker).expect("an unlock code") + marker.len();
    let unlock_code = page.body[at..at + page.body[at..].find('<').unwrap()].to_owned();
    let new_pin = "731950";
    let out = token.run(&["unlock"], &[&unlock_code, new_pin, new_pin]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));

    // Then a real sign-in with the unlocked token: the held request's code.
    recovering.post("/logout", &[]);
    let out = token.code(new_pin);
    assert!(out.status.success(), "code: {}", stderr(&out));
    let otp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let page = recovering.sign_in("alice", PASSWORD, &otp);
    assert_eq!(page.location(), Some("/oauth2/authorize/resume"));
    let page = recovering.get("/oauth2/authorize/resume");
    let back = redirect_query(&page);
    assert_eq!(back["state"], "st-1");
    assert_eq!(
        exchange(&server, &client, &back["code"], VERIFIER).status,
        200
    );
}

fn prompt_none_without_a_session_is_login_required_and_prompt_login_asks_again(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut stranger = Visitor::new(&server.url);
    let page = stranger.get(&authorize_path(&client, &[("prompt", "none")]));
    let back = redirect_query(&page);
    assert_eq!(back["error"], "login_required");
    assert_eq!(back["state"], "st-1");
    let page = stranger.get(&authorize_path(&client, &[]));
    assert_eq!(
        location_of(&page).as_deref(),
        Some("/oauth2/authorize/resume"),
        "on to a same-site request, where the portal's cookies show"
    );
    assert_eq!(
        stranger.get("/oauth2/authorize/resume").location(),
        Some("/login"),
        "sign in first"
    );

    let mut visitor = signed_in(&server, &mut account);
    let page = visitor.get(&authorize_path(&client, &[("prompt", "login")]));
    assert_eq!(
        page.location(),
        Some("/login"),
        "prompt=login signs in again"
    );
    assert_eq!(
        visitor.get("/account").location(),
        Some("/login"),
        "the old session ended"
    );
    let otp = account.next_otp();
    let page = visitor.sign_in("alice", PASSWORD, &otp);
    assert_eq!(page.location(), Some("/oauth2/authorize/resume"));
    let back = redirect_query(&visitor.get("/oauth2/authorize/resume"));
    assert!(back.contains_key("code"));
    // max_age: a sign-in older than it asks for a fresh one.
    server.clock().advance(120);
    let page = visitor.get(&authorize_path(&client, &[("max_age", "60")]));
    assert_eq!(page.location(), Some("/login"));
}

fn oidc_client_cli_adds_lists_and_removes(postgres: bool) {
    let db = Database::new(postgres);
    let web = add_client(&db, "web", &[]);
    assert!(web.secret.as_deref().is_some_and(|s| s.len() >= 32));
    let spa = add_client(&db, "spa", &["--public"]);
    assert!(spa.secret.is_none(), "no secret for a public client");
    let listed = db.admin_json(&["oidc-client", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["spa", "web"]);
    assert!(!listed.to_string().contains(web.secret.as_deref().unwrap()));
    let out = db.admin(
        &[
            "oidc-client",
            "add",
            "bad",
            "--redirect-uri",
            "http://app.example/cb",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = db.admin(&["oidc-client", "remove", "web"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.admin(&["oidc-client", "remove", "web"], "");
    assert!(!out.status.success());
}

/// Two nodes on one PostgreSQL: the authorization on node A, the exchange
/// and the refresh on node B; a key rotated with the CLI signs on both once
/// its publication lead has passed.
#[test]
fn two_nodes_share_codes_tokens_and_rotated_keys() {
    let db = Database::new(true);
    let node_a = db.spawn_app();
    let node_b = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut visitor = signed_in(&node_a, &mut account);
    let code = code_for(&mut visitor, &client);
    let tokens = exchange(&node_b, &client, &code, VERIFIER);
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let refreshed = refresh(
        &node_b,
        &client,
        tokens.json["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let old_kid = jws_header(tokens.json["id_token"].as_str().unwrap())["kid"].clone();

    let rotated = db.admin_json(&["oidc-key", "rotate"]);
    let new_rs256 = rotated["kids"][0].clone();
    let jwks = node_b.get("/oauth2/jwks", None).body;
    assert!(
        jwks.to_string().contains(new_rs256.as_str().unwrap()),
        "a rotated key is published at once"
    );
    let code = code_for(&mut visitor, &client);
    let before = exchange(&node_b, &client, &code, VERIFIER);
    assert_eq!(
        jws_header(before.json["id_token"].as_str().unwrap())["kid"],
        old_kid,
        "the old key signs until the new one's lead has passed"
    );
    // The CLI rotated on the machine's clock, some seconds after the nodes'
    // clocks were set: past the lead with a minute to spare.
    for node in [&node_a, &node_b] {
        node.clock()
            .advance(latchkey_core::oidc::KEY_PUBLISH_LEAD + 60);
    }
    let mut visitor = signed_in(&node_a, &mut account);
    let code = code_for(&mut visitor, &client);
    let after = exchange(&node_b, &client, &code, VERIFIER);
    assert_eq!(after.status, 200, "{}", after.json);
    assert_eq!(
        jws_header(after.json["id_token"].as_str().unwrap())["kid"],
        new_rs256,
        "node B signs with the key rotated from the CLI"
    );
}

fn rp_initiated_logout_checks_its_hint_and_where_it_goes_back(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let mut bob = Account::new(&db, "bob");
    let back = "http://127.0.0.1:9/bye";
    let client = add_client(
        &db,
        "web",
        &["--redirect-uri", REDIRECT, "--post-logout-uri", back],
    );
    let mut visitor = signed_in(&server, &mut alice);
    let code = code_for(&mut visitor, &client);
    let tokens = exchange(&server, &client, &code, VERIFIER);
    let hint = tokens.json["id_token"].as_str().unwrap();
    let access = tokens.json["access_token"].as_str().unwrap();
    let logout = |pairs: &[(&str, &str)]| format!("/oauth2/logout?{}", query(pairs));

    // Without a hint, the user is asked; nothing ends on a GET.
    let page = visitor.get(&logout(&[]));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign out of Latchkey?"));
    assert_eq!(visitor.get("/account").status, 200, "still signed in");
    // Alice's ID token does not sign Bob out: Bob is asked.
    let mut other = signed_in(&server, &mut bob);
    let page = other.get(&logout(&[("id_token_hint", hint)]));
    assert!(page.body.contains("Sign out of Latchkey?"), "{}", page.body);
    assert_eq!(other.get("/account").status, 200, "Bob is still signed in");
    // A post-logout URI the client did not register: a page, no redirect.
    let page = visitor.get(&logout(&[
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", "https://evil.example/"),
    ]));
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    assert_eq!(visitor.get("/account").status, 200);
    // A forged hint.
    let page = visitor.get(&logout(&[("id_token_hint", &format!("{hint}x"))]));
    assert_eq!(page.status, 400);
    // Her own hint and a registered URI: signed out, sent back with state,
    // and what the session gave the client is revoked.
    let page = visitor.get(&logout(&[
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", back),
        ("state", "s-9"),
    ]));
    assert_eq!(page.location(), Some("http://127.0.0.1:9/bye?state=s-9"));
    assert_eq!(visitor.get("/account").location(), Some("/login"));
    assert_eq!(userinfo_status(&server, access), 401);
    assert!(audit(&db).contains("\"oidc.logout\""));
}

fn signing_out_of_the_portal_ends_what_that_sign_in_gave_the_clients(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut account = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);

    // A sign-in that gave the client nothing: its sign-out records nothing
    // about OIDC.
    let mut idle = signed_in(&server, &mut account);
    idle.post("/logout", &[]);
    assert!(!audit(&db).contains("oidc.grant-revoke"));

    // Another sign-in gives the client its tokens; signing out of the
    // portal takes them back, and says so in the audit log.
    let mut visitor = signed_in(&server, &mut account);
    let code = code_for(&mut visitor, &client);
    let tokens = exchange(&server, &client, &code, VERIFIER);
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let access = tokens.json["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens.json["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&server, &access), 200);
    visitor.post("/logout", &[]);
    assert_eq!(userinfo_status(&server, &access), 401);
    assert_invalid_grant(&refresh(&server, &client, &refresh_token));
    assert_eq!(audit(&db).matches("oidc.grant-revoke").count(), 1);
}
