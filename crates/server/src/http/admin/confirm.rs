//! The fresh OTP before a destructive action: the action's form comes back
//! as a prompt carrying the form's own fields, and is carried out only when
//! the code is right (or the session confirmed one a few minutes ago).

use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::console::ConsoleRight;

use super::nav;
use super::pages::{Carried, ConfirmPage};
use crate::http::visit::{PostedForm, Visit, server_error};

/// The form, if the action may go ahead; otherwise the prompt for an OTP
/// (again, with an alert, after a wrong one: 401, nothing changed).
pub(super) async fn fresh_otp(
    form: PostedForm,
    right: &ConsoleRight,
    action: String,
    what: String,
    back: String,
) -> Result<PostedForm, Response> {
    let PostedForm { visit, mut fields } = form;
    let Some(session) = visit.full_session() else {
        return Err(visit.wrong_stage());
    };
    let app = visit.state.app.clone();
    match app.console_recently_confirmed(&session).await {
        Ok(true) => return Ok(PostedForm { visit, fields }),
        Ok(false) => {}
        Err(e) => return Err(server_error(&e)),
    }
    let Some(otp) = fields.remove("otp") else {
        return Err(prompt(visit, right, (action, what, back), &fields, None));
    };
    match app
        .console_confirm_otp(&session, otp.trim(), &visit.source)
        .await
    {
        Ok(true) => Ok(PostedForm { visit, fields }),
        Ok(false) => Err(prompt(
            visit,
            right,
            (action, what, back),
            &fields,
            Some(
                "That one-time password is not right, or was used already. Nothing was changed; enter the code your token shows now.",
            ),
        )),
        Err(e) => Err(server_error(&e)),
    }
}

/// The prompt: the form's address, what it does, and the way back.
fn prompt(
    visit: Visit,
    right: &ConsoleRight,
    (action, what, back): (String, String, String),
    fields: &std::collections::HashMap<String, String>,
    alert: Option<&str>,
) -> Response {
    let mut chrome = visit.chrome("Confirm");
    chrome.alert = alert.map(str::to_owned);
    let mut carried: Vec<Carried> = fields
        .iter()
        .filter(|(name, _)| name.as_str() != "csrf")
        .map(|(name, value)| Carried {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    carried.sort_by(|a, b| a.name.cmp(&b.name));
    let status = if alert.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let page = ConfirmPage {
        chrome,
        nav: nav(right, ""),
        what,
        action,
        carried,
        back,
    };
    visit.page(status, page)
}
