//! The console's tokens: search by serial, kind, state and owner, and the
//! token actions (resync among them, for HOTP tokens). The unassigned
//! hardware tokens have their own list, in `stock`.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::console::TokenSearch;
use latchkey_core::{AdminError, TokenKind, TokenState};

use super::pages::TokensPage;
use super::users::token_line;
use super::{console, done, nav, posted_admin, refused};
use crate::http::visit::{PostedForm, Visit, server_error};

/// Tokens per page of a search.
const PAGE: i64 = 50;

#[derive(serde::Deserialize, Default)]
pub(super) struct Search {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    after: String,
    /// Set: the unassigned hardware tokens instead.
    #[serde(default)]
    unassigned: String,
}

const KINDS: [TokenKind; 3] = [TokenKind::Latchkey, TokenKind::Totp, TokenKind::Hotp];
const STATES: [TokenState; 4] = [
    TokenState::New,
    TokenState::Active,
    TokenState::Suspended,
    TokenState::Revoked,
];

pub(super) async fn search(visit: Visit, Query(search): Query<Search>) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !search.unassigned.is_empty() {
        return super::stock::page(visit, right, search.serial).await;
    }
    let auditor = right.auditor();
    let app = visit.state.app.clone();
    let unassigned = match app.console_stock(&auditor, "", "", 0).await {
        Ok((_, total)) => total,
        Err(e) => return server_error(&e),
    };
    // Digits only: a serial is shown grouped, and may be typed so.
    let serial_part: String = search.serial.chars().filter(char::is_ascii_digit).collect();
    let serial_typed_wrong = search
        .serial
        .chars()
        .any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-'));
    let owner_id = if search.owner.trim().is_empty() {
        Ok(None)
    } else {
        match app.console_owner_id(&auditor, &search.owner).await {
            Ok(Some(id)) => Ok(Some(id)),
            // No such owner: nothing matches.
            Ok(None) => Err(()),
            Err(e) => return server_error(&e),
        }
    };
    let kind = search.kind.parse().ok();
    let state = search.state.parse().ok();
    let tokens = match owner_id {
        Ok(owner_id) if !serial_typed_wrong => {
            let filter = TokenSearch {
                serial_part,
                kind,
                state,
                owner_id,
            };
            match app
                .console_search_tokens(&auditor, &filter, &search.after, PAGE)
                .await
            {
                Ok(tokens) => tokens,
                Err(e) => return server_error(&e),
            }
        }
        _ => Vec::new(),
    };
    let next = (tokens.len() as i64 == PAGE)
        .then(|| tokens.last())
        .flatten()
        .map(|last| {
            format!(
                "/admin/tokens?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("serial", &search.serial)
                    .append_pair("kind", &search.kind)
                    .append_pair("state", &search.state)
                    .append_pair("owner", &search.owner)
                    .append_pair("after", &last.token.serial)
                    .finish()
            )
        });
    let mut chrome = visit.chrome("Tokens");
    if serial_typed_wrong {
        chrome.alert =
            Some("A serial has digits only (spaces and dashes between them are fine).".into());
    }
    let page = TokensPage {
        chrome,
        nav: nav(&right, "tokens"),
        kind: kind.map(|k: TokenKind| k.to_string()).unwrap_or_default(),
        state: state.map(|s: TokenState| s.to_string()).unwrap_or_default(),
        serial: search.serial,
        owner: search.owner,
        kinds: KINDS.iter().map(|k| k.as_str()).collect(),
        states: STATES.iter().map(|s| s.as_str()).collect(),
        tokens: tokens.iter().map(token_line).collect(),
        next,
        unassigned,
    };
    visit.page(StatusCode::OK, page)
}

pub(super) async fn act(
    Path((serial, action)): Path<(String, String)>,
    form: PostedForm,
) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = format!(
        "/admin/tokens?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("serial", serial.trim())
            .finish()
    );
    let form = if action == "revoke" {
        let what = format!("Revoking token {serial}");
        let path = format!("/admin/tokens/{serial}/revoke");
        match super::confirm::fresh_otp(form, &right, path, what, back.clone()).await {
            Ok(form) => form,
            Err(response) => return response,
        }
    } else {
        form
    };
    let PostedForm { visit, fields } = form;
    let app = visit.state.app.clone();
    let helpdesk = admin.helpdesk();
    let state_change = |state: TokenState, said: &'static str| {
        let app = app.clone();
        let admin = admin.clone();
        let serial = serial.clone();
        async move {
            app.set_token_state(&admin, &serial, state)
                .await
                .map(|()| (format!("Token {serial} is {said}."), None))
        }
    };
    let outcome: Result<(String, Option<String>), AdminError> = match action.as_str() {
        "suspend" => state_change(TokenState::Suspended, "suspended").await,
        "resume" => state_change(TokenState::Active, "active again").await,
        "revoke" => state_change(TokenState::Revoked, "revoked for good").await,
        "reset" => app.reset_token(&helpdesk, &serial).await.map(|()| {
            (
                format!("The wrong-code count and lock of token {serial} are cleared."),
                None,
            )
        }),
        "unlock" => {
            let reset_code = fields.get("reset_code").map_or("", String::as_str).trim();
            app.issue_unlock_code(&helpdesk, &serial, reset_code)
                .await
                .map(|code| {
                    (
                        format!("Read this unlock code to the owner of token {serial}. It opens the soft token once."),
                        Some(code.grouped()),
                    )
                })
        }
        "resync" => {
            let code = |name: &str| fields.get(name).map_or("", String::as_str).trim();
            app.resync_hotp(&helpdesk, &serial, code("otp1"), code("otp2"))
                .await
                .map(|next| {
                    (
                        format!("Token {serial} is in step again; its next code is number {next}."),
                        None,
                    )
                })
        }
        _ => return super::not_found(visit),
    };
    match outcome {
        Ok((text, code)) => done(visit, &right, text, code, back),
        Err(error) => refused(visit, error),
    }
}
