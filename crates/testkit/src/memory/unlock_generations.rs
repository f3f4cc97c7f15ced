//! The unlock-generation port on the fake (SECURITY.md S45).

use std::collections::BTreeMap;

use latchkey_core::*;

use super::{MemoryStore, conflict, missing};
use latchkey_core::{AuditAction, Outcome};

/// Generations by (token id, number).
#[derive(Default)]
pub(super) struct GenerationState {
    generations: BTreeMap<(i64, i64), UnlockGeneration>,
}

impl UnlockGenerationStore for MemoryStore {
    async fn unlock_generations(&self, token_id: i64) -> StoreResult<Vec<UnlockGeneration>> {
        let s = self.lock();
        Ok(s.unlock
            .generations
            .range((token_id, i64::MIN)..=(token_id, i64::MAX))
            .map(|(_, g)| g.clone())
            .collect())
    }

    async fn add_unlock_generation(
        &self,
        token_id: i64,
        generation: UnlockGeneration,
        retire_below: i64,
        legacy: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        if !s.tokens.contains_key(&token_id) {
            return Err(missing("token"));
        }
        let key = (token_id, generation.generation);
        if s.unlock.generations.contains_key(&key) {
            return Err(conflict("unlock generation"));
        }
        s.unlock.generations.insert(key, generation);
        s.unlock
            .generations
            .retain(|(token, number), _| *token != token_id || *number >= retire_below);
        if let (Some(sealed), Some(token)) = (legacy, s.tokens.get_mut(&token_id)) {
            token.sealed_unlock_secret = Some(sealed);
        }
        s.append(event);
        Ok(())
    }

    async fn count_refreshes(&self, serial: &str, since: i64) -> StoreResult<i64> {
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|r| {
                r.event.action == AuditAction::TokenRefresh
                    && r.event.outcome == Outcome::Success
                    && r.event.subject == serial
                    && r.event.at >= since
            })
            .count() as i64)
    }
}
