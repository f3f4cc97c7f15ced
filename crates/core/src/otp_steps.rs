//! The one reading of an OTP check's [`OtpStep`]s: which row change comes
//! next, and what an acceptance that did not apply leaves to record. Both
//! stores apply the changes inside their own transaction (the SQLite writer
//! synchronously, PostgreSQL's grouped checks with `await`), so the walk is
//! a plain state machine they drive, not a function that calls them.

use std::collections::VecDeque;

use crate::model::AuditEvent;
use crate::ports::OtpStep;

/// One change to a token row or the audit log, in the order a check's
/// steps ask for them.
#[derive(Debug)]
pub enum RowChange {
    /// Append this event.
    Record(AuditEvent),
    /// Count a failed OTP on the token unless it is locked, lock it at
    /// `limit`, append `event`, and `lock_event` too if this failure locked
    /// it.
    CountFailure {
        /// The token.
        token_id: i64,
        /// Failures that lock it.
        limit: u32,
        /// The failure.
        event: AuditEvent,
        /// Appended too if this failure locks the token.
        lock_event: AuditEvent,
    },
    /// Accept step or counter `used` if it is later than the token's last
    /// and the token is active and unlocked, appending `event` if so; then
    /// tell the walk with [`OtpStepWalk::accept_applied`].
    Accept {
        /// The token.
        token_id: i64,
        /// The step or counter.
        used: i64,
        /// The drift to remember.
        drift: i64,
        /// The acceptance.
        event: AuditEvent,
    },
}

/// Walks a check's steps. After a [`RowChange::Accept`], a caller whose
/// acceptance applied calls [`OtpStepWalk::accept_applied`] and the walk
/// ends (nothing after an acceptance is recorded); one whose acceptance did
/// not apply (another request won the step) just asks for the next change,
/// which is then what the step said to record instead.
#[derive(Debug)]
pub struct OtpStepWalk {
    queue: VecDeque<OtpStep>,
    /// The fallback of the acceptance last handed out, until the caller
    /// says whether it applied.
    lost: Option<OtpStep>,
    accepted: bool,
}

impl OtpStepWalk {
    /// A walk over `steps`, in order.
    pub fn new(steps: Vec<OtpStep>) -> Self {
        OtpStepWalk {
            queue: steps.into(),
            lost: None,
            accepted: false,
        }
    }

    /// The next change to apply, or `None` when there is none left.
    pub fn next_change(&mut self) -> Option<RowChange> {
        if let Some(lost) = self.lost.take() {
            self.queue.push_front(lost);
        }
        Some(match self.queue.pop_front()? {
            OtpStep::Record(event) => RowChange::Record(event),
            OtpStep::Fail {
                token_id,
                limit,
                event,
                lock_event,
            } => RowChange::CountFailure {
                token_id,
                limit,
                event,
                lock_event,
            },
            OtpStep::Accept {
                token_id,
                used,
                drift,
                event,
                lost,
            } => {
                self.lost = Some(*lost);
                RowChange::Accept {
                    token_id,
                    used,
                    drift,
                    event,
                }
            }
        })
    }

    /// The acceptance just handed out applied: the walk ends.
    pub fn accept_applied(&mut self) {
        self.accepted = true;
        self.lost = None;
        self.queue.clear();
    }

    /// Whether an acceptance applied.
    pub fn accepted(&self) -> bool {
        self.accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditAction, Outcome};

    /// An event told apart from the others by its detail, `label`.
    fn event(label: &str) -> AuditEvent {
        AuditEvent {
            at: 1,
            actor: "alice".into(),
            action: AuditAction::OtpVerify,
            subject: "token".into(),
            source: "test".into(),
            outcome: Outcome::Success,
            detail: label.into(),
        }
    }

    fn accept(token_id: i64, lost: OtpStep) -> OtpStep {
        OtpStep::Accept {
            token_id,
            used: 7,
            drift: 0,
            event: event("accept"),
            lost: Box::new(lost),
        }
    }

    /// Drives a walk, applying acceptances of the tokens in `applies`;
    /// what it was asked to do, by event label or token.
    fn drive(steps: Vec<OtpStep>, applies: &[i64]) -> (Vec<String>, bool) {
        let mut walk = OtpStepWalk::new(steps);
        let mut done = Vec::new();
        while let Some(change) = walk.next_change() {
            match change {
                RowChange::Record(event) => done.push(event.detail),
                RowChange::CountFailure {
                    token_id, event, ..
                } => done.push(format!("{} {token_id}", event.detail)),
                RowChange::Accept { token_id, .. } => {
                    done.push(format!("accept {token_id}"));
                    if applies.contains(&token_id) {
                        walk.accept_applied();
                    }
                }
            }
        }
        (done, walk.accepted())
    }

    #[test]
    fn an_acceptance_that_applies_ends_the_walk() {
        let steps = vec![
            OtpStep::Record(event("first")),
            accept(1, OtpStep::Record(event("lost 1"))),
            OtpStep::Record(event("never")),
        ];
        assert_eq!(
            drive(steps, &[1]),
            (vec!["first".into(), "accept 1".into()], true)
        );
    }

    #[test]
    fn an_acceptance_that_loses_records_its_fallback_and_goes_on() {
        let failure = OtpStep::Fail {
            token_id: 1,
            limit: 10,
            event: event("fail"),
            lock_event: event("lock"),
        };
        let steps = vec![
            accept(1, failure),
            accept(2, OtpStep::Record(event("lost 2"))),
        ];
        assert_eq!(
            drive(steps.clone(), &[2]),
            (
                vec!["accept 1".into(), "fail 1".into(), "accept 2".into()],
                true
            )
        );
        assert_eq!(
            drive(steps, &[]),
            (
                vec![
                    "accept 1".into(),
                    "fail 1".into(),
                    "accept 2".into(),
                    "lost 2".into()
                ],
                false
            )
        );
    }

    #[test]
    fn a_fallback_may_itself_be_an_acceptance() {
        let steps = vec![accept(1, accept(2, OtpStep::Record(event("lost both"))))];
        assert_eq!(
            drive(steps.clone(), &[2]),
            (vec!["accept 1".into(), "accept 2".into()], true)
        );
        assert_eq!(
            drive(steps, &[]),
            (
                vec!["accept 1".into(), "accept 2".into(), "lost both".into()],
                false
            )
        );
    }

    #[test]
    fn no_steps_accept_nothing() {
        assert_eq!(drive(Vec::new(), &[1]), (Vec::new(), false));
    }
}
