//! Argon2id, which turns a PIN (or an unlock or recovery code) into the mask
//! over the seed and the key of its short check value.

use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// Argon2id cost parameters, stored in the vault with each token so that
/// they can be raised later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The release default: 64 MiB and 3 passes (above OWASP's Argon2id
    /// floor of 19 MiB and 2 passes). Measured on the 2-core development
    /// machine, `latchkey-token code` then takes about 0.15 s in all, well
    /// under half a second, while every guess costs an attacker as much.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// The cheapest parameters Argon2 allows. Only the tests use them.
    pub const CHEAP: KdfParams = KdfParams {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };

    /// The parameters new vault entries get. Builds with the `test-hooks`
    /// feature honour `LATCHKEY_TOKEN_TEST_KDF=cheap`; release builds always
    /// use [`KdfParams::DEFAULT`].
    pub fn for_new_entries() -> KdfParams {
        #[cfg(feature = "test-hooks")]
        if std::env::var("LATCHKEY_TOKEN_TEST_KDF").as_deref() == Ok("cheap") {
            return KdfParams::CHEAP;
        }
        KdfParams::DEFAULT
    }

    /// Whether Argon2 accepts these parameters (a vault file could hold anything).
    pub fn is_valid(&self) -> bool {
        self.m_cost <= 4 * 1024 * 1024
            && self.t_cost <= 64
            && Params::new(self.m_cost, self.t_cost, self.p_cost, Some(64)).is_ok()
    }
}

/// What a secret (PIN, unlock code, recovery code) and a salt give: a mask
/// as long as the seed, and a key for the check value.
pub struct Derived {
    /// XORed with the seed.
    pub mask: Zeroizing<Vec<u8>>,
    /// Keys the HMAC whose first bits are the check value.
    pub check_key: Zeroizing<[u8; 32]>,
}

/// Argon2id(secret, salt) stretched to `seed_len + 32` bytes.
#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
pub fn derive(params: &KdfParams, secret: &[u8], salt: &[u8], seed_len: usize) -> Derived {
    let out_len = seed_len + 32;
    let argon_params = Params::new(params.m_cost, params.t_cost, params.p_cost, Some(out_len))
        .expect("validated parameters");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new(vec![0u8; out_len]);
    argon
        .hash_password_into(secret, salt, &mut out)
        .expect("validated salt and output length");
    let mut check_key = Zeroizing::new([0u8; 32]);
    check_key.copy_from_slice(&out[seed_len..]);
    out.truncate(seed_len);
    Derived {
        mask: out,
        check_key,
    }
}

/// The check value: the first `bits` bits of HMAC-SHA-256(check_key, seed).
/// Keyed by the derived key, so that it says nothing to someone without
/// the PIN or code behind it.
#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
pub fn check_value(check_key: &[u8; 32], seed: &[u8], bits: u32) -> u32 {
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(check_key).expect("any key length");
    mac.update(b"latchkey-vault-check-v1\0");
    mac.update(seed);
    let tag = mac.finalize().into_bytes();
    let word = u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]]);
    if bits >= 32 {
        word
    } else {
        word >> (32 - bits)
    }
}
