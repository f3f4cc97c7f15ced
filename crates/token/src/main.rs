//! `latchkey-token`: the soft token on the command line.
//!
//! Exit status: 0 done, 1 error, 2 usage, 3 wrong PIN or code, 4 locked.
//! `code` writes the one-time password alone on standard output; every
//! message goes to standard error.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use latchkey_oath::{ActivationCode, ResetCode, Serial, UnlockCode};
use latchkey_token::device::DeviceKeyFile;
use latchkey_token::link::{ActivationLink, LinkError};
use latchkey_token::ops::{self, ChangePinError, EnrolError, OpenError, UnlockError};
use latchkey_token::record::{FEW_SLOTS, TokenState};
use latchkey_token::{Pin, PinPolicy, PinPolicyError, VaultError, VaultFolder};
use zeroize::Zeroizing;

const EXIT_ERROR: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_WRONG: u8 = 3;
const EXIT_LOCKED: u8 = 4;

/// The Latchkey soft token.
#[derive(Parser)]
#[command(
    name = "latchkey-token",
    version,
    about = "The Latchkey soft token: one-time passwords behind a PIN"
)]
struct Cli {
    /// The vault folder [default: $LATCHKEY_TOKEN_HOME, else the platform's data folder]
    #[arg(long, global = true, value_name = "DIR")]
    vault: Option<std::path::PathBuf>,
    /// The device key the vault files are bound to, kept outside the vault
    /// folder [default: $LATCHKEY_DEVICE_KEY, else latchkey/device.key in
    /// the platform's state folder, ~/.local/state]
    #[arg(long, global = true, value_name = "FILE")]
    device_key: Option<std::path::PathBuf>,
    /// The token to use, by serial or label (needed only when there are several)
    #[arg(long, global = true, value_name = "SERIAL_OR_LABEL")]
    token: Option<String>,
    /// Read PINs and codes from standard input, one per line, instead of the terminal
    #[arg(long, global = true)]
    pin_stdin: bool,
    /// Use this moment (Unix seconds) instead of the clock's, for `code` and
    /// `refresh` (as oathtool's --now: checking a server whose clock is off,
    /// or a code for a given time)
    #[arg(long, global = true, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch a new token from the server and protect it with a PIN
    #[command(group(
        clap::ArgGroup::new("from")
            .args(["link", "server"])
            .required(true)
            .multiple(false)
    ))]
    Activate {
        /// The activation link the portal shows (latchkey://activate?server=…&serial=…&activation_code=…),
        /// instead of --server, --serial and --activation-code
        #[arg(long, value_name = "LINK", conflicts_with_all = ["serial", "activation_code"])]
        link: Option<String>,
        /// The server's address, e.g. https://auth.example.org
        #[arg(long, requires = "serial")]
        server: Option<String>,
        /// The token's serial number
        #[arg(long)]
        serial: Option<String>,
        /// The single-use activation code. Without it the code is asked for
        /// (or read from standard input with --pin-stdin, before the PIN);
        /// on the command line other local users can read it while
        /// activation runs.
        #[arg(long)]
        activation_code: Option<String>,
    },
    /// Add a token from an otpauth:// URI (any service); prints its recovery code once
    Import {
        /// The otpauth:// URI
        uri: String,
    },
    /// List the tokens, their state and unlock codes left
    List {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Print the current one-time password
    Code,
    /// Show the PIN Reset Code, to get an unlock code
    ForgotPin,
    /// Unlock with an unlock code and choose a new PIN
    Unlock,
    /// Change the PIN (the server confirms the current one and brings new unlock codes)
    ChangePin,
    /// Get new unlock slots from the server
    Refresh {
        /// Use this server address instead of the one stored at activation
        #[arg(long)]
        server: Option<String>,
    },
    /// Add a token from its plain record file (written by export-vault or the phone app)
    ImportVault {
        /// The record file
        file: std::path::PathBuf,
    },
    /// Write a token's plain record to a new file, for the phone app or another computer
    ExportVault {
        /// The file to create (it must not exist yet)
        file: std::path::PathBuf,
    },
}

