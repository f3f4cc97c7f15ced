//! What a person does with a token, each as one operation over the vault
//! folder. The command line and the desktop program are thin callers.

use latchkey_oath::{
    Algorithm, Digits, KeyUri, OtpKind, ResetCode, Secret, Serial, UnlockCode, UnlockSecret,
    tagged_reset_code, unlock_code,
};

use crate::client::{self, Activation, ClientError};
use crate::folder::{VaultError, VaultFolder};
use crate::kdf::KdfParams;
use crate::pin::{Pin, PinPolicy, PinPolicyError, check_policy};
use crate::record::{
    CODE_CHECK_BITS, DEFAULT_UNLOCK_SLOTS, FORMAT, Generator, HashName, Mask, OtpParams,
    PIN_CHECK_BITS, Slot, TokenRecord, TokenState, VERSION,
};

/// Why a token did not open with a PIN.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Locked: every PIN is refused until the token is unlocked.
    #[error("this token is locked")]
    Locked {
        /// The PIN Reset Code to give the portal or the help desk.
        reset_code: Option<ResetCode>,
        /// Whether the token was imported (and so unlocks with its recovery code).
        imported: bool,
    },
    /// The PIN is wrong.
    #[error("incorrect PIN")]
    WrongPin {
        /// Wrong PINs still allowed before the token locks.
        attempts_left: u32,
    },
    /// The vault could not be used.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The stored parameters are unusable.
    #[error("the token's parameters are unusable: {0}")]
    Params(#[from] latchkey_oath::ParamError),
}

/// A code shown to the user.
#[derive(Debug)]
pub struct ShownCode {
    /// The one-time password.
    pub code: zeroize::Zeroizing<String>,
    /// Seconds until it changes (TOTP), if it changes with time.
    pub seconds_left: Option<u64>,
}

/// Opens the token with `pin` and returns its current code. The attempt is
/// counted on disk before the PIN is checked (so killing the program during
/// the check gains nothing) and cleared when the PIN is right.
pub fn current_code(
    folder: &VaultFolder,
    selector: Option<&str>,
    pin: &Pin,
    unix_time: u64,
) -> Result<ShownCode, OpenError> {
    let lock = folder.lock()?;
    let (_, mut record) = folder.find(selector)?;
    let seed = open_counted(folder, &lock, &mut record, pin)?;
    let generator = record.generator(seed)?;
    let shown = match generator {
        Generator::Totp(totp) => ShownCode {
            code: totp.generate(unix_time).into(),
            seconds_left: Some(totp.seconds_left(unix_time)),
        },
        Generator::Hotp(hotp, counter) => {
            if let OtpParams::Hotp {
                counter: stored, ..
            } = &mut record.otp
            {
                *stored = counter.saturating_add(1);
            }
            ShownCode {
                code: hotp.generate(counter).into(),
                seconds_left: None,
            }
        }
    };
    record.failures = 0;
    folder.save(&lock, &record)?;
    Ok(shown)
}

/// Counts the attempt, checks the PIN, and returns the seed. On success the
/// caller saves the record with `failures` cleared.
fn open_counted(
    folder: &VaultFolder,
    lock: &crate::folder::FolderLock,
    record: &mut TokenRecord,
    pin: &Pin,
) -> Result<Secret, OpenError> {
    if record.state() == TokenState::Locked {
        return Err(locked(record));
    }
    record.failures += 1;
    folder.save(lock, record)?;
    crate::hooks::after_attempt_counted();
    match record.pin.open(&record.kdf, pin.expose(), PIN_CHECK_BITS) {
        Some(seed) => Ok(seed),
        None if record.state() == TokenState::Locked => Err(locked(record)),
        None => Err(OpenError::WrongPin {
            attempts_left: record.attempts_left(),
        }),
    }
}

fn locked(record: &TokenRecord) -> OpenError {
    OpenError::Locked {
        reset_code: record.reset_code(),
        imported: record.recovery.is_some(),
    }
}

/// What "Forgot PIN" shows: the PIN Reset Code of the slot in use. Nothing changes.
pub fn forgot_pin(folder: &VaultFolder, selector: Option<&str>) -> Result<TokenRecord, VaultError> {
    folder.find(selector).map(|(_, record)| record)
}

