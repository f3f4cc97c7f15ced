//! What backing up and restoring the database asks of the domain: whether
//! the sealed values — the tokens' and every other sealed column's (the
//! rotation's [`SealedColumn`](crate::rotation::SealedColumn) list) — open
//! under the cipher the domain was given (what
//! `latchkey admin restore` asks of a backup before it puts it in place,
//! since a database under another master key has lost every seed), and an
//! audit row for each copy taken or put back.

use crate::capability::Admin;
use crate::context::{Latchkey, seed_aad, unlock_aad};
use crate::model::{AuditAction, Outcome};
use crate::ports::{Store, StoreError};
use crate::rotation::SealedValue;

/// A copy of the whole database, taken or put back by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseCopy {
    /// Copied out to a file (`database.backup`).
    Backup,
    /// Put in place from a file (`database.restore`), recorded in the
    /// database put in place.
    Restore,
}

/// How sealed values fared: the tokens' seeds and unlock secrets (every
/// generation), or the values of the other sealed columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SealedCheck {
    /// Sealed values that opened.
    pub opened: u64,
    /// Sealed values that did not: sealed under another key, or altered.
    pub refused: u64,
    /// What the first value that did not open is ("seed of unassigned
    /// token 1234567897"), for the operator's message; never the value.
    pub first_refused: Option<String>,
}

impl SealedCheck {
    /// Both checks' counts together.
    pub fn and(self, other: SealedCheck) -> SealedCheck {
        SealedCheck {
            opened: self.opened + other.opened,
            refused: self.refused + other.refused,
            first_refused: self.first_refused.or(other.first_refused),
        }
    }
}

impl<S: Store> Latchkey<S> {
    /// Opens every token's sealed seed and unlock secret, keeping nothing.
    pub async fn check_sealed_values(&self, _admin: &Admin) -> Result<SealedCheck, StoreError> {
        let mut check = SealedCheck::default();
        for token in self.store.list_tokens().await? {
            let serial = &token.serial;
            let sealed = std::iter::once(("seed", seed_aad(serial), &token.sealed_seed)).chain(
                token
                    .sealed_unlock_secret
                    .as_ref()
                    .map(|sealed| ("unlock secret", unlock_aad(serial), sealed)),
            );
            for (what, aad, value) in sealed {
                match self.cipher.open(&aad, value) {
                    Ok(_) => check.opened += 1,
                    Err(_) => {
                        check.refused += 1;
                        check
                            .first_refused
                            .get_or_insert_with(|| format!("{what} of token {serial}"));
                    }
                }
            }
            // Every later unlock-secret generation too (S45).
            for generation in self.store.unlock_generations(token.id).await? {
                let aad = crate::tokens::generation_aad(serial, generation.generation);
                match self.cipher.open(&aad, &generation.sealed_secret) {
                    Ok(_) => check.opened += 1,
                    Err(_) => {
                        check.refused += 1;
                        check.first_refused.get_or_insert_with(|| {
                            format!(
                                "unlock secret generation {} of token {serial}",
                                generation.generation
                            )
                        });
                    }
                }
            }
        }
        Ok(check)
    }

    /// Opens each of `values` (read from the sealed columns outside
    /// `tokens`: RADIUS and OIDC client secrets, OIDC signing keys,
    /// unassigned tokens' seeds), keeping nothing.
    pub fn check_sealed_column_values(
        &self,
        _admin: &Admin,
        values: &[SealedValue],
    ) -> SealedCheck {
        let mut check = SealedCheck::default();
        for value in values {
            match self
                .cipher
                .open(&value.column.aad(&value.key), &value.sealed)
            {
                Ok(_) => check.opened += 1,
                Err(_) => {
                    check.refused += 1;
                    check
                        .first_refused
                        .get_or_insert_with(|| value.column.what(&value.key));
                }
            }
        }
        check
    }

    /// Audits a copy of the database to or from `file`.
    pub async fn record_database_copy(
        &self,
        admin: &Admin,
        copy: DatabaseCopy,
        file: &str,
    ) -> Result<(), StoreError> {
        let action = match copy {
            DatabaseCopy::Backup => AuditAction::DatabaseBackup,
            DatabaseCopy::Restore => AuditAction::DatabaseRestore,
        };
        let event = self.event(admin.actor(), action, file, Outcome::Success, "");
        self.store.append(event).await
    }
}
