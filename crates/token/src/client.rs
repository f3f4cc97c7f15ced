//! The soft token's side of the server's token API.
//!
//! - `POST {server}/api/v1/tokens/activate` with
//!   `{"serial": "1234567897", "activation_code": "1234567890123452"}` answers
//!   `{"serial", "label", "issuer", "otp": {"kind": "totp", "algorithm": "SHA256",
//!   "digits": 8, "period": 30}, "secret": BASE32, "unlock_secret": HEX64,
//!   "policy": {"max_pin_failures": 5, "min_pin_length": 6, "unlock_slots": 10}}`.
//! - `POST {server}/api/v1/tokens/refresh` with `{"serial", "otp"}` (a current
//!   code) answers `{"unlock_secret": HEX64}`, so the app can make new slots.
//! - Refusals are 4xx with `{"error": "message"}`.
//!
//! Plain `http://` is allowed only to a loopback address: the answer carries
//! the seed.

use std::time::Duration;

use latchkey_oath::{ActivationCode, Secret, Serial, UnlockSecret};
use serde::Deserialize;
use zeroize::Zeroizing;

/// Why talking to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not usable.
    #[error(
        "the server address {0} is not usable: give https://HOST (plain http only to this machine)"
    )]
    BadAddress(String),
    /// The server could not be reached.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server said no.
    #[error("the server refused: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The server's answer is not what this program expects.
    #[error("the server's answer could not be used: {0}")]
    BadResponse(String),
}

/// What the server hands over at activation.
pub struct Activation {
    /// The token's serial.
    pub serial: Serial,
    /// The account name.
    pub label: String,
    /// Who issued the token.
    pub issuer: Option<String>,
    /// The code parameters.
    pub otp: OtpDescription,
    /// The seed.
    pub secret: Secret,
    /// The token's unlock secret, held only while the slots are made.
    pub unlock_secret: UnlockSecret,
    /// PIN policy and slot count.
    pub policy: ServerPolicy,
}

/// The code parameters, as the server describes them.
#[derive(Debug, Clone, Deserialize)]
pub struct OtpDescription {
    /// `totp` or `hotp`.
    pub kind: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step (TOTP).
    #[serde(default)]
    pub period: Option<u64>,
    /// First counter (HOTP).
    #[serde(default)]
    pub counter: Option<u64>,
}

/// The server's policy for the token.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ServerPolicy {
    /// Wrong PINs that lock the token.
    pub max_pin_failures: u32,
    /// Fewest PIN digits.
    pub min_pin_length: usize,
    /// Unlock slots to make.
    pub unlock_slots: usize,
}

#[derive(Deserialize)]
struct ActivationBody {
    serial: String,
    label: String,
    #[serde(default)]
    issuer: Option<String>,
    otp: OtpDescription,
    secret: Zeroizing<String>,
    unlock_secret: Zeroizing<String>,
    policy: ServerPolicy,
}

#[derive(Deserialize)]
struct RefreshBody {
    unlock_secret: Zeroizing<String>,
}

fn endpoint(server: &str, path: &str) -> Result<String, ClientError> {
    let base = server.trim().trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .ok_or_else(|| ClientError::BadAddress(server.into()))?;
    let host = rest.split('/').next().unwrap_or_default();
    let host_only = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = matches!(host_only, "localhost" | "[::1]") || host_only.starts_with("127.");
    if host.is_empty() || (base.starts_with("http://") && !loopback) {
        return Err(ClientError::BadAddress(server.into()));
    }
    Ok(format!("{base}{path}"))
}

fn post(url: &str, body: &serde_json::Value) -> Result<serde_json::Value, ClientError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(url)
        .send_json(body)
        .map_err(|e| ClientError::Network(e.to_string()))?;
    let status = response.status().as_u16();
    let json: Option<serde_json::Value> = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_json()
        .ok();
    if !(200..300).contains(&status) {
        let message = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .and_then(|e| {
                e.as_str()
                    .map(str::to_owned)
                    .or_else(|| e.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            })
            .unwrap_or_else(|| format!("HTTP status {status}"));
        return Err(ClientError::Refused { status, message });
    }
    json.ok_or_else(|| ClientError::BadResponse("it is not JSON".into()))
}

fn unlock_secret_from_hex(text: &str) -> Result<UnlockSecret, ClientError> {
    let bytes = Zeroizing::new(
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(text.as_bytes())
            .map_err(|_| ClientError::BadResponse("the unlock secret is not hex".into()))?,
    );
    UnlockSecret::from_slice(&bytes)
        .ok_or_else(|| ClientError::BadResponse("the unlock secret is not 32 bytes".into()))
}

/// Activates a token: trades the serial and single-use activation code for
/// the token's parameters and secrets.
pub fn activate(
    server: &str,
    serial: &Serial,
    code: &ActivationCode,
) -> Result<Activation, ClientError> {
    let url = endpoint(server, "/api/v1/tokens/activate")?;
    let request =
        serde_json::json!({ "serial": serial.digits(), "activation_code": code.digits() });
    let answer = post(&url, &request)?;
    let body: ActivationBody =
        serde_json::from_value(answer).map_err(|e| ClientError::BadResponse(e.to_string()))?;
    let answered: Serial = body
        .serial
        .parse()
        .map_err(|_| ClientError::BadResponse("the serial is malformed".into()))?;
    if &answered != serial {
        return Err(ClientError::BadResponse(
            "the server answered for another serial".into(),
        ));
    }
    let secret = Secret::from_base32(&body.secret)
        .map_err(|_| ClientError::BadResponse("the secret is not base32".into()))?;
    if secret.len() < latchkey_oath::MIN_SECRET_LEN {
        return Err(ClientError::BadResponse(
            "the secret is shorter than 128 bits".into(),
        ));
    }
    let policy = body.policy;
    if policy.max_pin_failures == 0 || policy.unlock_slots > 100 {
        return Err(ClientError::BadResponse(
            "the token policy is out of range".into(),
        ));
    }
    Ok(Activation {
        serial: answered,
        label: body.label,
        issuer: body.issuer,
        otp: body.otp,
        secret,
        unlock_secret: unlock_secret_from_hex(&body.unlock_secret)?,
        policy,
    })
}

/// Fetches the token's unlock secret again, proving possession with a current code.
pub fn refresh(server: &str, serial: &Serial, otp: &str) -> Result<UnlockSecret, ClientError> {
    let url = endpoint(server, "/api/v1/tokens/refresh")?;
    let request = serde_json::json!({ "serial": serial.digits(), "otp": otp });
    let body: RefreshBody = serde_json::from_value(post(&url, &request)?)
        .map_err(|e| ClientError::BadResponse(e.to_string()))?;
    unlock_secret_from_hex(&body.unlock_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(endpoint("http://127.0.0.1:8080/", "/x").is_ok());
        assert!(endpoint("http://localhost:1", "/x").is_ok());
        assert!(endpoint("https://auth.example.org", "/x").is_ok());
        assert!(matches!(
            endpoint("http://auth.example.org", "/x"),
            Err(ClientError::BadAddress(_))
        ));
        assert!(matches!(
            endpoint("ftp://x", "/x"),
            Err(ClientError::BadAddress(_))
        ));
        assert_eq!(
            endpoint("https://a.example/base/", "/api").unwrap(),
            "https://a.example/base/api"
        );
    }
}
