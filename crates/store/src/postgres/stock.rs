//! The stock of unassigned hardware tokens on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, append_in, corrupt, fail, parse};
use crate::queries::{ASSIGN_STOCK, DELETE_STOCK, INSERT_STOCK_TOKEN, LIST_STOCK, STOCK_BY_SERIAL};

fn stock_from(row: &PgRow) -> StoreResult<StockToken> {
    let get_i64 =
        |name: &str| -> Result<i64, StoreError> { row.try_get::<i64, _>(name).map_err(fail) };
    Ok(StockToken {
        id: get_i64("id")?,
        serial: row.try_get("serial").map_err(fail)?,
        vendor_serial: row.try_get("vendor_serial").map_err(fail)?,
        kind: parse(row.try_get("kind").map_err(fail)?, "token kind")?,
        algorithm: row.try_get("algorithm").map_err(fail)?,
        digits: u8::try_from(get_i64("digits")?).map_err(|_| corrupt("digit count"))?,
        period: u64::try_from(get_i64("period")?).map_err(|_| corrupt("period"))?,
        sealed_seed: row.try_get("sealed_seed").map_err(fail)?,
        last_used: get_i64("last_used")?,
        drift: get_i64("drift")?,
        created_at: get_i64("created_at")?,
    })
}

impl StockStore for PostgresStore {
    async fn insert_stock(&self, tokens: Vec<NewStockToken>, event: AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for token in tokens {
            sqlx::query(INSERT_STOCK_TOKEN.postgres())
                .bind(token.serial)
                .bind(token.vendor_serial)
                .bind(token.kind.as_str())
                .bind(token.algorithm)
                .bind(i64::from(token.digits))
                .bind(token.period as i64)
                .bind(token.sealed_seed)
                .bind(token.last_used)
                .bind(token.drift)
                .bind(token.created_at)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn stock(&self) -> StoreResult<Vec<StockToken>> {
        let rows = sqlx::query(LIST_STOCK.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(stock_from).collect()
    }

    async fn stock_token(&self, serial: &str) -> StoreResult<Option<StockToken>> {
        let row = sqlx::query(STOCK_BY_SERIAL.postgres())
            .bind(serial.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(stock_from).transpose()
    }

    async fn assign_stock(
        &self,
        stock_id: i64,
        user_id: i64,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let moved = sqlx::query(ASSIGN_STOCK.postgres())
            .bind(stock_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        if moved == 0 {
            tx.rollback().await.map_err(fail)?;
            return Ok(false);
        }
        sqlx::query(DELETE_STOCK.postgres())
            .bind(stock_id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }
}
