//! One token as it is stored: parameters, the masked seed, unlock slots.
//!
//! What is on disk is worth little to someone who copies it: the seed only
//! masked (`seed XOR Argon2id(PIN, salt)`), and beside it a check value of
//! 10 bits, so that about one wrong PIN in a thousand looks right and a
//! brute force leaves a thousand equally plausible seeds. The unlock slots
//! mask the same seed under Argon2id of unlock codes the app never stores.

use data_encoding::HEXLOWER;
use latchkey_oath::{Algorithm, Digits, Hotp, ResetCode, Secret, Totp};
use rand::Rng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::kdf::{self, KdfParams};
use crate::pin::PinPolicy;

/// The marker in every vault file's `format` field.
pub const FORMAT: &str = "latchkey-token-vault";
/// The version of the plain record: what `export-vault` writes and the
/// phone app reads. A vault file on disk is this record bound to the
/// device key, version [`crate::device::BOUND_VERSION`].
pub const VERSION: u32 = 1;
/// Bits of the PIN check value: a wrong PIN passes it once in 1,024 tries.
pub const PIN_CHECK_BITS: u32 = 10;
/// Bits of an unlock slot's or recovery code's check value. Those codes are
/// far too many to guess, so their check may be exact.
pub const CODE_CHECK_BITS: u32 = 32;
/// How many unlock slots activation makes unless the server says otherwise.
pub const DEFAULT_UNLOCK_SLOTS: usize = 10;
/// From this many slots left on, the app warns that they are running out.
pub const FEW_SLOTS: usize = 3;

/// The one-time password a token makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OtpParams {
    /// Time-based.
    Totp {
        /// Hash function name (SHA1, SHA256, SHA512).
        algorithm: HashName,
        /// Digits per code.
        digits: u8,
        /// Seconds per step.
        period: u64,
    },
    /// Counter-based; the counter moves on every code shown.
    Hotp {
        /// Hash function name.
        algorithm: HashName,
        /// Digits per code.
        digits: u8,
        /// The next counter value.
        counter: u64,
    },
}

/// A hash function, written by name in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HashName(pub Algorithm);

impl TryFrom<String> for HashName {
    type Error = latchkey_oath::ParamError;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse().map(HashName)
    }
}

impl From<HashName> for String {
    fn from(name: HashName) -> String {
        name.0.name().to_owned()
    }
}

/// A seed masked under one secret: the salt, the masked bytes, the check value.
#[derive(Clone, Serialize, Deserialize)]
pub struct Mask {
    /// The key derivation's salt, hex.
    pub salt: String,
    /// `seed XOR mask`, hex.
    pub masked_seed: String,
    /// The first bits of the keyed HMAC of the seed.
    pub check: u32,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mask(<redacted>)")
    }
}

impl Mask {
    /// Masks `seed` under `secret` with a fresh random salt.
    pub fn seal(params: &KdfParams, secret: &[u8], seed: &[u8], check_bits: u32) -> Mask {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let derived = kdf::derive(params, secret, &salt, seed.len());
        let masked: Zeroizing<Vec<u8>> = Zeroizing::new(
            seed.iter()
                .zip(derived.mask.iter())
                .map(|(s, m)| s ^ m)
                .collect(),
        );
        Mask {
            salt: HEXLOWER.encode(&salt),
            masked_seed: HEXLOWER.encode(&masked),
            check: kdf::check_value(&derived.check_key, seed, check_bits),
        }
    }

