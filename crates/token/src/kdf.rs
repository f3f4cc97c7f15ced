//! The key derivation that turns a PIN (or an unlock or recovery code) into
//! the mask over the seed and the key of its short check value: Argon2id,
//! or PBKDF2-HMAC-SHA-256 for records made where Argon2id cannot run (the
//! phone app: browsers' WebCrypto has PBKDF2 and no Argon2).
//!
//! In the record, Argon2id is `"kdf": {"m_cost": …, "t_cost": …, "p_cost": …}`
//! (an `"algorithm": "argon2id"` beside them is accepted) and PBKDF2 is
//! `"kdf": {"algorithm": "pbkdf2-sha256", "iterations": N}` with N at least
//! [`PBKDF2_MIN_ITERATIONS`].

use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// The fewest PBKDF2 iterations a record may name: OWASP's figure for
/// PBKDF2-HMAC-SHA-256 (2023).
pub const PBKDF2_MIN_ITERATIONS: u32 = 600_000;
/// The most PBKDF2 iterations a record may name, so that a file cannot make
/// the program spin for hours.
pub const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;

/// The most memory (KiB) an Argon2id record may name: 1 GiB. A vault file
/// could name anything, and every PIN check runs the function (L11).
pub const ARGON2_MAX_M_COST: u32 = 1024 * 1024;
/// The most Argon2id passes a record may name.
pub const ARGON2_MAX_T_COST: u32 = 16;
/// The most Argon2id lanes a record may name.
pub const ARGON2_MAX_P_COST: u32 = 8;

/// Which function a record's masks are derived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfAlgorithm {
    /// Argon2id with the record's memory, pass and lane costs.
    Argon2id,
    /// PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) with this many iterations.
    Pbkdf2Sha256 {
        /// Iterations, at least [`PBKDF2_MIN_ITERATIONS`].
        iterations: u32,
    },
}

/// Key-derivation parameters, stored in the vault with each token so that
/// they can be raised later. The three costs are Argon2id's; a PBKDF2
/// record has them at zero and its iteration count in `algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "KdfWire", into = "KdfWire")]
pub struct KdfParams {
    /// Argon2id or PBKDF2.
    pub algorithm: KdfAlgorithm,
    /// Argon2id: memory in KiB.
    pub m_cost: u32,
    /// Argon2id: passes over the memory.
    pub t_cost: u32,
    /// Argon2id: lanes.
    pub p_cost: u32,
}

/// The record's `kdf` object as written: every field either variant uses.
#[derive(serde::Serialize, serde::Deserialize)]
struct KdfWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iterations: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m_cost: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t_cost: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p_cost: Option<u32>,
}

/// Why a record's `kdf` object cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    /// An algorithm this program does not know.
    #[error(
        "unknown key-derivation algorithm {0:?} (this program reads argon2id and pbkdf2-sha256)"
    )]
    Unknown(String),
    /// A field the algorithm needs is missing, or one it does not use is there.
    #[error("the {0} parameters are incomplete or mixed with another algorithm's")]
    Fields(&'static str),
}

impl TryFrom<KdfWire> for KdfParams {
    type Error = KdfError;

    fn try_from(wire: KdfWire) -> Result<Self, KdfError> {
        match wire.algorithm.as_deref() {
            None | Some("argon2id") => {
                match (wire.m_cost, wire.t_cost, wire.p_cost, wire.iterations) {
                    (Some(m_cost), Some(t_cost), Some(p_cost), None) => Ok(KdfParams {
                        algorithm: KdfAlgorithm::Argon2id,
                        m_cost,
                        t_cost,
                        p_cost,
                    }),
                    _ => Err(KdfError::Fields("Argon2id")),
                }
            }
            Some("pbkdf2-sha256") => match (wire.iterations, wire.m_cost, wire.t_cost, wire.p_cost)
            {
                (Some(iterations), None, None, None) => Ok(KdfParams::pbkdf2(iterations)),
                _ => Err(KdfError::Fields("PBKDF2")),
            },
            Some(other) => Err(KdfError::Unknown(other.to_owned())),
        }
    }
}

impl From<KdfParams> for KdfWire {
    fn from(params: KdfParams) -> Self {
        match params.algorithm {
            // Written as before PBKDF2 existed, so older builds still read it.
            KdfAlgorithm::Argon2id => KdfWire {
                algorithm: None,
                iterations: None,
                m_cost: Some(params.m_cost),
                t_cost: Some(params.t_cost),
                p_cost: Some(params.p_cost),
            },
            KdfAlgorithm::Pbkdf2Sha256 { iterations } => KdfWire {
                algorithm: Some("pbkdf2-sha256".into()),
                iterations: Some(iterations),
                m_cost: None,
                t_cost: None,
                p_cost: None,
            },
        }
    }
}

