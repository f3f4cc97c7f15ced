//! S20: a copied vault is worth almost nothing. Trying every 6-digit PIN
//! against the PIN entry leaves hundreds of equally plausible seeds, which
//! only the server (and its lockout) can tell apart.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use latchkey_token::kdf::KdfParams;
use latchkey_token::record::{Mask, PIN_CHECK_BITS};

#[test]
fn s20_every_six_digit_pin_leaves_hundreds_of_candidate_seeds() {
    let mut seed = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut seed);
    // Test-only cheap parameters: the release default makes this search take
    // days, which is the point, but the count of survivors is the same.
    let kdf = KdfParams::CHEAP;
    let mask = Mask::seal(&kdf, b"204817", &seed, PIN_CHECK_BITS);

    let survivors: Vec<(u32, Vec<u8>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2u32)
            .map(|worker| {
                let mask = &mask;
                scope.spawn(move || {
                    (worker..1_000_000)
                        .step_by(2)
                        .filter_map(|pin| {
                            let text = format!("{pin:06}");
                            mask.open(&kdf, text.as_bytes(), PIN_CHECK_BITS)
                                .map(|s| (pin, s.expose().to_vec()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });

    // 10^6 / 2^10 ≈ 977 expected; the bounds are ~10 standard deviations wide.
    assert!(
        (650..=1300).contains(&survivors.len()),
        "{} candidates",
        survivors.len()
    );
    assert!(
        survivors
            .iter()
            .any(|(pin, s)| *pin == 204_817 && s == &seed),
        "the real PIN is among them"
    );
    let distinct: HashSet<&Vec<u8>> = survivors.iter().map(|(_, s)| s).collect();
    assert_eq!(
        distinct.len(),
        survivors.len(),
        "every candidate is a different seed"
    );
}
