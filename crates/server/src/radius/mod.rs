//! The RADIUS listener (RFC 2865 over UDP; DESIGN.md, "RADIUS"): decodes
//! each datagram with `latchkey-radius`, finds the client by its address,
//! requires and verifies the Message-Authenticator (RFC 3579; the
//! Blast-RADIUS mitigation), answers Status-Server (RFC 5997), hands each
//! Access-Request to the domain ([`latchkey_core::Latchkey::radius_access`])
//! and sends the reply with the Message-Authenticator first and the
//! Proxy-State echoed. What cannot be trusted — a malformed packet, an
//! unknown address, a missing or wrong Message-Authenticator (which is
//! what a wrong secret gives) — is dropped without a word and counted.

mod cache;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use latchkey_core::radius::{CHALLENGE_MESSAGE, RadiusAnswer, RadiusPeer, RadiusRequest};
use latchkey_radius::{
    Code, EncodeError, MAX_PACKET_LEN, MessageAuthenticatorPolicy, Packet, SharedSecret,
    VerifyError,
};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use self::cache::{ReplyCache, Seen};
use crate::App;

/// Requests decided at once; past it, datagrams are dropped (and
/// counted) rather than queued without bound. Password checks are bounded
/// further by the hasher's own pool.
const IN_FLIGHT: usize = 4096;

/// How often the registered clients are read again, so that `admin
/// radius-client add|remove` takes effect on a running node.
const RELOAD_EVERY: Duration = Duration::from_secs(10);

/// A datagram from an unknown address reads the clients again, at most this
/// often.
const RELOAD_ON_MISS: Duration = Duration::from_secs(1);

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct RadiusMetrics {
    /// Access-Accepts sent.
    pub accepts: AtomicU64,
    /// Access-Rejects sent.
    pub rejects: AtomicU64,
    /// Access-Challenges sent.
    pub challenges: AtomicU64,
    /// Status-Server requests answered.
    pub status: AtomicU64,
    /// Retransmissions answered from the cache (or dropped while the first
    /// copy was being decided).
    pub retransmits: AtomicU64,
    /// Datagrams that do not decode (RFC 2865 §3, §5 bounds).
    pub dropped_malformed: AtomicU64,
    /// Datagrams from an address no client is registered for.
    pub dropped_unknown_client: AtomicU64,
    /// Requests without a Message-Authenticator.
    pub dropped_missing_message_authenticator: AtomicU64,
    /// Requests whose Message-Authenticator is wrong (a wrong secret, or
    /// tampering).
    pub dropped_bad_message_authenticator: AtomicU64,
    /// Packets of a kind a server does not answer.
    pub dropped_unsupported: AtomicU64,
    /// Requests dropped because too many were being decided.
    pub dropped_overload: AtomicU64,
    /// Requests that could not be decided (storage failed).
    pub errors: AtomicU64,
}

/// The process's RADIUS counters (one listener per process).
pub static METRICS: RadiusMetrics = RadiusMetrics {
    accepts: AtomicU64::new(0),
    rejects: AtomicU64::new(0),
    challenges: AtomicU64::new(0),
    status: AtomicU64::new(0),
    retransmits: AtomicU64::new(0),
    dropped_malformed: AtomicU64::new(0),
    dropped_unknown_client: AtomicU64::new(0),
    dropped_missing_message_authenticator: AtomicU64::new(0),
    dropped_bad_message_authenticator: AtomicU64::new(0),
    dropped_unsupported: AtomicU64::new(0),
    dropped_overload: AtomicU64::new(0),
    errors: AtomicU64::new(0),
};

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl RadiusMetrics {
    /// The counters in Prometheus' text format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut text = String::from(
            "# HELP latchkey_radius_replies_total RADIUS replies sent, by kind.\n\
             # TYPE latchkey_radius_replies_total counter\n",
        );
        for (kind, counter) in [
            ("accept", &self.accepts),
            ("reject", &self.rejects),
            ("challenge", &self.challenges),
            ("status", &self.status),
            ("retransmit", &self.retransmits),
        ] {
            text.push_str(&format!(
                "latchkey_radius_replies_total{{kind=\"{kind}\"}} {}\n",
                get(counter)
            ));
        }
        text.push_str(
            "# HELP latchkey_radius_dropped_total RADIUS datagrams dropped without a reply, by reason.\n\
             # TYPE latchkey_radius_dropped_total counter\n",
        );
        for (reason, counter) in [
            ("malformed", &self.dropped_malformed),
            ("unknown_client", &self.dropped_unknown_client),
            (
                "missing_message_authenticator",
                &self.dropped_missing_message_authenticator,
            ),
            (
                "bad_message_authenticator",
                &self.dropped_bad_message_authenticator,
            ),
            ("unsupported", &self.dropped_unsupported),
            ("overload", &self.dropped_overload),
            ("error", &self.errors),
        ] {
            text.push_str(&format!(
                "latchkey_radius_dropped_total{{reason=\"{reason}\"}} {}\n",
                get(counter)
            ));
        }
        text
    }
}

