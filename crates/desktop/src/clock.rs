//! Where the window reads the time. Codes, countdowns and the hiding of a
//! shown code all follow it, so that tests can fix it and move it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time since the Unix epoch, from the system or from a test.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Duration + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
        }))
    }

    /// A clock that reads `now` each time it is asked.
    pub fn from_fn(now: impl Fn() -> Duration + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    /// The time now, to the subsecond.
    pub fn now(&self) -> Duration {
        (self.0)()
    }

    /// Whole seconds since the epoch: what the OATH functions take.
    pub fn unix_seconds(&self) -> u64 {
        self.now().as_secs()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_reads_what_it_is_given() {
        let clock = Clock::from_fn(|| Duration::from_millis(59_500));
        assert_eq!(clock.unix_seconds(), 59);
        assert!(Clock::system().unix_seconds() > 1_700_000_000);
    }
}