    /// The seed this mask gives under `secret` if its check value agrees.
    /// With a 10-bit check a wrong secret passes once in 1,024 tries: the
    /// seed it gives is then wrong, and the server will refuse its codes.
    pub fn open(&self, params: &KdfParams, secret: &[u8], check_bits: u32) -> Option<Secret> {
        let salt = HEXLOWER.decode(self.salt.as_bytes()).ok()?;
        let masked = Zeroizing::new(HEXLOWER.decode(self.masked_seed.as_bytes()).ok()?);
        let derived = kdf::derive(params, secret, &salt, masked.len());
        let seed = Secret::from_bytes(
            masked
                .iter()
                .zip(derived.mask.iter())
                .map(|(s, m)| s ^ m)
                .collect::<Vec<u8>>(),
        );
        let check = kdf::check_value(&derived.check_key, seed.expose(), check_bits);
        bool::from(check.ct_eq(&self.check)).then_some(seed)
    }

    fn is_well_formed(&self, seed_len: usize) -> bool {
        let salt_ok = HEXLOWER
            .decode(self.salt.as_bytes())
            .is_ok_and(|s| s.len() >= 8);
        let seed_ok = HEXLOWER
            .decode(self.masked_seed.as_bytes())
            .is_ok_and(|s| s.len() == seed_len);
        salt_ok && seed_ok
    }
}

/// One unlock slot: a PIN Reset Code shown to the user, and the seed masked
/// under the unlock code the server derives from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slot {
    /// The PIN Reset Code, 12 digits.
    pub reset_code: String,
    /// The seed under KDF(unlock code).
    pub mask: Mask,
}

/// One token, as stored in its vault file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The serial for server tokens; a local id for imported ones.
    pub id: String,
    /// The serial the server knows the token by (none for imported tokens).
    pub serial: Option<String>,
    /// The account name.
    pub label: String,
    /// Who issued the token.
    pub issuer: Option<String>,
    /// The server the token was activated against.
    pub server: Option<String>,
    /// What codes the token makes.
    pub otp: OtpParams,
    /// The key derivation (Argon2id or PBKDF2) of every mask in this record.
    pub kdf: KdfParams,
    /// The seed length in bytes.
    pub seed_len: usize,
    /// The seed under the PIN.
    pub pin: Mask,
    /// The PIN policy from the server (or the default).
    pub policy: PinPolicy,
    /// Wrong PINs in a row, counted before each check.
    pub failures: u32,
    /// Unlock slots, the one in use first.
    pub slots: Vec<Slot>,
    /// For imported tokens: the seed under the printed recovery code.
    pub recovery: Option<Mask>,
}

/// Whether a token opens with its PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Opens with the right PIN.
    Active,
    /// Too many wrong PINs: refuses every PIN until unlocked.
    Locked,
}

impl TokenRecord {
    /// Parses a vault file's bytes and checks the record is consistent;
    /// the reason if not. A record bound to a device key (as a vault file on disk is, S51)
    /// is read with this device's key, where
    /// [`crate::device::DeviceKeyFile::default_location`] finds it, and
    /// comes back plain; one bound to another device's key is refused.
    pub fn from_json(bytes: &[u8]) -> Result<TokenRecord, String> {
        let key_file = crate::device::DeviceKeyFile::default_location();
        crate::device::read_stored(bytes, key_file.as_ref()).map_err(|e| e.to_string())
    }

