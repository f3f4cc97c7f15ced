//! # latchkey-token
//!
//! The Latchkey soft token: a PIN-protected vault folder and the
//! operations a person performs on it — activate, import, show a code,
//! forget the PIN, unlock with an unlock code, change the PIN, refresh the
//! unlock slots. The `latchkey-token` command (and the desktop program) are
//! thin callers of [`ops`].
//!
//! What the vault promises is described in [`record`]: a copied vault is
//! worth almost nothing, five wrong PINs lock the token, every failure is on
//! disk before the PIN is checked, and writes are atomic. Every vault file
//! is bound to a device key kept outside the folder ([`device`]), so that a
//! copied file alone opens nothing.

pub mod client;
pub mod device;
pub mod folder;
mod hooks;
pub mod kdf;
pub mod link;
pub mod ops;
pub mod pin;
pub mod record;

pub use folder::{VaultError, VaultFolder};
pub use latchkey_oath as oath;
pub use pin::{Pin, PinPolicy, PinPolicyError};
pub use record::{TokenRecord, TokenState};
