//! The OpenID provider: clients with sealed secrets; codes single use,
//! bound and short-lived, a reused one revoking what it gave; refresh
//! tokens rotating, a reused one revoking its family; held requests single
//! use; keys published before they sign.

use latchkey_core::oidc::{
    AuthorizationParams, AuthorizationRequest, GrantProblem, IssuedCode, SigningAlgorithm,
    TokenError, TokenSet,
};

use super::portal::full_session;
use super::*;

both_backends!(
    oidc_clients_are_sealed_authenticated_and_removed,
    oidc_codes_are_single_use_bound_and_expire,
    oidc_refresh_rotates_and_a_reused_one_revokes_the_family,
    oidc_held_requests_are_single_use_and_keys_rotate_with_overlap,
);

const ISSUER: &str = "https://latchkey.example";
const REDIRECT: &str = "https://app.example/callback";
// RFC 7636, Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A 2048-bit RSA key (PKCS#8), made once for these tests.
const RSA_KEY: &[u8] = include_bytes!("oidc_test_rsa_key.p8.der");

async fn client(h: &Harness, name: &str, public: bool) -> (String, Option<String>) {
    let added = h
        .latchkey
        .add_oidc_client(
            &h.admin,
            name,
            &[REDIRECT.to_owned()],
            &[],
            public,
            SigningAlgorithm::Rs256,
        )
        .await
        .unwrap();
    (
        added.client_id,
        added.client_secret.map(|s| s.as_str().to_owned()),
    )
}

async fn request(h: &Harness, client_id: &str) -> AuthorizationRequest {
    h.latchkey
        .oidc_authorization(&AuthorizationParams {
            client_id: Some(client_id.into()),
            redirect_uri: Some(REDIRECT.into()),
            response_type: Some("code".into()),
            scope: Some("openid profile".into()),
            state: Some("st".into()),
            nonce: Some("n-1".into()),
            code_challenge: Some(CHALLENGE.into()),
            code_challenge_method: Some("S256".into()),
            ..AuthorizationParams::default()
        })
        .await
        .unwrap()
}

struct Signed {
    session: FullSession,
    request: AuthorizationRequest,
}

async fn signed_in(h: &Harness, client_id: &str) -> Signed {
    h.latchkey.oidc_first_keys(RSA_KEY).await.unwrap();
    let (_, totp, _) = user_with_token(h, "alice").await;
    let (_, session) = full_session(h, "alice", &totp).await;
    Signed {
        session,
        request: request(h, client_id).await,
    }
}

async fn code(h: &Harness, signed: &Signed) -> IssuedCode {
    h.latchkey
        .oidc_issue_code(&signed.session, &signed.request, SOURCE)
        .await
        .unwrap()
}

async fn exchange(
    h: &Harness,
    client_id: &str,
    secret: Option<&str>,
    code: &str,
    verifier: &str,
) -> Result<TokenSet, TokenError> {
    let client = h
        .latchkey
        .oidc_authenticate_client(client_id, secret, SOURCE)
        .await
        .unwrap();
    h.latchkey
        .oidc_exchange_code(
            &client,
            code,
            Some(REDIRECT),
            Some(verifier),
            ISSUER,
            SOURCE,
        )
        .await
}

async fn refresh(
    h: &Harness,
    client_id: &str,
    secret: Option<&str>,
    token: &str,
) -> Result<TokenSet, TokenError> {
    let client = h
        .latchkey
        .oidc_authenticate_client(client_id, secret, SOURCE)
        .await
        .unwrap();
    h.latchkey
        .oidc_refresh(&client, token, ISSUER, SOURCE)
        .await
}

fn problem(result: Result<TokenSet, TokenError>) -> GrantProblem {
    match result {
        Err(TokenError::InvalidGrant(problem)) => problem,
        Err(other) => panic!("not invalid_grant: {other}"),
        Ok(_) => panic!("tokens were issued"),
    }
}

