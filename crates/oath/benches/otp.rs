//! Generation and ±1-step verification, with the `totp-rs` crate measured in
//! the same run as the reference. Run: `cargo bench -p latchkey-oath`.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use latchkey_oath::{Algorithm, Digits, Hotp, Secret, Totp};

const KEY: &[u8; 20] = b"12345678901234567890";
const KEY32: &[u8; 32] = b"12345678901234567890123456789012";
const NOW: u64 = 1_111_111_109;

fn latchkey(algorithm: Algorithm, key: &[u8], digits: u8) -> Totp {
    Totp::new(
        Secret::from_bytes(key.to_vec()),
        algorithm,
        Digits::new(digits).unwrap(),
        30,
    )
    .unwrap()
}

fn reference(algorithm: totp_rs::Algorithm, key: &[u8], digits: u8) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(key.to_vec())
        .build()
        .expect("a valid reference TOTP")
}

fn generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    let ours = latchkey(Algorithm::Sha1, KEY, 6);
    let theirs = reference(totp_rs::Algorithm::SHA1, KEY, 6);
    group.bench_function("latchkey/totp-sha1-6", |b| {
        b.iter(|| ours.generate(black_box(NOW)))
    });
    group.bench_function("totp-rs/totp-sha1-6", |b| {
        b.iter(|| theirs.generate(black_box(NOW)))
    });
    let hotp = Hotp::new(
        Secret::from_bytes(KEY.to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
    )
    .unwrap();
    group.bench_function("latchkey/hotp-sha1-6", |b| {
        b.iter(|| hotp.generate(black_box(7)))
    });
    group.finish();
}

fn verification(c: &mut Criterion) {
    for (name, ours, theirs) in [
        (
            "sha1-6",
            latchkey(Algorithm::Sha1, KEY, 6),
            reference(totp_rs::Algorithm::SHA1, KEY, 6),
        ),
        (
            "sha256-8",
            latchkey(Algorithm::Sha256, KEY32, 8),
            reference(totp_rs::Algorithm::SHA256, KEY32, 8),
        ),
    ] {
        let mut group = c.benchmark_group(format!("verify-window-1/{name}"));
        let current = ours.generate(NOW);
        let previous = ours.generate(NOW - 30);
        let next = ours.generate(NOW + 30);
        let wrong = if current.starts_with('0') {
            current.replacen('0', "1", 1)
        } else {
            current.replacen(&current[..1], "0", 1)
        };
        assert!(wrong != previous && wrong != next && wrong != current);
        assert_eq!(ours.verify(&current, NOW, 1).unwrap(), ours.step_at(NOW));
        assert!(theirs.check(&current, NOW).is_some() && theirs.check(&wrong, NOW).is_none());
        // totp-rs stops at the first match, so the step that matches decides
        // how many HMACs it spends; latchkey always spends three.
        for (case, code) in [
            ("previous", &previous),
            ("current", &current),
            ("next", &next),
            ("wrong", &wrong),
        ] {
            group.bench_function(format!("latchkey/{case}"), |b| {
                b.iter(|| ours.verify(black_box(code), black_box(NOW), 1))
            });
            group.bench_function(format!("totp-rs/{case}"), |b| {
                b.iter(|| theirs.check(black_box(code), black_box(NOW)))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = generation, verification
}
criterion_main!(benches);
