//! RADIUS (DESIGN.md, "RADIUS"): the registered clients, their sealed
//! secrets, and the access decision for one Access-Request in each mode
//! (`one-step`, `two-step`, `otp-only`). The decision goes the way every
//! other entry point goes: the password through the S16 throttle
//! (`check_password_factor`), the OTP through the store's one
//! transaction ([`crate::ports::TokenStore::check_user_otp`]), so RADIUS failures count
//! and lock exactly as the portal's and the API's do. The wire format and
//! the socket are the server's.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use zeroize::Zeroizing;

use crate::capability::{Actor, Admin};
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{AuditAction, AuditEvent, Outcome, Role, TokenState, User, Username};
use crate::ports::{CipherError, OtpStep, Store, StoreError};

pub use crate::ports::{NewRadiusClient, NewRadiusState, RadiusClient, RadiusMode, RadiusStore};

/// What the password factor of one Access-Request found: none when wrong;
/// else the user it is right for and the OTP that followed it, if any.
type RadiusPassword = Option<(Option<User>, Option<Zeroizing<String>>)>;

/// How long an Access-Challenge's State may be answered, in seconds.
pub const STATE_LIFETIME: i64 = 120;

/// The Reply-Message of an Access-Challenge.
pub const CHALLENGE_MESSAGE: &str = "Enter your one-time password";

/// What a client's sealed secret is bound to.
pub(crate) fn secret_aad(name: &str) -> String {
    format!("radius-client:{name}:secret")
}

/// The keyed-hash purpose of State values.
const STATE_PURPOSE: &str = "radius-state";

/// An address or a CIDR block (`192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`)
/// that a client's requests come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    network: IpAddr,
    prefix: u8,
}

/// Not an address or a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or CIDR block (like 192.0.2.7 or 10.0.0.0/8): {0}")]
pub struct BadClientAddress(String);

