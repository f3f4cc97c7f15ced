//! # latchkey-testkit
//!
//! Test support, never shipped (`publish = false`, a dev-dependency only):
//!
//! - [`MemoryStore`], an in-memory fake of every store port, so the domain
//!   rules can be tested without SQL;
//! - [`TestHasher`], a fast stand-in for Argon2;
//! - [`TestCipher`], a trivial authenticated cipher (not secure: tests only);
//! - [`memory_app`], the domain service built on them with the operator's
//!   [`Admin`] right and a [`ManualClock`] the test moves;
//! - [`postgres::fresh_database`], a new PostgreSQL database per test;
//! - [`pins`], the soft-token tests' PIN and wrong PINs the vault refuses;
//! - [`CapturedMail`], a mailer that keeps what it is sent;
//! - [`token_cli`], the real `latchkey-token` from a test, and a stand-in
//!   for the server's token API.

mod cipher;
mod hasher;
mod mail;
mod memory;
pub mod pins;
pub mod postgres;
pub mod token_cli;

use std::sync::Arc;

use latchkey_core::{Admin, Latchkey, ManualClock, Policy};

pub use cipher::TestCipher;
pub use hasher::TestHasher;
pub use mail::CapturedMail;
pub use memory::MemoryStore;

/// The time a [`memory_app`] clock starts at (Unix seconds, November 2023).
pub const T0: u64 = 1_700_000_000;

/// The domain on a fresh [`MemoryStore`], with [`TestCipher::default`] and
/// [`TestHasher`]; the operator's [`Admin`] right (as the admin CLI gets it,
/// through [`Latchkey::with_local_operator`]); and its clock, at [`T0`].
pub fn memory_app(policy: Policy) -> (Latchkey<MemoryStore>, Admin, ManualClock) {
    let clock = ManualClock::at(T0);
    let (latchkey, admin) = memory_app_on(MemoryStore::new(), clock.clone(), policy);
    (latchkey, admin, clock)
}

/// The domain on `store` (keep a clone to look below the domain) with
/// `clock`, [`TestCipher::default`] and [`TestHasher`]; and the operator's
/// [`Admin`] right.
pub fn memory_app_on(
    store: MemoryStore,
    clock: ManualClock,
    policy: Policy,
) -> (Latchkey<MemoryStore>, Admin) {
    Latchkey::with_local_operator(
        store,
        Arc::new(clock),
        Arc::new(TestCipher::default()),
        Arc::new(TestHasher),
        policy,
    )
}
