//! The row changes shared by several ports: the audit-chain append, OTP acceptance and failure, and the OTP check's steps.

use super::{Batch, Head, KeyCache};
use crate::queries::{ACCEPT_OTP, COUNT_OTP_FAILURE, INSERT_AUDIT_ROW};
use latchkey_core::audit::row_hash;
use latchkey_core::*;
use rusqlite::{Connection, OptionalExtension, Params, params};

/// Appends an audit row after the change it records, in the same
/// transaction, chained to the head (see [`Batch`]).
pub(super) fn append_in(tx: &Batch<'_>, event: &AuditEvent) -> rusqlite::Result<()> {
    let mut head = tx.head.borrow_mut();
    let head = match &mut *head {
        Some(head) => head,
        none => none.insert(
            tx.prepare_cached("SELECT last_id, last_hash FROM audit_head WHERE id = 1")?
                .query_row([], |row| {
                    Ok(Head {
                        last_id: row.get(0)?,
                        last_hash: row.get(1)?,
                        moved: false,
                    })
                })?,
        ),
    };
    let id = head.last_id + 1;
    let hash = row_hash(id, event, &head.last_hash);
    tx.prepare_cached(INSERT_AUDIT_ROW.sqlite())?
        .execute(params![
            id,
            event.at,
            event.actor,
            event.action.as_str(),
            event.subject,
            event.source,
            event.outcome.as_str(),
            event.detail,
            head.last_hash,
            hash,
        ])?;
    *head = Head {
        last_id: id,
        last_hash: hash,
        moved: true,
    };
    // The hourly summary the dashboard reads is bumped from these at the
    // transaction's end, and /metrics counts them once it commits.
    tx.events.borrow_mut().push((
        event.at - event.at.rem_euclid(3600),
        event.action,
        event.outcome,
    ));
    Ok(())
}

/// Runs one UPDATE and, if it changed a row, records `event` with it.
pub(super) fn update_and_audit(
    tx: &Batch<'_>,
    sql: &str,
    params: impl Params,
    event: &AuditEvent,
) -> rusqlite::Result<bool> {
    let changed = tx.prepare_cached(sql)?.execute(params)? > 0;
    if changed {
        append_in(tx, event)?;
    }
    Ok(changed)
}

/// Accepts step or counter `used` if it is later than the last one
/// accepted and the token is active and unlocked, and records `event` if so.
fn accept_otp_in(
    tx: &Batch<'_>,
    id: i64,
    used: i64,
    drift: i64,
    event: &AuditEvent,
) -> rusqlite::Result<bool> {
    update_and_audit(tx, ACCEPT_OTP.sqlite(), params![id, used, drift], event)
}

/// Counts a failed OTP unless the token is locked, locks it at `limit`, and
/// records `event` (and `lock_event` if this failure locked it).
fn otp_failure_in(
    tx: &Batch<'_>,
    id: i64,
    limit: u32,
    event: &AuditEvent,
    lock_event: &AuditEvent,
) -> rusqlite::Result<(u32, bool)> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached(COUNT_OTP_FAILURE.sqlite())?
        .query_row(params![id, i64::from(limit)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    // Already locked (or gone): the failure is not counted, but it is
    // still recorded.
    let (count, locked_now) = row.map_or((limit, false), |(count, locked)| {
        (count as u32, locked != 0)
    });
    append_in(tx, event)?;
    if locked_now {
        append_in(tx, lock_event)?;
    }
    Ok((count, locked_now))
}

/// Records an OTP check's steps in order, up to an acceptance that applies;
/// whether one did.
pub(super) fn record_otp_steps(tx: &Batch<'_>, steps: Vec<OtpStep>) -> rusqlite::Result<bool> {
    let mut walk = OtpStepWalk::new(steps);
    while let Some(change) = walk.next_change() {
        match change {
            RowChange::Record(event) => append_in(tx, &event)?,
            RowChange::CountFailure {
                token_id,
                limit,
                event,
                lock_event,
            } => {
                otp_failure_in(tx, token_id, limit, &event, &lock_event)?;
            }
            RowChange::Accept {
                token_id,
                used,
                drift,
                event,
            } => {
                if accept_otp_in(tx, token_id, used, drift, &event)? {
                    walk.accept_applied();
                }
            }
        }
    }
    Ok(walk.accepted())
}

/// Appends `event` inside the write transaction that `conn` holds, on a
/// connection other than the writer's (the importer's), chained the same
/// way: the head is read in the transaction and written back before it
/// commits.
pub(crate) fn append_on_own_connection(
    conn: &Connection,
    event: &AuditEvent,
) -> rusqlite::Result<()> {
    let keys = KeyCache::default();
    let batch = Batch::new(conn, &keys);
    append_in(&batch, event)?;
    batch.finish_audit()
}
