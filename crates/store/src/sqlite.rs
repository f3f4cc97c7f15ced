//! The ports over SQLite, with group commit.
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
use std::collections::HashMap;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use latchkey_core::audit::row_hash;
use latchkey_core::*;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Params, Row, params};
use tokio::sync::{mpsc, oneshot};

/// The most changes one transaction carries. Whatever is waiting beyond it
/// goes into the next one, so a burst cannot make one fsync arbitrarily late
/// for the callers at the head of the queue.
pub const MAX_BATCH: usize = 512;

/// How many changes (and, apart, how many reads) may wait before callers
/// wait to enqueue: back-pressure rather than unbounded memory.
const QUEUE: usize = 4 * MAX_BATCH;

/// How long a connection waits for another process's lock (the admin CLI,
/// a second node on the same file) before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Enough for every distinct statement this module prepares, so none is
/// ever parsed twice on a connection.
const STATEMENT_CACHE: usize = 64;

/// The writer's page cache (SQLite's `cache_size`, in KiB).
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// WAL pages between automatic checkpoints (~40 MB at 4 KiB pages).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// What the WAL file is trimmed to once checkpointed.
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Issued unlock codes for one token since a time. The literal action and
/// outcome let the partial index `audit_unlock_issues` serve it.
const COUNT_UNLOCK_ISSUES: &str = "SELECT COUNT(*) FROM audit \
     WHERE action = 'unlock.issue' AND outcome = 'success' AND subject = ?1 AND at >= ?2";

/// The stores over one SQLite file: a group-committing writer thread and a
/// few reader threads. Clones share them.
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    writer: mpsc::Sender<Message>,
    reads: mpsc::Sender<ReadMessage>,
    readers: usize,
    closed: AtomicBool,
    /// An fsync of the WAL failed: no change is reported as done any more.
    sync_failed: Arc<AtomicBool>,
}

enum ReadMessage {
    /// A query, which answers its caller itself.
    Query(Box<dyn FnOnce(&Connection) + Send>),
    /// The reader that takes it closes its connection and ends.
    Stop,
}

