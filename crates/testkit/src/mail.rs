//! A mailer that keeps what it is given, for tests that read the mail a
//! scenario sent without polling an outbox folder.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use latchkey_core::{BoxFuture, Mail, MailError, Mailer};

/// Keeps every mail sent through it; clones share the same mailbox.
#[derive(Clone, Default)]
pub struct CapturedMail(Arc<(Mutex<Vec<Mail>>, Condvar)>);

impl CapturedMail {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        let (mails, _) = &*self.0;
        mails.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The mails once at least `count` have been sent, or what there is
    /// after `timeout` (the portal sends in the background, after its
    /// answer; this wakes as soon as the mail arrives).
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Mail> {
        let (mails, arrived) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut guard = mails.lock().unwrap_or_else(|e| e.into_inner());
        while guard.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = arrived
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        guard.clone()
    }
}

impl CapturedMail {
    /// Whether a mail `matches` arrives within `timeout`.
    pub fn wait_until(&self, timeout: Duration, matches: impl Fn(&Mail) -> bool) -> bool {
        let (mails, arrived) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut guard = mails.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if guard.iter().any(&matches) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = arrived
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Mailer for CapturedMail {
    fn send(&self, mail: Mail) -> BoxFuture<'static, Result<(), MailError>> {
        let (mails, arrived) = &*self.0;
        mails.lock().unwrap_or_else(|e| e.into_inner()).push(mail);
        arrived.notify_all();
        Box::pin(async { Ok(()) })
    }
}
