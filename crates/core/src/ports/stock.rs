//! The stock of hardware tokens not yet handed out.

use std::future::Future;

use super::StoreResult;
use crate::model::*;

/// A hardware token to put in the stock of unassigned ones (PSKC import).
#[derive(Clone)]
pub struct NewStockToken {
    /// The Latchkey serial it is given (10 digits, Luhn).
    pub serial: String,
    /// The vendor's serial (printed on the device), else the file's key id.
    pub vendor_serial: String,
    /// TOTP or HOTP.
    pub kind: TokenKind,
    /// HMAC hash name.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step (TOTP); 0 for HOTP.
    pub period: u64,
    /// The seed, sealed under the Latchkey serial.
    pub sealed_seed: Vec<u8>,
    /// The last counter used (HOTP: the file's counter − 1); −1 for none.
    pub last_used: i64,
    /// Clock drift in steps (TOTP), from the file.
    pub drift: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A hardware token in the stock, as stored.
#[derive(Clone)]
pub struct StockToken {
    /// Row id.
    pub id: i64,
    /// The Latchkey serial.
    pub serial: String,
    /// The vendor's serial.
    pub vendor_serial: String,
    /// TOTP or HOTP.
    pub kind: TokenKind,
    /// HMAC hash name.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step (TOTP); 0 for HOTP.
    pub period: u64,
    /// The sealed seed.
    pub sealed_seed: Vec<u8>,
    /// The last counter used; −1 for none.
    pub last_used: i64,
    /// Clock drift in steps.
    pub drift: i64,
    /// Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for StockToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StockToken")
            .field("serial", &self.serial)
            .field("vendor_serial", &self.vendor_serial)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The stock of hardware tokens not yet handed to anyone.
pub trait StockStore: Send + Sync {
    /// Adds tokens to the stock, all or none, with one audit event in the
    /// same transaction; a serial or vendor serial taken already is a
    /// [`StoreError::Conflict`](super::StoreError::Conflict) and adds nothing.
    fn insert_stock(
        &self,
        tokens: Vec<NewStockToken>,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every token in the stock, oldest first.
    fn stock(&self) -> impl Future<Output = StoreResult<Vec<StockToken>>> + Send;
    /// The token in the stock with this Latchkey serial or vendor serial.
    fn stock_token(
        &self,
        serial: &str,
    ) -> impl Future<Output = StoreResult<Option<StockToken>>> + Send;
    /// Hands the stocked token `stock_id` to user `user_id` as an active
    /// token, in one transaction with its audit event: false if it is no
    /// longer in the stock (someone else assigned it first).
    fn assign_stock(
        &self,
        stock_id: i64,
        user_id: i64,
        now: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