/// Why an unlock did not go through.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// The code does not open this token's current slot.
    #[error("that unlock code does not match this token and its PIN Reset Code")]
    WrongCode,
    /// No unlock slot is left; the token must be activated again.
    #[error(
        "this token has no unlock codes left; ask for a new activation code and run `latchkey-token activate`"
    )]
    NoSlots,
    /// The new PIN was refused.
    #[error("{0}")]
    Policy(#[from] PinPolicyError),
    /// The vault could not be used.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// What an unlock leaves behind.
#[derive(Debug)]
pub struct Unlocked {
    /// Unlock slots still left (server tokens).
    pub slots_left: usize,
    /// A new recovery code, for imported tokens: the old one is spent.
    pub new_recovery_code: Option<UnlockCode>,
}

fn open_with_code(record: &TokenRecord, code: &UnlockCode) -> Result<Secret, UnlockError> {
    let mask = match (&record.recovery, record.slots.first()) {
        (Some(recovery), _) => recovery,
        (None, Some(slot)) => &slot.mask,
        (None, None) => return Err(UnlockError::NoSlots),
    };
    mask.open(&record.kdf, code.digits().as_bytes(), CODE_CHECK_BITS)
        .ok_or(UnlockError::WrongCode)
}

/// Checks an unlock (or recovery) code without changing anything, so that a
/// wrong code is reported before the user chooses a new PIN.
pub fn check_unlock_code(
    folder: &VaultFolder,
    selector: Option<&str>,
    code: &UnlockCode,
) -> Result<TokenRecord, UnlockError> {
    let (_, record) = folder.find(selector)?;
    open_with_code(&record, code)?;
    Ok(record)
}

/// Opens the token with an unlock code and sets a new PIN: the new PIN mask,
/// the spent slot removed and the failure count cleared go in one atomic write.
pub fn unlock(
    folder: &VaultFolder,
    selector: Option<&str>,
    code: &UnlockCode,
    new_pin: &Pin,
) -> Result<Unlocked, UnlockError> {
    let lock = folder.lock()?;
    let (_, mut record) = folder.find(selector)?;
    let seed = open_with_code(&record, code)?;
    check_policy(
        std::str::from_utf8(new_pin.expose()).unwrap_or(""),
        &record.policy,
    )?;
    set_pin(&mut record, &seed, new_pin);
    let mut new_recovery_code = None;
    if record.recovery.is_some() {
        let fresh = UnlockCode::generate();
        record.recovery = Some(Mask::seal(
            &record.kdf,
            fresh.digits().as_bytes(),
            seed.expose(),
            CODE_CHECK_BITS,
        ));
        new_recovery_code = Some(fresh);
    } else {
        record.slots.remove(0);
    }
    record.failures = 0;
    folder.save(&lock, &record)?;
    Ok(Unlocked {
        slots_left: record.slots.len(),
        new_recovery_code,
    })
}

/// Masks the seed under a new PIN. Every mask in a record shares the
/// record's Argon2id parameters, so the new one uses them too.
fn set_pin(record: &mut TokenRecord, seed: &Secret, new_pin: &Pin) {
    record.pin = Mask::seal(&record.kdf, new_pin.expose(), seed.expose(), PIN_CHECK_BITS);
}

/// Why a PIN change did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ChangePinError {
    /// The current PIN did not open the token.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The new PIN was refused.
    #[error("{0}")]
    Policy(#[from] PinPolicyError),
    /// The server did not confirm the seed the current PIN opened (I8): the
    /// PIN may be a wrong one that passed the quick check, or the server
    /// could not be asked. Nothing was changed.
    #[error(
        "the PIN is unchanged: the server did not confirm the code this PIN makes ({0}). If the PIN was right, the code may have been used already: wait for the next one and try again"
    )]
    Unconfirmed(EnrolError),
}

