//! The ports over SQLite: one file in WAL mode, every change through one
//! group-committing writer thread ([`engine`]), fsynced by a durability
//! thread before anyone hears of it ([`durable`]), reads on their own
//! connections ([`readers`]). One module per port (`users`, `tokens`,
//! `api_keys`, `audit`, `portal`); the row changes several ports share are
//! in `changes`, the row decoders in `rows`, opening and migrating in
//! `open`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use latchkey_core::*;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::errors::{corrupt, from_sqlite as fail};

mod api_keys;
mod audit;
pub(crate) mod changes;
mod console;
mod directory;
mod durable;
mod engine;
mod key_cache;
mod oidc;
mod open;
pub use self::open::{CopyError, DatabaseInUse, NotLatchkeyDatabase, copy_database, take_offline};
mod portal;
mod radius;
mod readers;
mod rows;
mod stock;
#[cfg(test)]
mod tests;
mod tokens;
mod unlock_generations;
mod url;
mod users;

use self::changes::{append_in, record_otp_steps, update_and_audit};
use self::engine::{Batch, BatchFailed, Head, Message, Op, Pending, write_loop};
use self::key_cache::{KEY_CACHE_LIMIT, KeyCache};
use self::open::{open_reader, open_writer, wal_path};
use self::readers::{ReadMessage, read_loop};
use self::rows::{
    api_key_from, api_key_with_prefix, get, parse, query_all, query_one, token_from, user_from,
    user_with_tokens,
};
use self::url::{Location, parse_url};

/// The most changes one transaction carries. Whatever is waiting beyond it
/// goes into the next one, so a burst cannot make one fsync arbitrarily late
/// for the callers at the head of the queue.
pub const MAX_BATCH: usize = 512;

/// How many changes (and, apart, how many reads) may wait before callers
/// wait to enqueue: back-pressure rather than unbounded memory.
const QUEUE: usize = 4 * MAX_BATCH;

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
    /// The writer's last batch failed as a whole, and none committed since.
    writer_failed: Arc<AtomicBool>,
}

fn closed() -> StoreError {
    StoreError::Backend("the SQLite store is closed".into())
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
            .spawn(move || {
                let timed_sync = || {
                    let started = std::time::Instant::now();
                    let synced = wal.sync_data();
                    crate::metrics::SQLITE_FSYNC.observe(started.elapsed().as_secs_f64());
                    synced
                };
                durable::sync_loop(timed_sync, durable_queue, &broken)
            })
            .map_err(spawn_failed)?;
        let (writer, queue) = mpsc::channel(QUEUE);
        let writer_failed = Arc::new(AtomicBool::new(false));
        let failing = Arc::clone(&writer_failed);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer_conn, queue, committed, syncer, &failing))
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
                writer_failed,
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

    /// Whether writes are failing: the writer's last batch failed as a
    /// whole and none has committed since (a full disk, an I/O error), or
    /// an fsync failed (which lasts until the process restarts).
    pub(crate) fn writer_failing(&self) -> bool {
        self.shared.writer_failed.load(Ordering::Acquire)
            || self.shared.sync_failed.load(Ordering::Acquire)
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
