//! `/oauth2/logout`: RP-initiated logout. With an `id_token_hint` this
//! provider signed, the portal session ends and the browser goes back to
//! the client's registered post-logout URI; without one, a page asks
//! first, so that no other site can sign a user out by a link.

use std::collections::HashMap;

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::oidc::{LogoutError, LogoutTarget};

use super::issuer;
use crate::http::{Chrome, PostedForm, Visit, server_error};

#[derive(Template)]
#[template(path = "oidc_logout.html")]
struct ConfirmLogoutPage {
    chrome: Chrome,
}

fn signed_out(visit: Visit) -> Response {
    visit.message(
        StatusCode::OK,
        "You are signed out",
        vec![
            "Your Latchkey session has ended, and so have the sign-ins it gave to applications."
                .into(),
        ],
        Some(("/login", "Sign in again")),
    )
}

fn refused(visit: Visit, error: &LogoutError) -> Response {
    match error {
        LogoutError::BadHint | LogoutError::UnregisteredRedirect | LogoutError::OtherSession => {
            visit.message(
                StatusCode::BAD_REQUEST,
                "This sign-out link does not work",
                vec![format!(
                    "{}. Go back to the application and sign out there again.",
                    capitalised(&error.to_string())
                )],
                None,
            )
        }
        other => server_error(other),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub(super) async fn logout(visit: Visit, Query(query): Query<HashMap<String, String>>) -> Response {
    let hint = query.get("id_token_hint").filter(|h| !h.is_empty());
    let Some(hint) = hint else {
        let chrome = visit.chrome("Sign out");
        return visit.page(StatusCode::OK, ConfirmLogoutPage { chrome });
    };
    let issuer = issuer(&visit.state);
    let result = visit
        .state
        .app
        .oidc_logout(
            visit.session.as_ref(),
            Some(hint),
            query.get("post_logout_redirect_uri").map(String::as_str),
            &issuer,
            &visit.source,
        )
        .await;
    match result {
        Ok(LogoutTarget::Redirect(uri)) => {
            let mut url = match url::Url::parse(&uri) {
                Ok(url) => url,
                Err(_) => return signed_out(visit),
            };
            if let Some(state) = query.get("state").filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", state);
            }
            visit.redirect(url.as_str())
        }
        Ok(LogoutTarget::Page) => signed_out(visit),
        Err(LogoutError::OtherSession) => {
            let chrome = visit.chrome("Sign out");
            visit.page(StatusCode::OK, ConfirmLogoutPage { chrome })
        }
        Err(error) => refused(visit, &error),
    }
}

pub(super) async fn logout_confirmed(PostedForm { visit, .. }: PostedForm) -> Response {
    let issuer = issuer(&visit.state);
    let result = visit
        .state
        .app
        .oidc_logout(visit.session.as_ref(), None, None, &issuer, &visit.source)
        .await;
    match result {
        Ok(_) => signed_out(visit),
        Err(error) => refused(visit, &error),
    }
}
