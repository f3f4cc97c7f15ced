//! The unlock-generation port, handed to the backend.

use latchkey_core::*;

use super::Database;

impl UnlockGenerationStore for Database {
    async fn unlock_generations(&self, token_id: i64) -> StoreResult<Vec<UnlockGeneration>> {
        delegate!(self, s => s.unlock_generations(token_id))
    }
    async fn add_unlock_generation(
        &self,
        token_id: i64,
        generation: UnlockGeneration,
        retire_below: i64,
        legacy: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        delegate!(self, s => s.add_unlock_generation(token_id, generation, retire_below, legacy, event))
    }
    async fn count_refreshes(&self, serial: &str, since: i64) -> StoreResult<i64> {
        delegate!(self, s => s.count_refreshes(serial, since))
    }
}
