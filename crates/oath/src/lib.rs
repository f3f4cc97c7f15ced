//! # latchkey-oath
//!
//! The algorithms behind Latchkey's one-time passwords and the codes people
//! type, as pure functions: no I/O, no async, no clock of their own.
//!
//! - [`Hotp`]: HMAC-based one-time passwords, RFC 4226.
//! - [`Totp`]: time-based one-time passwords, RFC 6238.
//! - [`base32`]: RFC 4648 §6 base32 for secrets, as people paste them.
//! - [`KeyUri`]: `otpauth://` key URIs (the Google Authenticator key-URI format).
//! - [`Serial`], [`ActivationCode`], [`ResetCode`], [`UnlockCode`]: decimal
//!   codes whose last digit is a Luhn check digit.
//! - [`unlock_code`]: the derivation of a soft token's unlock code from the
//!   token's unlock secret, its serial and the PIN Reset Code it shows.
//!
//! Verification takes the time or counter as an argument and returns *which*
//! step or counter matched, so a caller can refuse replays and track drift.
//! Secrets live in types whose `Debug` is redacted and which zeroize on drop.

pub mod base32;
mod codes;
mod hotp;
mod secret;
mod totp;
mod unlock;
mod uri;

pub use codes::{
    ActivationCode, CodeError, ResetCode, Serial, UnlockCode, luhn_check_digit, luhn_is_valid,
};
pub use hotp::{Algorithm, Digits, Hotp, OtpFormatError, ParamError, dynamic_truncation};
pub use secret::{MIN_SECRET_LEN, Secret, UnlockSecret};
pub use totp::Totp;
pub use unlock::{
    RESET_TAG_MODULUS, reset_code_generation, reset_code_tag, reset_tag, tagged_reset_code,
    tagged_reset_code_from, unlock_code,
};
pub use uri::{KeyUri, KeyUriError, OtpKind};