impl KdfParams {
    /// The release default: Argon2id with 64 MiB and 3 passes (above
    /// OWASP's Argon2id floor of 19 MiB and 2 passes). Measured on the
    /// 2-core development machine, `latchkey-token code` then takes about
    /// 0.15 s in all, well under half a second, while every guess costs an
    /// attacker as much.
    pub const DEFAULT: KdfParams = KdfParams {
        algorithm: KdfAlgorithm::Argon2id,
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// The cheapest parameters Argon2 allows. Only the tests use them.
    pub const CHEAP: KdfParams = KdfParams {
        algorithm: KdfAlgorithm::Argon2id,
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };

    /// PBKDF2-HMAC-SHA-256 with `iterations`, as the phone app makes records.
    pub const fn pbkdf2(iterations: u32) -> KdfParams {
        KdfParams {
            algorithm: KdfAlgorithm::Pbkdf2Sha256 { iterations },
            m_cost: 0,
            t_cost: 0,
            p_cost: 0,
        }
    }

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

    /// Whether the function accepts these parameters and they are within
    /// this program's bounds (a vault file could hold anything, and a huge
    /// but legal value would hang every PIN check, L11): Argon2id at most
    /// [`ARGON2_MAX_M_COST`] KiB, [`ARGON2_MAX_T_COST`] passes and
    /// [`ARGON2_MAX_P_COST`] lanes; PBKDF2 within its iteration bounds.
    pub fn is_valid(&self) -> bool {
        match self.algorithm {
            KdfAlgorithm::Argon2id => {
                self.m_cost <= ARGON2_MAX_M_COST
                    && self.t_cost <= ARGON2_MAX_T_COST
                    && self.p_cost <= ARGON2_MAX_P_COST
                    && Params::new(self.m_cost, self.t_cost, self.p_cost, Some(64)).is_ok()
            }
            KdfAlgorithm::Pbkdf2Sha256 { iterations } => {
                (PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(&iterations)
            }
        }
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

/// KDF(secret, salt) stretched to `seed_len + 32` bytes: the mask, then the
/// check key.
pub fn derive(params: &KdfParams, secret: &[u8], salt: &[u8], seed_len: usize) -> Derived {
    let mut out = match params.algorithm {
        KdfAlgorithm::Argon2id => argon2id(params, secret, salt, seed_len + 32),
        KdfAlgorithm::Pbkdf2Sha256 { iterations } => {
            pbkdf2_sha256(secret, salt, iterations, seed_len + 32)
        }
    };
    let mut check_key = Zeroizing::new([0u8; 32]);
    check_key.copy_from_slice(&out[seed_len..]);
    out.truncate(seed_len);
    Derived {
        mask: out,
        check_key,
    }
}

#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
fn argon2id(params: &KdfParams, secret: &[u8], salt: &[u8], out_len: usize) -> Zeroizing<Vec<u8>> {
    let argon_params = Params::new(params.m_cost, params.t_cost, params.p_cost, Some(out_len))
        .expect("validated parameters");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new(vec![0u8; out_len]);
    argon
        .hash_password_into(secret, salt, &mut out)
        .expect("validated salt and output length");
    out
}

/// PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2): block `i` is `U_1 ^ … ^ U_c` with
/// `U_1 = HMAC(P, S || INT(i))` and `U_j = HMAC(P, U_{j-1})`. The password
/// is keyed into the HMAC once and the keyed state cloned per step, which
/// saves two compressions of every iteration.
#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
pub fn pbkdf2_sha256(
    secret: &[u8],
    salt: &[u8],
    iterations: u32,
    out_len: usize,
) -> Zeroizing<Vec<u8>> {
    type HmacSha256 = hmac::Hmac<sha2::Sha256>;
    let keyed = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("any key length");
    let mut out = Zeroizing::new(Vec::with_capacity(out_len));
    let mut block_index: u32 = 1;
    while out.len() < out_len {
        let mut mac = keyed.clone();
        mac.update(salt);
        mac.update(&block_index.to_be_bytes());
        let mut u = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
        let mut t = Zeroizing::new(*u);
        for _ in 1..iterations {
            let mut mac = keyed.clone();
            mac.update(u.as_slice());
            *u = mac.finalize().into_bytes().into();
            for (t, u) in t.iter_mut().zip(u.iter()) {
                *t ^= u;
            }
        }
        let take = (out_len - out.len()).min(32);
        out.extend_from_slice(&t[..take]);
        block_index += 1;
    }
    out
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