async fn oidc_clients_are_sealed_authenticated_and_removed(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (web, secret) = client(&h, "web", false).await;
    let secret = secret.expect("a confidential client gets a secret");
    let (spa, none) = client(&h, "spa", true).await;
    assert!(none.is_none(), "a public client gets no secret");
    let listed = h.latchkey.list_oidc_clients(&h.admin).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["spa", "web"]);
    assert_eq!(listed[1].redirect_uris, [REDIRECT]);
    let sealed = listed[1].sealed_secret.clone().unwrap();
    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is stored sealed"
    );
    let auth = |id: String, secret: Option<String>| {
        let latchkey = h.latchkey.clone();
        async move {
            latchkey
                .oidc_authenticate_client(&id, secret.as_deref(), SOURCE)
                .await
        }
    };
    assert!(auth(web.clone(), Some(secret.clone())).await.is_ok());
    assert!(matches!(
        auth(web.clone(), Some("wrong".into())).await,
        Err(TokenError::InvalidClient)
    ));
    assert!(matches!(
        auth(web.clone(), None).await,
        Err(TokenError::InvalidClient)
    ));
    assert!(auth(spa.clone(), None).await.is_ok());
    assert!(matches!(
        auth(spa.clone(), Some(secret.clone())).await,
        Err(TokenError::InvalidClient)
    ));
    assert!(matches!(
        auth("nobody".into(), None).await,
        Err(TokenError::InvalidClient)
    ));
    assert!(matches!(
        h.latchkey
            .add_oidc_client(
                &h.admin,
                "web",
                &[REDIRECT.into()],
                &[],
                true,
                SigningAlgorithm::Rs256
            )
            .await,
        Err(latchkey_core::oidc::OidcClientError::Exists(_))
    ));
    assert!(matches!(
        h.latchkey
            .add_oidc_client(
                &h.admin,
                "plain-http",
                &["http://app.example/cb".into()],
                &[],
                true,
                SigningAlgorithm::Rs256
            )
            .await,
        Err(latchkey_core::oidc::OidcClientError::BadRedirectUri(_))
    ));
    h.latchkey
        .remove_oidc_client(&h.admin, "web")
        .await
        .unwrap();
    assert!(auth(web, Some(secret)).await.is_err());
    let actions = audit_actions(&h).await;
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "oidc_client.add" && s == "web")
    );
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "oidc_client.remove" && s == "web")
    );
    assert!(
        actions
            .iter()
            .any(|(a, _, o)| a == "oidc.client-auth" && o.starts_with("denied:")),
        "a failed client authentication is audited"
    );
}

async fn oidc_codes_are_single_use_bound_and_expire(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (web, secret) = client(&h, "web", false).await;
    let secret = secret.as_deref();
    let (other, other_secret) = client(&h, "other", false).await;
    let signed = signed_in(&h, &web).await;

    let first = code(&h, &signed).await;
    assert_eq!(first.state, "st");
    assert_eq!(first.redirect_uri, REDIRECT);
    let tokens = exchange(&h, &web, secret, &first.code, VERIFIER)
        .await
        .unwrap();
    assert_eq!(tokens.scope, "openid profile");
    assert!(
        h.latchkey
            .oidc_userinfo(&tokens.access_token)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        problem(exchange(&h, &web, secret, &first.code, VERIFIER).await),
        GrantProblem::CodeReused
    );
    assert!(
        h.latchkey
            .oidc_userinfo(&tokens.access_token)
            .await
            .unwrap()
            .is_none(),
        "a reused code revokes what its first use gave"
    );
    assert_eq!(
        problem(refresh(&h, &web, secret, &tokens.refresh_token).await),
        GrantProblem::UnknownRefreshToken
    );

    let stolen = code(&h, &signed).await;
    assert_eq!(
        problem(exchange(&h, &other, other_secret.as_deref(), &stolen.code, VERIFIER).await),
        GrantProblem::OtherClient
    );
    let guessed = code(&h, &signed).await;
    assert_eq!(
        problem(exchange(&h, &web, secret, &guessed.code, &"x".repeat(43)).await),
        GrantProblem::VerifierWrong
    );
    assert_eq!(
        problem(exchange(&h, &web, secret, "no-such-code", VERIFIER).await),
        GrantProblem::UnknownCode
    );
    let moved = code(&h, &signed).await;
    let client = h
        .latchkey
        .oidc_authenticate_client(&web, secret, SOURCE)
        .await
        .unwrap();
    let elsewhere = h
        .latchkey
        .oidc_exchange_code(
            &client,
            &moved.code,
            Some("https://app.example/callback/"),
            Some(VERIFIER),
            ISSUER,
            SOURCE,
        )
        .await;
    assert_eq!(problem(elsewhere), GrantProblem::RedirectMismatch);
    let late = code(&h, &signed).await;
    h.clock.advance(60);
    assert_eq!(
        problem(exchange(&h, &web, secret, &late.code, VERIFIER).await),
        GrantProblem::CodeExpired
    );
    let actions = audit_actions(&h).await;
    assert!(actions.iter().any(|(a, _, _)| a == "oidc.code"));
    assert!(actions.iter().any(|(a, _, _)| a == "oidc.token"));
    assert!(actions.iter().any(|(a, _, _)| a == "oidc.code-reuse"));
    assert!(
        actions.iter().any(|(a, _, o)| a == "oidc.token"
            && o == "denied:code_verifier does not match the code_challenge"),
        "a refused exchange is audited"
    );
}

