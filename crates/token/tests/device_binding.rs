//! S51 (M6): every vault file is bound to a device key kept outside the
//! vault folder, so that a copied vault alone opens nothing; old files open
//! and are bound at their next write; `export-vault` writes the plain,
//! portable record and `import-vault` binds it. S56 (L10): the folder and
//! its files are private whatever the umask and the folder's old mode.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{IssuedToken, PIN, run_with_input, stand_in_server, stderr, stdout, unix_now};
use latchkey_oath::Secret;
use latchkey_token::client::{Activation, OtpDescription, ServerPolicy};
use latchkey_token::device::{BOUND_VERSION, DeviceKeyFile};
use latchkey_token::kdf::KdfParams;
use latchkey_token::record::{Generator, PIN_CHECK_BITS, TokenRecord, VERSION};
use latchkey_token::{Pin, VaultFolder, ops};

/// One computer: a HOME of its own, where the device key is kept by
/// default (`~/.local/state/latchkey/device.key`), and a vault folder.
struct Device {
    home: tempfile::TempDir,
    vault: tempfile::TempDir,
}

impl Device {
    fn new() -> Self {
        Device {
            home: tempfile::tempdir().unwrap(),
            vault: tempfile::tempdir().unwrap(),
        }
    }

    fn key_file(&self) -> PathBuf {
        self.home.path().join(".local/state/latchkey/device.key")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey-token"));
        command
            .arg("--pin-stdin")
            .args(args)
            .env("HOME", self.home.path())
            .env_remove("XDG_STATE_HOME")
            .env_remove("LATCHKEY_DEVICE_KEY")
            .env("LATCHKEY_TOKEN_HOME", self.vault.path())
            .env("LATCHKEY_TOKEN_TEST_KDF", "cheap");
        command
    }

    fn run(&self, args: &[&str], input: &[&str]) -> Output {
        run_with_input(self.command(args), input)
    }

    fn token_file(&self) -> PathBuf {
        std::fs::read_dir(self.vault.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("token-")
            })
            .expect("a token file")
    }

    fn stored(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.token_file()).unwrap()).unwrap()
    }

    /// The vault as this device reads it, with its own key.
    fn folder(&self) -> VaultFolder {
        VaultFolder::open_with_device_key(self.vault.path(), DeviceKeyFile::at(self.key_file()))
            .unwrap()
    }

    /// Copies every file of this vault into `other`'s vault folder.
    fn copy_vault_to(&self, other: &Device) {
        for entry in std::fs::read_dir(self.vault.path()).unwrap().flatten() {
            std::fs::copy(entry.path(), other.vault.path().join(entry.file_name())).unwrap();
        }
    }
}

fn activate(device: &Device, token: &IssuedToken) {
    let server = stand_in_server(token);
    let out = device.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            token.serial.digits(),
            "--activation-code",
            "1234567890123452",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "activate: {}", stderr(&out));
}

/// `code` with `pin` gives the token's code of this moment (or the next step's).
fn assert_shows_the_code(device: &Device, token: &IssuedToken, pin: &str) {
    let before = unix_now();
    let out = device.run(&["code"], &[pin]);
    assert_eq!(out.status.code(), Some(0), "code: {}", stderr(&out));
    let shown = stdout(&out).trim().to_owned();
    let totp = token.totp();
    assert!(
        shown == totp.generate(before) || shown == totp.generate(before + 30),
        "the token's own code"
    );
}