/// Reads secrets: from the terminal without echo, or line by line from
/// standard input with `--pin-stdin`.
struct Secrets {
    from_stdin: bool,
    lines: std::io::Lines<std::io::StdinLock<'static>>,
}

impl Secrets {
    fn new(from_stdin: bool) -> Self {
        Secrets {
            from_stdin,
            lines: std::io::stdin().lock().lines(),
        }
    }

    fn read(&mut self, prompt: &str) -> Result<Zeroizing<String>, Failure> {
        if self.from_stdin {
            return match self.lines.next() {
                Some(Ok(line)) => Ok(Zeroizing::new(line)),
                _ => Err(Failure::usage(format!(
                    "expected a line on standard input for: {}",
                    prompt.trim_end_matches([':', ' '])
                ))),
            };
        }
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(
                "no terminal to ask for the PIN; use --pin-stdin to read it from standard input",
            ));
        }
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| Failure::error(format!("cannot read from the terminal: {e}")))
    }
}

/// What ends a command early: a message and an exit status.
struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    fn error(message: impl Into<String>) -> Self {
        Failure {
            status: EXIT_ERROR,
            message: message.into(),
        }
    }
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            status: EXIT_USAGE,
            message: message.into(),
        }
    }
    fn wrong(message: impl Into<String>) -> Self {
        Failure {
            status: EXIT_WRONG,
            message: message.into(),
        }
    }
}

impl From<VaultError> for Failure {
    fn from(error: VaultError) -> Self {
        Failure::error(error.to_string())
    }
}

fn locked_message(reset_code: Option<&ResetCode>, imported: bool) -> String {
    if imported {
        return "This token is locked after too many incorrect PINs.\n\
                It was imported, so it opens with the recovery code you were given when you imported it:\n\
                run `latchkey-token unlock`, type the recovery code, then choose a new PIN."
            .into();
    }
    match reset_code {
        Some(code) => format!(
            "This token is locked after too many incorrect PINs.\n\
             PIN Reset Code: {}\n\
             To unlock it:\n  \
             1. Sign in to the self-service portal and choose \"My soft token is locked\" (or call your help desk).\n  \
             2. Enter the PIN Reset Code above; you will be given an unlock code.\n  \
             3. Run `latchkey-token unlock`, type the unlock code, then choose a new PIN.",
            code.grouped()
        ),
        None => "This token is locked and has no unlock codes left.\n\
                 Ask your help desk for a new activation code and run `latchkey-token activate` again."
            .into(),
    }
}

impl From<OpenError> for Failure {
    fn from(error: OpenError) -> Self {
        match error {
            OpenError::Locked {
                reset_code,
                imported,
            } => Failure {
                status: EXIT_LOCKED,
                message: locked_message(reset_code.as_ref(), imported),
            },
            OpenError::WrongPin { attempts_left } => Failure::wrong(format!(
                "Incorrect PIN. {attempts_left} {} left before this token locks.",
                if attempts_left == 1 {
                    "attempt"
                } else {
                    "attempts"
                }
            )),
            OpenError::Vault(e) => e.into(),
            OpenError::Params(e) => Failure::error(e.to_string()),
        }
    }
}

impl From<UnlockError> for Failure {
    fn from(error: UnlockError) -> Self {
        match error {
            UnlockError::WrongCode => Failure::wrong(
                "That unlock code does not match this token's PIN Reset Code. Check that it was issued for the \
                 code shown above and type it again. Nothing was changed.",
            ),
            UnlockError::Policy(e) => policy_failure(e),
            UnlockError::Vault(e) => e.into(),
            other => Failure::error(other.to_string()),
        }
    }
}

impl From<EnrolError> for Failure {
    fn from(error: EnrolError) -> Self {
        match error {
            EnrolError::Open(e) => e.into(),
            EnrolError::Policy(e) => policy_failure(e),
            EnrolError::Uri(e) => Failure::usage(format!("{e}.")),
            other => Failure::error(other.to_string()),
        }
    }
}

