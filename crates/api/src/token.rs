//! What the soft token and a relying service send and receive:
//! `POST /api/v1/tokens/activate`, `/tokens/refresh` and `/authenticate`.

use latchkey_oath::{Algorithm, Digits, Secret, Serial, UnlockSecret};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// `POST /api/v1/tokens/activate`: the serial and the single-use
/// activation code, as the person typed them (the server checks both).
#[derive(Serialize, Deserialize)]
pub struct ActivateRequest {
    /// The 16-digit activation code; spaces and dashes are allowed.
    pub activation_code: Zeroizing<String>,
    /// The token's 10-digit serial; spaces and dashes are allowed.
    pub serial: String,
}

/// What activation hands the soft token: its parameters and secrets.
#[derive(Serialize, Deserialize)]
pub struct ActivateResponse {
    /// Who issued the token, shown next to the account. The server always
    /// sends it; a missing or `null` issuer reads as none.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The account name.
    pub label: String,
    /// How the token makes its codes.
    pub otp: OtpDescription,
    /// The PIN rules and the number of unlock slots.
    pub policy: TokenPolicy,
    /// The seed, as unpadded base32.
    #[serde(with = "crate::wire::base32_secret")]
    pub secret: Secret,
    /// The token's serial, as bare digits.
    #[serde(with = "crate::wire::serial")]
    pub serial: Serial,
    /// The unlock secret as 64 hex digits; `null` for a token that makes no
    /// unlock slots.
    #[serde(with = "crate::wire::hex_unlock_secret_or_null")]
    pub unlock_secret: Option<UnlockSecret>,
}

/// Time-based or counter-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpKind {
    /// TOTP (RFC 6238): `period` says the seconds per step.
    Totp,
    /// HOTP (RFC 4226): `counter` says the first counter.
    Hotp,
}

/// How a token makes its codes: `{"algorithm", "digits", "kind": "totp",
/// "period"}` or `{"algorithm", "counter", "digits", "kind": "hotp"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpDescription {
    /// The HMAC hash: `SHA1`, `SHA256` or `SHA512`.
    #[serde(with = "crate::wire::algorithm")]
    pub algorithm: Algorithm,
    /// The first counter (HOTP only; absent means 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// Digits per code, 6 to 10.
    #[serde(with = "crate::wire::digits")]
    pub digits: Digits,
    /// TOTP or HOTP.
    pub kind: OtpKind,
    /// Seconds per step (TOTP only; absent means 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
}

impl OtpDescription {
    /// A TOTP description.
    pub fn totp(algorithm: Algorithm, digits: Digits, period: u64) -> Self {
        OtpDescription {
            algorithm,
            counter: None,
            digits,
            kind: OtpKind::Totp,
            period: Some(period),
        }
    }

    /// An HOTP description.
    pub fn hotp(algorithm: Algorithm, digits: Digits, counter: u64) -> Self {
        OtpDescription {
            algorithm,
            counter: Some(counter),
            digits,
            kind: OtpKind::Hotp,
            period: None,
        }
    }
}

/// The server's rules for the soft token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPolicy {
    /// Wrong PINs in a row that lock the token.
    pub max_pin_failures: u32,
    /// The fewest digits a PIN may have.
    pub min_pin_length: usize,
    /// How many unlock slots the token makes.
    pub unlock_slots: usize,
}

/// `POST /api/v1/tokens/refresh`: a current code proves the token is held.
#[derive(Serialize, Deserialize)]
pub struct RefreshRequest {
    /// A code the token shows now.
    pub otp: Zeroizing<String>,
    /// The token's serial.
    pub serial: String,
}

/// A new unlock-secret generation, given out this once, so the token can
/// make a new set of slots (S45): their reset codes end, before the check
/// digit, in `generation mod 1000`. The old slots stay answerable while the
/// previous generation is live.
#[derive(Serialize, Deserialize)]
pub struct RefreshResponse {
    /// The generation's number (absent from servers before generations: 0).
    #[serde(default)]
    pub generation: u64,
    /// 64 hex digits.
    #[serde(with = "crate::wire::hex_unlock_secret")]
    pub unlock_secret: UnlockSecret,
}

/// `POST /api/v1/authenticate`: a relying service checks a user's second
/// factor (and, if it sends one, the password). Other fields, a client's idea
/// of the time say, are ignored: only the server's clock counts.
#[derive(Serialize, Deserialize)]
pub struct AuthenticateRequest {
    /// The address of the user's own client (browser, device) as the
    /// relying application saw it, when it forwards one (an IP address):
    /// wrong passwords then wait per account and that address (S47), so one
    /// stranger's flood through the application does not stop the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    /// The one-time password.
    pub otp: Zeroizing<String>,
    /// The password, when the service wants it checked too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Zeroizing<String>>,
    /// Whose token.
    pub username: String,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthResult {
    /// The factors are right.
    Accept,
    /// They are not, or the user or token may not sign in.
    Reject,
}

/// `{"result": "accept" | "reject"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticateResponse {
    /// The decision.
    pub result: AuthResult,
}
