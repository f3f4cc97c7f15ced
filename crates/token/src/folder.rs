//! The vault folder: one file per token, written atomically under a lock.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::device::{self, DeviceKeyError, DeviceKeyFile, ReadError};
use crate::record::TokenRecord;

/// What went wrong with the vault folder or one of its files.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The folder or a file could not be read or written.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A token file that does not parse or is inconsistent. It is left as it is.
    #[error(
        "the token file {path} cannot be read: {reason}. It has been left as it is; move it away or restore it from a backup"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No token matches what `--token` named.
    #[error("no token matches \"{0}\"; `latchkey-token list` shows the tokens there are")]
    NotFound(String),
    /// More than one token and no `--token`.
    #[error(
        "there are {0} tokens here; choose one with --token SERIAL_OR_LABEL (see `latchkey-token list`)"
    )]
    Ambiguous(usize),
    /// No token at all.
    #[error(
        "there is no token here yet; add one with `latchkey-token activate` or `latchkey-token import`"
    )]
    Empty,
    /// A token with this serial or id exists already.
    #[error("a token {0} is already in this vault")]
    Exists(String),
    /// No folder to keep tokens in.
    #[error("no vault folder: set LATCHKEY_TOKEN_HOME")]
    NoHome,
    /// A token file bound to a device key that is missing here or is
    /// another device's (S51). It is left as it is, and no attempt is counted.
    #[error("the token file {path} cannot be opened on this device: {reason}")]
    OtherDevice {
        /// The file.
        path: PathBuf,
        /// Which key it wants and where it was looked for.
        reason: ReadError,
    },
    /// The device key could not be used.
    #[error(transparent)]
    DeviceKey(#[from] DeviceKeyError),
}

impl VaultError {
    fn unreadable(path: PathBuf, error: ReadError) -> Self {
        match error {
            ReadError::Damaged(reason) => VaultError::Corrupt { path, reason },
            ReadError::DeviceKey(error) => VaultError::DeviceKey(error),
            reason => VaultError::OtherDevice { path, reason },
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A token file as found in the folder: its record, or why it cannot be read.
#[derive(Debug)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// The record, or the reason it could not be read.
    pub record: Result<TokenRecord, String>,
}

/// The folder that holds the tokens, and the device key its files are
/// bound to (kept outside it, see [`crate::device`]).
#[derive(Debug, Clone)]
pub struct VaultFolder {
    path: PathBuf,
    device_key: DeviceKeyFile,
}

/// Holds the folder's lock; released when dropped. Every read-modify-write
/// of a token happens under it, so that the command line and the desktop
/// program never write at once.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl VaultFolder {
    /// The folder at `path`, with the device key where
    /// [`DeviceKeyFile::default_location`] finds it.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, VaultError> {
        let key = DeviceKeyFile::default_location().ok_or(DeviceKeyError::NoPlace)?;
        VaultFolder::open_with_device_key(path, key)
    }

