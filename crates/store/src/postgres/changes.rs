//! The row changes several ports share on PostgreSQL: the audit-chain append, OTP acceptance and failure.

use latchkey_core::audit::row_hash;
use latchkey_core::*;
use sqlx::{Postgres, Row, Transaction};

use super::fail;
use crate::queries::{ACCEPT_OTP, BUMP_AUDIT_HOUR, COUNT_OTP_FAILURE};

/// Appends an audit row inside `tx`, after the change it records.
pub(super) async fn append_in(
    tx: &mut Transaction<'static, Postgres>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    append_all_in(tx, std::slice::from_ref(event)).await
}

/// Audit rows one INSERT carries at most (ten parameters each; PostgreSQL
/// takes 65,535 per statement).
pub(super) const AUDIT_ROWS_PER_INSERT: usize = 500;

/// Appends `events`, in order, inside `tx`: the head moves once for all of
/// them, so its row lock (which orders every writer of the log, on every
/// node) is taken as late and held as briefly as the transaction allows.
pub(crate) async fn append_all_in(
    tx: &mut sqlx::PgConnection,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head = sqlx::query(
        "UPDATE audit_head SET last_id = last_id + $1 WHERE id = 1 RETURNING last_id, last_hash",
    )
    .bind(events.len() as i64)
    .fetch_one(&mut *tx)
    .await
    .map_err(fail)?;
    let last_id: i64 = head.try_get(0).map_err(fail)?;
    let mut prev: Vec<u8> = head.try_get(1).map_err(fail)?;
    let mut id = last_id - events.len() as i64;
    for chunk in events.chunks(AUDIT_ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash) VALUES ",
        );
        for row in 0..chunk.len() {
            let p = row * 10;
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 8,
                p + 9,
                p + 10
            ));
        }
        let mut insert = sqlx::query(&sql);
        for event in chunk {
            id += 1;
            let hash = row_hash(id, event, &prev);
            insert = insert
                .bind(id)
                .bind(event.at)
                .bind(&event.actor)
                .bind(event.action.as_str())
                .bind(&event.subject)
                .bind(&event.source)
                .bind(event.outcome.as_str())
                .bind(&event.detail)
                .bind(std::mem::replace(&mut prev, hash.clone()))
                .bind(hash);
        }
        insert.execute(&mut *tx).await.map_err(fail)?;
    }
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(prev)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    // The hourly summary the dashboard reads, in the same transaction, one
    // statement per hour, action and outcome (a grouped append's rows
    // share a few). The head's row lock, held since the first statement,
    // orders these writers too.
    let mut hours = std::collections::BTreeMap::<(i64, &str, &str), i64>::new();
    for event in events {
        *hours
            .entry((
                event.at - event.at.rem_euclid(3600),
                event.action.as_str(),
                event.outcome.as_str(),
            ))
            .or_default() += 1;
    }
    for ((hour, action, outcome), count) in hours {
        sqlx::query(BUMP_AUDIT_HOUR.postgres())
            .bind(hour)
            .bind(action)
            .bind(outcome)
            .bind(count)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    // Counted as written: a transaction that fails after this (rare) is
    // counted all the same.
    crate::metrics::count_events(
        events
            .iter()
            .map(|event| (event.action.as_str(), event.outcome.as_str())),
    );
    Ok(())
}

/// Accepts step or counter `used` if it is later than the last one
/// accepted and the token is active and unlocked: the token row's change
/// (the caller records the event).
pub(super) async fn accept_otp_row(
    tx: &mut Transaction<'static, Postgres>,
    id: i64,
    used: i64,
    drift: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(ACCEPT_OTP.postgres())
        .bind(id)
        .bind(used)
        .bind(drift)
        .execute(&mut **tx)
        .await
        .map_err(fail)?
        .rows_affected()
        > 0)
}

/// Counts a failed OTP unless the token is locked and locks it at `limit`:
/// the token row's change, giving the count and whether this failure
/// locked the token (the caller records the events).
pub(super) async fn otp_failure_row(
    tx: &mut Transaction<'static, Postgres>,
    id: i64,
    limit: u32,
) -> Result<(u32, bool), StoreError> {
    let row = sqlx::query(COUNT_OTP_FAILURE.postgres())
        .bind(id)
        .bind(i64::from(limit))
        .fetch_optional(&mut **tx)
        .await
        .map_err(fail)?;
    Ok(match row {
        Some(row) => (
            row.try_get::<i64, _>(0).map_err(fail)? as u32,
            row.try_get::<bool, _>(1).map_err(fail)?,
        ),
        None => (limit, false),
    })
}
