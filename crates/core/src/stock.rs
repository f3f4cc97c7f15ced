//! Hardware tokens that arrive unassigned (from their vendor's PSKC file,
//! RFC 6030) and are handed out later: the stock, its checks and sealing,
//! and `token assign`.
//!
//! Each stocked token gets a Latchkey serial at import (10 digits, Luhn,
//! like every other token) and keeps the vendor's serial, printed on the
//! device, by which the operator finds it. Its seed is sealed under the
//! Latchkey serial, so it opens the same way once assigned.

use std::fmt;

use latchkey_oath::{Algorithm, MIN_SECRET_LEN, Serial};
use zeroize::Zeroizing;

use crate::capability::Admin;
use crate::context::{Latchkey, seed_aad};
use crate::error::AdminError;
use crate::model::{AuditAction, Outcome, Token, TokenKind, User};
use crate::ports::{Mail, NewStockToken, SecretCipher, StockStore, StockToken, Store, StoreError};
use crate::tokens::new_token_mail;

/// Longest vendor serial kept (a key id is free text in RFC 6030).
const MAX_VENDOR_SERIAL: usize = 64;

/// One hardware token as read from a file, before it is checked and sealed.
pub struct StockRequest {
    /// The vendor's serial (`DeviceInfo/SerialNo`), else the key id.
    pub vendor_serial: Option<String>,
    /// HOTP or TOTP.
    pub kind: TokenKind,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code; 6 when the file names none.
    pub digits: Option<u8>,
    /// HOTP: the counter of the next code (`Data/Counter`).
    pub counter: Option<u64>,
    /// TOTP: seconds per step; 30 when the file names none.
    pub period: Option<u64>,
    /// TOTP: the clock drift in steps.
    pub drift: Option<i64>,
    /// The seed.
    pub secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for StockRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StockRequest")
            .field("vendor_serial", &self.vendor_serial)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why a token from a file is not taken into the stock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    /// Neither a serial number nor a key id.
    #[error("the token has neither a serial number (DeviceInfo/SerialNo) nor a key id")]
    NoSerial,
    /// A vendor serial longer than 64 characters or with control characters.
    #[error("the token's serial number is not usable (at most 64 printable characters)")]
    BadSerial,
    /// The seed is shorter than 128 bits (S02).
    #[error("the token's seed has {0} bytes; at least {MIN_SECRET_LEN} (128 bits) are required")]
    ShortSeed(usize),
    /// Codes outside 6–10 digits (S02).
    #[error("the token makes {0}-digit codes; 6 to 10 are required")]
    Digits(u8),
    /// A TOTP time step of zero or more than an hour.
    #[error("the token's time step is {0} s; 1 to 3600 are accepted")]
    Period(u64),
    /// An HOTP counter above [`crate::import::MAX_HOTP_COUNTER`] (L7).
    #[error("the token's HOTP counter {0} is above the largest accepted, {max}", max = crate::import::MAX_HOTP_COUNTER)]
    Counter(u64),
    /// The same serial twice in one file.
    #[error("the serial number {0} appears twice in the file")]
    Duplicate(String),
}

/// A token a file put (or would put) into the stock: no secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockedSummary {
    /// The Latchkey serial it was given.
    pub serial: String,
    /// The vendor's serial.
    pub vendor_serial: String,
    /// HOTP or TOTP.
    pub kind: TokenKind,
}