/// Changes the PIN: the current one must open the token (counted like any
/// attempt). A wrong PIN passes the vault's 10-bit check once in 1,024
/// tries, and masking the seed it gives under the new PIN would lose the
/// token (I8); so for a token from a server the seed is proven first, by
/// the server accepting the code it makes (a refresh, which brings a new set
/// of unlock slots too), and the new PIN, the new slots and the cleared
/// count go in one write. Until then the attempt stays counted and nothing
/// is re-masked. An imported token has no server to ask; its recovery code
/// repairs a PIN change made with such a PIN. Returns the new slot count
/// (0 for an imported token).
pub fn change_pin(
    folder: &VaultFolder,
    selector: Option<&str>,
    current: &Pin,
    new_pin: &Pin,
    unix_time: u64,
) -> Result<usize, ChangePinError> {
    let lock = folder.lock().map_err(OpenError::from)?;
    let (_, mut record) = folder.find(selector).map_err(OpenError::from)?;
    check_policy(
        std::str::from_utf8(new_pin.expose()).unwrap_or(""),
        &record.policy,
    )?;
    let seed = open_counted(folder, &lock, &mut record, current)?;
    if record.recovery.is_none() {
        let (serial, server) = server_of(&record).map_err(ChangePinError::Unconfirmed)?;
        renew_slots(
            folder,
            &lock,
            &mut record,
            &seed,
            &serial,
            &server,
            unix_time,
        )
        .map_err(ChangePinError::Unconfirmed)?;
    }
    set_pin(&mut record, &seed, new_pin);
    record.failures = 0;
    folder.save(&lock, &record).map_err(OpenError::from)?;
    Ok(if record.recovery.is_none() {
        record.slots.len()
    } else {
        0
    })
}

/// Why an activation, import or refresh did not go through.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The server could not be used.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The vault could not be used.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The PIN was refused by the token's policy.
    #[error("{0}")]
    Policy(#[from] PinPolicyError),
    /// The token's parameters are unusable.
    #[error("the token's parameters are unusable: {0}")]
    Params(String),
    /// The key URI is malformed.
    #[error("{0}")]
    Uri(#[from] latchkey_oath::KeyUriError),
    /// The PIN did not open the token (refresh).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Imported tokens have no server to refresh from.
    #[error(
        "this token was imported and has no server; its recovery code stands in for unlock codes"
    )]
    NoServer,
}

fn otp_params(description: &client::OtpDescription) -> Result<OtpParams, EnrolError> {
    let algorithm: Algorithm = description
        .algorithm
        .parse()
        .map_err(|e: latchkey_oath::ParamError| EnrolError::Params(e.to_string()))?;
    let digits = Digits::new(description.digits)
        .map_err(|e| EnrolError::Params(e.to_string()))?
        .get();
    match description.kind.as_str() {
        "totp" => {
            let period = description.period.unwrap_or(30);
            if period == 0 {
                return Err(EnrolError::Params("a zero period".into()));
            }
            Ok(OtpParams::Totp {
                algorithm: HashName(algorithm),
                digits,
                period,
            })
        }
        "hotp" => Ok(OtpParams::Hotp {
            algorithm: HashName(algorithm),
            digits,
            counter: description.counter.unwrap_or(0),
        }),
        other => Err(EnrolError::Params(format!("unknown kind {other}"))),
    }
}

/// `count` unlock slots from unlock-secret generation `generation`: each
/// reset code names the generation (S45), so the server knows which secret
/// answers it.
fn make_slots(
    kdf: &KdfParams,
    unlock_secret: &UnlockSecret,
    generation: u64,
    serial: &Serial,
    seed: &Secret,
    count: usize,
) -> Vec<Slot> {
    (0..count)
        .map(|_| {
            let reset = tagged_reset_code(generation);
            let unlock = unlock_code(unlock_secret, serial, &reset);
            Slot {
                reset_code: reset.digits().to_owned(),
                mask: Mask::seal(
                    kdf,
                    unlock.digits().as_bytes(),
                    seed.expose(),
                    CODE_CHECK_BITS,
                ),
            }
        })
        .collect()
}

/// Builds the vault record for an activation the server answered.
pub fn record_from_activation(
    activation: &Activation,
    server: &str,
    pin: &Pin,
    kdf: &KdfParams,
) -> Result<TokenRecord, EnrolError> {
    let policy = PinPolicy {
        max_failures: activation.policy.max_pin_failures,
        min_length: activation.policy.min_pin_length,
    };
    check_policy(std::str::from_utf8(pin.expose()).unwrap_or(""), &policy)?;
    let slot_count = if activation.policy.unlock_slots == 0 {
        DEFAULT_UNLOCK_SLOTS
    } else {
        activation.policy.unlock_slots
    };
    Ok(TokenRecord {
        format: FORMAT.into(),
        version: VERSION,
        id: activation.serial.digits().to_owned(),
        serial: Some(activation.serial.digits().to_owned()),
        label: activation.label.clone(),
        issuer: activation.issuer.clone(),
        server: Some(server.trim().trim_end_matches('/').to_owned()),
        otp: otp_params(&activation.otp)?,
        kdf: *kdf,
        seed_len: activation.secret.len(),
        pin: Mask::seal(
            kdf,
            pin.expose(),
            activation.secret.expose(),
            PIN_CHECK_BITS,
        ),
        policy,
        failures: 0,
        // Activation hands out generation 0, the secret issued with the token.
        slots: make_slots(
            kdf,
            &activation.unlock_secret,
            0,
            &activation.serial,
            &activation.secret,
            slot_count,
        ),
        recovery: None,
    })
}

