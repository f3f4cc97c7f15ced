//! The console's import: JSON lines as `latchkey admin import` reads them
//! (users with a TOTP or HOTP token each), pasted into a form, with a dry
//! run that reports what would be imported and changes nothing. All or
//! nothing, like the command line's batches. The report names lines,
//! users, serials and problems only: what was pasted (seeds, password
//! hashes) is never sent back. PSKC files have their own form (`pskc`).

use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::console::ImportReport;
use latchkey_core::import::ImportRequest;
use serde::Deserialize;

use super::pages::{ImportLineView, ImportPage, ImportReportView};
use super::{console, nav, posted_admin, refused};
use crate::http::visit::{PostedForm, Visit};

/// One line, as `admin import` reads it: nothing more, nothing less.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    username: String,
    otpauth_uri: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    serial: Option<String>,
}

pub(super) async fn page(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = ImportPage {
        chrome: visit.chrome("Import"),
        nav: nav(&right, "import"),
        report: None,
        pskc: None,
    };
    visit.page(StatusCode::OK, page)
}

/// The lines that parse, and a report line for each that does not (its
/// JSON is not an import line).
fn parse(text: &str) -> (Vec<(usize, ImportRequest)>, Vec<ImportLineView>) {
    let mut requests = Vec::new();
    let mut unreadable = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(line) => requests.push((
                index + 1,
                ImportRequest {
                    username: line.username,
                    email: line.email,
                    password_hash: line.password_hash,
                    otpauth_uri: line.otpauth_uri,
                    serial: line.serial,
                },
            )),
            Err(error) => unreadable.push(ImportLineView {
                number: index + 1,
                username: String::new(),
                serial: String::new(),
                kind: String::new(),
                problem: format!("not an import line: {error}"),
            }),
        }
    }
    (requests, unreadable)
}

fn view(report: &ImportReport, unreadable: Vec<ImportLineView>, dry_run: bool) -> ImportReportView {
    let clean = report.clean() && unreadable.is_empty();
    let mut lines: Vec<ImportLineView> = report
        .lines
        .iter()
        .map(|line| ImportLineView {
            number: line.number,
            username: line.username.clone(),
            serial: line
                .serial
                .as_deref()
                .and_then(|s| s.parse::<latchkey_core::oath::Serial>().ok())
                .map(|s| s.grouped())
                .unwrap_or_else(|| line.serial.clone().unwrap_or_default()),
            kind: line.kind.map(|k| k.to_string()).unwrap_or_default(),
            problem: line.problem.clone().unwrap_or_default(),
        })
        .chain(unreadable)
        .collect();
    lines.sort_by_key(|line| line.number);
    ImportReportView {
        dry_run,
        clean,
        imported: report.imported,
        lines,
    }
}

pub(super) async fn submit(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let PostedForm { visit, fields } = form;
    let text = fields.get("lines").cloned().unwrap_or_default();
    let dry_run = fields.get("dry_run").is_some_and(|v| !v.is_empty());
    let (requests, unreadable) = parse(&text);
    if requests.is_empty() && unreadable.is_empty() {
        return visit.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not done",
            vec!["There is nothing to import: paste one JSON object a line.".into()],
            Some(("/admin/import", "Back to the import")),
        );
    }
    // A line that is not even JSON stops a real import as a bad line does:
    // everything is checked, nothing stored.
    let dry = dry_run || !unreadable.is_empty();
    let report = match visit.state.app.console_import(&admin, requests, dry).await {
        Ok(report) => report,
        Err(error) => return refused(visit, error),
    };
    let report = view(&report, unreadable, dry_run);
    let status = if report.clean {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ImportPage {
        chrome: visit.chrome("Import"),
        nav: nav(&right, "import"),
        // The lines are not shown again, not even after a dry run: they
        // hold seeds. The import that follows is a second paste.
        report: Some(report),
        pskc: None,
    };
    visit.page(status, page)
}
