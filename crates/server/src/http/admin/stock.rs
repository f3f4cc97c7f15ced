//! The console's unassigned hardware tokens (from PSKC files, waiting in
//! the stock) and handing one out: by its Latchkey serial or the vendor's
//! serial printed on the device, to a user by name, as `latchkey admin
//! token assign` does — active at once, audited (`token.assign`), and the
//! user told by mail.

use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::console::ConsoleRight;
use latchkey_core::oath::Serial;

use super::pages::{StockLine, StockPage};
use super::time::utc;
use super::{done, nav, posted_admin, refused};
use crate::http::visit::{PostedForm, Visit, server_error};

/// Unassigned tokens a page lists at most; a search narrows them down.
const PAGE: usize = 200;

/// The stock's list, narrowed to `serial` when one is given: part of a
/// vendor serial, or, typed in digits (spaces and dashes between them are
/// fine), part of a Latchkey serial too.
pub(super) async fn page(visit: Visit, right: ConsoleRight, serial: String) -> Response {
    let typed_as_digits = serial
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    let digits: String = if typed_as_digits {
        serial.chars().filter(char::is_ascii_digit).collect()
    } else {
        String::new()
    };
    let found = visit
        .state
        .app
        .console_stock(&right.auditor(), &digits, &serial, PAGE)
        .await;
    let (tokens, total) = match found {
        Ok(found) => found,
        Err(e) => return server_error(&e),
    };
    let page = StockPage {
        chrome: visit.chrome("Unassigned tokens"),
        nav: nav(&right, "tokens"),
        serial,
        tokens: tokens
            .iter()
            .map(|token| StockLine {
                serial: token.serial.clone(),
                serial_grouped: token
                    .serial
                    .parse::<Serial>()
                    .map(|s| s.grouped())
                    .unwrap_or_else(|_| token.serial.clone()),
                vendor_serial: token.vendor_serial.clone(),
                kind: token.kind.to_string(),
                digits: token.digits,
                imported: utc(token.created_at),
            })
            .collect(),
        total,
    };
    visit.page(StatusCode::OK, page)
}

/// `POST /admin/tokens/assign`: `serial` (Latchkey's or the vendor's) to
/// the user named `user`.
pub(super) async fn assign(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let PostedForm { visit, fields } = form;
    let field = |name: &str| fields.get(name).map_or("", |v| v.trim()).to_owned();
    let (serial, user) = (field("serial"), field("user"));
    if serial.is_empty() || user.is_empty() {
        return visit.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not done",
            vec!["Give the token's serial (Latchkey's or the one printed on it) and the user's name.".into()],
            Some(("/admin/tokens?unassigned=yes", "Back to the unassigned tokens")),
        );
    }
    let app = visit.state.app.clone();
    match app.assign_stock_token(&admin, &serial, &user).await {
        Ok((token, owner, mail)) => {
            let told = if mail.is_some() {
                " A mail tells them so."
            } else {
                ""
            };
            crate::http::send_mail(&visit.state, mail);
            let grouped = token.serial.grouped();
            let text = format!(
                "Token {grouped} ({serial}) is assigned to {} and active.{told}",
                owner.username
            );
            done(
                visit,
                &right,
                text,
                None,
                format!("/admin/users/{}", owner.username),
            )
        }
        Err(error) => refused(visit, error),
    }
}
