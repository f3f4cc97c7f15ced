//! Making commits durable beside the writer, not inside it.
//!
//! With `synchronous=FULL` the writer would stop at every `COMMIT` until
//! the fsync returned, and run nothing meanwhile. Instead the write
//! connection commits with `synchronous=NORMAL` (the WAL is written, not yet
//! synced) and passes the committed batch here; this thread fsyncs the WAL
//! file and only then answers the batch's callers, while the writer already
//! runs the next batch. The WAL is appended in order, so one fsync covers
//! every batch committed before it: batches that commit while a sync is
//! running are answered together after the next one. No caller hears of a
//! change before it is on disk, exactly as with `FULL`.
//!
//! `NORMAL` keeps the file itself consistent across a power loss (SQLite
//! syncs the WAL before a checkpoint, the database after it, and the WAL
//! header when the WAL restarts); what it alone would lose is the last
//! transactions, and those are the ones nobody has been answered for yet.
//!
//! An fsync that fails leaves it unknown what reached the disk, and a later
//! fsync may succeed without the lost pages (the kernel drops them), so
//! after one failure no change is ever reported as done again until the
//! process restarts; the failure is logged and `/readyz` fails.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;

use super::{BatchFailed, Pending};

/// Committed changes whose callers wait for the next sync.
pub(super) type Committed = Vec<Box<dyn Pending>>;

/// Runs until every sender is gone: takes what has committed, syncs once,
/// answers it. `sync` is the WAL file's fsync; `broken` is set after one
/// failed.
pub(super) fn sync_loop(
    mut sync: impl FnMut() -> io::Result<()>,
    queue: Receiver<Committed>,
    broken: &AtomicBool,
) {
    let mut failure: Option<BatchFailed> = None;
    while let Ok(mut due) = queue.recv() {
        // Everything committed up to now: one fsync covers it all.
        while let Ok(more) = queue.try_recv() {
            due.extend(more);
        }
        if failure.is_none()
            && let Err(error) = sync()
        {
            tracing::error!(
                %error,
                "fsync of the SQLite WAL failed: no change can be reported as durable any more; \
                 restart the server once the disk is sound"
            );
            broken.store(true, Ordering::Release);
            failure = Some(BatchFailed(Arc::new(error)));
        }
        for op in due {
            op.answer(failure.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    use latchkey_core::StoreError;
    use rusqlite::Connection;
    use tokio::sync::oneshot;

    use super::super::{Batch, KeyCache, Op};
    use super::*;

    fn change() -> (Box<dyn Pending>, oneshot::Receiver<Result<i64, StoreError>>) {
        let (mut op, answer) = Op::boxed(|_: &Batch<'_>| Ok(7));
        let conn = Connection::open_in_memory().unwrap();
        let keys = KeyCache::default();
        assert!(
            op.run(&Batch::new(&conn, &keys)),
            "the change itself succeeds"
        );
        (op, answer)
    }

    #[test]
    fn no_caller_hears_before_the_sync_has_returned() {
        let (release, released) = mpsc::channel::<()>();
        let (committed, queue) = mpsc::channel();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&broken);
        let syncer = thread::spawn(move || {
            sync_loop(|| released.recv().map_err(io::Error::other), queue, &flag)
        });
        let (first, mut first_answer) = change();
        let (second, mut second_answer) = change();
        committed.send(vec![first]).unwrap();
        committed.send(vec![second]).unwrap();
        thread::sleep(Duration::from_millis(50));
        assert!(
            first_answer.try_recv().is_err() && second_answer.try_recv().is_err(),
            "committed but not yet synced: nobody is answered"
        );
        // However the two batches were grouped, two syncs release both.
        release.send(()).unwrap();
        release.send(()).unwrap();
        drop(committed);
        syncer.join().unwrap();
        assert_eq!(first_answer.try_recv().unwrap().unwrap(), 7);
        assert_eq!(second_answer.try_recv().unwrap().unwrap(), 7);
        assert!(!broken.load(Ordering::Acquire));
    }

    #[test]
    fn after_a_failed_sync_no_change_is_ever_reported_done() {
        let (committed, queue) = mpsc::channel();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&broken);
        let mut syncs = 0;
        let syncer = thread::spawn(move || {
            sync_loop(
                || {
                    syncs += 1;
                    // Only the first fails; the kernel would report the
                    // next ones as fine although pages were lost.
                    if syncs == 1 {
                        Err(io::Error::other("EIO"))
                    } else {
                        Ok(())
                    }
                },
                queue,
                &flag,
            )
        });
        let (first, first_answer) = change();
        committed.send(vec![first]).unwrap();
        let first = first_answer.blocking_recv().unwrap();
        assert!(matches!(first, Err(StoreError::Backend(_))), "{first:?}");
        let (later, later_answer) = change();
        committed.send(vec![later]).unwrap();
        let later = later_answer.blocking_recv().unwrap();
        assert!(matches!(later, Err(StoreError::Backend(_))), "{later:?}");
        assert!(broken.load(Ordering::Acquire));
        drop(committed);
        syncer.join().unwrap();
    }
}