/// Activates a token online and stores it. The unlock secret is used to
/// make the slots and then dropped (and wiped); it never reaches the disk.
/// A PIN the server's policy refuses (it asks for more digits than the
/// default) fails the activation, whose code is then spent: callers that
/// can ask again use [`activate_choosing_again`].
pub fn activate(
    folder: &VaultFolder,
    server: &str,
    serial: &Serial,
    code: &latchkey_oath::ActivationCode,
    pin: &Pin,
) -> Result<TokenRecord, EnrolError> {
    activate_choosing_again(folder, server, serial, code, pin, &mut |_, _| None)
}

/// As [`activate`], but when the server's PIN policy (known only from its
/// answer) refuses `pin`, `choose_again` is given the policy and the reason
/// and may return another PIN, as often as it likes; `None` gives up. The
/// activation code is single-use, so this is the one moment to ask.
pub fn activate_choosing_again(
    folder: &VaultFolder,
    server: &str,
    serial: &Serial,
    code: &latchkey_oath::ActivationCode,
    pin: &Pin,
    choose_again: &mut dyn FnMut(&PinPolicy, &PinPolicyError) -> Option<Pin>,
) -> Result<TokenRecord, EnrolError> {
    // Refuse before spending the single-use activation code.
    if folder.contains(serial.digits()) {
        return Err(VaultError::Exists(serial.to_string()).into());
    }
    check_policy(
        std::str::from_utf8(pin.expose()).unwrap_or(""),
        &PinPolicy::default(),
    )?;
    let activation = client::activate(server, serial, code)?;
    let policy = PinPolicy {
        max_failures: activation.policy.max_pin_failures,
        min_length: activation.policy.min_pin_length,
    };
    let mut pin = pin.clone();
    let kdf = KdfParams::for_new_entries();
    let record = loop {
        match record_from_activation(&activation, server, &pin, &kdf) {
            Err(EnrolError::Policy(reason)) => match choose_again(&policy, &reason) {
                Some(again) => pin = again,
                None => return Err(EnrolError::Policy(reason)),
            },
            other => break other?,
        }
    };
    let lock = folder.lock()?;
    if folder.contains(&record.id) {
        return Err(VaultError::Exists(serial.to_string()).into());
    }
    folder.save(&lock, &record)?;
    Ok(record)
}

/// Imports a token from an `otpauth://` URI. Returns the record and its
/// recovery code, which is shown once and never stored.
pub fn import(
    folder: &VaultFolder,
    uri: &str,
    pin: &Pin,
) -> Result<(TokenRecord, UnlockCode), EnrolError> {
    let key = KeyUri::parse(uri)?;
    let policy = PinPolicy::default();
    check_policy(std::str::from_utf8(pin.expose()).unwrap_or(""), &policy)?;
    let kdf = KdfParams::for_new_entries();
    let otp = match key.kind {
        OtpKind::Totp { period } => OtpParams::Totp {
            algorithm: HashName(key.algorithm),
            digits: key.digits.get(),
            period,
        },
        OtpKind::Hotp { counter } => OtpParams::Hotp {
            algorithm: HashName(key.algorithm),
            digits: key.digits.get(),
            counter,
        },
    };
    let mut nonce = [0u8; 4];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
    let recovery = UnlockCode::generate();
    let record = TokenRecord {
        format: FORMAT.into(),
        version: VERSION,
        id: format!("imported-{}", data_encoding::HEXLOWER.encode(&nonce)),
        serial: None,
        label: key.account.clone(),
        issuer: key.issuer.clone(),
        server: None,
        otp,
        kdf,
        seed_len: key.secret.len(),
        pin: Mask::seal(&kdf, pin.expose(), key.secret.expose(), PIN_CHECK_BITS),
        policy,
        failures: 0,
        slots: Vec::new(),
        recovery: Some(Mask::seal(
            &kdf,
            recovery.digits().as_bytes(),
            key.secret.expose(),
            CODE_CHECK_BITS,
        )),
    };
    let lock = folder.lock()?;
    folder.save(&lock, &record)?;
    Ok((record, recovery))
}

