//! The unlock-code derivation shared by the server and the soft token.

use hmac::{Hmac, KeyInit, Mac};

use crate::{ResetCode, Serial, UnlockCode, UnlockSecret};

const DOMAIN: &[u8] = b"latchkey-unlock-v1";

/// Derives the unlock code that opens a soft token showing `reset_code`.
///
/// ```text
/// msg    = "latchkey-unlock-v1" || 0x00 || serial (10 ASCII digits) || 0x00 || reset_code (12 ASCII digits)
/// mac    = HMAC-SHA-256(key = unlock_secret, msg)          (RFC 2104, FIPS 180-4)
/// n      = big-endian u64 of mac[0..8] mod 10^15
/// unlock = n as 15 digits, zero-padded, followed by its Luhn check digit
/// ```
///
/// Binding the serial and the reset code into the MAC makes a code useless
/// for another token or another unlock slot. 10^15 outcomes leave a guesser
/// no hope against a token that allows five tries.
#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
pub fn unlock_code(secret: &UnlockSecret, serial: &Serial, reset_code: &ResetCode) -> UnlockCode {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.expose())
        .expect("HMAC takes keys of any length");
    mac.update(DOMAIN);
    mac.update(&[0]);
    mac.update(serial.digits().as_bytes());
    mac.update(&[0]);
    mac.update(reset_code.digits().as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut head = [0u8; 8];
    head.copy_from_slice(&tag[..8]);
    let number = u64::from_be_bytes(head) % 1_000_000_000_000_000;
    let payload = zeroize::Zeroizing::new(format!("{number:015}"));
    head.fill(0);
    UnlockCode::from_payload(&payload)
}
