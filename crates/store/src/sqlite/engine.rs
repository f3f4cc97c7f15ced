//! The group-commit engine: the writer thread and its batches.
//!
//! One writer thread owns the only write connection. Callers hand it their
//! change as a closure over a channel and wait on a oneshot. The writer takes
//! everything waiting at that moment (up to [`MAX_BATCH`]), runs it in one
//! `BEGIN IMMEDIATE … COMMIT`, and hands the committed batch to a second
//! thread, which fsyncs the WAL once for every batch committed meanwhile and
//! only then answers their callers (see [`durable`]): an accepted OTP is on
//! disk before anyone hears of it, and the writer never waits for the disk.
//!
//! Each change runs under its own `SAVEPOINT`, so one that fails (a unique
//! violation, say) is rolled back alone and gets its own error, while the
//! rest of the batch commits. If the transaction as a whole fails, every
//! change in it gets an error, since none of them is on disk.
//!
//! Reads never queue behind the writer: a few reader threads, each with its
//! own connection (WAL lets readers and the writer proceed together), take
//! them from one shared queue, off the async runtime. Dedicated threads
//! rather than `spawn_blocking`: under load a reader finds the next query
//! already queued and never parks, where `spawn_blocking` woke a parked
//! thread for every read (measured: those wake-ups were ~45% of all CPU).
//! A read after an answered write sees it, since every read starts a fresh
//! snapshot after that write's `COMMIT`.

use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{KEY_CACHE_LIMIT, KeyCache, MAX_BATCH, api_key_with_prefix, durable, fail};
use crate::queries::BUMP_AUDIT_HOUR;
use latchkey_core::*;
use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

pub(super) enum Message {
    Write(Box<dyn Pending>),
    /// Finish what is queued, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

/// A change waiting for the writer, type-erased so one channel carries all.
pub(super) trait Pending: Send {
    /// Whether the change runs under a savepoint of its own, so that its
    /// failure undoes it alone (see [`SqliteStore::write_unguarded`]).
    fn guarded(&self) -> bool;
    /// Runs the change inside the open transaction; false if it failed.
    fn run(&mut self, tx: &Batch<'_>) -> bool;
    /// Answers the caller. `batch_failure` is set when the transaction did
    /// not commit: a change that had succeeded then reports that instead.
    fn answer(self: Box<Self>, batch_failure: Option<&BatchFailed>);
}

pub(super) struct Op<T, F> {
    pub(super) work: Option<F>,
    pub(super) guarded: bool,
    pub(super) result: Option<StoreResult<T>>,
    pub(super) reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Op<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Batch<'_>) -> rusqlite::Result<T> + Send + 'static,
{
    /// The change for the writer, under its own savepoint, and where its
    /// answer will come.
    pub(super) fn boxed(work: F) -> (Box<dyn Pending>, oneshot::Receiver<StoreResult<T>>) {
        Self::boxed_with(work, true)
    }

    pub(super) fn boxed_with(
        work: F,
        guarded: bool,
    ) -> (Box<dyn Pending>, oneshot::Receiver<StoreResult<T>>) {
        let (reply, answer) = oneshot::channel();
        let op = Op {
            work: Some(work),
            guarded,
            result: None,
            reply,
        };
        (Box::new(op), answer)
    }
}

impl<T, F> Pending for Op<T, F>
where
    T: Send,
    F: FnOnce(&Batch<'_>) -> rusqlite::Result<T> + Send,
{
    fn guarded(&self) -> bool {
        self.guarded
    }

    fn run(&mut self, tx: &Batch<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(tx);
        if let Err(error) = &result
            && broke_the_disk(error)
        {
            tx.io_failed.set(true);
        }
        let result = result.map_err(fail);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, batch_failure: Option<&BatchFailed>) {
        let Op { result, reply, .. } = *self;
        let result = match (result, batch_failure) {
            (Some(Ok(_)) | None, Some(failure)) => {
                Err(StoreError::Backend(Box::new(failure.clone())))
            }
            (Some(result), None) => result,
            (Some(Err(own)), Some(_)) => Err(own),
            (None, None) => Err(StoreError::Backend(
                "the change did not run: the writer failed while running it".into(),
            )),
        };
        // The caller may have gone away (a dropped request); the change
        // stands all the same, like a committed transaction nobody awaited.
        let _ = reply.send(result);
    }
}

/// The transaction holding a batch of changes failed to commit; the
/// SQLite error is the source. Shared by every change in that batch.
#[derive(Debug, Clone)]
pub(super) struct BatchFailed(pub(super) Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for BatchFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the transaction carrying this change failed and was rolled back")
    }
}

impl std::error::Error for BatchFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// The writer's connection inside a batch's transaction. It keeps the audit
/// chain's head in memory while the transaction lasts: the transaction holds
/// SQLite's write lock, so no other process can append meanwhile, and the
/// head row is read once after `BEGIN` and written once before `COMMIT`
/// instead of twice per audited change.
pub(super) struct Batch<'c> {
    pub(super) conn: &'c Connection,
    /// `None` until the first append of this transaction loads it.
    pub(super) head: RefCell<Option<Head>>,
    pub(super) keys: &'c KeyCache,
    /// The audit events appended so far (the hour, action and outcome):
    /// the hourly summary is bumped once per distinct triple just before
    /// `COMMIT`, and `/metrics` counts them once the transaction commits.
    pub(super) events: RefCell<Vec<(i64, AuditAction, Outcome)>>,
    /// A change failed because the disk or the file did (full, I/O error,
    /// read-only): the writer is failing even if its savepoint undid it alone.
    pub(super) io_failed: Cell<bool>,
    /// A transaction of this batch was rolled back as a whole.
    pub(super) aborted: Cell<bool>,
}

#[derive(Clone)]
pub(super) struct Head {
    pub(super) last_id: i64,
    pub(super) last_hash: Vec<u8>,
    /// Moved in this transaction: the row must be written before `COMMIT`.
    pub(super) moved: bool,
}

impl Deref for Batch<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl<'c> Batch<'c> {
    pub(super) fn new(conn: &'c Connection, keys: &'c KeyCache) -> Self {
        Batch {
            conn,
            head: RefCell::new(None),
            keys,
            events: RefCell::new(Vec::new()),
            io_failed: Cell::new(false),
            aborted: Cell::new(false),
        }
    }