/// A registered client and its secret as the codec takes it.
struct Client {
    peer: RadiusPeer,
    secret: SharedSecret,
}

/// The registered clients, read from the database.
struct Clients {
    list: RwLock<Arc<Vec<Client>>>,
    loaded: Mutex<Instant>,
}

impl Clients {
    fn current(&self) -> Arc<Vec<Client>> {
        Arc::clone(&self.list.read().unwrap_or_else(|e| e.into_inner()))
    }

    async fn reload(&self, app: &App) {
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        let peers = match app.radius_peers().await {
            Ok(peers) => peers,
            Err(error) => {
                tracing::error!(error = %crate::report::error_chain(&error), "cannot read the RADIUS clients");
                return;
            }
        };
        let clients: Vec<Client> = peers
            .into_iter()
            .filter_map(|peer| {
                let secret = SharedSecret::new(peer.secret.to_vec()).ok()?;
                if !peer.require_message_authenticator {
                    tracing::warn!(
                        client = %peer.name,
                        "RADIUS client {} is exempt from Message-Authenticator: its requests can \
                         be forged (Blast-RADIUS, CVE-2024-3596); replace or upgrade the device",
                        peer.name
                    );
                }
                Some(Client { peer, secret })
            })
            .collect();
        *self.list.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(clients);
    }

    /// The client `from` belongs to, reading the list again (at most once a
    /// second) when none does.
    async fn find(&self, app: &App, from: SocketAddr) -> Option<(Arc<Vec<Client>>, usize)> {
        let find =
            |list: &Arc<Vec<Client>>| list.iter().position(|c| c.peer.address.contains(from.ip()));
        let list = self.current();
        if let Some(index) = find(&list) {
            return Some((list, index));
        }
        let stale = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            > RELOAD_ON_MISS;
        if !stale {
            return None;
        }
        self.reload(app).await;
        let list = self.current();
        find(&list).map(|index| (list, index))
    }
}

struct Listener {
    socket: UdpSocket,
    app: App,
    clients: Clients,
    cache: ReplyCache,
    permits: Arc<Semaphore>,
}

/// Binds `address` and answers RADIUS on it in the background, for as long
/// as the process runs.
pub async fn start(address: SocketAddr, app: App) -> std::io::Result<SocketAddr> {
    let socket = UdpSocket::bind(address).await?;
    let bound = socket.local_addr()?;
    let listener = Arc::new(Listener {
        socket,
        app,
        clients: Clients {
            list: RwLock::new(Arc::new(Vec::new())),
            loaded: Mutex::new(Instant::now()),
        },
        cache: ReplyCache::new(),
        permits: Arc::new(Semaphore::new(IN_FLIGHT)),
    });
    listener.clients.reload(&listener.app).await;
    let reloader = Arc::clone(&listener);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RELOAD_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            reloader.clients.reload(&reloader.app).await;
        }
    });
    tokio::spawn(receive_loop(listener));
    tracing::info!(%bound, "answering RADIUS");
    Ok(bound)
}

async fn receive_loop(listener: Arc<Listener>) {
    // One octet more than the largest packet, to tell an oversized
    // datagram from one of exactly the largest size.
    let mut buffer = vec![0u8; MAX_PACKET_LEN + 1];
    loop {
        let (length, from) = match listener.socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors surface here on some systems; the socket stays usable.
                tracing::debug!(%error, "RADIUS receive failed");
                continue;
            }
        };
        if length > MAX_PACKET_LEN {
            count(&METRICS.dropped_malformed);
            continue;
        }
        let Ok(permit) = Arc::clone(&listener.permits).try_acquire_owned() else {
            count(&METRICS.dropped_overload);
            continue;
        };
        let datagram = buffer[..length].to_vec();
        let listener = Arc::clone(&listener);
        tokio::spawn(async move {
            listener.handle(&datagram, from).await;
            drop(permit);
        });
    }
}