fn policy_failure(error: PinPolicyError) -> Failure {
    Failure::usage(policy_message(&error))
}

/// What to say of a refused PIN. The least length is the token's policy
/// (the server's, from activation), which the reason names when it is the
/// length that was wrong.
fn policy_message(error: &PinPolicyError) -> String {
    format!(
        "That PIN cannot be used: {error}. Choose enough digits, not one digit repeated, not counting up or down, \
         and not one of the most common PINs."
    )
}

/// An error message as a sentence: capitalised, with a full stop.
fn sentence(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// The moment `--now` names, else the clock's.
fn now(at: Option<u64>) -> u64 {
    if let Some(at) = at {
        return at;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn new_pin(secrets: &mut Secrets) -> Result<Pin, Failure> {
    let first = secrets.read("New PIN: ")?;
    let again = secrets.read("New PIN again: ")?;
    Pin::choose(&first, &again, &latchkey_token::PinPolicy::default()).map_err(policy_failure)
}

fn warn_if_few_slots(slots_left: usize) {
    if slots_left == 0 {
        eprintln!(
            "This token has no unlock codes left: if it locks again it must be activated anew. \
             Run `latchkey-token refresh` now to get new ones."
        );
    } else if slots_left <= FEW_SLOTS {
        eprintln!(
            "Only {slots_left} unlock {} left for this token. Run `latchkey-token refresh` to get new ones.",
            if slots_left == 1 {
                "code is"
            } else {
                "codes are"
            }
        );
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let path = match cli.vault {
        Some(path) => path,
        None => VaultFolder::default_path()?,
    };
    let folder = match cli.device_key {
        Some(key) => VaultFolder::open_with_device_key(path, DeviceKeyFile::at(key))?,
        None => VaultFolder::open(path)?,
    };
    let selector = cli.token.as_deref();
    let mut secrets = Secrets::new(cli.pin_stdin);
    match cli.command {
        Command::Activate {
            link,
            server,
            serial,
            activation_code,
        } => {
            let (server, serial, code) = match link {
                Some(link) => {
                    let link: ActivationLink = link
                        .parse()
                        .map_err(|e: LinkError| Failure::usage(sentence(&e)))?;
                    (link.server, link.serial, link.activation_code)
                }
                None => {
                    let serial: Serial = serial
                        .unwrap_or_default()
                        .parse()
                        .map_err(|e| Failure::usage(format!("The serial is not valid: {e}.")))?;
                    // Asked for rather than taken from the command line,
                    // where other local users could read it (L11).
                    let typed = match activation_code {
                        Some(code) => Zeroizing::new(code),
                        None => secrets.read("Activation code: ")?,
                    };
                    let code: ActivationCode = typed.parse().map_err(|e| {
                        Failure::usage(format!("The activation code is not valid: {e}."))
                    })?;
                    (server.unwrap_or_default(), serial, code)
                }
            };
            let pin = new_pin(&mut secrets)?;
            // The server's policy arrives with its answer, after the
            // single-use code is spent: a PIN it refuses is asked for again.
            let mut tries_left = 2;
            let mut choose_again = |policy: &PinPolicy, reason: &PinPolicyError| {
                eprintln!(
                    "{} This token's policy asks for at least {} digits; choose another PIN.",
                    policy_message(reason),
                    policy
                        .min_length
                        .max(latchkey_token::PinPolicy::default().min_length)
                );
                while tries_left > 0 {
                    tries_left -= 1;
                    let first = secrets.read("New PIN: ").ok()?;
                    let again = secrets.read("New PIN again: ").ok()?;
                    match Pin::choose(&first, &again, policy) {
                        Ok(pin) => return Some(pin),
                        Err(error) => eprintln!("{}", policy_message(&error)),
                    }
                }
                None
            };
            let record = ops::activate_choosing_again(
                &folder,
                &server,
                &serial,
                &code,
                &pin,
                &mut choose_again,
            )
            .map_err(|e| match e {
                EnrolError::Policy(reason) => Failure::usage(format!(
                    "{} The activation code is spent: ask for a new one to activate this token.",
                    policy_message(&reason)
                )),
                other => Failure::from(other),
            })?;
            eprintln!(
                "Token {} ({}) is activated with {} unlock codes. Run `latchkey-token code` to sign in.",
                serial,
                record.display_name(),
                record.slots.len()
            );
        }
        Command::Import { uri } => {
            let pin = new_pin(&mut secrets)?;
            let (record, recovery) = ops::import(&folder, &uri, &pin)?;
            eprintln!(
                "Imported {} as {}. Its recovery code is below: write it down and keep it safe.\n\
                 It is shown only this once, and it is the only way back in if you forget the PIN.",
                record.display_name(),
                record.id
            );
            println!("{}", recovery.grouped());
        }
        Command::List { json } => list(&folder, json)?,
        Command::Code => {
            let pin = Pin::entered(&secrets.read("PIN: ")?);
            let shown = ops::current_code(&folder, selector, &pin, now(cli.now))?;
            println!("{}", shown.code.as_str());
            if let Some(left) = shown.seconds_left {
                eprintln!("Valid for {left} more seconds.");
            }
        }
        Command::ForgotPin => {
            let record = ops::forgot_pin(&folder, selector)?;
            if record.recovery.is_some() {
                eprintln!(
                    "This token was imported: run `latchkey-token unlock` and type the recovery code you were given \
                     when you imported it, then choose a new PIN."
                );
            } else {
                match record.reset_code() {
                    Some(code) => {
                        eprintln!(
                            "PIN Reset Code: {}\n\
                             Sign in to the self-service portal, choose \"My soft token is locked\" and enter this code\n\
                             (or read it to your help desk). Then run `latchkey-token unlock` with the unlock code you get.",
                            code.grouped()
                        );
                        if let Some(link) = record.unlock_page_link() {
                            eprintln!(
                                "The portal's unlock page, with this code filled in:\n  {link}"
                            );
                        }
                    }
                    None => {
                        return Err(Failure::error(
                            "This token has no unlock codes left. Ask your help desk for a new activation code.",
                        ));
                    }
                }
            }
        }
        Command::Unlock => {
            let record = ops::forgot_pin(&folder, selector)?;
            let imported = record.recovery.is_some();
            if !imported {
                match record.reset_code() {
                    Some(code) => eprintln!("PIN Reset Code: {}", code.grouped()),
                    None => return Err(UnlockError::NoSlots.into()),
                }
            }
            let prompt = if imported {
                "Recovery code: "
            } else {
                "Unlock code: "
            };
            let code: UnlockCode = secrets
                .read(prompt)?
                .parse()
                .map_err(|e| Failure::wrong(format!("That code is not valid: {e}.")))?;
            ops::check_unlock_code(&folder, selector, &code)?;
            let pin = new_pin(&mut secrets)?;
            let unlocked = ops::unlock(&folder, selector, &code, &pin)?;
            eprintln!(
                "The token is unlocked and has its new PIN. Run `latchkey-token code` to sign in."
            );
            match unlocked.new_recovery_code {
                Some(recovery) => {
                    eprintln!(
                        "Your old recovery code is spent. The new one is below: write it down; it is shown only once."
                    );
                    println!("{}", recovery.grouped());
                }
                None => warn_if_few_slots(unlocked.slots_left),
            }
        }
        Command::ChangePin => {
            let current = Pin::entered(&secrets.read("Current PIN: ")?);
            let pin = new_pin(&mut secrets)?;
            let slots =
                ops::change_pin(&folder, selector, &current, &pin, now(cli.now)).map_err(|e| {
                    match e {
                        ChangePinError::Open(e) => Failure::from(e),
                        ChangePinError::Policy(e) => policy_failure(e),
                        // Refused by the server: most likely a wrong PIN that passed
                        // the quick check (I8).
                        ChangePinError::Unconfirmed(EnrolError::Client(
                            latchkey_token::client::ClientError::Refused { status: 403, .. },
                        )) => Failure::wrong(sentence(&e)),
                        ChangePinError::Unconfirmed(_) => Failure::error(sentence(&e)),
                    }
                })?;
            if slots > 0 {
                eprintln!("The PIN is changed, and the token has {slots} new unlock codes.");
            } else {
                eprintln!("The PIN is changed.");
            }
        }
        Command::Refresh { server } => {
            let pin = Pin::entered(&secrets.read("PIN: ")?);
            let count = ops::refresh(&folder, selector, &pin, now(cli.now), server.as_deref())?;
            eprintln!("The token now has {count} unlock codes.");
        }
        Command::ImportVault { file } => {
            let bytes =
                Zeroizing::new(std::fs::read(&file).map_err(|e| {
                    Failure::error(format!("Cannot read {}: {e}.", file.display()))
                })?);
            let record = ops::import_vault(&folder, &bytes).map_err(|e| match e {
                ops::ImportVaultError::Vault(e) => Failure::from(e),
                other => Failure::error(format!("{other}.")),
            })?;
            eprintln!(
                "Imported {} ({}). Its PIN is the one it had; run `latchkey-token code` to use it.",
                record.display_name(),
                record.id
            );
        }
        Command::ExportVault { file } => {
            let pin = Pin::entered(&secrets.read("PIN: ")?);
            let record = ops::export_vault(&folder, selector, &pin)?;
            write_new_file(&file, &record)?;
            eprintln!(
                "Wrote {} to {}. The file holds the token protected by its PIN, as the vault does: \
                 keep it as safe as the vault, and delete it once the token is imported.",
                record.display_name(),
                file.display()
            );
            if !matches!(
                record.kdf.algorithm,
                latchkey_token::kdf::KdfAlgorithm::Pbkdf2Sha256 { .. }
            ) {
                eprintln!(
                    "This token's PIN is protected with Argon2id, which the phone app cannot compute; \
                     the phone app opens tokens it activated or that were made with PBKDF2."
                );
            }
        }
    }
    Ok(())
}

/// Writes `record` to a file that must not exist yet, mode 0600, synced.
fn write_new_file(
    path: &std::path::Path,
    record: &latchkey_token::TokenRecord,
) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bytes = Zeroizing::new(
        serde_json::to_vec_pretty(record)
            .map_err(|e| Failure::error(format!("Cannot write the record: {e}.")))?,
    );
    let fail = |e: std::io::Error| Failure::error(format!("Cannot write {}: {e}.", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    file.write_all(&bytes).map_err(fail)?;
    file.write_all(b"\n").map_err(fail)?;
    file.sync_all().map_err(fail)
}

fn list(folder: &VaultFolder, json: bool) -> Result<(), Failure> {
    let entries = folder.entries()?;
    if json {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| match &entry.record {
                Ok(r) => serde_json::json!({
                    "id": r.id,
                    "serial": r.serial,
                    "label": r.label,
                    "issuer": r.issuer,
                    "server": r.server,
                    "state": if r.state() == TokenState::Locked { "locked" } else { "active" },
                    "attempts_left": r.attempts_left(),
                    "unlock_slots": r.slots.len(),
                    "imported": r.recovery.is_some(),
                }),
                Err(reason) => serde_json::json!({ "file": entry.path, "state": "unreadable", "error": reason }),
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return Ok(());
    }
    if entries.is_empty() {
        eprintln!(
            "No tokens yet. Add one with `latchkey-token activate` or `latchkey-token import`."
        );
    }
    for entry in entries {
        match entry.record {
            Ok(r) => {
                let name = r
                    .serial
                    .as_deref()
                    .and_then(|s| s.parse::<Serial>().ok())
                    .map_or(r.id.clone(), |s| s.to_string());
                let state = if r.state() == TokenState::Locked {
                    "locked"
                } else {
                    "active"
                };
                let slots = if r.recovery.is_some() {
                    "recovery code".to_owned()
                } else {
                    format!("{} unlock codes left", r.slots.len())
                };
                println!("{name}  {}  {state}  {slots}", r.display_name());
            }
            Err(reason) => println!("{}  unreadable: {reason}", entry.path.display()),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}
