//! The writer's cache of API keys.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use latchkey_core::*;

/// The API keys the writer has read, by prefix, so that checking the key of
/// each authentication costs no query. Exact, not a time-limited guess:
/// every change to a key in this process goes through the writer and empties
/// it, and any other process's commit (`latchkey admin apikey revoke`, say)
/// changes the connection's `data_version`, which each transaction compares
/// first, under the write lock, so nobody can commit in between.
#[derive(Default)]
pub(super) struct KeyCache {
    /// `data_version` when the entries were read.
    pub(super) version: Cell<i64>,
    pub(super) keys: RefCell<HashMap<String, ApiKey>>,
}

/// Keys beyond this many are not kept (keys are few; prefixes that match
/// no key are never kept, so guessing cannot grow it).
pub(super) const KEY_CACHE_LIMIT: usize = 1024;

impl KeyCache {
    pub(super) fn forget(&self) {
        self.keys.borrow_mut().clear();
    }
}
