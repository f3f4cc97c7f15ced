//! Argon2id password hashing on a bounded pool of blocking threads, so that
//! a flood of sign-ins queues instead of exhausting memory.
//!
//! Verification works in memory kept from one check to the next (one
//! buffer per permit). Letting the argon2 crate allocate and free its
//! 19 MiB per check did not bound memory: glibc raises its mmap threshold
//! after the first large block is freed, later blocks come from its heaps
//! and stay resident, and 200 simultaneous sign-ins left the server at
//! 700 MiB although only four hashes ran at a time (bench/signin_flood.sh).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use latchkey_core::{BoxFuture, PasswordHasher};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Argon2id with parameters stored in each hash (PHC string), so they can be raised.
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Working memory of finished checks, for the next ones: never more
    /// buffers than permits.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    dummy: String,
}

impl Argon2Hasher {
    /// OWASP's first Argon2id configuration: 19 MiB, 2 passes, 1 lane.
    /// `parallel` bounds how many hashes run at once (each holds 19 MiB).
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    pub fn new(parallel: usize) -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
        let dummy = hash_with(&params, b"latchkey dummy password for unknown users");
        Argon2Hasher {
            params,
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            memory: Arc::new(Mutex::new(Vec::new())),
            dummy,
        }
    }
}

/// Hashes and checks waiting for a permit (the pool's queue), and those
/// running, across the process: `/metrics` shows them.
static WAITING: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicU64 = AtomicU64::new(0);

/// Counts one job in `gauge` while it lives: a request dropped while it
/// waits leaves the queue too.
struct Counted(&'static AtomicU64);

impl Counted {
    fn new(gauge: &'static AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Counted(gauge)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The pool's gauges in Prometheus' text format.
pub fn render_metrics() -> String {
    format!(
        "# HELP latchkey_argon2_queue_depth Password hashes and checks waiting for the Argon2 pool.\n\
         # TYPE latchkey_argon2_queue_depth gauge\n\
         latchkey_argon2_queue_depth {}\n\
         # HELP latchkey_argon2_running Password hashes and checks running on the Argon2 pool.\n\
         # TYPE latchkey_argon2_running gauge\n\
         latchkey_argon2_running {}\n",
        WAITING.load(Ordering::Relaxed),
        RUNNING.load(Ordering::Relaxed)
    )
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// Whether `password` matches the PHC string `hash`, with the parameters
/// the hash carries, computed in `blocks` (grown if those need more).
fn verify_in(blocks: &mut Vec<Block>, password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
    let mut computed = Zeroizing::new(vec![0u8; expected.as_ref().len()]);
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt.as_ref(), &mut computed, &mut blocks[..])
        .is_ok()
        // Output's equality is constant-time.
        && Output::new(&computed).is_ok_and(|computed| &computed == expected)
}

#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
fn hash_with(params: &Params, password: &[u8]) -> String {
    // A fresh random salt per hash comes from the operating system.
    argon(params)
        .hash_password(password)
        .expect("hashing does not fail")
        .to_string()
}

impl PasswordHasher for Argon2Hasher {
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn hash(&self, password: Zeroizing<String>) -> BoxFuture<'static, String> {
        let params = self.params.clone();
        let permits = self.permits.clone();
        Box::pin(async move {
            let waiting = Counted::new(&WAITING);
            let permit = permits
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            drop(waiting);
            let running = Counted::new(&RUNNING);
            // The permit goes with the work: a request dropped while it waits
            // for the hash does not free a slot the hash still occupies.
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let _running = running;
                hash_with(&params, password.as_bytes())
            })
            .await
            .expect("hashing does not panic")
        })
    }

    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn verify(
        &self,
        password: Zeroizing<String>,
        hash: Option<String>,
    ) -> BoxFuture<'static, bool> {
        let permits = self.permits.clone();
        let (hash, known) = match hash {
            Some(hash) => (hash, true),
            None => (self.dummy.clone(), false),
        };
        let memory = self.memory.clone();
        Box::pin(async move {
            let waiting = Counted::new(&WAITING);
            let permit = permits
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            drop(waiting);
            let running = Counted::new(&RUNNING);
            let matched = tokio::task::spawn_blocking(move || {
                // Held until the buffer is back, as in `hash`: a dropped request
                // must not let one check more than there are permits (and one
                // buffer more) start.
                let _permit = permit;
                let _running = running;
                let take = || memory.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let mut blocks = take().unwrap_or_default();
                let matched = verify_in(&mut blocks, password.as_bytes(), &hash);
                memory
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(blocks);
                matched
            })
            .await
            .unwrap_or(false);
            matched && known
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_with_its_own_parameters_in_reused_memory() {
        let cheap = Params::new(64, 1, 1, None).unwrap();
        let stored = hash_with(&cheap, b"right password");
        let mut blocks = Vec::new();
        assert!(verify_in(&mut blocks, b"right password", &stored));
        assert_eq!(blocks.len(), 64, "memory sized by the hash's parameters");
        assert!(!verify_in(&mut blocks, b"wrong password", &stored));
        // A hash that needs more memory grows the buffer; the same buffer
        // then serves the cheaper one again.
        let dearer = hash_with(&Params::new(256, 1, 1, None).unwrap(), b"other");
        assert!(verify_in(&mut blocks, b"other", &dearer));
        assert_eq!(blocks.len(), 256);
        assert!(verify_in(&mut blocks, b"right password", &stored));
        assert!(!verify_in(&mut blocks, b"x", "not a PHC string"));
    }
}
