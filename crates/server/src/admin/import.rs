//! `latchkey admin import`: users with a TOTP or HOTP token each, from JSON
//! lines, in large transactions; or, with `--format pskc`, hardware tokens
//! from their vendor's PSKC file (RFC 6030), which arrive unassigned
//! (`token list --unassigned`, `token assign`). For migrations from another token server
//! (the seeds are known) and for seeding benchmarks with a million accounts.
//!
//! One line per account:
//! `{"username": "alice", "otpauth_uri": "otpauth://totp/…?secret=…",
//!   "email": "…", "password_hash": "$argon2id$…", "serial": "1234567897"}`
//! (`email`, `password_hash` and `serial` may be left out). Seeds are sealed
//! with the master key like those of issued tokens; each batch is one
//! transaction with one audit row (`user.import`) naming its first and last
//! user.

use std::io::BufRead;
use std::time::Instant;

use latchkey_core::import::{ImportRequest, ImportedAccount, prepare_account};
use latchkey_core::oath::Algorithm;
use latchkey_core::stock::{StockError, StockRequest, prepare_stock, prepare_stock_file};
use latchkey_core::{Actor, AuditEvent, SecretCipher, StoreError, TokenKind};
use latchkey_pskc::{
    Algorithm as PskcAlgorithm, KeyPackage, Options, OtpHash, Password, PreSharedKey, Unlock,
};
use latchkey_store::Importer;
use serde::Deserialize;
use serde_json::json;

use super::Failure;
use crate::{App, Config, Operator};
use latchkey_core::{AuditAction, Outcome};

/// `admin import`
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// JSON-lines file, or `-` for standard input
    #[arg(default_value = "-")]
    file: String,
    /// Accounts per transaction
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_size: u32,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// jsonl (users with known seeds) or pskc (hardware tokens, RFC 6030,
    /// arriving unassigned)
    #[arg(long, default_value = "jsonl")]
    format: String,
    /// PSKC: read the file's password from the first line of standard input
    #[arg(long, conflicts_with = "psk_file")]
    password_stdin: bool,
    /// PSKC: the pre-shared key (hex, or its raw 16, 24 or 32 bytes) in this file
    #[arg(long)]
    psk_file: Option<std::path::PathBuf>,
    /// PSKC: import the good tokens and report the bad ones, instead of
    /// refusing the whole file
    #[arg(long)]
    skip_invalid: bool,
    /// PSKC: read and check the file, say what would be imported, and
    /// import nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    username: String,
    otpauth_uri: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    serial: Option<String>,
}

impl From<Line> for ImportRequest {
    fn from(line: Line) -> Self {
        ImportRequest {
            username: line.username,
            email: line.email,
            password_hash: line.password_hash,
            otpauth_uri: line.otpauth_uri,
            serial: line.serial,
        }
    }
}

/// How often a batch is tried again with new random serials when one of
/// them was taken (a random 9-digit serial meets a taken one now and then
/// in a million).
const SERIAL_RETRIES: usize = 5;

