//! The device key: 32 random bytes kept outside the vault folder, to which
//! every vault file this device writes is bound (SECURITY.md S51, finding M6).
//!
//! Why: one code the token once showed is a full verifier for a PIN guess,
//! so a copied vault file and one observed code give the PIN up to an
//! offline search of the PIN space. Bound, the file alone gives nothing:
//! every masked seed in it (the PIN's, each unlock slot's, the recovery
//! code's) is XORed once more with a pad that only the device key makes,
//! `HMAC-SHA-256(device key, "latchkey-device-pad-v1\0" || salt || block)`,
//! so that testing a PIN guess needs the 256-bit key as well.
//!
//! The pad needs no PIN. An old (version 1) file is therefore bound at its
//! next write, whatever PIN was typed, and `export-vault` writes the plain,
//! portable record back out bit for bit: no seed is ever re-masked on a PIN
//! that only passed the 10-bit check (I8).
//!
//! On disk a bound record says `"version": 2` and names its key by a short
//! id (`"device_key"`), so that a missing key and another device's key are
//! each reported as what they are, never as a wrong PIN, and no attempt is
//! counted for them. Version 1 stays the portable record the phone app and
//! `import-vault` / `export-vault` exchange; builds that know only version 1
//! refuse a bound file with a clear message instead of taking the right PIN
//! for a wrong one and locking the token.
//!
//! Where the key lives: `--device-key FILE` or `$LATCHKEY_DEVICE_KEY`, else
//! `latchkey/device.key` in the platform's state folder (`$XDG_STATE_HOME`,
//! `~/.local/state`), else in its local data folder; created on first use,
//! mode 0600 in a 0700 folder. Why a file and not the desktop keyring is in
//! `docs/tokens.md`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use data_encoding::HEXLOWER;
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

use crate::record::{Mask, TokenRecord, VERSION};

/// The version a record bound to a device key has on disk.
pub const BOUND_VERSION: u32 = 2;

/// The environment variable naming the device key file.
pub const DEVICE_KEY_ENV: &str = "LATCHKEY_DEVICE_KEY";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A device key. Redacted in `Debug`, wiped on drop.
pub struct DeviceKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

impl DeviceKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::Rng::fill_bytes(&mut rand::rng(), key.as_mut_slice());
        DeviceKey(key)
    }

    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as KeyInit>::new_from_slice(self.0.as_slice()).expect("any key length")
    }

    /// The key's name in the records bound to it: 8 bytes of an HMAC under
    /// the key, which tells keys apart and says nothing about the key.
    pub fn id(&self) -> String {
        let mut mac = self.mac();
        mac.update(b"latchkey-device-key-id-v1\0");
        HEXLOWER.encode(&mac.finalize().into_bytes()[..8])
    }

    /// The pad a mask with this salt is XORed with, `len` bytes long.
    fn pad(&self, salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
        let mut pad = Zeroizing::new(Vec::with_capacity(len + 32));
        let mut block: u8 = 0;
        while pad.len() < len {
            let mut mac = self.mac();
            mac.update(b"latchkey-device-pad-v1\0");
            mac.update(salt);
            mac.update(&[block]);
            pad.extend_from_slice(&mac.finalize().into_bytes());
            block = block.wrapping_add(1);
        }
        pad.truncate(len);
        pad
    }

    /// XORs the mask's masked seed with this key's pad: binds a plain mask,
    /// and unbinds a bound one. `None` if the mask's hex is damaged.
    fn toggle(&self, mask: &mut Mask) -> Option<()> {
        let salt = HEXLOWER.decode(mask.salt.as_bytes()).ok()?;
        let mut masked = Zeroizing::new(HEXLOWER.decode(mask.masked_seed.as_bytes()).ok()?);
        let pad = self.pad(&salt, masked.len());
        for (byte, pad) in masked.iter_mut().zip(pad.iter()) {
            *byte ^= pad;
        }
        mask.masked_seed = HEXLOWER.encode(&masked);
        Some(())
    }

    /// Every mask of a record: the PIN's, the slots', the recovery code's.
    fn toggle_all(&self, record: &mut TokenRecord) -> Option<()> {
        self.toggle(&mut record.pin)?;
        for slot in &mut record.slots {
            self.toggle(&mut slot.mask)?;
        }
        if let Some(recovery) = &mut record.recovery {
            self.toggle(recovery)?;
        }
        Some(())
    }
}

