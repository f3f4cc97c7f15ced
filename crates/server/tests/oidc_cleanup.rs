//! S48 (M3) for the OpenID Connect provider: every clean-up of an account
//! — an administrator's password reset, a disable, a password change, a
//! reset by e-mailed link — takes back at once what the user's sign-ins
//! gave relying parties: the refresh token gets `invalid_grant`, the
//! access token 401 at userinfo, and enabling the account again brings
//! nothing back. Each test gets its tokens through a real code flow and
//! cleans up through the real entry point (the admin CLI, the portal's
//! forms). Beside them, the token endpoint's throttle (S52, L1).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

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
    m3_s48_an_admin_password_reset_revokes_the_users_oidc_grants,
    m3_s48_a_disable_revokes_the_users_oidc_grants_and_enable_brings_none_back,
    m3_s48_a_password_change_revokes_the_grants_of_the_users_other_sign_ins,
    m3_s48_a_reset_by_link_revokes_the_users_oidc_grants,
);

const NEW_PASSWORD: &str = "a brand new pass phrase 7";

/// What one sign-in gave a client: its access and refresh tokens.
struct Given {
    access: String,
    refresh: String,
}

/// A code flow for `client` in `visitor`'s full session, and its tokens,
/// which work.
fn tokens_for(server: &Server, client: &Client, visitor: &mut Visitor) -> Given {
    let code = code_for(visitor, client);
    let tokens = exchange(server, client, &code, VERIFIER);
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let given = Given {
        access: tokens.json["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens.json["refresh_token"].as_str().unwrap().to_owned(),
    };
    assert_eq!(userinfo_status(server, &given.access), 200);
    given
}

fn assert_revoked(server: &Server, client: &Client, given: &Given) {
    assert_eq!(
        userinfo_status(server, &given.access),
        401,
        "the access token no longer answers userinfo"
    );
    assert_invalid_grant(&refresh(server, client, &given.refresh));
}

fn admin_ok(db: &Database, args: &[&str], input: &str) {
    let out = db.admin(args, input);
    assert!(out.status.success(), "admin {args:?}: {}", stderr(&out));
}

/// The details of the audit rows of the grants' end.
fn grant_revokes(db: &Database) -> Vec<String> {
    let rows: Value = serde_json::from_str(&audit(db)).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == "oidc.grant-revoke")
        .map(|row| row["detail"].as_str().unwrap().to_owned())
        .collect()
}

fn m3_s48_an_admin_password_reset_revokes_the_users_oidc_grants(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let mut bob = Account::new(&db, "bob");
    let web = add_client(&db, "web", &[]);
    let spa = add_client(&db, "spa", &["--public"]);
    // Two sign-ins of hers (the attacker's and her own), two clients.
    let mut attacker = signed_in(&server, &mut alice);
    let mut owner = signed_in(&server, &mut alice);
    let stolen = tokens_for(&server, &web, &mut attacker);
    let own = tokens_for(&server, &spa, &mut owner);
    let mut neighbour = signed_in(&server, &mut bob);
    let bobs = tokens_for(&server, &web, &mut neighbour);

    admin_ok(
        &db,
        &["user", "reset-password", "alice", "--password-stdin"],
        &format!("{NEW_PASSWORD}\n"),
    );
    assert_revoked(&server, &web, &stolen);
    assert_revoked(&server, &spa, &own);
    assert_eq!(
        refresh(&server, &web, &bobs.refresh).status,
        200,
        "another user's grants stand"
    );
    let rows = grant_revokes(&db);
    assert_eq!(rows.len(), 1, "one event for the clean-up: {rows:?}");
    assert!(
        rows[0].contains("an administrator reset the password: 2 OIDC grant(s) revoked"),
        "{rows:?}"
    );
}

fn m3_s48_a_disable_revokes_the_users_oidc_grants_and_enable_brings_none_back(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut visitor = signed_in(&server, &mut alice);
    let given = tokens_for(&server, &client, &mut visitor);

    admin_ok(&db, &["user", "disable", "alice"], "");
    assert_eq!(userinfo_status(&server, &given.access), 401);
    // Enabled again with the refresh token never presented in between.
    admin_ok(&db, &["user", "enable", "alice"], "");
    assert_revoked(&server, &client, &given);
    assert!(
        grant_revokes(&db)
            .iter()
            .any(|r| r.contains("the account was disabled: 1 OIDC grant(s) revoked")),
        "{:?}",
        grant_revokes(&db)
    );
    // A disable with nothing left to revoke writes no such row.
    admin_ok(&db, &["user", "disable", "alice"], "");
    assert_eq!(grant_revokes(&db).len(), 1);
}

