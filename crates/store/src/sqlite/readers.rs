//! The reader threads: queries off the async runtime, on their own connections.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::mpsc;

pub(super) enum ReadMessage {
    /// A query, which answers its caller itself.
    Query(Box<dyn FnOnce(&Connection) + Send>),
    /// The reader that takes it closes its connection and ends.
    Stop,
}

/// A reader thread: runs queued queries on its connection until stopped.
/// The queue is shared: whichever reader is free takes the next query, so
/// one long read (an audit listing) holds up only its own thread.
pub(super) fn read_loop(conn: Connection, queue: &Mutex<mpsc::Receiver<ReadMessage>>) {
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