/// Why the device key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceKeyError {
    /// The file or its folder could not be read or written.
    #[error("cannot use the device key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file holds something other than a key.
    #[error(
        "the device key {0} is damaged (it should hold 64 hexadecimal digits); restore it from a backup"
    )]
    Malformed(PathBuf),
    /// No folder to keep the key in.
    #[error("no place for the device key: set {DEVICE_KEY_ENV} to a file outside the vault folder")]
    NoPlace,
    /// The key would sit beside the tokens it is meant to protect.
    #[error(
        "the device key {0} is inside the vault folder, where a copy of the vault would take it along; keep it outside"
    )]
    InsideVault(PathBuf),
}

/// Where a device key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKeyFile {
    path: PathBuf,
}

impl DeviceKeyFile {
    /// The key file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        DeviceKeyFile { path: path.into() }
    }

    /// `$LATCHKEY_DEVICE_KEY`, else `latchkey/device.key` in the platform's
    /// state folder, else in its local data folder.
    pub fn default_location() -> Option<Self> {
        match std::env::var_os(DEVICE_KEY_ENV) {
            Some(path) if !path.is_empty() => Some(DeviceKeyFile::at(path)),
            _ => dirs::state_dir()
                .or_else(dirs::data_local_dir)
                .map(|dir| DeviceKeyFile::at(dir.join("latchkey").join("device.key"))),
        }
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> DeviceKeyError + '_ {
        move |source| DeviceKeyError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The key, or `None` if there is no key file yet. Never creates one:
    /// a bound record read without its key must say so, not meet a new key.
    pub fn load(&self) -> Result<Option<DeviceKey>, DeviceKeyError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => Zeroizing::new(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.io()(error)),
        };
        let bytes = Zeroizing::new(
            HEXLOWER
                .decode(text.trim().as_bytes())
                .map_err(|_| DeviceKeyError::Malformed(self.path.clone()))?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DeviceKeyError::Malformed(self.path.clone()))?;
        // A key file someone made readable to others is made private again.
        if let Ok(meta) = fs::metadata(&self.path)
            && meta.permissions().mode() & 0o077 != 0
        {
            fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600))
                .map_err(self.io())?;
        }
        Ok(Some(DeviceKey(Zeroizing::new(key))))
    }

    /// The key, made first if there is none: written to a temporary file
    /// (0600) and linked into place, so that two programs starting at once
    /// agree on one key and nobody reads a half-written one.
    pub fn load_or_create(&self) -> Result<DeviceKey, DeviceKeyError> {
        if let Some(key) = self.load()? {
            return Ok(key);
        }
        let folder = self.path.parent().ok_or(DeviceKeyError::NoPlace)?;
        if !folder.is_dir() {
            fs::create_dir_all(folder).map_err(self.io())?;
            fs::set_permissions(folder, fs::Permissions::from_mode(0o700)).map_err(self.io())?;
        }
        let key = DeviceKey::generate();
        let mut nonce = [0u8; 6];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let temp = folder.join(format!(".device-key-{}.tmp", HEXLOWER.encode(&nonce)));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            let text = Zeroizing::new(format!("{}\n", HEXLOWER.encode(key.0.as_slice())));
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            match fs::hard_link(&temp, &self.path) {
                Ok(()) => Ok(true),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(error) => Err(error),
            }
        })();
        let _ = fs::remove_file(&temp);
        match written.map_err(self.io())? {
            true => {
                let _ = File::open(folder).and_then(|dir| dir.sync_all());
                Ok(key)
            }
            // Another program made one first: that one is the device's key.
            false => self
                .load()?
                .ok_or(DeviceKeyError::Malformed(self.path.clone())),
        }
    }
}

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// It does not parse or is inconsistent.
    #[error("{0}")]
    Damaged(String),
    /// It is bound to a device key, and there is none here.
    #[error(
        "it is bound to the device it was written on, and that device's key is missing here{}: a copied vault does not open without it. On the original device, `latchkey-token export-vault FILE` writes a copy that another device can import; if this is the original device, restore the key file from a backup",
        key_at(.0.as_deref())
    )]
    DeviceKeyMissing(Option<PathBuf>),
    /// It is bound to another device key than this device's.
    #[error(
        "it is bound to another device's key than the one here{}: a copied vault does not open with another key. On the original device, `latchkey-token export-vault FILE` writes a copy that this device can import",
        key_at(.0.as_deref())
    )]
    OtherDevice(Option<PathBuf>),
    /// The device key could not be read.
    #[error(transparent)]
    DeviceKey(#[from] DeviceKeyError),
}

