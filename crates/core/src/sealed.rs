//! Whether the sealed values in the store open under the cipher the domain
//! was given: what `latchkey admin restore` asks of a backup before it puts
//! it in place, since a database under another master key has lost every
//! seed (its tokens could never be checked again).

use crate::capability::Admin;
use crate::context::{Latchkey, seed_aad, unlock_aad};
use crate::ports::{Store, StoreError};

/// How the tokens' sealed seeds and unlock secrets fared.
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
        }
        Ok(check)
    }
}
