//! The RADIUS port: clients and Access-Challenge states.

use std::future::Future;

use super::StoreResult;
use crate::model::*;

/// How a RADIUS client's users prove themselves (DESIGN.md, "RADIUS").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadiusMode {
    /// User-Password is the password followed by the OTP; a right password
    /// alone is answered with an Access-Challenge.
    OneStep,
    /// The password, an Access-Challenge, then the OTP with its State.
    TwoStep,
    /// The OTP alone: the device checked the password itself.
    OtpOnly,
}

impl RadiusMode {
    /// The name stored and typed (`one-step`, `two-step`, `otp-only`).
    pub fn as_str(self) -> &'static str {
        match self {
            RadiusMode::OneStep => "one-step",
            RadiusMode::TwoStep => "two-step",
            RadiusMode::OtpOnly => "otp-only",
        }
    }
}

impl std::fmt::Display for RadiusMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RadiusMode {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "one-step" => Ok(RadiusMode::OneStep),
            "two-step" => Ok(RadiusMode::TwoStep),
            "otp-only" => Ok(RadiusMode::OtpOnly),
            other => Err(UnknownValue(other.into())),
        }
    }
}

/// A RADIUS client to register.
#[derive(Clone)]
pub struct NewRadiusClient {
    /// Its unique name.
    pub name: String,
    /// The address or CIDR block its requests come from.
    pub address: String,
    /// How its users prove themselves.
    pub mode: RadiusMode,
    /// The shared secret, sealed with the master key.
    pub sealed_secret: Vec<u8>,
    /// False only for an old device exempted from Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// A registered RADIUS client, as stored.
#[derive(Clone)]
pub struct RadiusClient {
    /// Row id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The address or CIDR block its requests come from.
    pub address: String,
    /// How its users prove themselves.
    pub mode: RadiusMode,
    /// The shared secret, sealed with the master key.
    pub sealed_secret: Vec<u8>,
    /// False only for an old device exempted from Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for RadiusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadiusClient")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("mode", &self.mode)
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .finish_non_exhaustive()
    }
}

/// An Access-Challenge's State, as stored: single use, bound to a client
/// and a user, valid until `expires_at`.
#[derive(Debug, Clone)]
pub struct NewRadiusState {
    /// Keyed hash of the State value (the value itself is never stored).
    pub state_hash: Vec<u8>,
    /// The client that was challenged.
    pub client_id: i64,
    /// The user whose password was right.
    pub user_id: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// RADIUS clients and Access-Challenge states. Each change carries its
/// audit event and commits with it.
pub trait RadiusStore: Send + Sync {
    /// Registers a client; a taken name is a [`StoreError::Conflict`](super::StoreError::Conflict).
    fn insert_radius_client(
        &self,
        client: NewRadiusClient,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Every client, by name.
    fn radius_clients(&self) -> impl Future<Output = StoreResult<Vec<RadiusClient>>> + Send;
    /// Removes a client by name, and its outstanding states. False if there
    /// was none.
    fn remove_radius_client(
        &self,
        name: &str,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Stores a challenge's state (and forgets the states expired at
    /// `now`), with its audit event.
    fn insert_radius_state(
        &self,
        state: NewRadiusState,
        now: i64,
        event: AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Uses a state once: the user it was made for, if it exists for this
    /// client and had not expired at `now`. A second call finds nothing.
    fn take_radius_state(
        &self,
        state_hash: Vec<u8>,
        client_id: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
}
