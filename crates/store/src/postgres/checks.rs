//! OTP checks on PostgreSQL in groups, as the SQLite writer does them: every
//! check waiting at that moment is read, judged and recorded in one
//! transaction, with one commit (one WAL flush) and one move of the audit
//! head for all of them.
//!
//! Each check alone would hold the audit head's row lock, which orders every
//! writer of the log on every node, across its own commit; the checks of all
//! nodes would then pass one commit at a time.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_core::*;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{
    USER_COLUMNS_AS_U, accept_otp_row, api_key_with_prefix, append_all_in, fail, otp_failure_row,
    token_from, user_from_columns, user_named,
};

/// A check's judge: the steps to record, or `None` if it refused the check
/// (its reason goes back to its caller another way).
pub(super) type Judge =
    Box<dyn FnOnce(Option<&ApiKey>, Option<&User>, &[Token]) -> Option<Vec<OtpStep>> + Send>;

/// One OTP check waiting for its group.
pub(super) struct Check {
    /// The prefix of the caller's API key, if the judge needs the key.
    pub api_key: Option<String>,
    pub username: String,
    pub judge: Judge,
    /// Whether an acceptance was recorded, or `None` if the judge refused.
    pub reply: oneshot::Sender<StoreResult<Option<bool>>>,
}

/// Checks one transaction takes at most.
const MOST_PER_GROUP: usize = 256;

/// Groups in progress at once on one node. A group spends most of its time
/// waiting for the database's answers, one statement after another, and
/// the next group's reads need not wait for this one's commit.
const GROUPS_AT_ONCE: usize = 4;

/// Starts the tasks that run the checks sent to the returned queue, group
/// by group, on connections from `pool`. They end when every sender is gone.
pub(super) fn start(pool: PgPool) -> mpsc::UnboundedSender<Check> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..GROUPS_AT_ONCE {
        let (pool, receiver) = (pool.clone(), receiver.clone());
        tokio::spawn(async move {
            let mut waiting = Vec::with_capacity(MOST_PER_GROUP);
            // The first task free takes every check waiting.
            while receiver
                .lock()
                .await
                .recv_many(&mut waiting, MOST_PER_GROUP)
                .await
                > 0
            {
                run_group(&pool, std::mem::take(&mut waiting)).await;
            }
        });
    }
    sender
}

async fn run_group(pool: &PgPool, mut group: Vec<Check>) {
    // Row locks are taken in user-name order, the same in every group on
    // every node, and the audit head's last: groups may wait for each other
    // but never deadlock.
    group.sort_by(|a, b| a.username.cmp(&b.username));
    let (work, replies): (Vec<_>, Vec<_>) = group
        .into_iter()
        .map(|check| ((check.api_key, check.username, check.judge), check.reply))
        .unzip();
    match check_all(pool, work).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) => {
            // Nothing of the group was kept: each check reports the failure.
            let cause = match std::error::Error::source(&error) {
                Some(cause) => cause.to_string(),
                None => error.to_string(),
            };
            for reply in replies {
                let _ = reply.send(Err(StoreError::Backend(cause.clone().into())));
            }
        }
    }
}

async fn check_all(
    pool: &PgPool,
    work: Vec<(Option<String>, String, Judge)>,
) -> StoreResult<Vec<Option<bool>>> {
    let mut tx = pool.begin().await.map_err(fail)?;
    // A key is read once per group; every read is inside the transaction,
    // so a key revoked before the group began is refused by it.
    let mut keys: HashMap<String, Option<ApiKey>> = HashMap::new();
    let mut events = Vec::new();
    let mut outcomes = Vec::with_capacity(work.len());
    for (prefix, username, judge) in work {
        let key = match prefix {
            Some(prefix) => match keys.get(&prefix) {
                Some(key) => key.clone(),
                None => {
                    let key = api_key_with_prefix(&mut *tx, &prefix).await?;
                    keys.insert(prefix, key.clone());
                    key
                }
            },
            None => None,
        };
        let (user, tokens) = user_with_tokens_in(&mut tx, &username).await?;
        outcomes.push(match judge(key.as_ref(), user.as_ref(), &tokens) {
            Some(steps) => Some(record_steps(&mut tx, steps, &mut events).await?),
            None => None,
        });
    }
    append_all_in(&mut tx, &events).await?;
    tx.commit().await.map_err(fail)?;
    Ok(outcomes)
}

/// Applies one check's steps to the token rows and adds their audit events
/// to `events`, in order. Whether an acceptance was recorded.
async fn record_steps(
    tx: &mut Transaction<'static, Postgres>,
    steps: Vec<OtpStep>,
    events: &mut Vec<AuditEvent>,
) -> StoreResult<bool> {
    let mut walk = OtpStepWalk::new(steps);
    while let Some(change) = walk.next_change() {
        match change {
            RowChange::Record(event) => events.push(event),
            RowChange::CountFailure {
                token_id,
                limit,
                event,
                lock_event,
            } => {
                let (_, locked_now) = otp_failure_row(tx, token_id, limit).await?;
                events.push(event);
                if locked_now {
                    events.push(lock_event);
                }
            }
            RowChange::Accept {
                token_id,
                used,
                drift,
                event,
            } => {
                if accept_otp_row(tx, token_id, used, drift).await? {
                    events.push(event);
                    walk.accept_applied();
                }
            }
        }
    }
    Ok(walk.accepted())
}

/// The user named `username` and that user's tokens, the tokens locked
/// until the end of the transaction: a concurrent check of these tokens, on
/// this node or another, waits until this one has committed, then reads what
/// it recorded. One statement for a user with tokens; a second for one
/// without (a join that locks rows cannot keep a user who has none).
async fn user_with_tokens_in(
    tx: &mut Transaction<'static, Postgres>,
    username: &str,
) -> StoreResult<(Option<User>, Vec<Token>)> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS_AS_U}, t.* FROM users u JOIN tokens t ON t.user_id = u.id \
         WHERE u.username = $1 ORDER BY t.id FOR UPDATE OF t"
    ))
    .bind(username.to_owned())
    .fetch_all(&mut **tx)
    .await
    .map_err(fail)?;
    let Some(first) = rows.first() else {
        return Ok((user_named(&mut **tx, username).await?, Vec::new()));
    };
    let user = user_from_columns(first, "u_")?;
    let tokens = rows.iter().map(token_from).collect::<StoreResult<_>>()?;
    Ok((Some(user), tokens))
}
