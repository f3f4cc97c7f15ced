//! The console's directory page: whether one is configured, its state as
//! `/readyz` and `/metrics` know it, the accounts that come from it, the
//! last sync, and "sync now".

use axum::http::StatusCode;
use axum::response::Response;

use super::pages::DirectoryPage;
use super::users::audit_line;
use super::{console, done, nav, posted_admin, refused};
use crate::directory::DirectoryState;
use crate::http::visit::{PostedForm, Visit, server_error};

pub(super) async fn page(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let overview = match visit.state.app.console_directory(&right.auditor()).await {
        Ok(overview) => overview,
        Err(e) => return server_error(&e),
    };
    let (state, cause) = match visit.state.lifecycle.directory().map(|port| port.state()) {
        None => (String::new(), String::new()),
        Some(DirectoryState::Up) => ("up".to_owned(), String::new()),
        Some(DirectoryState::Unknown) => ("not asked yet".to_owned(), String::new()),
        Some(DirectoryState::Down(cause)) => ("down".to_owned(), cause),
    };
    let page = DirectoryPage {
        chrome: visit.chrome("Directory"),
        nav: nav(&right, "directory"),
        configured: overview.configured,
        state,
        cause,
        accounts: overview.accounts,
        last_sync: overview.last_sync.as_ref().map(audit_line),
    };
    visit.page(StatusCode::OK, page)
}

pub(super) async fn sync(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let visit = form.visit;
    if visit.state.lifecycle.directory().is_none() {
        return visit.message(
            StatusCode::CONFLICT,
            "Not done",
            vec!["No directory is configured, so there is nothing to sync.".into()],
            Some(("/admin/directory", "Back to the directory")),
        );
    }
    match visit.state.app.sync_directory_recorded(admin.actor()).await {
        Ok(report) => {
            let mut text = format!(
                "{} directory accounts checked, {} changed",
                report.checked,
                report.changes.len()
            );
            for (name, change) in &report.changes {
                text.push_str(&format!("; {name}: {}", change.as_str()));
            }
            text.push('.');
            done(visit, &right, text, None, "/admin/directory".into())
        }
        Err(latchkey_core::AdminError::Directory(down)) => visit.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not done",
            vec![format!(
                "The directory did not answer ({down}); the sync stopped there. The attempt is in the audit log."
            )],
            Some(("/admin/directory", "Back to the directory")),
        ),
        Err(error) => refused(visit, error),
    }
}