    /// The folder at `path`, created if missing and made private (0700)
    /// whatever the umask and whatever mode it had (L10), its files bound
    /// to the device key in `device_key`, which must be outside it.
    pub fn open_with_device_key(
        path: impl Into<PathBuf>,
        device_key: DeviceKeyFile,
    ) -> Result<Self, VaultError> {
        let path = path.into();
        if !path.is_dir() {
            fs::create_dir_all(&path).map_err(io(&path))?;
        }
        let mode = fs::metadata(&path).map_err(io(&path))?.permissions().mode();
        if mode & 0o777 != 0o700 {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).map_err(io(&path))?;
        }
        let inside = match (resolved(device_key.path()), path.canonicalize()) {
            (Some(key), Ok(folder)) => key.starts_with(folder),
            _ => false,
        };
        if inside {
            return Err(DeviceKeyError::InsideVault(device_key.path().to_owned()).into());
        }
        Ok(VaultFolder { path, device_key })
    }

    /// Where the device key of this folder's files is kept.
    pub fn device_key(&self) -> &DeviceKeyFile {
        &self.device_key
    }

    /// Reads a record as this folder stores it, or a plain one (a file
    /// `export-vault` or the phone app wrote): the plain record.
    pub fn parse(&self, bytes: &[u8]) -> Result<TokenRecord, ReadError> {
        device::read_stored(bytes, Some(&self.device_key))
    }

    /// `$LATCHKEY_TOKEN_HOME`, else `latchkey-token` in the platform's data folder.
    pub fn default_path() -> Result<PathBuf, VaultError> {
        match std::env::var_os("LATCHKEY_TOKEN_HOME") {
            Some(home) if !home.is_empty() => Ok(PathBuf::from(home)),
            _ => dirs::data_dir()
                .map(|dir| dir.join("latchkey-token"))
                .ok_or(VaultError::NoHome),
        }
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the folder's exclusive lock, waiting for another program to
    /// finish, and clears temporary files a crash may have left.
    pub fn lock(&self) -> Result<FolderLock, VaultError> {
        let path = self.path.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        // An older lock file may have been made with a looser mode (L10).
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        if let Ok(entries) = fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(".token-") && name.ends_with(".tmp") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(FolderLock { _file: file })
    }

    fn file_for(&self, id: &str) -> PathBuf {
        self.path.join(format!("token-{id}.json"))
    }

    /// Every token file, readable or not, in a stable order.
    pub fn entries(&self) -> Result<Vec<Entry>, VaultError> {
        let mut paths: Vec<PathBuf> = fs::read_dir(&self.path)
            .map_err(io(&self.path))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                name.starts_with("token-") && name.ends_with(".json")
            })
            .collect();
        paths.sort();
        Ok(paths
            .into_iter()
            .map(|path| Entry {
                record: self.read_record(&path).map_err(|e| e.to_string()),
                path,
            })
            .collect())
    }

    /// Loads the token `selector` names (serial, id or label), or the only
    /// token when there is one and no selector.
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    pub fn find(&self, selector: Option<&str>) -> Result<(PathBuf, TokenRecord), VaultError> {
        let entries = self.entries()?;
        let wanted: Vec<Entry> = match selector {
            None => entries,
            Some(name) => {
                let digits: String = name.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
                entries
                    .into_iter()
                    .filter(|e| match &e.record {
                        Ok(r) => {
                            r.id == name
                                || r.id == digits
                                || r.label == name
                                || r.display_name() == name
                        }
                        Err(_) => e.path.file_name().is_some_and(|f| {
                            let f = f.to_string_lossy();
                            f == format!("token-{name}.json") || f == format!("token-{digits}.json")
                        }),
                    })
                    .collect()
            }
        };
        match wanted.len() {
            0 => match selector {
                Some(name) => Err(VaultError::NotFound(name.to_owned())),
                None => Err(VaultError::Empty),
            },
            1 => {
                let entry = wanted.into_iter().next().expect("one entry");
                match entry.record {
                    Ok(record) => Ok((entry.path, record)),
                    // Read again for the reason's kind: damaged, or bound elsewhere.
                    Err(_) => match self.read_record(&entry.path) {
                        Ok(record) => Ok((entry.path, record)),
                        Err(error) => Err(VaultError::unreadable(entry.path, error)),
                    },
                }
            }
            n => Err(VaultError::Ambiguous(n)),
        }
    }

    /// Reads the token again under the lock, by id.
    pub fn reload(&self, _lock: &FolderLock, id: &str) -> Result<TokenRecord, VaultError> {
        let path = self.file_for(id);
        self.read_record(&path).map_err(|error| {
            if path.exists() {
                VaultError::unreadable(path.clone(), error)
            } else {
                VaultError::NotFound(id.to_owned())
            }
        })
    }

    /// Whether a file for this id exists, readable or not.
    pub fn contains(&self, id: &str) -> bool {
        self.file_for(id).exists()
    }

    /// Writes a token atomically, bound to the device key (made on first
    /// use): a temporary file in the same folder (mode 0600), fsync, rename
    /// over the old file, fsync the folder. A crash at any point leaves the
    /// old file or the new one. A version 1 file becomes a bound one here.
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    pub fn save(&self, _lock: &FolderLock, record: &TokenRecord) -> Result<(), VaultError> {
        let target = self.file_for(&record.id);
        let mut nonce = [0u8; 6];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let temp = self.path.join(format!(
            ".token-{}-{}.tmp",
            record.id,
            data_encoding::HEXLOWER.encode(&nonce)
        ));
        let key = self.device_key.load_or_create()?;
        let bound = device::bound_json(record, &key).ok_or_else(|| VaultError::Corrupt {
            path: target.clone(),
            reason: "one of its entries is damaged, so it was not written".into(),
        })?;
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec_pretty(&bound).expect("a record serialises"),
        );
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            let (head, tail) = bytes.split_at(bytes.len() / 2);
            file.write_all(head)?;
            crate::hooks::slow_write();
            file.write_all(tail)?;
            file.sync_all()?;
            drop(file);
            crate::hooks::slow_write();
            fs::rename(&temp, &target)?;
            File::open(&self.path)?.sync_all()
        })();
        result.map_err(|source| {
            let _ = fs::remove_file(&temp);
            VaultError::Io {
                path: target,
                source,
            }
        })
    }
}

/// `path` made absolute through its nearest existing ancestor, so that a
/// key file not made yet is placed as it will be.
fn resolved(path: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = at.canonicalize() {
            return Some(rest.iter().rev().fold(real, |whole, part| whole.join(part)));
        }
        rest.push(at.file_name()?.to_owned());
        at = at.parent()?;
    }
}

impl VaultFolder {
    fn read_record(&self, path: &Path) -> Result<TokenRecord, ReadError> {
        let bytes =
            zeroize::Zeroizing::new(fs::read(path).map_err(|e| ReadError::Damaged(e.to_string()))?);
        self.parse(&bytes)
    }
}
