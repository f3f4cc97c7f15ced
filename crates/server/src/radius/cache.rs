//! The retransmit cache (DESIGN.md, "RADIUS"): a request seen again from
//! the same client port with the same Identifier and Request Authenticator
//! gets the reply the first copy got, without being checked again — the
//! OTP it carried has been spent by the first copy. A copy that arrives
//! while the first is still being decided is dropped: the first one's
//! reply answers both.
//!
//! This is node-local, and nothing depends on it for correctness: a copy
//! that reaches another node is checked there, and the spent OTP is refused
//! by the database.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What identifies a request and its retransmissions (RFC 5080 §2.2.2).
pub(super) type Key = (SocketAddr, u8, [u8; 16]);

/// How long a reply is kept for retransmissions: clients give up well
/// before (radclient's default is 3 tries of 5 s).
const KEEP: Duration = Duration::from_secs(30);

/// The most entries kept; past it, new requests are not cached (and so,
/// if retransmitted, checked again and refused as replays).
const MAX_ENTRIES: usize = 100_000;

enum Entry {
    InFlight,
    Done(Vec<u8>),
}

/// What [`ReplyCache::begin`] found.
pub(super) enum Seen {
    /// A new request: decide it, then [`ReplyCache::finish`] or
    /// [`ReplyCache::abandon`] it.
    New,
    /// A retransmission of a request still being decided.
    InFlight,
    /// A retransmission of a request answered with these octets.
    Answered(Vec<u8>),
}

/// Replies by request, for a short while.
pub(super) struct ReplyCache {
    entries: Mutex<Inner>,
}

struct Inner {
    map: HashMap<Key, (Instant, Entry)>,
    swept: Instant,
}

impl ReplyCache {
    pub(super) fn new() -> Self {
        ReplyCache {
            entries: Mutex::new(Inner {
                map: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks `key` up; a new one is marked in flight.
    pub(super) fn begin(&self, key: Key) -> Seen {
        let now = Instant::now();
        let mut inner = self.lock();
        if now.duration_since(inner.swept) > Duration::from_secs(5) {
            inner
                .map
                .retain(|_, (at, _)| now.duration_since(*at) < KEEP);
            inner.swept = now;
        }
        match inner.map.get(&key) {
            Some((at, entry)) if now.duration_since(*at) < KEEP => match entry {
                Entry::InFlight => Seen::InFlight,
                Entry::Done(reply) => Seen::Answered(reply.clone()),
            },
            _ => {
                if inner.map.len() < MAX_ENTRIES {
                    inner.map.insert(key, (now, Entry::InFlight));
                }
                Seen::New
            }
        }
    }

    /// Keeps the reply to `key`.
    pub(super) fn finish(&self, key: Key, reply: Vec<u8>) {
        let mut inner = self.lock();
        if let Some(slot) = inner.map.get_mut(&key) {
            *slot = (Instant::now(), Entry::Done(reply));
        }
    }

    /// Forgets `key`, which got no reply: a retransmission is decided anew.
    pub(super) fn abandon(&self, key: Key) {
        self.lock().map.remove(&key);
    }
}
