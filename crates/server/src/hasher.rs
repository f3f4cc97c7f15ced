//! Argon2id password hashing on a bounded pool of blocking threads, so that
//! a flood of sign-ins queues instead of exhausting memory.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey_core::{BoxFuture, PasswordHasher};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Argon2id with parameters stored in each hash (PHC string), so they can be raised.
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: String,
}

impl Argon2Hasher {
    /// OWASP's first Argon2id configuration: 19 MiB, 2 passes, 1 lane.
    /// `parallel` bounds how many hashes run at once (each holds 19 MiB).
    pub fn new(parallel: usize) -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
        let dummy = hash_with(&params, b"latchkey dummy password for unknown users");
        Argon2Hasher {
            params,
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            dummy,
        }
    }
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &[u8]) -> String {
    // A fresh random salt per hash comes from the operating system.
    argon(params)
        .hash_password(password)
        .expect("hashing does not fail")
        .to_string()
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: Zeroizing<String>) -> BoxFuture<'static, String> {
        let params = self.params.clone();
        let permits = self.permits.clone();
        Box::pin(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            tokio::task::spawn_blocking(move || hash_with(&params, password.as_bytes()))
                .await
                .expect("hashing does not panic")
        })
    }

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
        Box::pin(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let matched = tokio::task::spawn_blocking(move || {
                PasswordHash::new(&hash).is_ok_and(|parsed| {
                    // The parameters come from the stored hash itself.
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
            })
            .await
            .unwrap_or(false);
            matched && known
        })
    }
}