/// Asks the server for a new unlock-secret generation (proving possession
/// with a current code) and replaces every unlock slot with a full new set
/// made from it, in one atomic write; the secret is then dropped (and
/// wiped). The old slots' generation is retired on the server by the next
/// refresh, so they are not kept (S45).
pub fn refresh(
    folder: &VaultFolder,
    selector: Option<&str>,
    pin: &Pin,
    unix_time: u64,
    server_override: Option<&str>,
) -> Result<usize, EnrolError> {
    let lock = folder.lock()?;
    let (_, mut record) = folder.find(selector)?;
    let (serial, stored_server) = server_of(&record)?;
    // The attempt is counted and stays counted until the server accepts the
    // code: only that proves the PIN opened the right seed (I8).
    let seed = open_counted(folder, &lock, &mut record, pin)?;
    let server = server_override.unwrap_or(&stored_server);
    renew_slots(
        folder,
        &lock,
        &mut record,
        &seed,
        &serial,
        server,
        unix_time,
    )?;
    folder.save(&lock, &record)?;
    Ok(record.slots.len())
}

/// The serial and server of a token the server issued.
fn server_of(record: &TokenRecord) -> Result<(Serial, String), EnrolError> {
    let (Some(serial), Some(server)) = (record.serial.clone(), record.server.clone()) else {
        return Err(EnrolError::NoServer);
    };
    let serial: Serial = serial
        .parse()
        .map_err(|_| EnrolError::Params("a malformed serial".into()))?;
    Ok((serial, server))
}

/// Sends the code `seed` makes now to the server's refresh, and on its
/// acceptance (which proves `seed` is the token's) puts a full new set of
/// slots from the generation it hands out into `record` and clears the
/// failure count; the caller saves the record. An HOTP counter moves on
/// (saved at once) whatever the server answers.
fn renew_slots(
    folder: &VaultFolder,
    lock: &crate::folder::FolderLock,
    record: &mut TokenRecord,
    seed: &Secret,
    serial: &Serial,
    server: &str,
    unix_time: u64,
) -> Result<(), EnrolError> {
    let code = match record.generator(seed.clone()).map_err(OpenError::from)? {
        Generator::Totp(totp) => totp.generate(unix_time),
        Generator::Hotp(hotp, counter) => {
            if let OtpParams::Hotp {
                counter: stored, ..
            } = &mut record.otp
            {
                *stored = counter.saturating_add(1);
            }
            folder.save(lock, record)?;
            hotp.generate(counter)
        }
    };
    let (generation, unlock_secret) = client::refresh(server, serial, &code)?;
    let count = DEFAULT_UNLOCK_SLOTS.max(record.slots.len());
    record.slots = make_slots(&record.kdf, &unlock_secret, generation, serial, seed, count);
    drop(unlock_secret);
    record.failures = 0;
    Ok(())
}

/// Why a vault file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportVaultError {
    /// The file is not a usable token record.
    #[error("that file is not a token record this program can use: {0}")]
    NotARecord(String),
    /// The vault could not be used, or holds this token already.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Adds a token from its plain record (a file `export-vault` or the phone
/// app wrote) and binds it to this device as it is saved. The record is
/// checked as any vault file is; a token with the same id is never replaced.
pub fn import_vault(folder: &VaultFolder, bytes: &[u8]) -> Result<TokenRecord, ImportVaultError> {
    // A plain record, or one this device's vault holds (bound to its key);
    // another device's vault file is refused, saying why.
    let record = folder
        .parse(bytes)
        .map_err(|e| ImportVaultError::NotARecord(e.to_string()))?;
    let lock = folder.lock()?;
    if folder.contains(&record.id) {
        return Err(VaultError::Exists(record.id.clone()).into());
    }
    folder.save(&lock, &record)?;
    Ok(record)
}

/// The token's plain record, for another device: the PIN must open it
/// first (counted like any attempt, and the count cleared when it does).
/// The record holds the seed only masked, as the vault file does, but not
/// bound to this device's key (version 1, what the phone app reads): keep
/// it as safe as the PIN.
pub fn export_vault(
    folder: &VaultFolder,
    selector: Option<&str>,
    pin: &Pin,
) -> Result<TokenRecord, OpenError> {
    let lock = folder.lock()?;
    let (_, mut record) = folder.find(selector)?;
    open_counted(folder, &lock, &mut record, pin)?;
    record.failures = 0;
    folder.save(&lock, &record)?;
    Ok(record)
}
