//! `admin rotate-master-key`: every sealed value re-sealed under the
//! configured master key, opened under it or the previous one, in one
//! transaction per batch with its audit row. Resumable: values already
//! under the new key are left alone, so a run cut short is finished by
//! running it again. The nodes, given both keys meanwhile, serve
//! throughout.

use latchkey_core::rotation::{SealedColumn, reseal_token, reseal_value, rotation_event};
use latchkey_store::Resealer;

use super::{Failure, usage};
use crate::{Config, Operator};

/// `admin rotate-master-key`
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Tokens per transaction
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: u32,
}

fn failure(message: impl Into<String>) -> Failure {
    Failure {
        status: 1,
        message: message.into(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs the rotation.
pub(super) async fn run(
    operator: &Operator,
    config: &Config,
    args: RotateArgs,
) -> Result<(), Failure> {
    let start_error = |e: crate::StartError| failure(crate::report::error_chain(&e));
    let either = crate::master_key_cipher(config).map_err(start_error)?;
    if !either.has_previous() {
        return Err(usage(
            "no previous master key: set LATCHKEY_PREVIOUS_MASTER_KEY to the key being replaced \
             (or move it to master.key.previous in the data folder) and LATCHKEY_MASTER_KEY (or \
             master.key) to the new one, on every node and here (see docs/operations.md)",
        ));
    }
    let new = crate::own_master_key_cipher(config).map_err(start_error)?;
    let mut resealer = Resealer::open(operator.database(), &config.database_url()).await?;
    let (mut resealed, mut already) = (0usize, 0usize);
    let mut after = 0;
    loop {
        let batch = resealer
            .tokens_after(after, i64::from(args.batch_size))
            .await?;
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            break;
        };
        let (first_id, last_id) = (first.id, last.id);
        after = last_id;
        let mut changed = Vec::new();
        for token in &batch {
            match reseal_token(&either, &new, token).map_err(|e| failure(e.to_string()))? {
                Some(token) => changed.push(token),
                None => already += 1,
            }
        }
        if changed.is_empty() {
            continue;
        }
        let count = changed.len();
        let event = rotation_event(
            &operator.admin,
            now(),
            "tokens",
            format!("rows {first_id}-{last_id}: {count} re-sealed"),
        );
        resealer.write(changed, Vec::new(), event).await?;
        resealed += count;
        println!("re-sealed {count} tokens (rows {first_id}-{last_id})");
    }
    // The other sealed columns (RADIUS and OIDC client secrets, OIDC
    // signing keys, unassigned tokens' seeds) are small: one batch, written
    // with the last row, which says the rotation is complete.
    let mut values = Vec::new();
    for column in SealedColumn::ALL {
        let mut count = 0;
        for value in resealer.sealed_values(column).await? {
            match reseal_value(&either, &new, &value).map_err(|e| failure(e.to_string()))? {
                Some(value) => {
                    values.push(value);
                    count += 1;
                }
                None => already += 1,
            }
        }
        if count > 0 {
            println!("re-sealed {count} {}", column.label());
        }
    }
    resealed += values.len();
    let event = rotation_event(
        &operator.admin,
        now(),
        "master-key",
        format!("complete: {resealed} rows re-sealed in this run, {already} already were"),
    );
    resealer.write(Vec::new(), values, event).await?;
    println!(
        "Every sealed value is under the new master key: {resealed} values \
         re-sealed in this run, {already} already were. Remove the previous key (LATCHKEY_PREVIOUS_MASTER_KEY or \
         master.key.previous) from every node, and keep a copy of the new key apart from the \
         database backups."
    );
    Ok(())
}