    /// Starts a transaction; the head is read afresh in it, and the cached
    /// keys are dropped if another process has committed since the last one.
    pub(super) fn begin(&self) -> rusqlite::Result<()> {
        self.head.replace(None);
        self.events.borrow_mut().clear();
        exec(self.conn, "BEGIN IMMEDIATE")?;
        let version = self
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut statement| statement.query_row([], |row| row.get::<_, i64>(0)));
        match version {
            Ok(version) => {
                if self.keys.version.replace(version) != version {
                    self.keys.forget();
                }
                Ok(())
            }
            Err(error) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }

    /// The API key with this prefix, as of this transaction.
    pub(super) fn api_key(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
        if let Some(key) = self.keys.keys.borrow().get(prefix) {
            return Ok(Some(key.clone()));
        }
        let key = api_key_with_prefix(self.conn, prefix)?;
        let mut keys = self.keys.keys.borrow_mut();
        if let Some(key) = &key
            && keys.len() < KEY_CACHE_LIMIT
        {
            keys.insert(prefix.to_owned(), key.clone());
        }
        Ok(key)
    }

    /// Writes what this transaction's appends left for its end: the head
    /// row if it moved, and the hourly summary (`audit_hourly`), one bump
    /// per hour, action and outcome rather than one per event — a batch of
    /// acceptances is one row change, not one per acceptance.
    pub(super) fn finish_audit(&self) -> rusqlite::Result<()> {
        if let Some(head) = self.head.borrow().as_ref().filter(|head| head.moved) {
            self.conn
                .prepare_cached("UPDATE audit_head SET last_id = ?1, last_hash = ?2 WHERE id = 1")?
                .execute(params![head.last_id, head.last_hash])?;
        }
        let mut hours: Vec<((i64, &str, &str), i64)> = Vec::new();
        for (hour, action, outcome) in self.events.borrow().iter() {
            let key = (*hour, action.as_str(), outcome.as_str());
            match hours.iter_mut().find(|(seen, _)| *seen == key) {
                Some((_, count)) => *count += 1,
                None => hours.push((key, 1)),
            }
        }
        for ((hour, action, outcome), count) in hours {
            self.conn
                .prepare_cached(BUMP_AUDIT_HOUR.sqlite())?
                .execute(params![hour, action, outcome, count])?;
        }
        if let Some(head) = self.head.borrow().as_ref().filter(|head| head.moved) {
            catch_up_subjects(self.conn, head.last_id)?;
        }
        Ok(())
    }
}

/// Audit rows the subject table (`audit_subjects`, migration 0015) may lag
/// behind the log. A search by user or serial reads at most this many rows
/// from the log itself; the writer copies them in one sorted insert, which
/// writes each subject's leaf once rather than once per row.
pub(super) const SUBJECT_CATCH_UP_ROWS: i64 = 8192;

/// Copies the subjects of the rows after `audit_subjects_done.through` into
/// `audit_subjects` once there are [`SUBJECT_CATCH_UP_ROWS`] of them,
/// `last_id` being the newest row in this transaction.
fn catch_up_subjects(conn: &Connection, last_id: i64) -> rusqlite::Result<()> {
    let through: i64 = conn
        .prepare_cached(SUBJECTS_THROUGH)?
        .query_row([], |row| row.get(0))?;
    if last_id - through < SUBJECT_CATCH_UP_ROWS {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO audit_subjects (subject, id) \
         SELECT subject, id FROM audit WHERE id > ?1 AND id <= ?2 ORDER BY subject, id",
    )?
    .execute(params![through, last_id])?;
    conn.prepare_cached("UPDATE audit_subjects_done SET through = ?1 WHERE id = 1")?
        .execute([last_id])?;
    Ok(())
}

/// The newest audit row whose subject `audit_subjects` holds.
pub(super) const SUBJECTS_THROUGH: &str = "SELECT through FROM audit_subjects_done WHERE id = 1";

/// Whether a failed change failed for the disk's or the file's sake, not
/// its own: what makes the writer as a whole fail (SECURITY-REVIEW L2).
fn broke_the_disk(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        error.sqlite_error_code(),
        Some(DiskFull | SystemIoFailure | ReadOnly | CannotOpen | DatabaseCorrupt | NotADatabase)
    )
}

/// The writer thread: gathers what is waiting, commits it as one batch,
/// hands it to the durability thread to be synced and answered, and again,
/// until closed. `failing` is set while the last batch failed as a whole
/// and none has committed since (readiness reads it).
pub(super) fn write_loop(
    conn: Connection,
    mut queue: mpsc::Receiver<Message>,
    committed: std::sync::mpsc::Sender<durable::Committed>,
    syncer: std::thread::JoinHandle<()>,
    failing: &AtomicBool,
) {
    let keys = KeyCache::default();
    let mut batch: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    let mut closers = Vec::new();
    while let Some(first) = queue.blocking_recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Write(op) => batch.push(op),
                Message::Close(done) => {
                    // Senders fail from now on; what is queued still runs.
                    closers.push(done);
                    queue.close();
                }
            }
            if batch.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let (done, failed) = commit_batch_noting(&conn, &keys, &mut batch);
            failing.store(failed, Ordering::Release);
            if !done.is_empty() && committed.send(done).is_err() {
                tracing::error!("the SQLite durability thread is gone");
            }
        }
    }
    // The last commits are answered once synced, before the close is.
    drop(committed);
    if syncer.join().is_err() {
        tracing::error!("the SQLite durability thread panicked");
    }
    if let Err((_, error)) = conn.close() {
        tracing::warn!(%error, "closing the SQLite write connection failed");
    }
    for done in closers {
        let _ = done.send(());
    }
}