    /// Whether the record is complete and consistent; the reason if not.
    pub fn check_well_formed(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err("it is not a Latchkey token vault".into());
        }
        if self.version != VERSION {
            return Err(format!(
                "it has vault format version {}, and this program reads version {VERSION}",
                self.version
            ));
        }
        if !self.kdf.is_valid() {
            return Err(format!(
                "its key-derivation parameters are out of range (Argon2id takes at most {} MiB, \
                 {} passes and {} lanes; PBKDF2 {} to {} iterations)",
                crate::kdf::ARGON2_MAX_M_COST / 1024,
                crate::kdf::ARGON2_MAX_T_COST,
                crate::kdf::ARGON2_MAX_P_COST,
                crate::kdf::PBKDF2_MIN_ITERATIONS,
                crate::kdf::PBKDF2_MAX_ITERATIONS,
            ));
        }
        // Seeds from the server are at least 128 bits; imported ones may be
        // shorter (some services still hand out 80-bit secrets).
        let shortest = if self.recovery.is_some() { 1 } else { 16 };
        if !(shortest..=128).contains(&self.seed_len) {
            return Err("its seed length is out of range".into());
        }
        let (OtpParams::Totp {
            algorithm: _,
            digits,
            ..
        }
        | OtpParams::Hotp {
            algorithm: _,
            digits,
            ..
        }) = self.otp;
        if Digits::new(digits).is_err() || matches!(self.otp, OtpParams::Totp { period: 0, .. }) {
            return Err("its one-time password parameters are out of range".into());
        }
        if !self.pin.is_well_formed(self.seed_len) {
            return Err("its PIN entry is damaged".into());
        }
        for slot in &self.slots {
            if slot.reset_code.parse::<ResetCode>().is_err()
                || !slot.mask.is_well_formed(self.seed_len)
            {
                return Err("one of its unlock slots is damaged".into());
            }
        }
        if self
            .recovery
            .as_ref()
            .is_some_and(|r| !r.is_well_formed(self.seed_len))
        {
            return Err("its recovery entry is damaged".into());
        }
        if self.policy.max_failures == 0 {
            return Err("its PIN policy is out of range".into());
        }
        Ok(())
    }

    /// Active or locked.
    pub fn state(&self) -> TokenState {
        if self.failures >= self.policy.max_failures {
            TokenState::Locked
        } else {
            TokenState::Active
        }
    }

    /// Wrong PINs still allowed before the token locks.
    pub fn attempts_left(&self) -> u32 {
        self.policy.max_failures.saturating_sub(self.failures)
    }

    /// The PIN Reset Code of the slot in use, if any slot is left.
    pub fn reset_code(&self) -> Option<ResetCode> {
        self.slots
            .first()
            .and_then(|slot| slot.reset_code.parse().ok())
    }

    /// The portal's unlock page for this token's PIN Reset Code, with the
    /// serial and the code filled in (`…/self-service/unlock?serial=…&reset_code=…`),
    /// so the code the locked token shows is not typed by hand. A reset
    /// code is no secret: the page yields an unlock code only to a
    /// recovery sign-in. `None` without a server, a serial or a slot.
    pub fn unlock_page_link(&self) -> Option<String> {
        let server = self.server.as_deref()?;
        let serial = self.serial.as_deref()?;
        let reset_code = self.reset_code()?;
        // Joined below the server's own path, so a portal under a prefix keeps it.
        let base = format!("{}/", server.trim_end_matches('/'));
        let mut page = url::Url::parse(&base)
            .ok()?
            .join("self-service/unlock")
            .ok()?;
        page.query_pairs_mut()
            .append_pair("serial", serial)
            .append_pair("reset_code", &reset_code.grouped());
        Some(page.into())
    }

    /// The name people see: `Issuer: label` or the label alone.
    pub fn display_name(&self) -> String {
        match &self.issuer {
            Some(issuer) => format!("{issuer}: {}", self.label),
            None => self.label.clone(),
        }
    }

    /// The generator for this token's codes, given its seed.
    pub fn generator(&self, seed: Secret) -> Result<Generator, latchkey_oath::ParamError> {
        match self.otp {
            OtpParams::Totp {
                algorithm,
                digits,
                period,
            } => Totp::new(seed, algorithm.0, Digits::new(digits)?, period).map(Generator::Totp),
            OtpParams::Hotp {
                algorithm,
                digits,
                counter,
            } => Hotp::new(seed, algorithm.0, Digits::new(digits)?)
                .map(|hotp| Generator::Hotp(hotp, counter)),
        }
    }
}

/// A token's opened code generator.
#[derive(Debug)]
pub enum Generator {
    /// Time-based.
    Totp(Totp),
    /// Counter-based, with the counter of the next code.
    Hotp(Hotp, u64),
}
