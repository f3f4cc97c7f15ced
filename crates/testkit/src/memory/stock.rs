//! The stock of unassigned hardware tokens on the fake.

use latchkey_core::*;

use super::{MemoryStore, conflict, missing};

impl StockStore for MemoryStore {
    async fn insert_stock(&self, tokens: Vec<NewStockToken>, event: AuditEvent) -> StoreResult<()> {
        let mut s = self.lock();
        // All or none: every serial is checked before any row is added.
        let mut seen = std::collections::HashSet::new();
        for token in &tokens {
            let taken = s
                .stock
                .values()
                .any(|t| t.serial == token.serial || t.vendor_serial == token.vendor_serial);
            if taken
                || !seen.insert(("s", token.serial.clone()))
                || !seen.insert(("v", token.vendor_serial.clone()))
            {
                return Err(conflict(format!("token {}", token.vendor_serial)));
            }
        }
        for token in tokens {
            let id = s.new_id();
            s.stock.insert(
                id,
                StockToken {
                    id,
                    serial: token.serial,
                    vendor_serial: token.vendor_serial,
                    kind: token.kind,
                    algorithm: token.algorithm,
                    digits: token.digits,
                    period: token.period,
                    sealed_seed: token.sealed_seed,
                    last_used: token.last_used,
                    drift: token.drift,
                    created_at: token.created_at,
                },
            );
        }
        s.append(event);
        Ok(())
    }

    async fn stock(&self) -> StoreResult<Vec<StockToken>> {
        Ok(self.lock().stock.values().cloned().collect())
    }

    async fn stock_token(&self, serial: &str) -> StoreResult<Option<StockToken>> {
        Ok(self
            .lock()
            .stock
            .values()
            .find(|t| t.serial == serial || t.vendor_serial == serial)
            .cloned())
    }

    async fn assign_stock(
        &self,
        stock_id: i64,
        user_id: i64,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut s = self.lock();
        if !s.users.contains_key(&user_id) {
            return Err(missing("user"));
        }
        let Some(stocked) = s.stock.get(&stock_id).cloned() else {
            return Ok(false);
        };
        if s.tokens.values().any(|t| t.serial == stocked.serial) {
            return Err(conflict(format!("token {}", stocked.serial)));
        }
        // Decoded as the stores' row decoders do.
        let corrupt =
            |what: &str| StoreError::Backend(format!("a stored {what} is not valid").into());
        let serial: Serial = stocked
            .serial
            .parse()
            .map_err(|_| corrupt("token serial"))?;
        let otp = OtpParams {
            algorithm: stocked
                .algorithm
                .parse()
                .map_err(|_| corrupt("token algorithm"))?,
            digits: oath::Digits::new(stocked.digits).map_err(|_| corrupt("digit count"))?,
            period: stocked.period,
        };
        s.stock.remove(&stock_id);
        let id = s.new_id();
        s.tokens.insert(
            id,
            Token {
                id,
                serial,
                user_id,
                kind: stocked.kind,
                state: TokenState::Active,
                otp,
                sealed_seed: stocked.sealed_seed,
                sealed_unlock_secret: None,
                last_used: stocked.last_used,
                drift: stocked.drift,
                failures: 0,
                locked: false,
                activation_hash: None,
                activation_expires: 0,
                activation_failures: 0,
                created_at: now,
            },
        );
        s.append(event);
        Ok(true)
    }
}