/// Why a file's tokens were not taken into the stock: nothing was.
#[derive(Debug, thiserror::Error)]
pub enum StockFileError {
    /// One token of the file is refused (its place, counting from 1).
    #[error("key package {0} (counting from 1): {1}")]
    Token(usize, StockError),
    /// The stock refused them (a serial taken, the store failing).
    #[error(transparent)]
    Admin(#[from] AdminError),
}

/// Checks one token from a file and seals its seed under a new Latchkey
/// serial.
pub fn prepare_stock(
    cipher: &dyn SecretCipher,
    request: StockRequest,
    now: i64,
) -> Result<NewStockToken, StockError> {
    let vendor_serial = request
        .vendor_serial
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or(StockError::NoSerial)?;
    if vendor_serial.chars().count() > MAX_VENDOR_SERIAL
        || vendor_serial.chars().any(char::is_control)
    {
        return Err(StockError::BadSerial);
    }
    if request.secret.len() < MIN_SECRET_LEN {
        return Err(StockError::ShortSeed(request.secret.len()));
    }
    let digits = request.digits.unwrap_or(6);
    if !(6..=10).contains(&digits) {
        return Err(StockError::Digits(digits));
    }
    let (period, last_used, drift) = match request.kind {
        TokenKind::Hotp => {
            let counter = request.counter.unwrap_or(0);
            let last_used =
                crate::import::hotp_last_used(counter).ok_or(StockError::Counter(counter))?;
            (0, last_used, 0)
        }
        _ => {
            let period = request.period.unwrap_or(30);
            if !(1..=3600).contains(&period) {
                return Err(StockError::Period(period));
            }
            (period, -1, request.drift.unwrap_or(0))
        }
    };
    let serial = Serial::generate();
    Ok(NewStockToken {
        serial: serial.digits().to_owned(),
        vendor_serial,
        kind: request.kind,
        algorithm: request.algorithm.name().to_owned(),
        digits,
        period,
        sealed_seed: cipher.seal(&seed_aad(serial.digits()), &request.secret),
        last_used,
        drift,
        created_at: now,
    })
}

/// Checks a whole file's tokens: each as [`prepare_stock`] does, and no
/// vendor serial twice. All or nothing: the first refusal, with the
/// token's place in the file (from 1).
pub fn prepare_stock_file(
    cipher: &dyn SecretCipher,
    requests: Vec<(usize, StockRequest)>,
    now: i64,
) -> Result<Vec<NewStockToken>, (usize, StockError)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(requests.len());
    for (position, request) in requests {
        let token = prepare_stock(cipher, request, now).map_err(|e| (position, e))?;
        if !seen.insert(token.vendor_serial.clone()) {
            return Err((position, StockError::Duplicate(token.vendor_serial)));
        }
        out.push(token);
    }
    Ok(out)
}

