//! Test hooks, compiled only with the `test-hooks` feature: a pause between
//! counting a PIN attempt and checking it, and slow writes, so that tests can
//! kill the process at those points. Release builds compile these to nothing.

/// Pauses after a PIN attempt is on disk and before the PIN is checked, when
/// `LATCHKEY_TOKEN_TEST_PAUSE_AFTER_COUNT_MS` is set.
pub fn after_attempt_counted() {
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = env_ms("LATCHKEY_TOKEN_TEST_PAUSE_AFTER_COUNT_MS") {
        eprintln!("test-hook: attempt counted, pausing");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Sleeps in the middle of a vault write, when `LATCHKEY_TOKEN_TEST_SLOW_WRITE_MS` is set.
pub fn slow_write() {
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = env_ms("LATCHKEY_TOKEN_TEST_SLOW_WRITE_MS") {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(feature = "test-hooks")]
fn env_ms(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}
