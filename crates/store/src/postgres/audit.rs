//! The audit log on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;

use super::{PostgresStore, append_in, fail, parse};
use crate::queries::{AUDIT_ROWS, COUNT_REFRESH_FAILURES, COUNT_UNLOCK_ISSUES};

impl AuditLog for PostgresStore {
    async fn append(&self, event: AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(AUDIT_ROWS.postgres())
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    id: row.try_get("id").map_err(fail)?,
                    event: AuditEvent {
                        at: row.try_get("at").map_err(fail)?,
                        actor: row.try_get("actor").map_err(fail)?,
                        action: parse(row.try_get("action").map_err(fail)?, "audit action")?,
                        subject: row.try_get("subject").map_err(fail)?,
                        source: row.try_get("source").map_err(fail)?,
                        outcome: parse(row.try_get("outcome").map_err(fail)?, "audit outcome")?,
                        detail: row.try_get("detail").map_err(fail)?,
                    },
                    prev_hash: row.try_get("prev_hash").map_err(fail)?,
                    hash: row.try_get("hash").map_err(fail)?,
                })
            })
            .collect()
    }

    async fn count_unlock_issues(&self, serial: &str, since: i64) -> StoreResult<i64> {
        // The literal action and outcome let the partial index serve it.
        let row = sqlx::query(COUNT_UNLOCK_ISSUES.postgres())
            .bind(serial.to_owned())
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?;
        row.try_get::<i64, _>(0).map_err(fail)
    }

    async fn count_refresh_failures(&self, serial: &str, since: i64) -> StoreResult<i64> {
        let row = sqlx::query(COUNT_REFRESH_FAILURES.postgres())
            .bind(serial.to_owned())
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?;
        row.try_get::<i64, _>(0).map_err(fail)
    }
}
