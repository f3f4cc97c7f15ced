//! `latchkey admin import`: users with a TOTP or HOTP token each, from JSON
//! lines, in large transactions. For migrations from another token server
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
use latchkey_core::{Actor, AuditEvent, SecretCipher, StoreError};
use latchkey_store::Importer;
use serde::Deserialize;
use serde_json::json;

use super::Failure;
use crate::{Config, Operator};

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
pub async fn run(operator: &Operator, config: &Config, args: ImportArgs) -> Result<(), Failure> {
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
            action: "user.import".into(),
            subject: accounts[0].user.username.to_string(),
            source: actor.source.clone(),
            outcome: "success".into(),
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