enum Message {
    Write(Box<dyn Pending>),
    /// Finish what is queued, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

/// A change waiting for the writer, type-erased so one channel carries all.
trait Pending: Send {
    /// Whether the change runs under a savepoint of its own, so that its
    /// failure undoes it alone (see [`SqliteStore::write_unguarded`]).
    fn guarded(&self) -> bool;
    /// Runs the change inside the open transaction; false if it failed.
    fn run(&mut self, tx: &Batch<'_>) -> bool;
    /// Answers the caller. `batch_failure` is set when the transaction did
    /// not commit: a change that had succeeded then reports that instead.
    fn answer(self: Box<Self>, batch_failure: Option<&BatchFailed>);
}

struct Op<T, F> {
    work: Option<F>,
    guarded: bool,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Op<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Batch<'_>) -> rusqlite::Result<T> + Send + 'static,
{
    /// The change for the writer, under its own savepoint, and where its
    /// answer will come.
    fn boxed(work: F) -> (Box<dyn Pending>, oneshot::Receiver<StoreResult<T>>) {
        Self::boxed_with(work, true)
    }

    fn boxed_with(work: F, guarded: bool) -> (Box<dyn Pending>, oneshot::Receiver<StoreResult<T>>) {
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
        let result = work(tx).map_err(fail);
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
struct BatchFailed(Arc<dyn std::error::Error + Send + Sync>);

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

fn fail(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, message) = &error
        && code.code == ErrorCode::ConstraintViolation
        && matches!(
            code.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Conflict(message.clone().unwrap_or_else(|| error.to_string()));
    }
    StoreError::Backend(Box::new(error))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored {what} is not valid").into())
}

fn closed() -> StoreError {
    StoreError::Backend("the SQLite store is closed".into())
}

/// Where the file is and whether it may be created, from a `sqlite:` URL.
#[derive(Debug, PartialEq, Eq)]
struct Location {
    path: PathBuf,
    create: bool,
}

/// Reads `sqlite://PATH[?mode=rwc|rw]` (also `sqlite:PATH`), the forms
/// sqlx accepted, so existing configurations keep working. Like sqlx, the
/// file is created only with `mode=rwc`.
fn parse_url(url: &str) -> Result<Location, StoreError> {
    let invalid = |why: &str| StoreError::Backend(format!("bad SQLite URL {url:?}: {why}").into());
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| invalid("it must start with sqlite://"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = percent_decode(path)
        .ok_or_else(|| invalid("the path is not valid percent-encoded UTF-8"))?;
    if path.is_empty() || path == ":memory:" {
        // Every connection would see its own empty database, and nothing
        // would be durable: neither fits a store whose point is durability.
        return Err(invalid(
            "an in-memory database is not supported; give a file path",
        ));
    }
    let mut create = false;
    for option in query.split('&').filter(|o| !o.is_empty()) {
        match option.split_once('=') {
            Some(("mode", "rwc")) => create = true,
            Some(("mode", "rw")) => create = false,
            _ => {
                return Err(invalid(&format!(
                    "unsupported option {option:?} (only mode=rwc or mode=rw; the store sets its own pragmas)"
                )));
            }
        }
    }
    Ok(Location {
        path: PathBuf::from(path),
        create,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn open_writer(location: &Location) -> StoreResult<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if location.create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(&location.path, flags).map_err(fail)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(
            format!("SQLite refused WAL mode (it kept {mode:?})").into(),
        ));
    }
    // NORMAL: COMMIT writes the WAL without waiting for the disk; the
    // durability thread fsyncs it before any caller hears of the commit
    // (see `durable`), which is what FULL would do, minus the writer's wait.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(fail)?;
    // The writer's cache survives between its own transactions; every
    // accepted OTP touches a token row and an audit index leaf, spread over
    // the file, so a bigger cache saves re-reading them.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
        .map_err(fail)?;
    // A checkpoint copies each page once however often the WAL holds it;
    // checkpointing every ~40 MB instead of every ~4 MB copies the hot pages
    // (token rows, index leaves, the audit head) far less often, and fsyncs
    // the main file less. Measured: ~30% more accepted OTPs per second.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(fail)?;
    // After a checkpoint lets the WAL restart, trim the file back to this.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)
        .map_err(fail)?;
    migrate(&conn).map_err(fail)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Every write must go through the writer, or it would escape group
    // commit and the audit chain's ordering; make a slip fail loudly.
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // IMMEDIATE: two processes starting on one file take turns.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let applied = conn
        .execute_batch(include_str!("../migrations/sqlite.sql"))
        .and_then(|()| conn.execute_batch("COMMIT"));
    if applied.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    applied
}

impl SqliteStore {
    /// Opens the file named by `url` (`sqlite://PATH?mode=rwc` creates it),
    /// switches it to WAL, runs the migrations and starts the writer
    /// thread, its durability thread and the reader threads.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let location = parse_url(url)?;
        // Reads are CPU work on cached pages: a thread per core is enough.
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let (opened, location) = tokio::task::spawn_blocking(move || {
            let opened = open_writer(&location).and_then(|writer| {
                let readers = (0..readers)
                    .map(|_| open_reader(&location.path).map_err(fail))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok((writer, readers))
            });
            (opened, location)
        })
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let (writer_conn, reader_conns) = opened?;
        let spawn_failed = |e| StoreError::Backend(Box::new(e));
        // The WAL exists from the migrations on, and lasts while the writer's
        // connection is open; fsync on this handle syncs the same file.
        let wal = std::fs::OpenOptions::new()
            .write(true)
            .open(wal_path(&location.path))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let sync_failed = Arc::new(AtomicBool::new(false));
        let (committed, durable_queue) = std::sync::mpsc::channel();
        let broken = Arc::clone(&sync_failed);
        let syncer = std::thread::Builder::new()
            .name("sqlite-sync".into())
            .spawn(move || durable::sync_loop(|| wal.sync_data(), durable_queue, &broken))
            .map_err(spawn_failed)?;
        let (writer, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer_conn, queue, committed, syncer))
            .map_err(spawn_failed)?;
        let (reads, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for conn in reader_conns {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("sqlite-reader".into())
                .spawn(move || read_loop(conn, &queue))
                .map_err(spawn_failed)?;
        }
        Ok(SqliteStore {
            shared: Arc::new(Shared {
                path: location.path,
                writer,
                reads,
                readers,
                closed: AtomicBool::new(false),
                sync_failed,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether the database answers a read and the writer is running.
    pub async fn ping(&self) -> bool {
        !self.shared.writer.is_closed()
            && !self.shared.sync_failed.load(Ordering::Acquire)
            && self
                .read(|conn| {
                    conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                        .map_err(fail)
                })
                .await
                .is_ok()
    }

    /// Lets the writer commit what is queued, then closes every connection.
    /// Later calls fail with an error.
    pub async fn close(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // One stop per reader: each takes one and closes its connection.
        for _ in 0..self.shared.readers {
            let _ = self.shared.reads.send(ReadMessage::Stop).await;
        }
        let (done, closed) = oneshot::channel();
        if self.shared.writer.send(Message::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }

    /// Hands `work` to the writer; its answer comes after the `COMMIT` of
    /// the batch it ran in.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Batch<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        self.hand_over(Op::boxed(work)).await
    }

    /// Like [`SqliteStore::write`], without a savepoint of its own: for a
    /// change whose statements cannot fail one by one (no constraint they
    /// could break) and so fail only with the whole transaction. The two
    /// statements a savepoint costs are a good part of a short change; if
    /// such a change fails nonetheless, the whole batch is rolled back and
    /// every change in it reports an error, since it may have failed
    /// part-way.
    async fn write_unguarded<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Batch<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        self.hand_over(Op::boxed_with(work, false)).await
    }

    async fn hand_over<T>(
        &self,
        (op, answer): (Box<dyn Pending>, oneshot::Receiver<StoreResult<T>>),
    ) -> StoreResult<T> {
        self.shared
            .writer
            .send(Message::Write(op))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Runs `query` on a reader thread.
    async fn read<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let (reply, answer) = oneshot::channel();
        let read = ReadMessage::Query(Box::new(move |conn| {
            let _ = reply.send(query(conn));
        }));
        self.shared.reads.send(read).await.map_err(|_| closed())?;
        answer
            .await
            .map_err(|_| StoreError::Backend("an SQLite read failed before answering".into()))?
    }
}

/// A reader thread: runs queued queries on its connection until stopped.
/// The queue is shared: whichever reader is free takes the next query, so
/// one long read (an audit listing) holds up only its own thread.
fn read_loop(conn: Connection, queue: &Mutex<mpsc::Receiver<ReadMessage>>) {
    loop {
        let next = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        match next {
            // A panicking query drops its reply (its caller gets an error)
            // and must not end the thread.
            Some(ReadMessage::Query(read)) => {
                let _ = catch_unwind(AssertUnwindSafe(|| read(&conn)));
            }
            Some(ReadMessage::Stop) | None => return,
        }
    }
}

macro_rules! api_key_columns {
    () => {
        "id, name, prefix, hash, role, revoked, created_at"
    };
}

/// The API key row with this prefix.
fn api_key_with_prefix(conn: &Connection, prefix: &str) -> StoreResult<Option<ApiKey>> {
    query_one(
        conn,
        concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE prefix = ?1"
        ),
        [prefix],
        api_key_from,
    )
}

/// The writer's connection inside a batch's transaction. It keeps the audit
/// chain's head in memory while the transaction lasts: the transaction holds
/// SQLite's write lock, so no other process can append meanwhile, and the
/// head row is read once after `BEGIN` and written once before `COMMIT`
/// instead of twice per audited change.
struct Batch<'c> {
    conn: &'c Connection,
    /// `None` until the first append of this transaction loads it.
    head: RefCell<Option<Head>>,
    keys: &'c KeyCache,
}

/// The API keys the writer has read, by prefix, so that checking the key of
/// each authentication costs no query. Exact, not a time-limited guess:
/// every change to a key in this process goes through the writer and empties
/// it, and any other process's commit (`latchkey admin apikey revoke`, say)
/// changes the connection's `data_version`, which each transaction compares
/// first, under the write lock, so nobody can commit in between.
#[derive(Default)]
struct KeyCache {
    /// `data_version` when the entries were read.
    version: Cell<i64>,
    keys: RefCell<HashMap<String, ApiKey>>,
}

/// Keys beyond this many are not kept (keys are few; prefixes that match
/// no key are never kept, so guessing cannot grow it).
const KEY_CACHE_LIMIT: usize = 1024;

impl KeyCache {
    fn forget(&self) {
        self.keys.borrow_mut().clear();
    }
}

#[derive(Clone)]
struct Head {
    last_id: i64,
    last_hash: Vec<u8>,
    /// Moved in this transaction: the row must be written before `COMMIT`.
    moved: bool,
}

impl Deref for Batch<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl<'c> Batch<'c> {
    fn new(conn: &'c Connection, keys: &'c KeyCache) -> Self {
        Batch {
            conn,
            head: RefCell::new(None),
            keys,
        }
    }

    /// Starts a transaction; the head is read afresh in it, and the cached
    /// keys are dropped if another process has committed since the last one.
    fn begin(&self) -> rusqlite::Result<()> {
        self.head.replace(None);
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
    fn api_key(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
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

    /// Writes the head row if this transaction moved it.
    fn store_head(&self) -> rusqlite::Result<()> {
        if let Some(head) = self.head.borrow().as_ref().filter(|head| head.moved) {
            self.conn
                .prepare_cached("UPDATE audit_head SET last_id = ?1, last_hash = ?2 WHERE id = 1")?
                .execute(params![head.last_id, head.last_hash])?;
        }
        Ok(())
    }
}

/// The WAL file SQLite keeps beside the database.
fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The writer thread: gathers what is waiting, commits it as one batch,
/// hands it to the durability thread to be synced and answered, and again,
/// until closed.
fn write_loop(
    conn: Connection,
    mut queue: mpsc::Receiver<Message>,
    committed: std::sync::mpsc::Sender<durable::Committed>,
    syncer: std::thread::JoinHandle<()>,
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
            let done = commit_batch(&conn, &keys, &mut batch);
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

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Runs `batch` in as few transactions as possible (one, unless something
/// breaks the transaction itself). Returns the changes that committed, to be
/// answered once the commit is durable; the others are answered here, with
/// an error, since they did not commit.
fn commit_batch(
    conn: &Connection,
    keys: &KeyCache,
    batch: &mut Vec<Box<dyn Pending>>,
) -> durable::Committed {
    let tx = Batch::new(conn, keys);
    // Changes run in the open transaction, answered at its end.
    let mut ran: Vec<Box<dyn Pending>> = Vec::with_capacity(batch.len());
    let mut open = false;
    for mut op in batch.drain(..) {
        if !open {
            if let Err(error) = tx.begin() {
                tracing::error!(%error, "SQLite BEGIN failed");
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
        }
        if guarded && let Err(error) = exec(conn, "RELEASE op") {
            op.answer(Some(&abort(&tx, &mut ran, error.into())));
            open = false;
            continue;
        }
        ran.push(op);
    }
    if open {
        match tx.store_head().and_then(|()| exec(conn, "COMMIT")) {
            Ok(()) => return ran,
            Err(error) => {
                abort(&tx, &mut ran, error.into());
            }
        }
    }
    Vec::new()
}

/// Rolls the open transaction back and tells every change in it.
fn abort(
    tx: &Batch<'_>,
    ran: &mut Vec<Box<dyn Pending>>,
    error: Box<dyn std::error::Error + Send + Sync>,
) -> BatchFailed {
    tracing::error!(%error, changes = ran.len(), "an SQLite batch failed and was rolled back");
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

/// Appends an audit row after the change it records, in the same
/// transaction, chained to the head (see [`Batch`]).
fn append_in(tx: &Batch<'_>, event: &AuditEvent) -> rusqlite::Result<()> {
    let mut head = tx.head.borrow_mut();
    let head = match &mut *head {
        Some(head) => head,
        none => none.insert(
            tx.prepare_cached("SELECT last_id, last_hash FROM audit_head WHERE id = 1")?
                .query_row([], |row| {
                    Ok(Head {
                        last_id: row.get(0)?,
                        last_hash: row.get(1)?,
                        moved: false,
                    })
                })?,
        ),
    };
    let id = head.last_id + 1;
    let hash = row_hash(id, event, &head.last_hash);
    tx.prepare_cached(
        "INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        event.at,
        event.actor,
        event.action,
        event.subject,
        event.source,
        event.outcome,
        event.detail,
        head.last_hash,
        hash,
    ])?;
    *head = Head {
        last_id: id,
        last_hash: hash,
        moved: true,
    };
    Ok(())
}

/// Runs one UPDATE and, if it changed a row, records `event` with it.
fn update_and_audit(
    tx: &Batch<'_>,
    sql: &str,
    params: impl Params,
    event: &AuditEvent,
) -> rusqlite::Result<bool> {
    let changed = tx.prepare_cached(sql)?.execute(params)? > 0;
    if changed {
        append_in(tx, event)?;
    }
    Ok(changed)
}

/// Accepts step or counter `used` if it is later than the last one
/// accepted and the token is active and unlocked, and records `event` if so.
fn accept_otp_in(
    tx: &Batch<'_>,
    id: i64,
    used: i64,
    drift: i64,
    event: &AuditEvent,
) -> rusqlite::Result<bool> {
    update_and_audit(
        tx,
        "UPDATE tokens SET last_used = ?2, drift = ?3, failures = 0 \
         WHERE id = ?1 AND last_used < ?2 AND locked = 0 AND state = 'active'",
        params![id, used, drift],
        event,
    )
}

/// Counts a failed OTP unless the token is locked, locks it at `limit`, and
/// records `event` (and `lock_event` if this failure locked it).
fn otp_failure_in(
    tx: &Batch<'_>,
    id: i64,
    limit: u32,
    event: &AuditEvent,
    lock_event: &AuditEvent,
) -> rusqlite::Result<(u32, bool)> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached(
            "UPDATE tokens SET failures = failures + 1, \
             locked = CASE WHEN failures + 1 >= ?2 THEN 1 ELSE 0 END \
             WHERE id = ?1 AND locked = 0 RETURNING failures, locked",
        )?
        .query_row(params![id, i64::from(limit)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    // Already locked (or gone): the failure is not counted, but it is
    // still recorded.
    let (count, locked_now) = row.map_or((limit, false), |(count, locked)| {
        (count as u32, locked != 0)
    });
    append_in(tx, event)?;
    if locked_now {
        append_in(tx, lock_event)?;
    }
    Ok((count, locked_now))
}

/// Records an OTP check's steps in order, up to an acceptance that applies;
/// whether one did.
fn record_otp_steps(tx: &Batch<'_>, steps: Vec<OtpStep>) -> rusqlite::Result<bool> {
    for step in steps {
        let mut next = Some(step);
        while let Some(step) = next.take() {
            match step {
                OtpStep::Record(event) => append_in(tx, &event)?,
                OtpStep::Fail {
                    token_id,
                    limit,
                    event,
                    lock_event,
                } => {
                    otp_failure_in(tx, token_id, limit, &event, &lock_event)?;
                }
                OtpStep::Accept {
                    token_id,
                    used,
                    drift,
                    event,
                    lost,
                } => {
                    if accept_otp_in(tx, token_id, used, drift, &event)? {
                        return Ok(true);
                    }
                    next = Some(*lost);
                }
            }
        }
    }
    Ok(false)
}

fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(fail)?;
    let mut rows = statement.query(params).map_err(fail)?;
    let mut all = Vec::new();
    while let Some(row) = rows.next().map_err(fail)? {
        all.push(map(row)?);
    }
    Ok(all)
}

fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(fail)?;
    let mut rows = statement.query(params).map_err(fail)?;
    rows.next().map_err(fail)?.map(map).transpose()
}

fn parse<T: FromStr>(text: String, what: &str) -> StoreResult<T> {
    text.parse().map_err(|_| corrupt(what))
}

fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> StoreResult<T> {
    row.get(index).map_err(fail)
}

// Column lists as macros, so the queries are `concat!`-ed at compile time
// and the statement cache is hit without building a string per read. Given
// a table name ("users."), each column is qualified by it, for joins.
macro_rules! columns {
    ($table:literal: $first:ident $(, $rest:ident)*) => {
        concat!($table, stringify!($first) $(, ", ", $table, stringify!($rest))*)
    };
}

macro_rules! user_columns {
    () => {
        user_columns!("")
    };
    ($table:literal) => {
        columns!($table: id, username, email, role, status, password_hash, created_at,
            password_failures, password_blocked_until)
    };
}

/// How many columns `user_columns!()` names: where a joined row's next
/// table starts.
const USER_COLUMN_COUNT: usize = 9;

fn user_from(row: &Row<'_>) -> StoreResult<User> {
    Ok(User {
        id: get(row, 0)?,
        username: parse(get(row, 1)?, "user name")?,
        email: get(row, 2)?,
        role: parse(get(row, 3)?, "role")?,
        status: parse(get(row, 4)?, "status")?,
        password_hash: get(row, 5)?,
        created_at: get(row, 6)?,
        password_failures: u32::try_from(get::<i64>(row, 7)?).unwrap_or(u32::MAX),
        password_blocked_until: get(row, 8)?,
    })
}

macro_rules! token_columns {
    () => {
        token_columns!("")
    };
    ($table:literal) => {
        columns!($table: id, serial, user_id, kind, state, algorithm, digits, period, sealed_seed,
            sealed_unlock_secret, last_used, drift, failures, locked, activation_hash,
            activation_expires, activation_failures, created_at)
    };
}

fn token_from(row: &Row<'_>) -> StoreResult<Token> {
    token_at(row, 0)
}

/// A token from the columns of `token_columns!()` starting at `at`.
fn token_at(row: &Row<'_>, at: usize) -> StoreResult<Token> {
    Ok(Token {
        id: get(row, at)?,
        serial: get(row, at + 1)?,
        user_id: get(row, at + 2)?,
        kind: parse(get(row, at + 3)?, "token kind")?,
        state: parse(get(row, at + 4)?, "token state")?,
        algorithm: get(row, at + 5)?,
        digits: u8::try_from(get::<i64>(row, at + 6)?).map_err(|_| corrupt("digit count"))?,
        period: u64::try_from(get::<i64>(row, at + 7)?).map_err(|_| corrupt("period"))?,
        sealed_seed: get(row, at + 8)?,
        sealed_unlock_secret: get(row, at + 9)?,
        last_used: get(row, at + 10)?,
        drift: get(row, at + 11)?,
        failures: u32::try_from(get::<i64>(row, at + 12)?).unwrap_or(u32::MAX),
        locked: get::<i64>(row, at + 13)? != 0,
        activation_hash: get(row, at + 14)?,
        activation_expires: get(row, at + 15)?,
        activation_failures: u32::try_from(get::<i64>(row, at + 16)?).unwrap_or(u32::MAX),
        created_at: get(row, at + 17)?,
    })
}

fn api_key_from(row: &Row<'_>) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: get(row, 0)?,
        name: get(row, 1)?,
        prefix: get(row, 2)?,
        hash: get(row, 3)?,
        role: parse(get(row, 4)?, "API role")?,
        revoked: get::<i64>(row, 5)? != 0,
        created_at: get(row, 6)?,
    })
}

/// A user found by name and that user's tokens in id order, in one
/// statement (so from one snapshot): the user's columns on every line, then
/// that line's token (NULLs for a user without any).
fn user_with_tokens(conn: &Connection, username: &str) -> StoreResult<Option<(User, Vec<Token>)>> {
    let mut statement = conn
        .prepare_cached(concat!(
            "SELECT ",
            user_columns!("users."),
            ", ",
            token_columns!("tokens."),
            " FROM users LEFT JOIN tokens ON tokens.user_id = users.id \
             WHERE users.username = ?1 ORDER BY tokens.id"
        ))
        .map_err(fail)?;
    let mut rows = statement.query([username]).map_err(fail)?;
    let mut found: Option<(User, Vec<Token>)> = None;
    while let Some(row) = rows.next().map_err(fail)? {
        let (_, tokens) = match &mut found {
            Some(found) => found,
            none => none.insert((user_from(row)?, Vec::new())),
        };
        if get::<Option<i64>>(row, USER_COLUMN_COUNT)?.is_some() {
            tokens.push(token_at(row, USER_COLUMN_COUNT)?);
        }
    }
    Ok(found)
}

impl UserStore for SqliteStore {
    async fn insert_user(&self, user: NewUser, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO users (username, email, role, status, password_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                user.username.as_str(),
                user.email,
                user.role.as_str(),
                UserStatus::Active.as_str(),
                user.password_hash,
                event.at,
            ])?;
            let id = tx.last_insert_rowid();
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        let username = username.as_str().to_owned();
        self.read(move |conn| {
            query_one(
                conn,
                concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE username = ?1"
                ),
                [username],
                user_from,
            )
        })
        .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(move |conn| {
            query_one(
                conn,
                concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1"),
                [id],
                user_from,
            )
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            query_all(
                conn,
                concat!("SELECT ", user_columns!(), " FROM users ORDER BY username"),
                [],
                user_from,
            )
        })
        .await
    }

    async fn set_user_status(
        &self,
        id: i64,
        status: UserStatus,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE users SET status = ?1 WHERE id = ?2",
                params![status.as_str(), id],
                &event,
            )
        })
        .await
    }

    async fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, id],
                &event,
            )
        })
        .await
    }

    async fn record_password_failure(
        &self,
        id: i64,
        now: i64,
        throttle: Throttle,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let failures: Option<i64> = tx
                .prepare_cached(
                    "UPDATE users SET password_failures = password_failures + 1 WHERE id = ?1 RETURNING password_failures",
                )?
                .query_row(params![id], |row| row.get(0))
                .optional()?;
            let delay = throttle.delay(u32::try_from(failures.unwrap_or(0)).unwrap_or(u32::MAX));
            let blocked_until = if delay > 0 { now + delay } else { 0 };
            tx.prepare_cached("UPDATE users SET password_blocked_until = ?2 WHERE id = ?1")?
                .execute(params![id, blocked_until])?;
            append_in(tx, &event)?;
            Ok(blocked_until)
        })
        .await
    }

    async fn clear_password_failures(&self, id: i64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE users SET password_failures = 0, password_blocked_until = 0 WHERE id = ?1 AND password_failures > 0",
            )?
            .execute(params![id])?;
            Ok(())
        })
        .await
    }
}

impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: NewToken, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, sealed_seed, \
                 sealed_unlock_secret, activation_hash, activation_expires, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                token.serial,
                token.user_id,
                token.kind.as_str(),
                token.state.as_str(),
                token.algorithm,
                i64::from(token.digits),
                // Stored as SQLite's signed integer, as the SQL store does.
                token.period as i64,
                token.sealed_seed,
                token.sealed_unlock_secret,
                token.activation_hash,
                token.activation_expires,
                token.created_at,
            ])?;
            let id = tx.last_insert_rowid();
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn token_by_serial(&self, serial: &str) -> StoreResult<Option<Token>> {
        let serial = serial.to_owned();
        self.read(move |conn| {
            query_one(
                conn,
                concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens WHERE serial = ?1"
                ),
                [serial],
                token_from,
            )
        })
        .await
    }

    async fn tokens_of_user(&self, user_id: i64) -> StoreResult<Vec<Token>> {
        self.read(move |conn| {
            query_all(
                conn,
                concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens WHERE user_id = ?1 ORDER BY id"
                ),
                [user_id],
                token_from,
            )
        })
        .await
    }

    async fn check_user_otp<J, E>(
        &self,
        api_key: Option<&str>,
        username: &Username,
        judge: J,
    ) -> StoreResult<Result<bool, E>>
    where
        J: FnOnce(Option<&ApiKey>, Option<&User>, &[Token]) -> Result<Vec<OtpStep>, E>
            + Send
            + 'static,
        E: Send + 'static,
    {
        let username = username.as_str().to_owned();
        let api_key = api_key.map(str::to_owned);
        // All on the writer, inside its transaction: it holds the database's
        // write lock, so no change by anyone comes between the read and the
        // record, and the check costs one hand-over instead of one per query.
        // Unguarded: it reads, updates token counters and appends audit rows
        // at the head it holds, none of which can break a constraint.
        self.write_unguarded(move |tx| {
            // A stored row that does not parse: nothing is written yet.
            let key = match api_key.map(|prefix| tx.api_key(&prefix)).transpose() {
                Ok(key) => key.flatten(),
                Err(error) => return Ok(Err(error)),
            };
            let (user, tokens) = match user_with_tokens(tx, &username) {
                Ok(Some((user, tokens))) => (Some(user), tokens),
                Ok(None) => (None, Vec::new()),
                Err(error) => return Ok(Err(error)),
            };
            Ok(Ok(match judge(key.as_ref(), user.as_ref(), &tokens) {
                Ok(steps) => Ok(record_otp_steps(tx, steps)?),
                Err(judged) => Err(judged),
            }))
        })
        .await?
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        self.read(|conn| {
            query_all(
                conn,
                concat!("SELECT ", token_columns!(), " FROM tokens ORDER BY id"),
                [],
                token_from,
            )
        })
        .await
    }

    async fn activate_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE tokens SET state = 'active', activation_hash = NULL \
                 WHERE id = ?1 AND state = 'new' AND activation_hash IS NOT NULL",
                [id],
                &event,
            )
        })
        .await
    }

    async fn record_activation_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
    ) -> StoreResult<u32> {
        self.write(move |tx| {
            let count: Option<i64> = tx
                .prepare_cached(
                    "UPDATE tokens SET activation_failures = activation_failures + 1, \
                     activation_hash = CASE WHEN activation_failures + 1 >= ?2 THEN NULL ELSE activation_hash END \
                     WHERE id = ?1 RETURNING activation_failures",
                )?
                .query_row(params![id, i64::from(limit)], |row| row.get(0))
                .optional()?;
            append_in(tx, &event)?;
            Ok(count.map_or(0, |count| count as u32))
        })
        .await
    }

    async fn accept_otp(
        &self,
        id: i64,
        used: i64,
        drift: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| accept_otp_in(tx, id, used, drift, &event))
            .await
    }

    async fn record_otp_failure(
        &self,
        id: i64,
        limit: u32,
        event: AuditEvent,
        lock_event: AuditEvent,
    ) -> StoreResult<(u32, bool)> {
        self.write(move |tx| otp_failure_in(tx, id, limit, &event, &lock_event))
            .await
    }

    async fn reset_token(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE tokens SET failures = 0, locked = 0 WHERE id = ?1",
                [id],
                &event,
            )
        })
        .await
    }

    async fn set_token_state(
        &self,
        id: i64,
        state: TokenState,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE tokens SET state = ?1 WHERE id = ?2",
                params![state.as_str(), id],
                &event,
            )
        })
        .await
    }

    async fn resync_counter(
        &self,
        id: i64,
        last_used: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                "UPDATE tokens SET last_used = ?2, failures = 0 WHERE id = ?1 AND last_used < ?2",
                params![id, last_used],
                &event,
            )
        })
        .await
    }
}

