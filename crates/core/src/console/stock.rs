//! Unassigned hardware tokens (from PSKC files) as the console lists them:
//! read with an [`Auditor`]'s right, since both console roles see every
//! page; handing one out is the CLI's own `assign_stock_token`.

use crate::capability::Auditor;
use crate::context::Latchkey;
use crate::ports::{StockStore, StockToken, Store, StoreError};

impl<S: Store + StockStore> Latchkey<S> {
    /// The unassigned tokens whose Latchkey serial contains `serial_digits`
    /// or whose vendor serial contains `vendor_part` (any case); every
    /// one when both are empty. Oldest first, at most `limit`, and how
    /// many matched in all.
    pub async fn console_stock(
        &self,
        _auditor: &Auditor,
        serial_digits: &str,
        vendor_part: &str,
        limit: usize,
    ) -> Result<(Vec<StockToken>, usize), StoreError> {
        let vendor_part = vendor_part.trim().to_lowercase();
        let matching: Vec<StockToken> = self
            .store
            .stock()
            .await?
            .into_iter()
            .filter(|token| {
                (serial_digits.is_empty() && vendor_part.is_empty())
                    || (!serial_digits.is_empty() && token.serial.contains(serial_digits))
                    || (!vendor_part.is_empty()
                        && token.vendor_serial.to_lowercase().contains(&vendor_part))
            })
            .collect();
        let total = matching.len();
        Ok((matching.into_iter().take(limit).collect(), total))
    }
}
