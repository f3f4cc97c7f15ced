//! The unlock-code derivation shared by the server and the soft token.

use hmac::{Hmac, KeyInit, Mac};

use crate::{ResetCode, Serial, UnlockCode, UnlockSecret};

const DOMAIN: &[u8] = b"latchkey-unlock-v1";

/// Derives the unlock code that opens a soft token showing `reset_code`.
///
/// ```text
/// msg    = "latchkey-unlock-v1" || 0x00 || serial (10 ASCII digits) || 0x00 || reset_code (12 ASCII digits)
/// mac    = HMAC-SHA-256(key = unlock_secret, msg)          (RFC 2104, FIPS 180-4)
/// n      = big-endian u64 of mac[0..8] mod 10^15
/// unlock = n as 15 digits, zero-padded, followed by its Luhn check digit
/// ```
///
/// Binding the serial and the reset code into the MAC makes a code useless
/// for another token or another unlock slot. 10^15 outcomes leave a guesser
/// no hope against a token that allows five tries.
#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
pub fn unlock_code(secret: &UnlockSecret, serial: &Serial, reset_code: &ResetCode) -> UnlockCode {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.expose())
        .expect("HMAC takes keys of any length");
    mac.update(DOMAIN);
    mac.update(&[0]);
    mac.update(serial.digits().as_bytes());
    mac.update(&[0]);
    mac.update(reset_code.digits().as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut head = [0u8; 8];
    head.copy_from_slice(&tag[..8]);
    let number = u64::from_be_bytes(head) % 1_000_000_000_000_000;
    let payload = zeroize::Zeroizing::new(format!("{number:015}"));
    head.fill(0);
    UnlockCode::from_payload(&payload)
}

/// How many unlock-secret generations a PIN Reset Code's tag tells apart.
/// The tag is the last three digits before the check digit; a token keeps
/// at most two live generations, and consecutive ones never share a tag.
pub const RESET_TAG_MODULUS: u64 = 1000;

/// The three-digit tag that names unlock-secret generation `generation` in
/// the reset codes made from it: `generation mod 1000`.
pub fn reset_tag(generation: u64) -> u16 {
    (generation % RESET_TAG_MODULUS) as u16
}

/// The tag a PIN Reset Code carries (its 9th to 11th digits). Codes made
/// before generations existed carry random digits there; see
/// [`reset_code_generation`].
pub fn reset_code_tag(reset_code: &ResetCode) -> u16 {
    reset_code.digits()[8..11]
        .bytes()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
}

/// A PIN Reset Code for an unlock slot made from generation `generation`'s
/// unlock secret:
///
/// ```text
/// reset = 8 random digits || (generation mod 1000) as 3 digits || Luhn digit
/// ```
pub fn tagged_reset_code(generation: u64) -> ResetCode {
    use rand::RngExt;
    let mut rng = rand::rng();
    let random: String = (0..8)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    ResetCode::from_payload(&format!("{random}{:03}", reset_tag(generation)))
}

/// The PIN Reset Code with the given 8 random digits for generation
/// `generation` (the known-answer form of [`tagged_reset_code`]); `None`
/// unless `random` is exactly 8 ASCII digits.
pub fn tagged_reset_code_from(random: &str, generation: u64) -> Option<ResetCode> {
    if random.len() != 8 || !random.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let payload = format!("{random}{:03}", reset_tag(generation));
    Some(ResetCode::from_payload(&payload))
}

/// Which of a token's live unlock-secret generations (`live`, any order)
/// answers `reset_code`: the one its tag names, else generation 0 when it
/// is live (codes made before generations carry no tag, and every one of
/// them belongs to generation 0). `None`: the code belongs to a retired
/// generation.
pub fn reset_code_generation(reset_code: &ResetCode, live: &[u64]) -> Option<u64> {
    let tag = reset_code_tag(reset_code);
    live.iter()
        .copied()
        .filter(|g| reset_tag(*g) == tag)
        .max()
        .or_else(|| live.contains(&0).then_some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers, mirrored in the phone app's `vectors.js` (`RESET_TAG`).
    const TAGGED: &[(&str, u64, &str)] = &[
        ("12345678", 0, "123456780006"),
        ("12345678", 1, "123456780014"),
        ("00000000", 999, "000000009993"),
        ("98765432", 1000, "987654320009"),
        ("31415926", 42, "314159260426"),
    ];

    #[test]
    fn tagged_reset_codes_match_their_known_answers() {
        for (random, generation, expected) in TAGGED {
            let code = tagged_reset_code_from(random, *generation).unwrap();
            assert_eq!(code.digits(), *expected, "{random} g{generation}");
            assert!(crate::luhn_is_valid(code.digits()));
            assert_eq!(reset_code_tag(&code), reset_tag(*generation));
        }
        assert!(tagged_reset_code_from("1234567", 0).is_none());
        assert!(tagged_reset_code_from("1234567x", 0).is_none());
    }

    #[test]
    fn a_generated_code_names_its_generation() {
        for generation in [0, 1, 2, 998, 999, 1000, 12345] {
            let code = tagged_reset_code(generation);
            assert_eq!(reset_code_tag(&code), reset_tag(generation));
            assert_eq!(
                reset_code_generation(&code, &[generation, generation + 1]),
                Some(generation)
            );
            assert_eq!(
                reset_code_generation(&code, &[generation.saturating_sub(1), generation]),
                Some(generation)
            );
        }
    }

    #[test]
    fn untagged_codes_fall_to_generation_zero_while_it_lives() {
        let legacy: ResetCode = "123456789015".parse().unwrap(); // tag 901
        assert_eq!(reset_code_generation(&legacy, &[0, 1]), Some(0));
        assert_eq!(reset_code_generation(&legacy, &[1, 2]), None);
        let old = tagged_reset_code(3);
        assert_eq!(reset_code_generation(&old, &[4, 5]), None);
        assert_eq!(reset_code_generation(&old, &[3, 4]), Some(3));
    }
}