fn key_at(path: Option<&Path>) -> String {
    path.map(|path| format!(" (looked for at {})", path.display()))
        .unwrap_or_default()
}

/// Parses a record as stored: a version 1 record as it is, a bound one
/// (version 2) unbound with the key in `key_file`. Either way the result is
/// the plain record, checked as every record is.
pub fn read_stored(
    bytes: &[u8],
    key_file: Option<&DeviceKeyFile>,
) -> Result<TokenRecord, ReadError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ReadError::Damaged(format!("it does not parse ({e})")))?;
    let key_id = match value.as_object_mut() {
        Some(object) => object.remove("device_key"),
        None => return Err(ReadError::Damaged("it is not a token record".into())),
    };
    let mut record: TokenRecord = serde_json::from_value(value)
        .map_err(|e| ReadError::Damaged(format!("it does not parse ({e})")))?;
    match (record.version, key_id) {
        (VERSION, None) => {}
        (BOUND_VERSION, Some(serde_json::Value::String(wanted))) => {
            let path = key_file.map(|file| file.path().to_owned());
            let key = match key_file {
                Some(file) => file.load()?,
                None => None,
            }
            .ok_or_else(|| ReadError::DeviceKeyMissing(path.clone()))?;
            if key.id() != wanted {
                return Err(ReadError::OtherDevice(path));
            }
            key.toggle_all(&mut record)
                .ok_or_else(|| ReadError::Damaged("one of its entries is damaged".into()))?;
            record.version = VERSION;
        }
        (VERSION | BOUND_VERSION, _) => {
            return Err(ReadError::Damaged(
                "its device binding is damaged (the version and the device key disagree)".into(),
            ));
        }
        (other, _) => {
            return Err(ReadError::Damaged(format!(
                "it has vault format version {other}, and this program reads versions {VERSION} and {BOUND_VERSION}"
            )));
        }
    }
    record.check_well_formed().map_err(ReadError::Damaged)?;
    Ok(record)
}

/// The record as this device stores it: every mask bound to `key`,
/// version 2, the key's id beside. `None` if a mask's hex is damaged.
pub fn bound_json(record: &TokenRecord, key: &DeviceKey) -> Option<serde_json::Value> {
    let mut bound = record.clone();
    key.toggle_all(&mut bound)?;
    bound.version = BOUND_VERSION;
    let mut value = serde_json::to_value(&bound).ok()?;
    value
        .as_object_mut()?
        .insert("device_key".into(), key.id().into());
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pad_depends_on_key_and_salt_and_toggling_twice_restores_the_mask() {
        let key = DeviceKey::generate();
        let other = DeviceKey::generate();
        assert_ne!(key.pad(b"salt-one", 40), key.pad(b"salt-two", 40));
        assert_ne!(key.pad(b"salt-one", 40), other.pad(b"salt-one", 40));
        assert_eq!(key.pad(b"salt-one", 40).len(), 40);
        assert_ne!(key.id(), other.id());
        let mut mask = Mask {
            salt: "00112233445566778899aabbccddeeff".into(),
            masked_seed: "ab".repeat(32),
            check: 7,
        };
        let plain = mask.masked_seed.clone();
        key.toggle(&mut mask).unwrap();
        assert_ne!(mask.masked_seed, plain);
        key.toggle(&mut mask).unwrap();
        assert_eq!(mask.masked_seed, plain);
        assert_eq!(format!("{key:?}"), "DeviceKey(<redacted>)");
    }
}