impl FromStr for ClientAddress {
    type Err = BadClientAddress;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadClientAddress(text.to_owned());
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = ip.parse().map_err(|_| bad())?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
            None => width,
        };
        if prefix > width {
            return Err(bad());
        }
        Ok(ClientAddress { network, prefix })
    }
}

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == width {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

impl ClientAddress {
    /// Whether `ip` is this address or in this block (an IPv4-mapped IPv6
    /// address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let mask = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (width - bits))
                    & (if width == 128 {
                        !0
                    } else {
                        (1u128 << width) - 1
                    })
            }
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(u32::from(self.prefix), 32);
                u128::from(u32::from(net)) & m == u128::from(u32::from(ip)) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(u32::from(self.prefix), 128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

/// Why a RADIUS client could not be added, listed or removed.
#[derive(Debug, thiserror::Error)]
pub enum RadiusClientError {
    /// The name breaks the naming rule.
    #[error("a RADIUS client name has 1–64 letters, digits, - _ or .")]
    BadName,
    /// The address is not an address or a block.
    #[error(transparent)]
    BadAddress(#[from] BadClientAddress),
    /// The secret given is empty or too long.
    #[error("a RADIUS shared secret has 1 to 128 bytes")]
    BadSecret,
    /// The name is taken.
    #[error("a RADIUS client named {0} exists already")]
    Exists(String),
    /// No client has that name.
    #[error("no RADIUS client named {0}")]
    NoSuchClient(String),
    /// A stored client's secret would not open, or its row is not valid.
    #[error("the RADIUS client {0} cannot be read (wrong master key, or a tampered row)")]
    Unreadable(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RadiusClientError {
    fn from(error: StoreError) -> Self {
        RadiusClientError::Store(error)
    }
}

/// A registered client as the listener needs it: where it may send from,
/// its mode, and its secret, opened.
#[derive(Clone)]
pub struct RadiusPeer {
    /// Row id (what a State is bound to).
    pub id: i64,
    /// Its name, for the audit and the log.
    pub name: String,
    /// Where its requests may come from.
    pub address: ClientAddress,
    /// How its users prove themselves.
    pub mode: RadiusMode,
    /// The shared secret.
    pub secret: Zeroizing<Vec<u8>>,
    /// False only for an old device exempted from Message-Authenticator.
    pub require_message_authenticator: bool,
}

impl std::fmt::Debug for RadiusPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadiusPeer")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("mode", &self.mode)
            .field("secret", &"[redacted]")
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .finish()
    }
}

/// One Access-Request, decoded and verified by the listener.
pub struct RadiusRequest<'a> {
    /// The client it came from.
    pub peer: &'a RadiusPeer,
    /// The address it came from.
    pub source: IpAddr,
    /// Its NAS-Identifier, if any.
    pub nas_identifier: Option<&'a [u8]>,
    /// User-Name.
    pub username: &'a [u8],
    /// User-Password, unhidden.
    pub password: &'a [u8],
    /// State, when it answers an Access-Challenge.
    pub state: Option<&'a [u8]>,
}

/// The decision on an Access-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadiusAnswer {
    /// Access-Accept, with `Class` = the user's role.
    Accept {
        /// The user's role.
        role: Role,
    },
    /// Access-Reject.
    Reject,
    /// Access-Challenge: the password was right, the OTP is asked for.
    Challenge {
        /// The State to send (and to be sent back with the OTP).
        state: Vec<u8>,
    },
}

/// Printable text for the audit, from a value a device sent.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Who an audit row for this request names: the client and the
/// NAS-Identifier (DESIGN.md: "audited with the client's name and
/// NAS-Identifier"), from the address it came from.
fn radius_actor(request: &RadiusRequest<'_>) -> Actor {
    let mut name = format!("radius:{}", request.peer.name);
    if let Some(nas) = request.nas_identifier {
        name.push_str(" nas:");
        name.push_str(&printable(nas));
    }
    Actor {
        name,
        source: request.source.to_string(),
    }
}

fn valid_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Why an OTP check in the store's transaction recorded nothing.
enum RadiusOtpError {
    Cipher(CipherError),
}

impl<S: Store + RadiusStore> Latchkey<S> {
    /// Registers a RADIUS client. With no `secret`, makes a random one and
    /// returns it: it is shown this once and kept only sealed.
    pub async fn add_radius_client(
        &self,
        admin: &Admin,
        name: &str,
        address: &str,
        mode: RadiusMode,
        secret: Option<Zeroizing<Vec<u8>>>,
        require_message_authenticator: bool,
    ) -> Result<Option<Zeroizing<String>>, RadiusClientError> {
        let name = name.trim();
        if !valid_client_name(name) {
            return Err(RadiusClientError::BadName);
        }
        let address: ClientAddress = address.trim().parse()?;
        let (secret, made) = match secret {
            Some(secret) if secret.is_empty() || secret.len() > 128 => {
                return Err(RadiusClientError::BadSecret);
            }
            Some(secret) => (secret, None),
            None => {
                let mut random = Zeroizing::new([0u8; 20]);
                rand::Rng::fill_bytes(&mut rand::rng(), random.as_mut());
                let text = Zeroizing::new(
                    data_encoding::BASE32_NOPAD
                        .encode(random.as_ref())
                        .to_lowercase(),
                );
                (Zeroizing::new(text.as_bytes().to_vec()), Some(text))
            }
        };
        let detail = format!(
            "address {address}, mode {mode}{}",
            if require_message_authenticator {
                ""
            } else {
                ", Message-Authenticator not required"
            }
        );
        let client = NewRadiusClient {
            name: name.to_owned(),
            address: address.to_string(),
            mode,
            sealed_secret: self.cipher.seal(&secret_aad(name), &secret),
            require_message_authenticator,
            created_at: self.now(),
        };
        let event = self.event(
            admin.actor(),
            AuditAction::RadiusClientAdd,
            name,
            Outcome::Success,
            detail,
        );
        match self.store.insert_radius_client(client, event).await {
            Ok(_) => Ok(made),
            Err(StoreError::Conflict(_)) => Err(RadiusClientError::Exists(name.to_owned())),
            Err(error) => Err(error.into()),
        }
    }

    /// Every registered client, by name (their secrets stay sealed).
    pub async fn list_radius_clients(
        &self,
        _admin: &Admin,
    ) -> Result<Vec<RadiusClient>, RadiusClientError> {
        Ok(self.store.radius_clients().await?)
    }

    /// Removes a client; its outstanding States go with it.
    pub async fn remove_radius_client(
        &self,
        admin: &Admin,
        name: &str,
    ) -> Result<(), RadiusClientError> {
        let event = self.event(
            admin.actor(),
            AuditAction::RadiusClientRemove,
            name,
            Outcome::Success,
            "",
        );
        if self.store.remove_radius_client(name, event).await? {
            Ok(())
        } else {
            Err(RadiusClientError::NoSuchClient(name.to_owned()))
        }
    }

    /// The registered clients with their secrets opened, for the listener.
    pub async fn radius_peers(&self) -> Result<Vec<RadiusPeer>, RadiusClientError> {
        self.store
            .radius_clients()
            .await?
            .into_iter()
            .map(|client| {
                let unreadable = || RadiusClientError::Unreadable(client.name.clone());
                let secret = self
                    .cipher
                    .open(&secret_aad(&client.name), &client.sealed_secret)
                    .map_err(|_| unreadable())?;
                let address = client.address.parse().map_err(|_| unreadable())?;
                Ok(RadiusPeer {
                    id: client.id,
                    name: client.name.clone(),
                    address,
                    mode: client.mode,
                    secret,
                    require_message_authenticator: client.require_message_authenticator,
                })
            })
            .collect()
    }

    /// Decides one Access-Request whose Message-Authenticator (or, for an
    /// exempted device, whose client) the listener has verified. Unknown
    /// users, wrong passwords, wrong OTPs, locked tokens and unusable States
    /// all give [`RadiusAnswer::Reject`]; every outcome is audited with the
    /// client and NAS-Identifier.
    #[tracing::instrument(level = "debug", skip_all, fields(client = %request.peer.name))]
    pub async fn radius_access(
        &self,
        request: RadiusRequest<'_>,
    ) -> Result<RadiusAnswer, AdminError> {
        let actor = radius_actor(&request);
        let typed = std::str::from_utf8(request.password).ok();
        let name = std::str::from_utf8(request.username)
            .ok()
            .and_then(|n| n.parse::<Username>().ok());
        let (Some(name), Some(typed)) = (name, typed) else {
            if request.peer.mode != RadiusMode::OtpOnly && request.state.is_none() {
                // Unknown and malformed names cost a hash too.
                self.hasher
                    .verify(Zeroizing::new(String::new()), None)
                    .await;
            }
            let subject = printable(request.username);
            self.store
                .append(self.event(
                    &actor,
                    AuditAction::Authenticate,
                    &subject,
                    Outcome::Failure,
                    "malformed",
                ))
                .await?;
            return Ok(RadiusAnswer::Reject);
        };
        let typed = Zeroizing::new(typed.to_owned());

        if let Some(state) = request.state {
            let hash = self.cipher.keyed_hash(STATE_PURPOSE, state).to_vec();
            let Some(user_id) = self
                .store
                .take_radius_state(hash, request.peer.id, self.now())
                .await?
            else {
                self.store
                    .append(self.event(
                        &actor,
                        AuditAction::RadiusState,
                        name.as_str(),
                        Outcome::Failure,
                        "State unknown, used, expired or another client's",
                    ))
                    .await?;
                return Ok(RadiusAnswer::Reject);
            };
            // The State was made after a right password: a complete proof.
            return self
                .radius_otp(&actor, &name, Some(user_id), typed, true)
                .await;
        }

        match request.peer.mode {
            // The device checked the password: Latchkey saw only the OTP.
            RadiusMode::OtpOnly => self.radius_otp(&actor, &name, None, typed, false).await,
            mode => {
                let user = self.store.user_by_name(&name).await?;
                let Some((user, otp)) = self
                    .radius_password(&actor, &name, user, mode, typed)
                    .await?
                else {
                    return Ok(RadiusAnswer::Reject);
                };
                match (otp, user) {
                    // The OTP is the account's whose password was right.
                    (Some(otp), Some(user)) => {
                        self.radius_otp(&actor, &user.username, None, otp, true)
                            .await
                    }
                    (Some(otp), None) => self.radius_otp(&actor, &name, None, otp, true).await,
                    (None, Some(user)) => self.radius_challenge(&actor, &request, &user).await,
                    // A right password implies a user.
                    (None, None) => Ok(RadiusAnswer::Reject),
                }
            }
        }
    }

    /// The password factor of `typed`: `None` when it is wrong (counted in
    /// the S16 throttle); else the OTP that followed it in one-step mode,
    /// if one did. In one-step mode `typed` is split at each digit count
    /// the user's active tokens have; the whole of it may be the password
    /// alone. With the password right, the user it is right for (a
    /// directory user's account may be made here, at first use).
    async fn radius_password(
        &self,
        actor: &Actor,
        name: &Username,
        user: Option<User>,
        mode: RadiusMode,
        typed: Zeroizing<String>,
    ) -> Result<RadiusPassword, StoreError> {
        let mut candidates: Vec<(Zeroizing<String>, Option<Zeroizing<String>>)> = Vec::new();
        if mode == RadiusMode::OneStep {
            let mut digits: Vec<usize> = match &user {
                Some(user) => self
                    .store
                    .tokens_of_user(user.id)
                    .await?
                    .iter()
                    .filter(|t| t.state == TokenState::Active)
                    .map(|t| usize::from(t.otp.digits.get()))
                    .collect(),
                None => Vec::new(),
            };
            // Unknown users and users without a token are split as if they
            // had a 6-digit one, so that they cost as many hashes as a user
            // with one (STYLE rule 5: timing says nothing).
            if digits.is_empty() {
                digits.push(6);
            }
            digits.sort_unstable_by(|a, b| b.cmp(a));
            digits.dedup();
            for d in digits {
                let Some(at) = typed.len().checked_sub(d).filter(|at| *at > 0) else {
                    continue;
                };
                if typed.as_bytes()[at..].iter().all(u8::is_ascii_digit) {
                    candidates.push((
                        Zeroizing::new(typed[..at].to_owned()),
                        Some(Zeroizing::new(typed[at..].to_owned())),
                    ));
                }
            }
        }
        candidates.push((typed, None));
        if let Some(directory) = self.directory_for(user.as_ref()).await? {
            // The directory binds each reading until one is right; a wrong
            // request still counts one failure.
            let passwords = candidates.iter().map(|(p, _)| p.clone()).collect();
            let Some((account, index)) = self
                .directory_password(&directory, actor, name, user, passwords)
                .await?
            else {
                return Ok(None);
            };
            let (_, otp) = candidates.swap_remove(index);
            return Ok(Some((Some(account), otp)));
        }
        // Which split is the password is found with plain hash checks; the
        // one chosen (or, if none matched, the first) then goes through the
        // throttle, which counts one failure for one wrong request.
        let mut chosen = 0;
        if candidates.len() > 1 {
            let hash = user.as_ref().and_then(|u| u.password_hash.clone());
            for (index, (password, _)) in candidates.iter().enumerate() {
                if self.hasher.verify(password.clone(), hash.clone()).await {
                    chosen = index;
                    break;
                }
            }
        }
        let (password, otp) = candidates.swap_remove(chosen);
        // A right password alone never ends a run of failures: only a
        // right OTP after it does (see `radius_otp`).
        let ok = self
            .check_password_factor(actor, name, user.as_ref(), password)
            .await?;
        Ok(ok.then_some((user, otp)))
    }

    /// Issues an Access-Challenge's State for `user`, bound to the client.
    async fn radius_challenge(
        &self,
        actor: &Actor,
        request: &RadiusRequest<'_>,
        user: &User,
    ) -> Result<RadiusAnswer, AdminError> {
        let mut state = vec![0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut state);
        let now = self.now();
        let event = self.event(
            actor,
            AuditAction::RadiusChallenge,
            user.username.as_str(),
            Outcome::Success,
            "password right; one-time password asked for",
        );
        self.store
            .insert_radius_state(
                NewRadiusState {
                    state_hash: self.cipher.keyed_hash(STATE_PURPOSE, &state).to_vec(),
                    client_id: request.peer.id,
                    user_id: user.id,
                    expires_at: now + STATE_LIFETIME,
                },
                now,
                event,
            )
            .await?;
        Ok(RadiusAnswer::Challenge { state })
    }

    /// The OTP factor in the store's one transaction, as `authenticate`
    /// does it; `only_user` binds it to the user a State was made for.
    /// `password_proved` says this request (or the one that made its State)
    /// passed the password factor too, so that an accepted OTP completes the
    /// sign-in and ends the runs of failures (S44); in `otp-only` mode the
    /// device checked the password and an OTP alone clears nothing.
    async fn radius_otp(
        &self,
        actor: &Actor,
        name: &Username,
        only_user: Option<i64>,
        otp: Zeroizing<String>,
        password_proved: bool,
    ) -> Result<RadiusAnswer, AdminError> {
        let judge = self.otp_judge(actor);
        let subject = name.as_str().to_owned();
        let found: Arc<OnceLock<User>> = Arc::new(OnceLock::new());
        let seen = Arc::clone(&found);
        let checked = self
            .store
            .check_user_otp(None, name, move |_, user, tokens| {
                if let Some(user) = user {
                    let _ = seen.set(user.clone());
                }
                if only_user.is_some_and(|id| user.is_none_or(|u| u.id != id)) {
                    return Ok(vec![OtpStep::Record(AuditEvent {
                        at: judge.now as i64,
                        actor: judge.actor.name.clone(),
                        action: AuditAction::RadiusState,
                        subject: subject.clone(),
                        source: judge.actor.source.clone(),
                        outcome: Outcome::Failure,
                        detail: "State made for another user".into(),
                    })]);
                }
                judge
                    .user_steps(&subject, user, tokens, &otp)
                    .map_err(RadiusOtpError::Cipher)
            })
            .await?;
        match checked {
            Ok(true) => {
                let Some(user) = found.get() else {
                    return Ok(RadiusAnswer::Reject);
                };
                if password_proved {
                    self.complete_success(user).await?;
                }
                Ok(RadiusAnswer::Accept { role: user.role })
            }
            Ok(false) => Ok(RadiusAnswer::Reject),
            Err(RadiusOtpError::Cipher(error)) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_blocks_contain_what_they_should() {
        let one: ClientAddress = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        assert!(one.contains("::ffff:192.0.2.7".parse().unwrap()));
        let block: ClientAddress = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains("10.200.3.4".parse().unwrap()));
        assert!(!block.contains("11.0.0.1".parse().unwrap()));
        let any: ClientAddress = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("203.0.113.9".parse().unwrap()));
        let v6: ClientAddress = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert_eq!(block.to_string(), "10.0.0.0/8");
        assert_eq!(one.to_string(), "192.0.2.7");
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/",
            "host",
            "10.0.0.0/+8",
            "::/129",
        ] {
            assert!(bad.parse::<ClientAddress>().is_err(), "{bad}");
        }
    }
}
