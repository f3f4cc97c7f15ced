//! What the store tells `/metrics`: audit events by action and outcome
//! (every security event is audited, so this counts every entry point),
//! SQLite's group-commit batch sizes and WAL fsync times, whether the
//! writer is failing, and PostgreSQL's pool use. Written in Prometheus'
//! text format by hand: a few atomics, no registry.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Database;

/// A Prometheus histogram with fixed upper bounds.
pub struct Histogram {
    bounds: &'static [f64],
    /// One counter per bound, and one for `+Inf`; not cumulative.
    counts: [AtomicU64; 16],
    /// The sum of the observations, in millionths.
    sum_micros: AtomicU64,
}

impl Histogram {
    /// A histogram over `bounds` (at most 15, ascending).
    pub const fn new(bounds: &'static [f64]) -> Self {
        assert!(bounds.len() < 16, "at most 15 bounds");
        Histogram {
            bounds,
            counts: [const { AtomicU64::new(0) }; 16],
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// How many observations there were.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The `_bucket`, `_sum` and `_count` lines of series `name` with the
    /// labels `labels` (`key="value"` pairs joined by commas, or empty).
    pub fn render_series(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (slot, bound) in self.bounds.iter().enumerate() {
            cumulative += self.counts[slot].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        if labels.is_empty() {
            let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
        } else {
            let _ = writeln!(
                out,
                "{name}_sum{{{labels}}} {sum}\n{name}_count{{{labels}}} {cumulative}"
            );
        }
    }
}

/// Changes per SQLite group commit.
pub(crate) static SQLITE_BATCH: Histogram =
    Histogram::new(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]);

/// Seconds per fsync of the SQLite WAL.
pub(crate) static SQLITE_FSYNC: Histogram = Histogram::new(&[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
]);

/// SQLite batches whose transaction failed as a whole (BEGIN, COMMIT, or a
/// change that made SQLite roll back: disk full, I/O error).
pub(crate) static SQLITE_FAILED_BATCHES: AtomicU64 = AtomicU64::new(0);

/// Audit events written, by action and outcome. The actions and outcomes
/// are the code's own fixed words, so the label set stays small.
/// Keyed by the enums' own text, so counting allocates nothing: the
/// SQLite writer counts every batch on its one thread.
static EVENTS: Mutex<BTreeMap<(&'static str, &'static str), u64>> = Mutex::new(BTreeMap::new());

/// Counts audit events that were written (SQLite: once their batch
/// committed; PostgreSQL: as its transaction writes them).
pub(crate) fn count_events(events: impl IntoIterator<Item = (&'static str, &'static str)>) {
    let Ok(mut counts) = EVENTS.lock() else {
        return;
    };
    for key in events {
        *counts.entry(key).or_default() += 1;
    }
}

impl Database {
    /// Whether writes are failing: the last SQLite batch failed as a whole
    /// and none has committed since, or an fsync failed. PostgreSQL's
    /// writes go through the pool, whose health `ping` already tells.
    pub fn writer_failing(&self) -> bool {
        match self {
            Database::Sqlite(store) => store.writer_failing(),
            Database::Postgres(_) => false,
        }
    }

    /// The store's series in Prometheus' text format.
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP latchkey_audit_events_total Security events written to the audit log, by action and outcome.\n\
             # TYPE latchkey_audit_events_total counter\n",
        );
        if let Ok(counts) = EVENTS.lock() {
            for ((action, outcome), count) in counts.iter() {
                let _ = writeln!(
                    out,
                    "latchkey_audit_events_total{{action=\"{}\",outcome=\"{}\"}} {count}",
                    label(action),
                    label(outcome)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP latchkey_database_writer_failing 1 while the database does not take writes.\n\
             # TYPE latchkey_database_writer_failing gauge\n\
             latchkey_database_writer_failing {}",
            u8::from(self.writer_failing())
        );
        match self {
            Database::Sqlite(_) => {
                out.push_str(
                    "# HELP latchkey_sqlite_batch_size Changes committed together by the SQLite writer.\n\
                     # TYPE latchkey_sqlite_batch_size histogram\n",
                );
                SQLITE_BATCH.render_series(&mut out, "latchkey_sqlite_batch_size", "");
                out.push_str(
                    "# HELP latchkey_sqlite_fsync_seconds Time of each fsync of the SQLite WAL.\n\
                     # TYPE latchkey_sqlite_fsync_seconds histogram\n",
                );
                SQLITE_FSYNC.render_series(&mut out, "latchkey_sqlite_fsync_seconds", "");
                let _ = writeln!(
                    out,
                    "# HELP latchkey_sqlite_failed_batches_total SQLite transactions that failed as a whole.\n\
                     # TYPE latchkey_sqlite_failed_batches_total counter\n\
                     latchkey_sqlite_failed_batches_total {}",
                    SQLITE_FAILED_BATCHES.load(Ordering::Relaxed)
                );
            }
            Database::Postgres(store) => {
                let (size, idle, max) = store.pool_use();
                let _ = writeln!(
                    out,
                    "# HELP latchkey_postgres_pool_connections PostgreSQL connections of this node's pool, by state.\n\
                     # TYPE latchkey_postgres_pool_connections gauge\n\
                     latchkey_postgres_pool_connections{{state=\"idle\"}} {idle}\n\
                     latchkey_postgres_pool_connections{{state=\"in_use\"}} {}\n\
                     # HELP latchkey_postgres_pool_max_connections The most connections the pool opens.\n\
                     # TYPE latchkey_postgres_pool_max_connections gauge\n\
                     latchkey_postgres_pool_max_connections {max}",
                    (size as usize).saturating_sub(idle)
                );
            }
        }
        out
    }
}

/// A label value as Prometheus' text format quotes it.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets_a_sum_and_a_count() {
        static H: Histogram = Histogram::new(&[1.0, 10.0]);
        H.observe(0.5);
        H.observe(3.0);
        H.observe(30.0);
        let mut out = String::new();
        H.render_series(&mut out, "x", "route=\"a\"");
        assert_eq!(
            out,
            "x_bucket{route=\"a\",le=\"1\"} 1\n\
             x_bucket{route=\"a\",le=\"10\"} 2\n\
             x_bucket{route=\"a\",le=\"+Inf\"} 3\n\
             x_sum{route=\"a\"} 33.5\n\
             x_count{route=\"a\"} 3\n"
        );
    }
}
