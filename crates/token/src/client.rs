//! The soft token's side of the server's token API.
//!
//! - `POST {server}/api/v1/tokens/activate` with
//!   `{"serial": "1234567897", "activation_code": "1234567890123452"}` answers
//!   `{"serial", "label", "issuer", "otp": {"kind": "totp", "algorithm": "SHA256",
//!   "digits": 8, "period": 30}, "secret": BASE32, "unlock_secret": HEX64,
//!   "policy": {"max_pin_failures": 5, "min_pin_length": 6, "unlock_slots": 10}}`.
//! - `POST {server}/api/v1/tokens/refresh` with `{"serial", "otp"}` (a current
//!   code) answers `{"generation": N, "unlock_secret": HEX64}`: a new
//!   unlock-secret generation, handed out once, so the app can make new
//!   slots whose reset codes name it.
//! - Refusals are 4xx with `{"error": "message"}`.
//!
//! Plain `http://` is allowed only to a loopback address: the answer carries
//! the seed.

use std::time::Duration;

use latchkey_api as wire;
use latchkey_oath::{ActivationCode, Secret, Serial, UnlockSecret};
use serde::Serialize;
use serde::de::DeserializeOwned;
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

/// The code parameters in the form the vault record is made from.
///
/// The wire form, [`latchkey_api::OtpDescription`], is typed (its algorithm
/// and digit count are checked as the answer is read); this plain copy is
/// what [`crate::ops::record_from_activation`] takes, and what a test that
/// makes a record without a server writes by hand.
#[derive(Debug, Clone)]
pub struct OtpDescription {
    /// `totp` or `hotp`.
    pub kind: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step (TOTP).
    pub period: Option<u64>,
    /// First counter (HOTP).
    pub counter: Option<u64>,
}

impl From<wire::OtpDescription> for OtpDescription {
    fn from(otp: wire::OtpDescription) -> Self {
        OtpDescription {
            kind: match otp.kind {
                wire::OtpKind::Totp => "totp",
                wire::OtpKind::Hotp => "hotp",
            }
            .to_owned(),
            algorithm: otp.algorithm.name().to_owned(),
            digits: otp.digits.get(),
            period: otp.period,
            counter: otp.counter,
        }
    }
}

/// The server's policy for the token: the wire type itself.
pub type ServerPolicy = wire::TokenPolicy;

pub(crate) fn endpoint(server: &str, path: &str) -> Result<String, ClientError> {
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

/// The message of a refusal: the API's `{"error": "…"}`, or the
/// `{"error": {"message": "…"}}` some proxies in front of it write.
fn refusal_message(body: &[u8]) -> Option<String> {
    if let Ok(wire::ErrorBody { error }) = serde_json::from_slice(body) {
        return Some(error);
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("error")?
        .get("message")?
        .as_str()
        .map(str::to_owned)
}

fn post<Answer: DeserializeOwned>(
    url: &str,
    request: &impl Serialize,
) -> Result<Answer, ClientError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(url)
        .send_json(request)
        .map_err(|e| ClientError::Network(e.to_string()))?;
    let status = response.status().as_u16();
    // The answer may carry the seed: its bytes are wiped once read.
    let body = Zeroizing::new(
        response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .unwrap_or_default(),
    );
    if !(200..300).contains(&status) {
        let message = refusal_message(&body).unwrap_or_else(|| format!("HTTP status {status}"));
        return Err(ClientError::Refused { status, message });
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return Err(ClientError::BadResponse("it is not JSON".into()));
    }
    serde_json::from_slice(&body).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// Activates a token: trades the serial and single-use activation code for
/// the token's parameters and secrets.
pub fn activate(
    server: &str,
    serial: &Serial,
    code: &ActivationCode,
) -> Result<Activation, ClientError> {
    let url = endpoint(server, "/api/v1/tokens/activate")?;
    let request = wire::ActivateRequest {
        activation_code: Zeroizing::new(code.digits().to_owned()),
        serial: serial.digits().to_owned(),
    };
    let body: wire::ActivateResponse = post(&url, &request)?;
    if &body.serial != serial {
        return Err(ClientError::BadResponse(
            "the server answered for another serial".into(),
        ));
    }
    if body.secret.len() < latchkey_oath::MIN_SECRET_LEN {
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
    let unlock_secret = body.unlock_secret.ok_or_else(|| {
        ClientError::BadResponse("the server sent no unlock secret for a soft token".into())
    })?;
    Ok(Activation {
        serial: body.serial,
        label: body.label,
        issuer: body.issuer,
        otp: body.otp.into(),
        secret: body.secret,
        unlock_secret,
        policy,
    })
}

/// Fetches the token's unlock secret again, proving possession with a current code.
pub fn refresh(
    server: &str,
    serial: &Serial,
    otp: &str,
) -> Result<(u64, UnlockSecret), ClientError> {
    let url = endpoint(server, "/api/v1/tokens/refresh")?;
    let request = wire::RefreshRequest {
        otp: Zeroizing::new(otp.to_owned()),
        serial: serial.digits().to_owned(),
    };
    let body: wire::RefreshResponse = post(&url, &request)?;
    Ok((body.generation, body.unlock_secret))
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
