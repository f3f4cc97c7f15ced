//! PINs for the soft-token tests, shared by the token's, the desktop's and
//! the server's tests.

use latchkey_token::TokenRecord;
use latchkey_token::record::PIN_CHECK_BITS;

/// The PIN the tests give their soft tokens.
pub const PIN: &str = "204817";

/// Six-digit PINs, none of them in `avoid`, that every one of `records`
/// refuses at its PIN check. A wrong PIN passes the vault's 10-bit check
/// once in 1,024 tries and then shows a decoy code (by design: the vault
/// cannot tell), which clears the failure count; a test that counts wrong
/// PINs must use PINs the check refuses, or it fails once in a while.
pub fn refused_pins<'a>(
    records: &'a [TokenRecord],
    avoid: &'a [&'a str],
) -> impl Iterator<Item = String> + 'a {
    (0u32..40_000)
        .map(|n| (700_001 + n * 7).to_string())
        .filter(move |pin| {
            !avoid.contains(&pin.as_str())
                && records.iter().all(|record| {
                    record
                        .pin
                        .open(&record.kdf, pin.as_bytes(), PIN_CHECK_BITS)
                        .is_none()
                })
        })
}
