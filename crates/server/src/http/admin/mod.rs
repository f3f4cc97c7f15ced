//! The admin console (`/admin`): users, tokens and the audit log in the
//! browser, for `admin` users after a full sign-in, and read-only for
//! `auditor` users. Server-rendered, no script; every form is a
//! [`PostedForm`] (CSRF-checked) and every change is the CLI's own core
//! operation with the signed-in admin as the actor.

mod audit;
mod charts;
mod confirm;
mod directory;
mod import;
mod integrations;
mod pages;
mod pskc;
mod questions;
mod stock;
pub(super) mod time;
mod tokens;
mod users;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::console::ConsoleRight;
use latchkey_core::{Admin, AdminError, AdminErrorKind, Role};

use self::pages::{DashboardPage, DonePage, ExpiringLine, Nav, StateCount};
use super::visit::{PostedForm, Visit, server_error};

pub fn routes() -> Router<super::AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/users", get(users::search))
        .route("/admin/users/{name}", get(users::page))
        .route("/admin/users/{name}/{action}", post(users::act))
        .route("/admin/tokens", get(tokens::search))
        .route("/admin/tokens/assign", post(stock::assign))
        .route("/admin/tokens/{serial}/{action}", post(tokens::act))
        .route("/admin/audit", get(audit::search))
        .route("/admin/audit/export.csv", get(audit::export_csv))
        .route("/admin/audit/export.jsonl", get(audit::export_json_lines))
        .route("/admin/audit/verify", get(audit::verify))
        .route(
            "/admin/api-keys",
            get(integrations::api_keys).post(integrations::create_api_key),
        )
        .route(
            "/admin/api-keys/{name}/revoke",
            post(integrations::revoke_api_key),
        )
        .route(
            "/admin/radius",
            get(integrations::radius).post(integrations::add_radius),
        )
        .route(
            "/admin/radius/{name}/remove",
            post(integrations::remove_radius),
        )
        .route(
            "/admin/oidc",
            get(integrations::oidc).post(integrations::add_oidc),
        )
        .route("/admin/oidc/{name}/remove", post(integrations::remove_oidc))
        .route(
            "/admin/questions",
            get(questions::list).post(questions::add),
        )
        .route("/admin/questions/{id}/retire", post(questions::retire))
        .route("/admin/directory", get(directory::page))
        .route("/admin/directory/sync", post(directory::sync))
        .route("/admin/import", get(import::page).post(import::submit))
        .route("/admin/import/pskc", post(pskc::submit))
}

/// The visitor's console right, or the answer for one without: to sign in
/// first; 403 for the help desk (whose header links here); 404 for
/// everyone else, as for a page that does not exist.
async fn console(visit: Visit) -> Result<(Visit, ConsoleRight), Response> {
    let Some(session) = visit.full_session() else {
        return Err(visit.wrong_stage());
    };
    if let Some(right) = visit.state.app.portal_console(&session, &visit.source) {
        return Ok((visit, right));
    }
    Err(if session.user().role == Role::Helpdesk {
        visit.message(
            StatusCode::FORBIDDEN,
            "Administration",
            vec!["These pages are for administrators and auditors. The help desk's page is the help desk link above.".into()],
            Some(("/helpdesk", "Go to the help desk")),
        )
    } else {
        not_found(visit)
    })
}

fn not_found(visit: Visit) -> Response {
    visit.message(
        StatusCode::NOT_FOUND,
        "Page not found",
        vec!["There is no page at this address.".into()],
        Some(("/", "Go to the start page")),
    )
}

fn nav(right: &ConsoleRight, here: &'static str) -> Nav {
    Nav {
        here,
        read_only: right.admin().is_none(),
    }
}

async fn dashboard(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let dashboard = match visit.state.app.console_dashboard(&right.auditor()).await {
        Ok(dashboard) => dashboard,
        Err(e) => return server_error(&e),
    };
    let page = DashboardPage {
        chrome: visit.chrome("Administration"),
        nav: nav(&right, "dashboard"),
        tokens_by_state: dashboard
            .tokens_by_state
            .iter()
            .map(|(state, count)| StateCount {
                state: state.to_string(),
                count: *count,
            })
            .collect(),
        users_without_second_factor: dashboard
            .users_without_second_factor
            .iter()
            .map(|user| user.username.to_string())
            .collect(),
        charts: charts::charts(&dashboard.hours),
        expiring: dashboard
            .activations_expiring
            .iter()
            .map(|status| {
                let line = users::token_line(status);
                ExpiringLine {
                    serial: line.serial,
                    serial_grouped: line.serial_grouped,
                    owner: line.owner,
                    expires: time::utc(status.token.activation_expires),
                }
            })
            .collect(),
    };
    visit.page(StatusCode::OK, page)
}

/// What a console action answers: a page saying what was done, with an
/// optional code to read out, and the way back.
fn done(
    visit: Visit,
    right: &ConsoleRight,
    text: String,
    code: Option<String>,
    back: String,
) -> Response {
    let page = DonePage {
        chrome: visit.chrome("Done"),
        nav: nav(right, ""),
        text,
        code,
        back,
    };
    visit.page(StatusCode::OK, page)
}

/// A refused console action: the core's words, with the status its kind
/// calls for; nothing was changed.
fn refused(visit: Visit, error: AdminError) -> Response {
    let status = match error.kind() {
        AdminErrorKind::NotFound => StatusCode::NOT_FOUND,
        AdminErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AdminErrorKind::Forbidden => StatusCode::FORBIDDEN,
        AdminErrorKind::Malformed => StatusCode::UNPROCESSABLE_ENTITY,
        AdminErrorKind::Conflict => StatusCode::CONFLICT,
        AdminErrorKind::Unexpected => return server_error(&error),
    };
    visit.message(
        status,
        "Not done",
        vec![error.to_string()],
        Some(("/admin", "Back to the console")),
    )
}

/// A posted console form, with its visitor's right to change; a 403 for
/// an auditor, who reads every page and changes nothing.
async fn posted_admin(form: PostedForm) -> Result<(PostedForm, ConsoleRight, Admin), Response> {
    let PostedForm { visit, fields } = form;
    let (visit, right) = console(visit).await?;
    let Some(admin) = right.admin().cloned() else {
        return Err(visit.message(
            StatusCode::FORBIDDEN,
            "Read-only access",
            vec!["Auditors see every page of the console and change nothing. Ask an administrator to make this change.".into()],
            Some(("/admin", "Back to the console")),
        ));
    };
    Ok((PostedForm { visit, fields }, right, admin))
}