#[test]
fn m6_s51_a_copied_vault_without_its_device_key_opens_nothing() {
    let original = Device::new();
    let token = IssuedToken::new(4);
    activate(&original, &token);
    assert_shows_the_code(&original, &token, PIN);

    // On disk: bound (version 2, the key named by its id), the key outside
    // the vault folder, private.
    let stored = original.stored();
    assert_eq!(stored["version"], BOUND_VERSION);
    let key_id = stored["device_key"].as_str().unwrap().to_owned();
    assert_eq!(key_id.len(), 16);
    let key_file = original.key_file();
    assert!(!key_file.starts_with(original.vault.path()));
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(key_file.parent().unwrap()), 0o700);

    // The vault copied to another computer, which has no device key: the
    // right PIN is refused, the reason is the missing key (not the PIN),
    // and the file is untouched (no attempt counted).
    let thief = Device::new();
    original.copy_vault_to(&thief);
    let before = std::fs::read(thief.token_file()).unwrap();
    for _ in 0..6 {
        let out = thief.run(&["code"], &[PIN]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("device's key is missing")
                && stderr(&out).contains("export-vault"),
            "the reason and what to do: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("Incorrect PIN"));
        assert!(stdout(&out).is_empty(), "no code");
    }
    assert_eq!(
        std::fs::read(thief.token_file()).unwrap(),
        before,
        "nothing counted, nothing rewritten"
    );
    assert!(!thief.key_file().exists(), "reading never makes a key");
    let listing: serde_json::Value =
        serde_json::from_slice(&thief.run(&["list", "--json"], &[]).stdout).unwrap();
    assert_eq!(listing[0]["state"], "unreadable");

    // A key of the thief's own (made by an import there) is another device's key.
    let out = thief.run(
        &[
            "import",
            "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Other",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "import: {}", stderr(&out));
    let out = thief.run(&["--token", token.serial.digits(), "code"], &[PIN]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("another device's key"),
        "{}",
        stderr(&out)
    );

    // With the original device key beside it, the copy opens.
    std::fs::copy(&key_file, thief.key_file()).unwrap();
    std::fs::remove_file(
        std::fs::read_dir(thief.vault.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains("token-imported-"))
            .unwrap(),
    )
    .unwrap();
    assert_shows_the_code(&thief, &token, PIN);
}

fn plain_record(serial: &str, seed: &[u8]) -> TokenRecord {
    let activation = Activation {
        serial: serial.parse().unwrap(),
        label: "alice".into(),
        issuer: Some("Example Corp".into()),
        otp: OtpDescription {
            kind: "totp".into(),
            algorithm: "SHA256".into(),
            digits: 8,
            period: Some(30),
            counter: None,
        },
        secret: Secret::from_bytes(seed.to_vec()),
        unlock_secret: latchkey_oath::UnlockSecret::from_bytes([9; 32]),
        policy: ServerPolicy {
            max_pin_failures: 5,
            min_pin_length: 6,
            unlock_slots: 3,
        },
    };
    ops::record_from_activation(
        &activation,
        "https://auth.example.org",
        &Pin::entered(PIN),
        &KdfParams::CHEAP,
    )
    .unwrap()
}

fn masks(value: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut masks = vec![value["pin"].clone()];
    masks.extend(
        value["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|slot| slot["mask"].clone()),
    );
    masks
}

#[test]
fn m6_s51_an_old_unbound_record_opens_and_is_rewritten_bound_and_export_is_portable() {
    let device = Device::new();
    let token = IssuedToken::new(3);
    let record = plain_record(token.serial.digits(), &token.seed);
    // A vault file as builds before S51 wrote it: the plain record.
    let old = serde_json::to_value(&record).unwrap();
    assert_eq!(old["version"], VERSION);
    assert!(old.get("device_key").is_none());
    std::fs::write(
        device
            .vault
            .path()
            .join(format!("token-{}.json", record.id)),
        serde_json::to_vec_pretty(&old).unwrap(),
    )
    .unwrap();

    assert_shows_the_code(&device, &token, PIN);
    let rewritten = device.stored();
    assert_eq!(
        rewritten["version"], BOUND_VERSION,
        "bound at the next write"
    );
    assert!(rewritten["device_key"].is_string());
    for (old, new) in masks(&old).iter().zip(masks(&rewritten).iter()) {
        assert_eq!(old["salt"], new["salt"]);
        assert_eq!(old["check"], new["check"]);
        assert_ne!(
            old["masked_seed"], new["masked_seed"],
            "every mask is bound, the slots' too"
        );
    }

    // Export: the plain record, bit for bit the masks it had (nothing was
    // re-masked on the PIN), version 1 as the phone app reads.
    let files = tempfile::tempdir().unwrap();
    let exported = files.path().join("portable.json");
    let out = device.run(&["export-vault", exported.to_str().unwrap()], &[PIN]);
    assert_eq!(out.status.code(), Some(0), "export: {}", stderr(&out));
    let portable: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(portable["version"], VERSION);
    assert!(portable.get("device_key").is_none());
    assert_eq!(masks(&portable), masks(&old));

    // The bound vault copied elsewhere opens nothing; its export, imported
    // there, opens and is bound to that device's key.
    let other = Device::new();
    device.copy_vault_to(&other);
    assert_eq!(other.run(&["code"], &[PIN]).status.code(), Some(1));
    let other = Device::new();
    let out = other.run(&["import-vault", exported.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "import-vault: {}", stderr(&out));
    assert_eq!(other.stored()["version"], BOUND_VERSION);
    assert_ne!(other.stored()["device_key"], rewritten["device_key"]);
    assert_shows_the_code(&other, &token, PIN);
    // A bound file of another device is no record to import.
    let third = Device::new();
    let out = third.run(
        &["import-vault", device.token_file().to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("device's key"), "{}", stderr(&out));
}

/// The attack of M6 itself, with the test's cheap KDF (the release
/// parameters change the cost per guess, not the outcome): a copy of the
/// vault file and one code the token once showed. Without the device key no
/// PIN gives that code; with it, exactly the right PIN does.
#[test]
fn m6_s51_an_observed_code_singles_out_the_pin_only_with_the_device_key() {
    let device = Device::new();
    let token = IssuedToken::new(3);
    let record = plain_record(token.serial.digits(), &token.seed);
    let folder = device.folder();
    let lock = folder.lock().unwrap();
    folder.save(&lock, &record).unwrap();
    drop(lock);
    let observed_at = unix_now() - 3_600;
    let observed = token.totp().generate(observed_at);
    let copied = std::fs::read(device.token_file()).unwrap();

    // The right PIN and 3,000 wrong ones.
    let candidates: Vec<String> = (0..3_000u32)
        .map(|n| format!("{:06}", 300_001 + n * 97))
        .chain([PIN.to_owned()])
        .collect();
    let give_the_code = |record: &TokenRecord| -> Vec<String> {
        candidates
            .iter()
            .filter(|pin| {
                record
                    .pin
                    .open(&record.kdf, pin.as_bytes(), PIN_CHECK_BITS)
                    .is_some_and(|seed| match record.generator(seed).unwrap() {
                        Generator::Totp(totp) => totp.generate(observed_at) == observed,
                        Generator::Hotp(..) => unreachable!(),
                    })
            })
            .cloned()
            .collect()
    };

    // The file alone: its masks as they are on disk.
    let as_copied: TokenRecord = serde_json::from_slice(&copied).unwrap();
    assert_eq!(give_the_code(&as_copied), Vec::<String>::new());
    // With the device key: the PIN is found, which is why the key is kept
    // apart from the vault and why the cost per guess is stated.
    let with_key = folder.parse(&copied).unwrap();
    assert_eq!(give_the_code(&with_key), vec![PIN.to_owned()]);
}

#[test]
fn m6_s51_the_device_key_is_never_kept_in_the_vault_folder() {
    let device = Device::new();
    let inside = device.vault.path().join("keys/device.key");
    let out = device.run(
        &[
            "--device-key",
            inside.to_str().unwrap(),
            "import",
            "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("inside the vault folder"),
        "{}",
        stderr(&out)
    );
    assert!(!inside.exists());
    // --device-key elsewhere is used, and is what the files are bound to.
    let keys = tempfile::tempdir().unwrap();
    let outside = keys.path().join("device.key");
    let out = device.run(
        &[
            "--device-key",
            outside.to_str().unwrap(),
            "import",
            "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(outside.exists() && !device.key_file().exists());
    let out = device.run(&["code"], &[PIN]);
    assert_eq!(out.status.code(), Some(1), "not with the default key");
    let out = device.run(&["--device-key", outside.to_str().unwrap(), "code"], &[PIN]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn l10_s56_the_vault_folder_and_its_files_are_private_whatever_the_umask() {
    let device = Device::new();
    let vault = device.vault.path();
    std::fs::set_permissions(vault, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(vault.join(".lock"), b"").unwrap();
    std::fs::set_permissions(vault.join(".lock"), std::fs::Permissions::from_mode(0o666)).unwrap();
    // umask 0 for the program: modes are what it sets, not what it inherits.
    let mut command = Command::new("sh");
    command
        .args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_latchkey-token"))
        .args([
            "--pin-stdin",
            "import",
            "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        ])
        .env("HOME", device.home.path())
        .env_remove("XDG_STATE_HOME")
        .env_remove("LATCHKEY_DEVICE_KEY")
        .env("LATCHKEY_TOKEN_HOME", vault)
        .env("LATCHKEY_TOKEN_TEST_KDF", "cheap");
    let out = run_with_input(command, &[PIN, PIN]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(vault), 0o700, "the old 0755 folder is tightened");
    assert_eq!(mode(&vault.join(".lock")), 0o600);
    assert_eq!(mode(&device.token_file()), 0o600);
    assert_eq!(mode(&device.key_file()), 0o600);
    assert_eq!(mode(device.key_file().parent().unwrap()), 0o700);
    // A new folder made under umask 0 is private too.
    let fresh = device.home.path().join("new-vault");
    let mut command = Command::new("sh");
    command
        .args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_latchkey-token"))
        .args(["--vault", fresh.to_str().unwrap(), "list"])
        .env("HOME", device.home.path());
    let out = run_with_input(command, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&fresh), 0o700);
}

/// The PIN policy the server hands out at activation (`min_pin_length`):
/// with 8, a 6-digit PIN is refused at activation, another is asked for
/// (the activation code is spent already), and every later new PIN needs 8.
#[test]
fn m6_s51_a_server_policy_of_eight_digits_is_enforced_at_activation_and_after() {
    let token = IssuedToken::new(4);
    let mut answer: serde_json::Value = serde_json::from_str(&token.activation_json()).unwrap();
    answer["policy"]["min_pin_length"] = 8.into();
    let server = common::StandInTokenApi::start(answer.to_string(), None);
    let activate = |device: &Device, input: &[&str]| {
        device.run(
            &[
                "activate",
                "--server",
                &server.url,
                "--serial",
                token.serial.digits(),
                "--activation-code",
                "1234567890123452",
            ],
            input,
        )
    };

    // No second PIN to give: nothing stored, and the message says why.
    let device = Device::new();
    let out = activate(&device, &[PIN, PIN]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("at least 8 digits"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("activation code is spent"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(device.vault.path()).unwrap().count(), 0);

    // Asked again: a 7-digit PIN is refused as well, an 8-digit one taken.
    let device = Device::new();
    let long_pin = "29574816";
    let out = activate(
        &device,
        &[PIN, PIN, "2957481", "2957481", long_pin, long_pin],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("at least 8 digits"),
        "{}",
        stderr(&out)
    );
    assert_shows_the_code(&device, &token, long_pin);
    let record = device.folder().find(None).unwrap().1;
    assert_eq!(record.policy.min_length, 8);

    // Later new PINs: a 6-digit one is refused, nothing changed.
    let before = std::fs::read(device.token_file()).unwrap();
    let out = device.run(&["change-pin"], &[long_pin, "583920", "583920"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("at least 8 digits"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(device.token_file()).unwrap(), before);
}
