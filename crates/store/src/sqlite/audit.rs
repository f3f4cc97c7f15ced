//! The audit log on SQLite.

use super::{SqliteStore, append_in, fail, get, parse, query_all};
use crate::queries::{AUDIT_ROWS, COUNT_REFRESH_FAILURES, COUNT_UNLOCK_ISSUES};
use latchkey_core::*;
use rusqlite::params;

impl AuditLog for SqliteStore {
    async fn append(&self, event: AuditEvent) -> StoreResult<()> {
        self.write(move |tx| append_in(tx, &event)).await
    }

    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        self.read(move |conn| {
            query_all(conn, AUDIT_ROWS.sqlite(), [after, limit], |row| {
                Ok(AuditRow {
                    id: get(row, 0)?,
                    event: AuditEvent {
                        at: get(row, 1)?,
                        actor: get(row, 2)?,
                        action: parse(get(row, 3)?, "audit action")?,
                        subject: get(row, 4)?,
                        source: get(row, 5)?,
                        outcome: parse(get(row, 6)?, "audit outcome")?,
                        detail: get(row, 7)?,
                    },
                    prev_hash: get(row, 8)?,
                    hash: get(row, 9)?,
                })
            })
        })
        .await
    }

    async fn count_unlock_issues(&self, serial: &str, since: i64) -> StoreResult<i64> {
        let serial = serial.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(COUNT_UNLOCK_ISSUES.sqlite())
                .and_then(|mut statement| {
                    statement.query_row(params![serial, since], |row| row.get(0))
                })
                .map_err(fail)
        })
        .await
    }

    async fn count_refresh_failures(&self, serial: &str, since: i64) -> StoreResult<i64> {
        let serial = serial.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(COUNT_REFRESH_FAILURES.sqlite())
                .and_then(|mut statement| {
                    statement.query_row(params![serial, since], |row| row.get(0))
                })
                .map_err(fail)
        })
        .await
    }
}
