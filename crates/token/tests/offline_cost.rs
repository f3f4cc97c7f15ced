//! S51 (M6): what one offline PIN guess costs someone who holds a copy of a
//! vault file and one code the token once showed. A measurement, not a
//! timed assertion: run it with
//! `cargo test --workspace -- --ignored m6_s51_offline_cost --nocapture`
//! and read the figures it prints (docs/tokens.md quotes them).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use latchkey_oath::{Algorithm, Digits, Secret, Totp};
use latchkey_token::kdf::KdfParams;
use latchkey_token::record::{Mask, PIN_CHECK_BITS};

#[test]
#[ignore = "a measurement of the release KDF: seconds per guess, printed"]
fn m6_s51_offline_cost_per_pin_guess() {
    let kdf = KdfParams::DEFAULT;
    let seed = Secret::generate(32);
    let mask = Mask::seal(&kdf, b"204817", seed.expose(), PIN_CHECK_BITS);
    let observed = Totp::new(seed.clone(), Algorithm::Sha256, Digits::EIGHT, 30)
        .unwrap()
        .generate(1_700_000_000);

    // One guess: Argon2id at the record's parameters, the 10-bit check
    // (HMAC-SHA-256), and for the one in 1,024 that passes, the TOTP of the
    // seed it gives compared with the observed code.
    let guess = |pin: u32| -> bool {
        let text = format!("{pin:06}");
        mask.open(&kdf, text.as_bytes(), PIN_CHECK_BITS)
            .is_some_and(|seed| {
                Totp::new(seed, Algorithm::Sha256, Digits::EIGHT, 30)
                    .unwrap()
                    .generate(1_700_000_000)
                    == observed
            })
    };
    assert!(guess(204_817), "the right PIN gives the observed code");

    let rounds = 6u32;
    let started = Instant::now();
    for pin in 0..rounds {
        let _ = guess(500_000 + pin);
    }
    let one_core = started.elapsed().as_secs_f64() / f64::from(rounds);

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for core in 0..cores {
            let guess = &guess;
            scope.spawn(move || {
                for pin in 0..rounds {
                    let _ = guess(600_000 + 10 * pin + core as u32);
                }
            });
        }
    });
    let all_cores = started.elapsed().as_secs_f64() / f64::from(rounds * cores as u32);

    // The device binding adds, per mask and not per guess, one HMAC pad.
    let pins = 1e6;
    eprintln!(
        "Argon2id m={} KiB t={} p={}: {one_core:.3} s per guess on one core, \
         {all_cores:.3} s per guess with all {cores} cores busy",
        kdf.m_cost, kdf.t_cost, kdf.p_cost
    );
    eprintln!(
        "vault file + one observed code, 10^6 six-digit PINs: {:.0} CPU-hours ({:.0} h on this {cores}-core machine)",
        pins * one_core / 3600.0,
        pins * all_cores / 3600.0
    );
    eprintln!(
        "vault file + device key + one observed code: the same (the key's pad is one HMAC per mask, made once)"
    );
    eprintln!(
        "vault file alone, bound (S51): every PIN guess needs a device key guess too, 10^6 x 2^256 tries"
    );
}