async fn oidc_refresh_rotates_and_a_reused_one_revokes_the_family(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (web, secret) = client(&h, "web", false).await;
    let secret = secret.as_deref();
    let (other, other_secret) = client(&h, "other", false).await;
    let signed = signed_in(&h, &web).await;
    let issued = code(&h, &signed).await;
    let first = exchange(&h, &web, secret, &issued.code, VERIFIER)
        .await
        .unwrap();
    assert_eq!(
        problem(refresh(&h, &other, other_secret.as_deref(), &first.refresh_token).await),
        GrantProblem::UnknownRefreshToken,
        "another client's refresh token does not work"
    );
    let second = refresh(&h, &web, secret, &first.refresh_token)
        .await
        .unwrap();
    assert_ne!(*second.refresh_token, *first.refresh_token);
    assert!(
        h.latchkey
            .oidc_userinfo(&second.access_token)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        problem(refresh(&h, &web, secret, &first.refresh_token).await),
        GrantProblem::RefreshReused
    );
    assert_eq!(
        problem(refresh(&h, &web, secret, &second.refresh_token).await),
        GrantProblem::UnknownRefreshToken,
        "the reuse revoked the token the rotation gave"
    );
    assert!(
        h.latchkey
            .oidc_userinfo(&second.access_token)
            .await
            .unwrap()
            .is_none()
    );

    // Revocation (RFC 7009): a refresh token takes its family with it.
    let again = code(&h, &signed).await;
    let third = exchange(&h, &web, secret, &again.code, VERIFIER)
        .await
        .unwrap();
    let client = h
        .latchkey
        .oidc_authenticate_client(&web, secret, SOURCE)
        .await
        .unwrap();
    h.latchkey
        .oidc_revoke(&client, &third.refresh_token, SOURCE)
        .await
        .unwrap();
    assert!(
        h.latchkey
            .oidc_userinfo(&third.access_token)
            .await
            .unwrap()
            .is_none()
    );
    let actions = audit_actions(&h).await;
    assert!(actions.iter().any(|(a, _, _)| a == "oidc.refresh"));
    assert!(actions.iter().any(|(a, _, _)| a == "oidc.refresh-reuse"));
    assert!(actions.iter().any(|(a, _, _)| a == "oidc.revoke"));
}

async fn oidc_held_requests_are_single_use_and_keys_rotate_with_overlap(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (web, _) = client(&h, "web", true).await;
    let signed = signed_in(&h, &web).await;
    let handle = h.latchkey.oidc_hold(&signed.request, 0).await.unwrap();
    let resumed = h
        .latchkey
        .oidc_resume(&handle, &signed.session, SOURCE)
        .await
        .unwrap()
        .expect("the held request gets its code");
    assert_eq!(resumed.state, "st");
    assert!(
        h.latchkey
            .oidc_resume(&handle, &signed.session, SOURCE)
            .await
            .unwrap()
            .is_none()
    );
    let fresh_only = h
        .latchkey
        .oidc_hold(&signed.request, T0 as i64 + 1)
        .await
        .unwrap();
    assert!(
        h.latchkey
            .oidc_resume(&fresh_only, &signed.session, SOURCE)
            .await
            .unwrap()
            .is_none(),
        "a sign-in older than the request asked does not do"
    );

    let before = h.latchkey.oidc_jwks().await.unwrap();
    h.latchkey.oidc_first_keys(RSA_KEY).await.unwrap();
    assert_eq!(
        h.latchkey.oidc_jwks().await.unwrap(),
        before,
        "first keys are made once"
    );
    let kids = h
        .latchkey
        .rotate_oidc_keys(&h.admin, RSA_KEY)
        .await
        .unwrap();
    assert_eq!(kids.len(), 2);
    let after = h.latchkey.oidc_jwks().await.unwrap().to_string();
    for kid in &kids {
        assert!(
            after.contains(kid.as_str()),
            "a rotated key is published at once"
        );
    }
    assert!(after.contains("\"RS256\"") && after.contains("\"ES256\""));
}