impl Listener {
    async fn handle(&self, datagram: &[u8], from: SocketAddr) {
        let Ok(packet) = Packet::decode(datagram) else {
            count(&METRICS.dropped_malformed);
            return;
        };
        let Some((clients, index)) = self.clients.find(&self.app, from).await else {
            count(&METRICS.dropped_unknown_client);
            tracing::debug!(%from, "RADIUS datagram from an unregistered address dropped");
            return;
        };
        let client = &clients[index];
        let code = packet.code();
        if code != Code::ACCESS_REQUEST && code != Code::STATUS_SERVER {
            count(&METRICS.dropped_unsupported);
            return;
        }
        let policy = if client.peer.require_message_authenticator {
            MessageAuthenticatorPolicy::Required
        } else {
            MessageAuthenticatorPolicy::IfPresent
        };
        match packet.verify_request(&client.secret, policy) {
            Ok(()) => {}
            Err(VerifyError::MissingMessageAuthenticator) => {
                count(&METRICS.dropped_missing_message_authenticator);
                tracing::debug!(client = %client.peer.name, "RADIUS request without Message-Authenticator dropped");
                return;
            }
            Err(_) => {
                count(&METRICS.dropped_bad_message_authenticator);
                tracing::debug!(client = %client.peer.name, "RADIUS request with a wrong Message-Authenticator dropped");
                return;
            }
        }
        if code == Code::STATUS_SERVER {
            // RFC 5997 §3: an Access-Accept, with a Message-Authenticator.
            if let Ok(reply) = packet.reply(Code::ACCESS_ACCEPT).encode(&client.secret) {
                count(&METRICS.status);
                self.send(&reply, from).await;
            }
            return;
        }
        let key = (from, packet.identifier(), *packet.authenticator());
        match self.cache.begin(key) {
            Seen::New => {}
            Seen::InFlight => {
                count(&METRICS.retransmits);
                return;
            }
            Seen::Answered(reply) => {
                count(&METRICS.retransmits);
                self.send(&reply, from).await;
                return;
            }
        }
        match self.decide(&packet, client, from).await {
            Some(reply) => {
                // Kept before it is sent, so that a retransmission sent the
                // moment the reply arrives finds it.
                self.cache.finish(key, reply.clone());
                self.send(&reply, from).await;
            }
            None => self.cache.abandon(key),
        }
    }

    /// The encoded reply to an Access-Request, or `None` if it could not be
    /// decided (then nothing is sent, and the client retries).
    async fn decide(
        &self,
        packet: &Packet<'_>,
        client: &Client,
        from: SocketAddr,
    ) -> Option<Vec<u8>> {
        let password = packet.user_password(&client.secret);
        let answer = match (packet.user_name(), &password) {
            (Some(username), Some(password)) => {
                let request = RadiusRequest {
                    peer: &client.peer,
                    source: from.ip(),
                    nas_identifier: packet.nas_identifier(),
                    username,
                    password: password.expose(),
                    state: packet.state(),
                };
                match self.app.radius_access(request).await {
                    Ok(answer) => answer,
                    Err(error) => {
                        count(&METRICS.errors);
                        tracing::error!(client = %client.peer.name, error = %crate::report::error_chain(&error), "a RADIUS request could not be decided");
                        return None;
                    }
                }
            }
            // PAP only: no User-Name or no User-Password (CHAP, EAP) is a refusal.
            _ => RadiusAnswer::Reject,
        };
        match encode_reply(packet, &answer, &client.secret) {
            Ok(reply) => {
                count(match answer {
                    RadiusAnswer::Accept { .. } => &METRICS.accepts,
                    RadiusAnswer::Reject => &METRICS.rejects,
                    RadiusAnswer::Challenge { .. } => &METRICS.challenges,
                });
                Some(reply)
            }
            Err(error) => {
                count(&METRICS.errors);
                tracing::error!(client = %client.peer.name, %error, "a RADIUS reply could not be encoded");
                None
            }
        }
    }

    async fn send(&self, reply: &[u8], to: SocketAddr) {
        if let Err(error) = self.socket.send_to(reply, to).await {
            tracing::debug!(%to, %error, "RADIUS reply not sent");
        }
    }
}

/// The reply: the Message-Authenticator first, the request's Proxy-State
/// echoed, `Class` = the role on an Access-Accept, `State` and
/// `Reply-Message` on an Access-Challenge.
fn encode_reply(
    request: &Packet<'_>,
    answer: &RadiusAnswer,
    secret: &SharedSecret,
) -> Result<Vec<u8>, EncodeError> {
    match answer {
        RadiusAnswer::Accept { role } => request
            .reply(Code::ACCESS_ACCEPT)
            .class(role.as_str().as_bytes())?
            .encode(secret),
        RadiusAnswer::Reject => request.reply(Code::ACCESS_REJECT).encode(secret),
        RadiusAnswer::Challenge { state } => request
            .reply(Code::ACCESS_CHALLENGE)
            .state(state)?
            .reply_message(CHALLENGE_MESSAGE.as_bytes())?
            .encode(secret),
    }
}