impl<S: Store + StockStore> Latchkey<S> {
    /// Puts checked tokens into the stock, all or none, with one audit
    /// row (`token.import`, `detail` saying from what). A serial in the
    /// stock already is refused (nothing is added).
    pub async fn import_stock(
        &self,
        admin: &Admin,
        tokens: Vec<NewStockToken>,
        detail: &str,
    ) -> Result<usize, AdminError> {
        let count = tokens.len();
        for token in &tokens {
            if self.store.token_by_serial(&token.serial).await?.is_some() {
                // A random serial met an issued one: one in a billion.
                return Err(AdminError::Exists(format!("serial {}", token.serial)));
            }
        }
        let event = self.event(
            admin.actor(),
            AuditAction::TokenImport,
            "stock",
            Outcome::Success,
            format!("{count} unassigned tokens; {detail}"),
        );
        match self.store.insert_stock(tokens, event).await {
            Ok(()) => Ok(count),
            Err(StoreError::Conflict(_)) => Err(AdminError::Exists(
                "a token with one of these serial numbers (imported before?); nothing was imported"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks a whole file's tokens ([`prepare_stock_file`], under the
    /// node's master key) and, unless `dry_run`, puts them into the stock
    /// ([`Latchkey::import_stock`]): the console's way in, the CLI's
    /// checks. All or nothing; what was (or would be) imported, by the
    /// serials each token got.
    pub async fn import_stock_file(
        &self,
        admin: &Admin,
        requests: Vec<(usize, StockRequest)>,
        detail: &str,
        dry_run: bool,
    ) -> Result<Vec<StockedSummary>, StockFileError> {
        let tokens = prepare_stock_file(self.cipher.as_ref(), requests, self.now())
            .map_err(|(position, error)| StockFileError::Token(position, error))?;
        let summary = tokens
            .iter()
            .map(|token| StockedSummary {
                serial: token.serial.clone(),
                vendor_serial: token.vendor_serial.clone(),
                kind: token.kind,
            })
            .collect();
        if !dry_run && !tokens.is_empty() {
            self.import_stock(admin, tokens, detail).await?;
        }
        Ok(summary)
    }

    /// The unassigned tokens.
    pub async fn list_stock(&self, _admin: &Admin) -> Result<Vec<StockToken>, AdminError> {
        Ok(self.store.stock().await?)
    }

    /// Hands an unassigned token (by its Latchkey serial or the vendor's)
    /// to the user named `name`: active at once, audited
    /// (`token.assign`), and the user is told by mail (S49).
    pub async fn assign_stock_token(
        &self,
        admin: &Admin,
        serial: &str,
        name: &str,
    ) -> Result<(Token, User, Option<Mail>), AdminError> {
        let wanted = serial.trim();
        let mut stocked = self.store.stock_token(wanted).await?;
        if stocked.is_none() {
            let digits: String = wanted.chars().filter(char::is_ascii_digit).collect();
            if digits.len() == 10 && digits.len() != wanted.len() {
                stocked = self.store.stock_token(&digits).await?;
            }
        }
        let Some(stocked) = stocked else {
            return Err(AdminError::NoSuchToken(format!(
                "{wanted} among the unassigned tokens"
            )));
        };
        let user = self.user_at_first_use(admin.actor(), name).await?;
        let event = self.event(
            admin.actor(),
            AuditAction::TokenAssign,
            &stocked.serial,
            Outcome::Success,
            format!(
                "user={} vendor_serial={}",
                user.username, stocked.vendor_serial
            ),
        );
        if !self
            .store
            .assign_stock(stocked.id, user.id, self.now(), event)
            .await?
        {
            return Err(AdminError::NoSuchToken(format!(
                "{wanted} among the unassigned tokens"
            )));
        }
        let token = self.token(&stocked.serial).await?;
        let serial: Serial = stocked.serial.parse().map_err(AdminError::BadSerial)?;
        let mail = new_token_mail(&user, &serial, &admin.actor().name);
        Ok((token, user, mail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::CipherError;

    struct PrefixCipher;

    impl SecretCipher for PrefixCipher {
        fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
            [aad.as_bytes(), b"|", plaintext].concat()
        }
        fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
            sealed
                .strip_prefix(format!("{aad}|").as_bytes())
                .map(|p| Zeroizing::new(p.to_vec()))
                .ok_or(CipherError)
        }
        fn keyed_hash(&self, _purpose: &str, _data: &[u8]) -> [u8; 32] {
            [0; 32]
        }
    }

    fn hotp(serial: &str, counter: u64) -> StockRequest {
        StockRequest {
            vendor_serial: Some(serial.into()),
            kind: TokenKind::Hotp,
            algorithm: Algorithm::Sha1,
            digits: Some(8),
            counter: Some(counter),
            period: None,
            drift: None,
            secret: Zeroizing::new(b"12345678901234567890".to_vec()),
        }
    }

    #[test]
    fn an_hotp_token_keeps_its_counter_and_is_sealed_under_its_new_serial() {
        let token = prepare_stock(&PrefixCipher, hotp("987654321", 5), 7).unwrap();
        assert_eq!(token.vendor_serial, "987654321");
        assert_eq!((token.digits, token.period, token.last_used), (8, 0, 4));
        assert!(token.serial.parse::<Serial>().is_ok(), "a Latchkey serial");
        let seed = PrefixCipher
            .open(&seed_aad(&token.serial), &token.sealed_seed)
            .unwrap();
        assert_eq!(seed.as_slice(), b"12345678901234567890");
    }

    #[test]
    fn l7_counters_above_the_accepted_range_are_refused() {
        let max = crate::import::MAX_HOTP_COUNTER;
        for counter in [max + 1, 1 << 63, u64::MAX] {
            assert_eq!(
                prepare_stock(&PrefixCipher, hotp("987654321", counter), 0).err(),
                Some(StockError::Counter(counter))
            );
        }
        let token = prepare_stock(&PrefixCipher, hotp("987654321", max), 0).unwrap();
        assert_eq!(token.last_used, max as i64 - 1);
    }

    #[test]
    fn s02_short_seeds_short_codes_and_nameless_tokens_are_refused() {
        let mut short = hotp("1", 0);
        short.secret = Zeroizing::new(vec![1; 10]);
        assert_eq!(
            prepare_stock(&PrefixCipher, short, 0).err(),
            Some(StockError::ShortSeed(10))
        );
        let mut four = hotp("1", 0);
        four.digits = Some(4);
        assert_eq!(
            prepare_stock(&PrefixCipher, four, 0).err(),
            Some(StockError::Digits(4))
        );
        let mut nameless = hotp(" ", 0);
        nameless.vendor_serial = Some(" ".into());
        assert_eq!(
            prepare_stock(&PrefixCipher, nameless, 0).err(),
            Some(StockError::NoSerial)
        );
        let twice = vec![(1, hotp("A1", 0)), (2, hotp("A1", 0))];
        assert_eq!(
            prepare_stock_file(&PrefixCipher, twice, 0).err(),
            Some((2, StockError::Duplicate("A1".into())))
        );
    }
}
