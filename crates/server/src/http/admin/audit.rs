//! The console's audit log: filters, keyset paging (newest first, by row
//! id), the export of exactly the filtered rows as CSV and JSON lines, and
//! the chain's verification.

use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::console::AuditSearch;
use latchkey_core::{AuditRow, Auditor};

use super::pages::{AuditFields, AuditPage, VerifyPage};
use super::time::{parse_utc, utc};
use super::users::audit_line;
use super::{console, nav};
use crate::App;
use crate::http::visit::{Visit, server_error};

/// Rows per page.
const PAGE: i64 = 100;
/// Rows per read while exporting.
const EXPORT_BATCH: i64 = 5_000;

#[derive(serde::Deserialize, Default)]
pub(super) struct Filter {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    source: String,
    /// The page starts below this row id.
    #[serde(default)]
    before: Option<i64>,
}

impl Filter {
    /// The search, or why a field cannot be read.
    fn search(&self) -> Result<AuditSearch, String> {
        let time = |text: &str, name: &str, default: i64| {
            if text.trim().is_empty() {
                Ok(default)
            } else {
                parse_utc(text).ok_or_else(|| {
                    format!("\"{name}\" is a UTC date and time such as 2026-12-01 13:00.")
                })
            }
        };
        Ok(AuditSearch {
            from: time(&self.from, "From", i64::MIN)?,
            until: time(&self.until, "Until", i64::MAX)?,
            actor: self.actor.trim().to_owned(),
            // User names are stored lower case; serials as digits.
            user: self.user.trim().to_lowercase(),
            serial: self
                .serial
                .chars()
                .filter(|c| !matches!(c, ' ' | '-'))
                .collect(),
            action: self.action.trim().to_owned(),
            outcome: self.outcome.trim().to_owned(),
            source: self.source.trim().to_owned(),
        })
    }

    fn fields(&self) -> AuditFields {
        AuditFields {
            from: self.from.clone(),
            until: self.until.clone(),
            actor: self.actor.clone(),
            user: self.user.clone(),
            serial: self.serial.clone(),
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            source: self.source.clone(),
        }
    }

    /// The filter (without the page) as a query string.
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("from", &self.from),
            ("until", &self.until),
            ("actor", &self.actor),
            ("user", &self.user),
            ("serial", &self.serial),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("source", &self.source),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

pub(super) async fn search(visit: Visit, Query(filter): Query<Filter>) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let query = filter.query();
    let mut rows = Vec::new();
    let mut next = None;
    let mut alert = None;
    match filter.search() {
        Err(message) => alert = Some(message),
        Ok(search) => {
            let before = filter.before.unwrap_or(i64::MAX);
            rows = match visit
                .state
                .app
                .console_audit(&right.auditor(), &search, before, PAGE)
                .await
            {
                Ok(rows) => rows,
                Err(e) => return server_error(&e),
            };
            if rows.len() as i64 == PAGE
                && let Some(last) = rows.last()
            {
                let joiner = if query.is_empty() { "" } else { "&" };
                next = Some(format!("/admin/audit?{query}{joiner}before={}", last.id));
            }
        }
    }
    let mut chrome = visit.chrome("Audit log");
    chrome.alert = alert;
    let page = AuditPage {
        chrome,
        nav: nav(&right, "audit"),
        fields: filter.fields(),
        outcomes: OUTCOMES.to_vec(),
        rows: rows.iter().map(audit_line).collect(),
        query,
        next,
        first_page: filter.before.is_none(),
    };
    visit.page(StatusCode::OK, page)
}

