//! Unlock-secret generations (SECURITY.md S45): each refresh of a soft
//! token makes a new unlock secret, handed out once, and the newest two stay
//! live. Generation 0 is the secret the token was issued with
//! (`tokens.sealed_unlock_secret`); the store keeps generations 1 and on.

use std::future::Future;

use crate::model::AuditEvent;
use crate::ports::StoreResult;

/// One generation of a token's unlock secret, beyond the first.
#[derive(Clone, PartialEq, Eq)]
pub struct UnlockGeneration {
    /// Its number, from 1.
    pub generation: i64,
    /// The secret, sealed bound to the token's serial and this number.
    pub sealed_secret: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for UnlockGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnlockGeneration")
            .field("generation", &self.generation)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A token's unlock-secret generations. A new one, the retirement of the
/// old ones and the audit event commit together.
pub trait UnlockGenerationStore: Send + Sync {
    /// The generations 1 and on of token `token_id`, oldest first.
    fn unlock_generations(
        &self,
        token_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<UnlockGeneration>>> + Send;
    /// Adds `generation` to token `token_id`, deletes the token's
    /// generations numbered below `retire_below`, and, when `legacy` is
    /// given, overwrites the token's generation-0 secret with it (generation
    /// 0 retired), with `event`, in one transaction. A generation that
    /// exists already (a concurrent refresh took the number) is a
    /// [`crate::StoreError::Conflict`] and changes nothing.
    fn add_unlock_generation(
        &self,
        token_id: i64,
        generation: UnlockGeneration,
        retire_below: i64,
        legacy: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// How many refreshes of serial `serial` succeeded since `since`
    /// (successful `token.refresh` events): the refresh's rate limit.
    fn count_refreshes(
        &self,
        serial: &str,
        since: i64,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
}
