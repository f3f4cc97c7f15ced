//! A fast password hasher for tests.

use latchkey_core::{BoxFuture, PasswordHasher};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A fast stand-in for Argon2: the hex SHA-256 of the password, unsalted.
/// Tests only (the server's real hasher is tested in the server). With no
/// hash, `verify` is false, as the real one is against its dummy hash.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestHasher;

fn digest(password: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(password.as_bytes()))
}

impl PasswordHasher for TestHasher {
    fn hash(&self, password: Zeroizing<String>) -> BoxFuture<'static, String> {
        Box::pin(async move { digest(&password) })
    }

    fn verify(
        &self,
        password: Zeroizing<String>,
        hash: Option<String>,
    ) -> BoxFuture<'static, bool> {
        Box::pin(async move { hash.is_some_and(|hash| hash == digest(&password)) })
    }
}