/// The session that changed the password stays (as before), and so do the
/// grants it gave; every other sign-in's grants end.
fn m3_s48_a_password_change_revokes_the_grants_of_the_users_other_sign_ins(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut changer = Visitor::new(&server.url);
    alice.sign_in_with_answers(&mut changer);
    let mut other = signed_in(&server, &mut alice);
    let kept = tokens_for(&server, &client, &mut changer);
    let ended = tokens_for(&server, &client, &mut other);

    changer.get("/self-service/password");
    let otp = alice.next_otp();
    let page = changer.post(
        "/self-service/password",
        &[
            ("current_password", PASSWORD),
            ("otp", &otp),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(changer.get("/account").status, 200, "this session stays");
    assert_revoked(&server, &client, &ended);
    assert_eq!(userinfo_status(&server, &kept.access), 200);
    assert_eq!(
        refresh(&server, &client, &kept.refresh).status,
        200,
        "what this session gave stays with it"
    );
    let rows = grant_revokes(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("the password was changed: 1 OIDC grant(s) revoked"));
}

fn m3_s48_a_reset_by_link_revokes_the_users_oidc_grants(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let mut alice = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut attacker = signed_in(&server, &mut alice);
    let stolen = tokens_for(&server, &client, &mut attacker);

    let mut owner = Visitor::new(&server.url);
    owner.get("/password/forgot");
    let page = owner.post("/password/forgot", &[("username", "alice")]);
    assert_eq!(page.status, 200, "{}", page.body);
    let mails = server.mail().wait_for(1, Duration::from_secs(20));
    let body = &mails.first().expect("a reset mail").body;
    let start = body.find("/password/reset/").expect("a reset link");
    let end = body[start..]
        .find(char::is_whitespace)
        .map_or(body.len(), |e| start + e);
    let link = &body[start..end];
    assert_eq!(owner.get(link).status, 200);
    let page = owner.post(
        link,
        &[
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    );
    assert!(page.status < 400, "{}: {}", page.status, page.body);

    assert_revoked(&server, &client, &stolen);
    assert!(
        grant_revokes(&db)
            .iter()
            .any(|r| r.contains("reset by e-mailed link: 1 OIDC grant(s) revoked")),
        "{:?}",
        grant_revokes(&db)
    );
}

/// S52 (L1): wrong client secrets from one address are refused with 429
/// and `Retry-After` past the limit, whatever client they name (the right
/// secret too), audited once; the right secret from another address still
/// gets its tokens.
#[test]
fn l1_s52_the_oidc_token_endpoint_slows_a_client_secret_guesser() {
    let db = Database::new(false);
    let server =
        db.spawn_app_with(|config| config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]);
    let mut alice = Account::new(&db, "alice");
    let client = add_client(&db, "web", &[]);
    let mut visitor = signed_in(&server, &mut alice);
    let code = code_for(&mut visitor, &client);

    let guesser = "203.0.113.7";
    let guess = |secret: &str, id: &str| {
        let guessed = Client {
            id: id.to_owned(),
            secret: Some(secret.to_owned()),
        };
        post_form_from(
            &server,
            "/oauth2/token",
            &guessed,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            Some(guesser),
        )
    };
    // The limit: 30 failures per address in ten minutes.
    for n in 0..30 {
        let answer = guess(&format!("guess-{n}"), &client.id);
        assert_eq!(answer.status, 401, "{}", answer.json);
        assert_eq!(answer.json["error"], "invalid_client");
    }
    let refused = guess("guess-30", &client.id);
    assert_eq!(refused.status, 429, "{}", refused.json);
    assert_eq!(refused.json["error"], "slow_down");
    assert!(refused.json["error_description"].as_str().is_some());
    let wait: i64 = refused.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=600).contains(&wait), "Retry-After {wait}");
    // The same answer whatever client is named, the right secret included.
    for answer in [
        guess("guess-31", "no-such-client"),
        guess(client.secret.as_deref().unwrap(), &client.id),
    ] {
        assert_eq!(answer.status, 429);
        assert_eq!(answer.json, refused.json);
    }
    let throttled = query_i64(
        &db.url,
        "SELECT COUNT(*) FROM audit WHERE action = 'oidc.token-throttle'",
    );
    assert_eq!(throttled, 1, "audited once per window");

    // The client's own server, elsewhere, is not slowed.
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let answer = post_form_from(
        &server,
        "/oauth2/token",
        &client,
        &fields,
        Some("198.51.100.7"),
    );
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(answer.json["access_token"].as_str().is_some());
}
