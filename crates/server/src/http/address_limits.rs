//! Per-address limits on the unauthenticated requests that write audit
//! rows (SECURITY.md S52, review finding L1): a password-reset request, a
//! failed token activation and a failed OIDC token request each add a row,
//! so one client could otherwise grow the log by gigabytes a day (and, at
//! the token endpoint, guess client secrets and codes at full speed). Counted per node, per client address,
//! in fixed windows of the domain's clock; the answer past the limit is
//! the same whatever user name or serial was sent, so it tells nothing
//! about accounts.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limited {
    /// `POST /password/forgot`: every request.
    ResetRequest,
    /// `POST /api/v1/tokens/activate`: the failed ones.
    FailedActivation,
    /// `POST /oauth2/token` and `/oauth2/revoke`: the failed ones (an
    /// unknown client or a wrong secret; a bad code, refresh token or
    /// verifier from a public client).
    FailedOidcToken,
}

impl Limited {
    /// Requests per address per window.
    pub fn allowed(self) -> u32 {
        match self {
            Limited::ResetRequest => 20,
            Limited::FailedActivation => 30,
            Limited::FailedOidcToken => 30,
        }
    }
}

/// Seconds in a window.
pub const WINDOW: i64 = 600;

/// Entries kept before the stale ones are swept.
const SWEEP_ABOVE: usize = 10_000;

type Key = (String, Limited, String);

/// Every node in this process keeps its own counts, keyed by its public
/// URL (tests run several nodes in one process).
static COUNTS: LazyLock<Mutex<HashMap<Key, (i64, u32)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn key(node: &str, what: Limited, address: &str) -> Key {
    (node.to_owned(), what, address.to_owned())
}

/// Whether `address` is still under its limit for `what` at `now`.
pub fn under_limit(node: &str, what: Limited, address: &str, now: i64) -> bool {
    let Ok(counts) = COUNTS.lock() else {
        return true;
    };
    match counts.get(&key(node, what, address)) {
        Some((start, count)) if now - start < WINDOW => *count < what.allowed(),
        _ => true,
    }
}

/// Seconds until `address` may send `what` again, if it is past its
/// limit at `now` (for `Retry-After`).
pub fn wait(node: &str, what: Limited, address: &str, now: i64) -> Option<i64> {
    let counts = COUNTS.lock().ok()?;
    match counts.get(&key(node, what, address)) {
        Some((start, count)) if now - start < WINDOW && *count >= what.allowed() => {
            Some(start + WINDOW - now)
        }
        _ => None,
    }
}

/// Whether this refusal of `what` from `address` at `now` is the window's
/// first: true once per window, so a refusal is audited once, not once per
/// request.
pub fn first_refusal(node: &str, what: Limited, address: &str, now: i64) -> bool {
    let Ok(mut counts) = COUNTS.lock() else {
        return false;
    };
    match counts.get_mut(&key(node, what, address)) {
        Some((start, count)) if now - *start < WINDOW && *count == what.allowed() => {
            *count = count.saturating_add(1);
            true
        }
        _ => false,
    }
}

/// Counts one more `what` from `address` at `now`.
pub fn count(node: &str, what: Limited, address: &str, now: i64) {
    let Ok(mut counts) = COUNTS.lock() else {
        return;
    };
    if counts.len() > SWEEP_ABOVE {
        counts.retain(|_, (start, _)| now - *start < WINDOW);
    }
    let entry = counts.entry(key(node, what, address)).or_insert((now, 0));
    if now - entry.0 >= WINDOW {
        *entry = (now, 0);
    }
    entry.1 = entry.1.saturating_add(1);
}

/// Checks and counts in one step: whether the request may go on.
pub fn admit(node: &str, what: Limited, address: &str, now: i64) -> bool {
    if !under_limit(node, what, address, now) {
        return false;
    }
    count(node, what, address, now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_count_and_a_new_window_starts_again() {
        let node = "http://limits.test";
        let what = Limited::ResetRequest;
        for _ in 0..what.allowed() {
            assert!(admit(node, what, "203.0.113.1", 1_000));
        }
        assert!(!admit(node, what, "203.0.113.1", 1_000 + WINDOW - 1));
        assert!(admit(node, what, "203.0.113.2", 1_000), "another address");
        assert!(
            admit(node, what, "203.0.113.1", 1_000 + WINDOW),
            "the next window"
        );
    }

    #[test]
    fn past_the_limit_the_wait_is_the_rest_of_the_window_and_refusals_are_noted_once() {
        let node = "http://limits-wait.test";
        let what = Limited::FailedOidcToken;
        for _ in 0..what.allowed() {
            assert_eq!(wait(node, what, "203.0.113.9", 1_000), None);
            count(node, what, "203.0.113.9", 1_000);
        }
        assert_eq!(wait(node, what, "203.0.113.9", 1_100), Some(WINDOW - 100));
        assert!(first_refusal(node, what, "203.0.113.9", 1_100));
        assert!(!first_refusal(node, what, "203.0.113.9", 1_200), "once");
        assert_eq!(wait(node, what, "203.0.113.9", 1_200), Some(WINDOW - 200));
        assert_eq!(wait(node, what, "198.51.100.9", 1_200), None);
        assert_eq!(wait(node, what, "203.0.113.9", 1_000 + WINDOW), None);
    }
}