impl ApiKeyStore for SqliteStore {
    async fn insert_api_key(&self, key: NewApiKey, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO api_keys (name, prefix, hash, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                key.name,
                key.prefix,
                key.hash,
                key.role.as_str(),
                key.created_at,
            ])?;
            let id = tx.last_insert_rowid();
            append_in(tx, &event)?;
            tx.keys.forget();
            Ok(id)
        })
        .await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> StoreResult<Option<ApiKey>> {
        let prefix = prefix.to_owned();
        self.read(move |conn| api_key_with_prefix(conn, &prefix))
            .await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.read(|conn| {
            query_all(
                conn,
                concat!(
                    "SELECT ",
                    api_key_columns!(),
                    " FROM api_keys ORDER BY name"
                ),
                [],
                api_key_from,
            )
        })
        .await
    }

    async fn revoke_api_key(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |tx| {
            tx.keys.forget();
            update_and_audit(
                tx,
                "UPDATE api_keys SET revoked = 1 WHERE name = ?1 AND revoked = 0",
                [name],
                &event,
            )
        })
        .await
    }
}

impl AuditLog for SqliteStore {
    async fn append(&self, event: AuditEvent) -> StoreResult<()> {
        self.write(move |tx| append_in(tx, &event)).await
    }

    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        self.read(move |conn| {
            query_all(
                conn,
                "SELECT id, at, actor, action, subject, source, outcome, detail, prev_hash, hash \
                 FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
                [after, limit],
                |row| {
                    Ok(AuditRow {
                        id: get(row, 0)?,
                        event: AuditEvent {
                            at: get(row, 1)?,
                            actor: get(row, 2)?,
                            action: get(row, 3)?,
                            subject: get(row, 4)?,
                            source: get(row, 5)?,
                            outcome: get(row, 6)?,
                            detail: get(row, 7)?,
                        },
                        prev_hash: get(row, 8)?,
                        hash: get(row, 9)?,
                    })
                },
            )
        })
        .await
    }

    async fn count_unlock_issues(&self, serial: &str, since: i64) -> StoreResult<i64> {
        let serial = serial.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(COUNT_UNLOCK_ISSUES)
                .and_then(|mut statement| {
                    statement.query_row(params![serial, since], |row| row.get(0))
                })
                .map_err(fail)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        conn
    }

    fn event(subject: &str) -> AuditEvent {
        AuditEvent {
            at: 1,
            actor: "cli".into(),
            action: "user.add".into(),
            subject: subject.into(),
            source: "cli".into(),
            outcome: "success".into(),
            detail: String::new(),
        }
    }

    fn add_user(name: &'static str) -> impl FnOnce(&Batch<'_>) -> rusqlite::Result<()> + Send {
        move |tx| {
            tx.execute(
                "INSERT INTO users (username, role, status, created_at) VALUES (?1, 'user', 'active', 1)",
                [name],
            )?;
            append_in(tx, &event(name))
        }
    }

    fn users(conn: &Connection) -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT username FROM users ORDER BY username")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn audit_chain(conn: &Connection) -> Vec<(i64, String)> {
        let mut statement = conn
            .prepare("SELECT id, subject FROM audit ORDER BY id")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// One batch, answered at once (the durability thread is not part of
    /// these tests).
    fn commit(conn: &Connection, mut batch: Vec<Box<dyn Pending>>) {
        commit_batch(conn, &KeyCache::default(), &mut batch)
            .into_iter()
            .for_each(|op| op.answer(None));
    }

    fn answer<T>(mut answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
        answer.try_recv().expect("answered by the end of the batch")
    }

    #[test]
    fn a_failing_change_rolls_back_alone_and_keeps_its_own_error() {
        let conn = schema();
        let (a, a_answer) = Op::boxed(add_user("a"));
        // Audits first, then fails: its audit row must go too, and the
        // chain must not skip the id it had taken.
        let (dup, dup_answer) = Op::boxed(|tx: &Batch<'_>| {
            append_in(tx, &event("a-again"))?;
            add_user("a")(tx)
        });
        let (boom, boom_answer) =
            Op::boxed(|_: &Batch<'_>| -> rusqlite::Result<()> { panic!("a bug in one change") });
        let (b, b_answer) = Op::boxed(add_user("b"));
        commit(&conn, vec![a, dup, boom, b]);
        assert!(conn.is_autocommit(), "the transaction is over");
        assert!(answer(a_answer).is_ok());
        assert!(matches!(answer(dup_answer), Err(StoreError::Conflict(_))));
        assert!(matches!(answer(boom_answer), Err(StoreError::Backend(_))));
        assert!(answer(b_answer).is_ok());
        assert_eq!(users(&conn), ["a", "b"]);
        assert_eq!(audit_chain(&conn), [(1, "a".into()), (2, "b".into())]);
    }

    #[test]
    fn an_unguarded_change_that_fails_takes_its_whole_batch_with_it() {
        let conn = schema();
        let (a, a_answer) = Op::boxed(add_user("a"));
        // Audits, then fails part-way: without a savepoint of its own,
        // nothing but the whole transaction can undo the audit row.
        let (broken, broken_answer) = Op::boxed_with(
            |tx: &Batch<'_>| {
                append_in(tx, &event("half-done"))?;
                add_user("a")(tx)
            },
            false,
        );
        let (b, b_answer) = Op::boxed(add_user("b"));
        let (fine, fine_answer) = Op::boxed_with(add_user("c"), false);
        commit(&conn, vec![a, broken, b, fine]);
        assert!(matches!(answer(a_answer), Err(StoreError::Backend(_))));
        assert!(matches!(
            answer(broken_answer),
            Err(StoreError::Conflict(_))
        ));
        assert!(
            answer(b_answer).is_ok(),
            "the rest runs in a new transaction"
        );
        assert!(answer(fine_answer).is_ok());
        assert_eq!(users(&conn), ["b", "c"]);
        assert_eq!(audit_chain(&conn), [(1, "b".into()), (2, "c".into())]);
    }

    #[test]
    fn when_the_transaction_fails_no_change_in_it_reports_success() {
        let conn = schema();
        let (a, a_answer) = Op::boxed(add_user("a"));
        // Ends the transaction under the writer's feet, as an I/O error
        // would make SQLite do: "a" is no longer going to be committed.
        let (breaker, breaker_answer) = Op::boxed(|tx: &Batch<'_>| tx.execute_batch("ROLLBACK"));
        let (b, b_answer) = Op::boxed(add_user("b"));
        commit(&conn, vec![a, breaker, b]);
        assert!(matches!(answer(a_answer), Err(StoreError::Backend(_))));
        assert!(matches!(
            answer(breaker_answer),
            Err(StoreError::Backend(_))
        ));
        assert!(
            answer(b_answer).is_ok(),
            "the rest runs in a new transaction"
        );
        assert_eq!(users(&conn), ["b"]);
        assert_eq!(audit_chain(&conn), [(1, "b".into())]);
    }

    #[test]
    fn the_chain_goes_on_from_rows_another_process_appended() {
        let conn = schema();
        let (a, a_answer) = Op::boxed(add_user("a"));
        commit(&conn, vec![a]);
        assert!(answer(a_answer).is_ok());
        // Another process (the admin CLI, another node) appends between
        // two batches, the way the SQL store does.
        let (id, prev): (i64, Vec<u8>) = conn
            .query_row(
                "UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id, last_hash",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let outside = event("outside");
        let hash = row_hash(id, &outside, &prev);
        conn.execute(
            "INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash) \
             VALUES (?1, 1, 'cli', 'user.add', 'outside', 'cli', 'success', '', ?2, ?3)",
            params![id, prev, hash],
        )
        .unwrap();
        conn.execute("UPDATE audit_head SET last_hash = ?1 WHERE id = 1", [&hash])
            .unwrap();
        let (b, b_answer) = Op::boxed(add_user("b"));
        commit(&conn, vec![b]);
        assert!(answer(b_answer).is_ok());
        let keys = KeyCache::default();
        let tx = Batch::new(&conn, &keys);
        let rows = query_all(
            &tx,
            "SELECT id, at, actor, action, subject, source, outcome, detail, prev_hash, hash FROM audit ORDER BY id",
            [],
            |row| {
                Ok(AuditRow {
                    id: get(row, 0)?,
                    event: AuditEvent {
                        at: get(row, 1)?,
                        actor: get(row, 2)?,
                        action: get(row, 3)?,
                        subject: get(row, 4)?,
                        source: get(row, 5)?,
                        outcome: get(row, 6)?,
                        detail: get(row, 7)?,
                    },
                    prev_hash: get(row, 8)?,
                    hash: get(row, 9)?,
                })
            },
        )
        .unwrap();
        assert_eq!(latchkey_core::audit::verify_chain(&rows), Ok(3));
        let head: (i64, Vec<u8>) = conn
            .query_row("SELECT last_id, last_hash FROM audit_head", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!(head, (3, rows[2].hash.clone()));
    }

    #[test]
    fn the_writer_is_wal_and_leaves_the_fsync_to_the_durability_thread() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location {
            path: dir.path().join("latchkey.db"),
            create: true,
        };
        let conn = open_writer(&location).unwrap();
        let pragma = |name: &str| -> String {
            conn.query_row(&format!("PRAGMA {name}"), [], |row| {
                row.get::<_, rusqlite::types::Value>(0)
            })
            .map(|value| match value {
                rusqlite::types::Value::Integer(n) => n.to_string(),
                rusqlite::types::Value::Text(text) => text,
                other => format!("{other:?}"),
            })
            .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(
            pragma("synchronous"),
            "1",
            "NORMAL: the durability thread fsyncs each commit before answering"
        );
        assert_eq!(pragma("foreign_keys"), "1");
        assert_eq!(pragma("busy_timeout"), "10000");
        assert_eq!(pragma("wal_autocheckpoint"), "10000");
        assert!(
            open_writer(&Location {
                path: dir.path().join("absent.db"),
                create: false,
            })
            .is_err(),
            "without mode=rwc a missing file is an error, not a new database"
        );
    }

    #[test]
    fn only_issued_unlock_codes_are_indexed_and_their_count_uses_the_index() {
        let conn = schema();
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit'")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            indexes,
            ["audit_unlock_issues"],
            "an OTP check updates no audit index"
        );
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {COUNT_UNLOCK_ISSUES}"))
            .unwrap()
            .query_map(params!["0000000018", 0], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("INDEX audit_unlock_issues")),
            "{plan:?}"
        );
    }

    #[test]
    fn the_joined_token_columns_start_where_the_user_columns_end() {
        assert_eq!(user_columns!().split(", ").count(), USER_COLUMN_COUNT);
        assert_eq!(
            user_columns!("users.").split(", ").collect::<Vec<_>>(),
            user_columns!()
                .split(", ")
                .map(|column| format!("users.{column}"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn urls_name_a_file_and_whether_to_create_it() {
        assert_eq!(
            parse_url("sqlite:///tmp/a%20b/latchkey.db?mode=rwc").unwrap(),
            Location {
                path: "/tmp/a b/latchkey.db".into(),
                create: true
            }
        );
        assert_eq!(
            parse_url("sqlite:data.db").unwrap(),
            Location {
                path: "data.db".into(),
                create: false
            }
        );
        for bad in [
            "sqlite::memory:",
            "sqlite://",
            "sqlite://x.db?mode=ro",
            "sqlite://x.db?journal_mode=DELETE",
            "sqlite://x%zz.db",
            "postgres://x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}

mod durable;
mod portal;
