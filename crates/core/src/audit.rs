//! The audit chain: each row's hash covers its fields and the previous
//! row's hash, so an edited, inserted or deleted row breaks the chain.

use sha2::{Digest, Sha256};

use crate::capability::Admin;
use crate::context::Latchkey;
use crate::model::{AuditEvent, AuditRow};
use crate::ports::{Store, StoreError};

/// The hash before the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// SHA-256 over the row id, each field (length-prefixed, so that no two
/// rows can be made to hash alike by moving text between fields) and the
/// previous hash.
pub fn row_hash(id: i64, event: &AuditEvent, prev_hash: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"latchkey-audit-v1");
    hasher.update(id.to_be_bytes());
    hasher.update(event.at.to_be_bytes());
    for field in [
        event.actor.as_str(),
        event.action.as_str(),
        &event.subject,
        &event.source,
        event.outcome.as_str(),
        &event.detail,
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.update(prev_hash);
    hasher.finalize().to_vec()
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A row's content does not match its hash: it was edited.
    #[error("audit row {0} was altered: its hash does not match its content")]
    Altered(i64),
    /// A row does not follow the one before it: rows were deleted or inserted.
    #[error("audit row {0} does not follow row {1}: rows between them were deleted or inserted")]
    Broken(i64, i64),
    /// The first row is not row 1, or does not start from the genesis hash.
    #[error(
        "the audit log does not start at row 1 (it starts at row {0}): earlier rows were deleted"
    )]
    BadStart(i64),
}

/// A check of the chain fed one row at a time, in id order, that keeps
/// only the last row's id and hash: a log of any length is verified in
/// bounded memory (S52, L1).
#[derive(Debug, Default)]
pub struct ChainCheck {
    previous: Option<(i64, Vec<u8>)>,
    count: u64,
}

impl ChainCheck {
    /// The next row.
    pub fn push(&mut self, row: &AuditRow) -> Result<(), ChainError> {
        match &self.previous {
            None if row.id != 1 || row.prev_hash != GENESIS => {
                return Err(ChainError::BadStart(row.id));
            }
            Some((id, hash)) if row.id != id + 1 || row.prev_hash != *hash => {
                return Err(ChainError::Broken(row.id, *id));
            }
            _ => {}
        }
        if row_hash(row.id, &row.event, &row.prev_hash) != row.hash {
            return Err(ChainError::Altered(row.id));
        }
        self.previous = Some((row.id, row.hash.clone()));
        self.count += 1;
        Ok(())
    }

    /// The rows checked so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Checks a whole log, in id order. Returns the number of rows.
pub fn verify_chain<'a>(rows: impl IntoIterator<Item = &'a AuditRow>) -> Result<u64, ChainError> {
    let mut check = ChainCheck::default();
    for row in rows {
        check.push(row)?;
    }
    Ok(check.count())
}

/// Rows read per page when the whole chain is verified: the most held in
/// memory at once.
pub const VERIFY_PAGE: i64 = 1_000;

impl<S: Store> Latchkey<S> {
    /// Audit rows with id greater than `after`, in order, at most `limit`.
    pub async fn audit_rows(
        &self,
        _admin: &Admin,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.store.audit_rows(after, limit).await
    }

    /// Verifies the whole audit chain; the number of rows, or where it breaks.
    /// Streamed (S52, L1): page by page of [`VERIFY_PAGE`] rows, one page
    /// in memory at a time, whatever the length of the log.
    pub async fn verify_audit(&self) -> Result<Result<u64, ChainError>, StoreError> {
        let mut check = ChainCheck::default();
        let mut after = 0;
        loop {
            let page = self.store.audit_rows(after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for row in &page {
                if let Err(broken) = check.push(row) {
                    return Ok(Err(broken));
                }
            }
        }
        Ok(Ok(check.count()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditAction, Outcome};

    fn event(n: i64) -> AuditEvent {
        AuditEvent {
            at: n,
            actor: "cli".into(),
            action: AuditAction::UserAdd,
            subject: format!("user{n}"),
            source: "cli".into(),
            outcome: Outcome::Success,
            detail: String::new(),
        }
    }

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut rows: Vec<AuditRow> = Vec::new();
        for id in 1..=n {
            let prev = rows.last().map_or(GENESIS.to_vec(), |r| r.hash.clone());
            let event = event(id);
            let hash = row_hash(id, &event, &prev);
            rows.push(AuditRow {
                id,
                event,
                prev_hash: prev,
                hash,
            });
        }
        rows
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
        assert_eq!(verify_chain(&Vec::new()), Ok(0));
    }

    #[test]
    fn an_edited_row_is_named() {
        let mut rows = chain(5);
        rows[2].event.outcome = Outcome::Failure;
        assert_eq!(verify_chain(&rows), Err(ChainError::Altered(3)));
    }

    #[test]
    fn a_deleted_row_is_named() {
        let mut rows = chain(5);
        rows.remove(3);
        assert_eq!(verify_chain(&rows), Err(ChainError::Broken(5, 3)));
        let mut rows = chain(5);
        rows.remove(0);
        assert_eq!(verify_chain(&rows), Err(ChainError::BadStart(2)));
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = event(1);
        let mut b = event(1);
        a.actor = "ab".into();
        a.subject = "c".into();
        b.actor = "a".into();
        b.subject = "bc".into();
        assert_ne!(row_hash(1, &a, &GENESIS), row_hash(1, &b, &GENESIS));
    }
}