pub(super) fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Runs `batch` in as few transactions as possible (one, unless something
/// breaks the transaction itself). Returns the changes that committed, to be
/// answered once the commit is durable; the others are answered here, with
/// an error, since they did not commit.
#[cfg(test)]
pub(super) fn commit_batch(
    conn: &Connection,
    keys: &KeyCache,
    batch: &mut Vec<Box<dyn Pending>>,
) -> durable::Committed {
    commit_batch_noting(conn, keys, batch).0
}

/// [`commit_batch`], and whether the writer failed in it: the transaction
/// failed as a whole, or a change failed for the disk's sake. Counts the
/// batch's size and its audit events for `/metrics` once it commits.
fn commit_batch_noting(
    conn: &Connection,
    keys: &KeyCache,
    batch: &mut Vec<Box<dyn Pending>>,
) -> (durable::Committed, bool) {
    let tx = Batch::new(conn, keys);
    let mut failed = false;
    // Changes run in the open transaction, answered at its end.
    let mut ran: Vec<Box<dyn Pending>> = Vec::with_capacity(batch.len());
    let mut open = false;
    for mut op in batch.drain(..) {
        if !open {
            if let Err(error) = tx.begin() {
                tracing::error!(%error, "SQLite BEGIN failed");
                failed = true;
                op.answer(Some(&BatchFailed(Arc::new(error))));
                continue;
            }
            open = true;
        }
        let guarded = op.guarded();
        if guarded && let Err(error) = exec(conn, "SAVEPOINT op") {
            op.answer(Some(&abort(&tx, &mut ran, error.into())));
            open = false;
            continue;
        }
        let head_before = tx.head.borrow().clone();
        let events_before = tx.events.borrow().len();
        // A panicking change must not take the writer (and every later
        // caller) down with it: it counts as a failed change.
        let ok = catch_unwind(AssertUnwindSafe(|| op.run(&tx))).unwrap_or(false);
        if !ok {
            if conn.is_autocommit() {
                // Some errors (I/O, disk full) make SQLite roll back the
                // whole transaction: the changes before this one are gone.
                abort(&tx, &mut ran, "SQLite rolled back the transaction".into());
                op.answer(None);
                open = false;
                continue;
            }
            if !guarded {
                // It may have stopped part-way, with nothing to undo it
                // alone: the whole transaction goes.
                abort(&tx, &mut ran, "a change without a savepoint failed".into());
                op.answer(None);
                open = false;
                continue;
            }
            if let Err(error) = exec(conn, "ROLLBACK TO op") {
                abort(&tx, &mut ran, error.into());
                op.answer(None);
                open = false;
                continue;
            }
            // Its audit rows are gone, so the chain goes on from before it.
            tx.head.replace(head_before);
            tx.events.borrow_mut().truncate(events_before);
        }
        if guarded && let Err(error) = exec(conn, "RELEASE op") {
            op.answer(Some(&abort(&tx, &mut ran, error.into())));
            open = false;
            continue;
        }
        ran.push(op);
    }
    if open {
        match tx.finish_audit().and_then(|()| exec(conn, "COMMIT")) {
            Ok(()) => {
                crate::metrics::SQLITE_BATCH.observe(ran.len() as f64);
                crate::metrics::count_events(
                    tx.events
                        .borrow()
                        .iter()
                        .map(|(_, action, outcome)| (action.as_str(), outcome.as_str())),
                );
                return (ran, tx.io_failed.get());
            }
            Err(error) => {
                abort(&tx, &mut ran, error.into());
            }
        }
    }
    let failed = failed || tx.aborted.get() || tx.io_failed.get();
    (Vec::new(), failed)
}

/// Rolls the open transaction back and tells every change in it.
pub(super) fn abort(
    tx: &Batch<'_>,
    ran: &mut Vec<Box<dyn Pending>>,
    error: Box<dyn std::error::Error + Send + Sync>,
) -> BatchFailed {
    tracing::error!(%error, changes = ran.len(), "an SQLite batch failed and was rolled back");
    tx.aborted.set(true);
    crate::metrics::SQLITE_FAILED_BATCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Keys read in it may include changes that are now undone.
    tx.keys.forget();
    let conn = tx.conn;
    if !conn.is_autocommit()
        && let Err(error) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!(%error, "SQLite ROLLBACK failed");
    }
    let failure = BatchFailed(Arc::from(error));
    ran.drain(..).for_each(|op| op.answer(Some(&failure)));
    failure
}
