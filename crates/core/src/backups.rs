//! What backing up and restoring the database asks of the domain: whether
//! the sealed values open under the cipher the domain was given (what
//! `latchkey admin restore` asks of a backup before it puts it in place,
//! since a database under another master key has lost every seed), and an
//! audit row for each copy taken or put back.

use crate::capability::Admin;
use crate::context::{Latchkey, seed_aad, unlock_aad};
use crate::ports::{Store, StoreError};

/// A copy of the whole database, taken or put back by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseCopy {
    /// Copied out to a file (`database.backup`).
    Backup,
    /// Put in place from a file (`database.restore`), recorded in the
    /// database put in place.
    Restore,
}

/// How the tokens' sealed seeds and unlock secrets (every generation) fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedCheck {
    /// Sealed values that opened.
    pub opened: u64,
    /// Sealed values that did not: sealed under another key, or altered.
    pub refused: u64,
}

impl<S: Store> Latchkey<S> {
    /// Opens every token's sealed seed and unlock secret, keeping nothing.
    pub async fn check_sealed_values(&self, _admin: &Admin) -> Result<SealedCheck, StoreError> {
        let mut check = SealedCheck {
            opened: 0,
            refused: 0,
        };
        for token in self.store.list_tokens().await? {
            let serial = &token.serial;
            let sealed = std::iter::once((seed_aad(serial), &token.sealed_seed)).chain(
                token
                    .sealed_unlock_secret
                    .as_ref()
                    .map(|sealed| (unlock_aad(serial), sealed)),
            );
            for (aad, value) in sealed {
                match self.cipher.open(&aad, value) {
                    Ok(_) => check.opened += 1,
                    Err(_) => check.refused += 1,
                }
            }
            // Every later unlock-secret generation too (S45).
            for generation in self.store.unlock_generations(token.id).await? {
                let aad = crate::tokens::generation_aad(serial, generation.generation);
                match self.cipher.open(&aad, &generation.sealed_secret) {
                    Ok(_) => check.opened += 1,
                    Err(_) => check.refused += 1,
                }
            }
        }
        Ok(check)
    }

    /// Audits a copy of the database to or from `file`.
    pub async fn record_database_copy(
        &self,
        admin: &Admin,
        copy: DatabaseCopy,
        file: &str,
    ) -> Result<(), StoreError> {
        let action = match copy {
            DatabaseCopy::Backup => "database.backup",
            DatabaseCopy::Restore => "database.restore",
        };
        let event = self.event(admin.actor(), action, file, "success", "");
        self.store.append(event).await
    }
}
