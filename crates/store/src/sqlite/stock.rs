//! The stock of unassigned hardware tokens on SQLite.

use latchkey_core::*;
use rusqlite::{Row, params};

use super::{SqliteStore, append_in, corrupt, get, parse, query_all, query_one};
use crate::queries::{ASSIGN_STOCK, DELETE_STOCK, INSERT_STOCK_TOKEN, LIST_STOCK, STOCK_BY_SERIAL};

fn stock_from(row: &Row<'_>) -> StoreResult<StockToken> {
    Ok(StockToken {
        id: get(row, 0)?,
        serial: get(row, 1)?,
        vendor_serial: get(row, 2)?,
        kind: parse(get(row, 3)?, "token kind")?,
        algorithm: get(row, 4)?,
        digits: u8::try_from(get::<i64>(row, 5)?).map_err(|_| corrupt("digit count"))?,
        period: u64::try_from(get::<i64>(row, 6)?).map_err(|_| corrupt("period"))?,
        sealed_seed: get(row, 7)?,
        last_used: get(row, 8)?,
        drift: get(row, 9)?,
        created_at: get(row, 10)?,
    })
}

impl StockStore for SqliteStore {
    async fn insert_stock(&self, tokens: Vec<NewStockToken>, event: AuditEvent) -> StoreResult<()> {
        self.write(move |tx| {
            let mut insert = tx.prepare_cached(INSERT_STOCK_TOKEN.sqlite())?;
            for token in tokens {
                insert.execute(params![
                    token.serial,
                    token.vendor_serial,
                    token.kind.as_str(),
                    token.algorithm,
                    i64::from(token.digits),
                    token.period as i64,
                    token.sealed_seed,
                    token.last_used,
                    token.drift,
                    token.created_at,
                ])?;
            }
            drop(insert);
            append_in(tx, &event)
        })
        .await
    }

    async fn stock(&self) -> StoreResult<Vec<StockToken>> {
        self.read(|conn| query_all(conn, LIST_STOCK.sqlite(), [], stock_from))
            .await
    }

    async fn stock_token(&self, serial: &str) -> StoreResult<Option<StockToken>> {
        let serial = serial.to_owned();
        self.read(move |conn| query_one(conn, STOCK_BY_SERIAL.sqlite(), [serial], stock_from))
            .await
    }

    async fn assign_stock(
        &self,
        stock_id: i64,
        user_id: i64,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let moved = tx
                .prepare_cached(ASSIGN_STOCK.sqlite())?
                .execute(params![stock_id, user_id, now])?;
            if moved == 0 {
                return Ok(false);
            }
            tx.prepare_cached(DELETE_STOCK.sqlite())?
                .execute(params![stock_id])?;
            append_in(tx, &event)?;
            Ok(true)
        })
        .await
    }
}