/// Every row the filter matches, newest first.
async fn every_row(
    app: &App,
    auditor: &Auditor,
    search: &AuditSearch,
) -> Result<Vec<AuditRow>, latchkey_core::StoreError> {
    let mut rows = Vec::new();
    let mut before = i64::MAX;
    loop {
        let batch = app
            .console_audit(auditor, search, before, EXPORT_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        before = last.id;
        let full = batch.len() as i64 == EXPORT_BATCH;
        rows.extend(batch);
        if !full {
            break;
        }
    }
    Ok(rows)
}

async fn export(visit: Visit, filter: Filter, format: Format) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let search = match filter.search() {
        Ok(search) => search,
        Err(message) => {
            return visit.message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Audit log",
                vec![message],
                Some(("/admin/audit", "Back to the audit log")),
            );
        }
    };
    let auditor = right.auditor();
    let rows = match every_row(&visit.state.app, &auditor, &search).await {
        Ok(rows) => rows,
        Err(e) => return server_error(&e),
    };
    let name = match format {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
    };
    if let Err(e) = visit
        .state
        .app
        .console_record_export(&auditor, name, rows.len(), &filter.query())
        .await
    {
        return server_error(&e);
    }
    let (body, content_type, file) = match format {
        Format::Csv => (csv(&rows), "text/csv; charset=utf-8", "audit.csv"),
        Format::JsonLines => (
            json_lines(&rows),
            "application/jsonl; charset=utf-8",
            "audit.jsonl",
        ),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

enum Format {
    Csv,
    JsonLines,
}

pub(super) async fn export_csv(visit: Visit, Query(filter): Query<Filter>) -> Response {
    export(visit, filter, Format::Csv).await
}

pub(super) async fn export_json_lines(visit: Visit, Query(filter): Query<Filter>) -> Response {
    export(visit, filter, Format::JsonLines).await
}

/// The CSV header: the columns of [`csv`]'s lines.
pub const CSV_HEADER: &str = "id,time_utc,at,actor,action,subject,source,outcome,detail";

/// RFC 4180 CSV, one line per row. A cell a spreadsheet would run as a
/// formula (one starting with `= + - @`, a tab or a carriage return) is
/// written with a leading `'`, so an actor or subject someone typed cannot
/// become a formula on the reader's machine.
fn csv(rows: &[AuditRow]) -> String {
    fn cell(out: &mut String, text: &str) {
        let guarded = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if guarded || text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            if guarded {
                out.push('\'');
            }
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(text);
        }
    }
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for row in rows {
        let event = &row.event;
        out.push_str(&format!("{},{},{},", row.id, utc(event.at), event.at));
        for (i, text) in [
            event.actor.as_str(),
            event.action.as_str(),
            &event.subject,
            &event.source,
            event.outcome.as_str(),
            &event.detail,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            cell(&mut out, text);
        }
        out.push_str("\r\n");
    }
    out
}

/// One JSON object per line.
fn json_lines(rows: &[AuditRow]) -> String {
    let mut out = String::new();
    for row in rows {
        let event = &row.event;
        let line = serde_json::json!({
            "id": row.id,
            "at": event.at,
            "time_utc": utc(event.at),
            "actor": event.actor,
            "action": event.action.as_str(),
            "subject": event.subject,
            "source": event.source,
            "outcome": event.outcome.as_str(),
            "detail": event.detail,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

pub(super) async fn verify(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (intact, text) = match visit.state.app.console_verify_audit(&right.auditor()).await {
        Ok(Ok(rows)) => (true, format!("The audit log is intact: {rows} rows.")),
        Ok(Err(broken)) => (false, format!("The audit log is NOT intact: {broken}.")),
        Err(e) => return server_error(&e),
    };
    let page = VerifyPage {
        chrome: visit.chrome("The audit chain"),
        nav: nav(&right, "audit"),
        intact,
        text,
    };
    visit.page(StatusCode::OK, page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::{AuditAction, AuditEvent, Outcome};

    fn row(id: i64, actor: &str, detail: &str) -> AuditRow {
        AuditRow {
            id,
            event: AuditEvent {
                at: 1_700_000_000,
                actor: actor.into(),
                action: AuditAction::PortalPassword,
                subject: "alice".into(),
                source: "192.0.2.1".into(),
                outcome: Outcome::Failure,
                detail: detail.into(),
            },
            prev_hash: Vec::new(),
            hash: Vec::new(),
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_keeps_formulas_text() {
        let text = csv(&[
            row(1, "plain", "a, \"quoted\"\nline"),
            row(2, "=HYPERLINK(\"x\")", "-1+1"),
            row(3, "@cmd", "+sum"),
        ]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "1,2023-11-14 22:13:20,1700000000,plain,portal.password,alice,192.0.2.1,failure,\"a, \"\"quoted\"\"\nline\""
        );
        assert_eq!(
            lines[2],
            "2,2023-11-14 22:13:20,1700000000,\"'=HYPERLINK(\"\"x\"\")\",portal.password,alice,192.0.2.1,failure,\"'-1+1\""
        );
        assert_eq!(
            lines[3],
            "3,2023-11-14 22:13:20,1700000000,\"'@cmd\",portal.password,alice,192.0.2.1,failure,\"'+sum\""
        );
        assert_eq!(lines[4], "", "every line ends with CRLF");
    }

    #[test]
    fn json_lines_hold_one_row_each_with_every_field() {
        let text = json_lines(&[row(7, "<b>", "x\ny")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(value["id"], 7);
        assert_eq!(value["actor"], "<b>");
        assert_eq!(value["detail"], "x\ny");
        assert_eq!(value["time_utc"], "2023-11-14 22:13:20");
    }
}