fn failure(status: u8, message: impl Into<String>) -> Failure {
    Failure {
        status,
        message: message.into(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs the import.
pub async fn run(
    app: &App,
    operator: &Operator,
    config: &Config,
    args: ImportArgs,
) -> Result<(), Failure> {
    match args.format.as_str() {
        "pskc" => return import_pskc(app, operator, config, args).await,
        "jsonl" => {}
        _ => return Err(failure(2, "--format must be jsonl or pskc")),
    }
    if args.password_stdin || args.psk_file.is_some() || args.skip_invalid || args.dry_run {
        return Err(failure(
            2,
            "--password-stdin, --psk-file, --skip-invalid and --dry-run are for --format pskc",
        ));
    }
    let cipher = crate::master_key_cipher(config).map_err(|e| failure(1, e.to_string()))?;
    let mut importer = Importer::open(operator.database(), &config.database_url()).await?;
    let input: Box<dyn BufRead> = if args.file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&args.file)
            .map_err(|e| failure(2, format!("cannot read {}: {e}", args.file)))?;
        Box::new(std::io::BufReader::with_capacity(1 << 20, file))
    };
    let started = Instant::now();
    let mut imported = 0usize;
    let mut batch: Vec<(usize, ImportRequest)> = Vec::with_capacity(args.batch_size as usize);
    let report = |done: usize| {
        if !args.json {
            eprintln!("imported {done} accounts");
        }
    };
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| failure(1, format!("line {number}: cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line =
            serde_json::from_str(&line).map_err(|e| failure(2, format!("line {number}: {e}")))?;
        batch.push((number, parsed.into()));
        if batch.len() == args.batch_size as usize {
            imported += store_batch(
                &mut importer,
                &cipher,
                operator.admin.actor(),
                std::mem::take(&mut batch),
            )
            .await?;
            report(imported);
        }
    }
    if !batch.is_empty() {
        imported += store_batch(&mut importer, &cipher, operator.admin.actor(), batch).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", json!({ "imported": imported, "seconds": seconds }));
    } else {
        println!("Imported {imported} accounts in {seconds:.1} s.");
    }
    Ok(())
}

/// Seals and stores one batch in one transaction; returns its size.
async fn store_batch(
    importer: &mut Importer,
    cipher: &dyn SecretCipher,
    actor: &Actor,
    batch: Vec<(usize, ImportRequest)>,
) -> Result<usize, Failure> {
    let (first, last) = (batch[0].0, batch[batch.len() - 1].0);
    let random_serials = batch.iter().any(|(_, r)| r.serial.is_none());
    let mut attempt = 0;
    loop {
        let at = now();
        let accounts = batch
            .iter()
            .map(|(number, request)| {
                prepare_account(cipher, request.clone(), at)
                    .map_err(|e| failure(2, format!("line {number}: {e}")))
            })
            .collect::<Result<Vec<ImportedAccount>, Failure>>()?;
        let event = AuditEvent {
            at,
            actor: actor.name.clone(),
            action: AuditAction::UserImport,
            subject: accounts[0].user.username.to_string(),
            source: actor.source.clone(),
            outcome: Outcome::Success,
            detail: format!(
                "{} users with a token each, lines {first}-{last}, last user {}",
                accounts.len(),
                accounts[accounts.len() - 1].user.username
            ),
        };
        let count = accounts.len();
        match importer.import(accounts, event).await {
            Ok(()) => return Ok(count),
            Err(StoreError::Conflict(what))
                if random_serials && what.contains("serial") && attempt < SERIAL_RETRIES =>
            {
                attempt += 1;
            }
            Err(StoreError::Conflict(what)) => {
                return Err(failure(
                    1,
                    format!(
                        "lines {first}-{last} were not imported (nor any after them): \
                         a user name or serial exists already ({what})"
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What opens the PSKC file: the password on standard input, the key in a
/// file, or nothing (a file with secrets in the clear).
fn pskc_unlock(args: &ImportArgs) -> Result<Unlock, Failure> {
    if args.password_stdin {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| failure(1, format!("cannot read the password: {e}")))?;
        let password = line.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return Err(failure(2, "--password-stdin read an empty password"));
        }
        return Ok(Unlock::Password(Password::new(password.as_bytes())));
    }
    if let Some(path) = &args.psk_file {
        let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
            failure(
                2,
                format!("cannot read the key file {}: {e}", path.display()),
            )
        })?);
        let key = match std::str::from_utf8(&bytes) {
            Ok(text)
                if !text.trim().is_empty()
                    && text.trim().chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                PreSharedKey::from_hex(text)
            }
            _ => PreSharedKey::new(bytes.to_vec()),
        }
        .map_err(|e| {
            failure(
                2,
                format!("the key in {} is not usable: {e}", path.display()),
            )
        })?;
        return Ok(Unlock::PreSharedKey(key));
    }
    Ok(Unlock::Nothing)
}

/// One key package as the core's stock takes it (the console's PSKC
/// import makes the same of it).
pub(crate) fn stock_request(key: KeyPackage) -> StockRequest {
    StockRequest {
        vendor_serial: key.serial_or_key_id().map(str::to_owned),
        kind: match key.algorithm {
            PskcAlgorithm::Hotp => TokenKind::Hotp,
            PskcAlgorithm::Totp => TokenKind::Totp,
        },
        algorithm: match key.hash {
            OtpHash::Sha1 => Algorithm::Sha1,
            OtpHash::Sha256 => Algorithm::Sha256,
            OtpHash::Sha512 => Algorithm::Sha512,
        },
        digits: key.digits,
        counter: key.counter,
        period: key.time_interval,
        drift: key.time_drift,
        secret: zeroize::Zeroizing::new(key.secret.expose().to_vec()),
    }
}

/// `admin import --format pskc FILE`: all or nothing unless
/// `--skip-invalid`; nothing at all with `--dry-run`.
async fn import_pskc(
    app: &App,
    operator: &Operator,
    config: &Config,
    args: ImportArgs,
) -> Result<(), Failure> {
    if args.file == "-" {
        return Err(failure(
            2,
            "give the PSKC file's path (standard input carries the password)",
        ));
    }
    let options = Options {
        skip_invalid: args.skip_invalid,
        ..Options::default()
    };
    let limit = options.limits.max_bytes;
    let size = std::fs::metadata(&args.file)
        .map_err(|e| failure(2, format!("cannot read {}: {e}", args.file)))?
        .len();
    if size > limit as u64 {
        return Err(failure(
            2,
            format!(
                "{}: the file is {size} bytes, more than the {limit} allowed; nothing was imported",
                args.file
            ),
        ));
    }
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(&args.file)
            .map_err(|e| failure(2, format!("cannot read {}: {e}", args.file)))?,
    );
    let unlock = pskc_unlock(&args)?;
    let decoded = latchkey_pskc::decode(&bytes, &unlock, &options)
        .map_err(|e| failure(2, format!("{}: {e}; nothing was imported", args.file)))?;
    let mut skipped: Vec<(usize, Option<String>, String)> = decoded
        .skipped
        .into_iter()
        .map(|s| (s.position, s.serial, s.reason.to_string()))
        .collect();
    let now = now();
    let cipher = crate::master_key_cipher(config).map_err(|e| failure(1, e.to_string()))?;
    let cipher: &dyn SecretCipher = &cipher;
    let mut tokens = Vec::new();
    if args.skip_invalid {
        let mut seen = std::collections::HashSet::new();
        for key in decoded.keys {
            let position = key.position;
            let serial = key.serial_or_key_id().map(str::to_owned);
            match prepare_stock(cipher, stock_request(key), now) {
                Ok(token) if seen.insert(token.vendor_serial.clone()) => tokens.push(token),
                Ok(token) => skipped.push((
                    position,
                    serial,
                    StockError::Duplicate(token.vendor_serial).to_string(),
                )),
                Err(e) => skipped.push((position, serial, e.to_string())),
            }
        }
    } else {
        let requests = decoded
            .keys
            .into_iter()
            .map(|key| (key.position, stock_request(key)))
            .collect();
        tokens = prepare_stock_file(cipher, requests, now).map_err(|(position, e)| {
            failure(
                2,
                format!(
                    "{}: key package {position} (counting from 1): {e}; nothing was imported",
                    args.file
                ),
            )
        })?;
    }
    skipped.sort_by_key(|(position, _, _)| *position);
    let listed: Vec<serde_json::Value> = tokens
        .iter()
        .map(|t| json!({"serial": t.serial, "vendor_serial": t.vendor_serial, "kind": t.kind.as_str()}))
        .collect();
    let skipped_json: Vec<serde_json::Value> = skipped
        .iter()
        .map(|(position, serial, reason)| json!({"position": position, "serial": serial, "reason": reason}))
        .collect();
    let count = tokens.len();
    if !args.dry_run && count > 0 {
        let name = std::path::Path::new(&args.file)
            .file_name()
            .map_or_else(|| args.file.clone(), |n| n.to_string_lossy().into_owned());
        app.import_stock(
            &operator.admin,
            tokens,
            &format!("PSKC file {name}, {} skipped", skipped.len()),
        )
        .await?;
    }
    if args.json {
        println!(
            "{}",
            json!({
                "dry_run": args.dry_run,
                "imported": if args.dry_run { 0 } else { count },
                "skipped": skipped_json,
                "tokens": listed,
            })
        );
    } else {
        let verb = if args.dry_run {
            "Would import"
        } else {
            "Imported"
        };
        println!("{verb} {count} unassigned tokens from {}.", args.file);
        for token in &listed {
            println!(
                "  {}  vendor serial {}  {}",
                token["serial"].as_str().unwrap_or(""),
                token["vendor_serial"].as_str().unwrap_or(""),
                token["kind"].as_str().unwrap_or("")
            );
        }
        for (position, serial, reason) in &skipped {
            println!(
                "  skipped key package {position}{}: {reason}",
                serial
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            );
        }
        if args.dry_run {
            println!("Nothing was imported (--dry-run).");
        }
    }
    Ok(())
}
