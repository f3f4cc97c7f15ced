//! Operations that take a while run on a thread of their own so that the
//! window keeps drawing: Argon2id over a PIN or code, waiting for the vault
//! lock (the command line may hold it), and talking to the server.

use std::sync::mpsc;

use eframe::egui;
use latchkey_oath::UnlockCode;
use latchkey_token::ops::{self, EnrolError, OpenError, UnlockError, Unlocked};
use latchkey_token::{Pin, TokenRecord, VaultFolder};
use zeroize::Zeroizing;

use crate::NEXT_CODE_WITHIN_SECONDS;

/// One operation under way.
pub(crate) struct Job {
    receiver: mpsc::Receiver<Outcome>,
    /// What the window says while it waits, such as "Checking the PIN…".
    pub(crate) doing: &'static str,
}

impl Job {
    /// Runs `work` on a new thread and wakes the window when it is done.
    pub(crate) fn start(
        ctx: &egui::Context,
        doing: &'static str,
        work: impl FnOnce() -> Outcome + Send + 'static,
    ) -> Job {
        let (sender, receiver) = mpsc::channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            // The window may have closed meanwhile; then nobody listens.
            let _ = sender.send(work());
            ctx.request_repaint();
        });
        Job { receiver, doing }
    }

    /// The outcome once there is one; `Some(None)` if the thread died.
    pub(crate) fn poll(&self) -> Option<Option<Outcome>> {
        match self.receiver.try_recv() {
            Ok(outcome) => Some(Some(outcome)),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(None),
        }
    }
}

/// What a finished operation hands back to the window.
pub(crate) enum Outcome {
    /// The PIN was tried.
    Codes {
        id: String,
        result: Result<Codes, OpenError>,
    },
    /// An unlock code was checked, nothing changed.
    CodeChecked {
        id: String,
        code: UnlockCode,
        result: Result<(), UnlockError>,
    },
    /// The token was unlocked with a new PIN (and then opened with it).
    Unlocked {
        id: String,
        result: Result<AfterUnlock, UnlockError>,
    },
    /// A token was activated.
    Activated(Result<TokenRecord, EnrolError>),
    /// A token was imported; its recovery code is shown once.
    Imported(Result<(TokenRecord, UnlockCode), EnrolError>),
}

/// A code and when it stops being valid.
pub(crate) struct CodeAt {
    pub(crate) code: Zeroizing<String>,
    /// Unix time when a TOTP code's step ends; `None` for HOTP.
    pub(crate) valid_until: Option<u64>,
}

/// The codes one PIN entry shows: the current one and, near the end of its
/// step, the next.
pub(crate) struct Codes {
    pub(crate) current: CodeAt,
    pub(crate) next: Option<CodeAt>,
    pub(crate) shown_at: u64,
}

/// What an unlock leaves: the library's answer and the first code under the
/// new PIN, if that could be had.
pub(crate) struct AfterUnlock {
    pub(crate) unlocked: Unlocked,
    pub(crate) codes: Option<Codes>,
}

/// Opens the token with `pin` at `now` and returns its code; near the end
/// of a TOTP step, the next step's code as well (one more PIN check).
pub(crate) fn fetch_codes(
    folder: &VaultFolder,
    id: &str,
    pin: &Pin,
    now: u64,
) -> Result<Codes, OpenError> {
    let shown = ops::current_code(folder, Some(id), pin, now)?;
    let current = CodeAt {
        valid_until: shown.seconds_left.map(|left| now + left),
        code: shown.code,
    };
    let next = match (shown.seconds_left, current.valid_until) {
        (Some(left), Some(until)) if left < NEXT_CODE_WITHIN_SECONDS => {
            // The PIN was right a moment ago; should this fail (the vault
            // changed meanwhile) the current code is still worth showing.
            ops::current_code(folder, Some(id), pin, until)
                .ok()
                .map(|next| CodeAt {
                    valid_until: next.seconds_left.map(|left| until + left),
                    code: next.code,
                })
        }
        _ => None,
    };
    Ok(Codes {
        current,
        next,
        shown_at: now,
    })
}
