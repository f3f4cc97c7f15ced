//! The stock of unassigned hardware tokens, handed to the backend.

use latchkey_core::*;

use super::Database;

impl StockStore for Database {
    async fn insert_stock(&self, tokens: Vec<NewStockToken>, event: AuditEvent) -> StoreResult<()> {
        delegate!(self, s => s.insert_stock(tokens, event))
    }
    async fn stock(&self) -> StoreResult<Vec<StockToken>> {
        delegate!(self, s => s.stock())
    }
    async fn stock_token(&self, serial: &str) -> StoreResult<Option<StockToken>> {
        delegate!(self, s => s.stock_token(serial))
    }
    async fn assign_stock(
        &self,
        stock_id: i64,
        user_id: i64,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.assign_stock(stock_id, user_id, now, event))
    }
}
