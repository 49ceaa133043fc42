//! Prometheus metrics (text exposition format 0.0.4), served at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use coalition_ledger::block::Block;

/// Upper bounds (seconds) of the verification-time histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The node's counters and gauges.
pub struct Metrics {
    height: AtomicU64,
    blocks: AtomicU64,
    committed: AtomicU64,
    mempool: AtomicU64,
    evicted: AtomicU64,
    busy: AtomicU64,
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
    submitted: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    committed_by_kind: Mutex<BTreeMap<&'static str, u64>>,
    verify_buckets: [AtomicU64; BUCKETS.len()],
    verify_count: AtomicU64,
    verify_micros: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All zero.
    pub fn new() -> Self {
        Metrics {
            height: AtomicU64::new(0),
            blocks: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            mempool: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            connections_open: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            submitted: Mutex::new(BTreeMap::new()),
            committed_by_kind: Mutex::new(BTreeMap::new()),
            verify_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            verify_count: AtomicU64::new(0),
            verify_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_height(&self, height: u64) {
        self.height.store(height, Ordering::Relaxed);
    }

    pub(crate) fn set_mempool(&self, len: usize) {
        self.mempool.store(len as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_evicted(&self, n: usize) {
        self.evicted.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_busy_submission(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_connections_open(&self, open: usize) {
        self.connections_open.store(open as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_refused_connection(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_transaction(&self, kind: &'static str, outcome: &'static str) {
        let mut map = self.submitted.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((kind, outcome)).or_insert(0) += 1;
    }

    pub(crate) fn record_block(&self, block: &Block) {
        self.blocks.fetch_add(1, Ordering::Relaxed);
        self.set_height(block.header.height);
        self.committed
            .fetch_add(block.transactions.len() as u64, Ordering::Relaxed);
        let mut map = self
            .committed_by_kind
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for tx in &block.transactions {
            *map.entry(tx.kind()).or_insert(0) += 1;
        }
    }

    pub(crate) fn observe_block_verification(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bucket, bound) in self.verify_buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.verify_count.fetch_add(1, Ordering::Relaxed);
        self.verify_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Transactions committed so far.
    pub fn committed_transactions(&self) -> u64 {
        self.committed.load(Ordering::Relaxed)
    }

    /// The exposition text.
    pub fn render(&self, submissions_in_flight: usize) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        gauge(
            &mut out,
            "coalition_height",
            "Height of the last committed block.",
            "gauge",
            self.height.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "coalition_blocks_total",
            "Blocks committed by this node since start.",
            "counter",
            self.blocks.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "coalition_mempool_transactions",
            "Transactions waiting in the mempool.",
            "gauge",
            self.mempool.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "coalition_mempool_evicted_total",
            "Transactions evicted after a block invalidated them.",
            "counter",
            self.evicted.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "coalition_submissions_in_flight",
            "Submissions being read, checked or waiting for admission.",
            "gauge",
            submissions_in_flight as u64,
        );
        gauge(
            &mut out,
            "coalition_submissions_busy_total",
            "Submissions refused with 429 busy: no place in flight (node-wide or for their client).",
            "counter",
            self.busy.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "coalition_connections_open",
            "HTTP connections open now.",
            "gauge",
            self.connections_open.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "coalition_connections_refused_total",
            "Connections closed at once: no place open (node-wide or for their client).",
            "counter",
            self.connections_refused.load(Ordering::Relaxed),
        );
        let _ = writeln!(out, "# HELP coalition_transactions_submitted_total Transactions submitted, by type and outcome.\n# TYPE coalition_transactions_submitted_total counter");
        for ((kind, outcome), n) in self
            .submitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(out, "coalition_transactions_submitted_total{{type=\"{kind}\",outcome=\"{outcome}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP coalition_transactions_committed_total Transactions committed in blocks, by type.\n# TYPE coalition_transactions_committed_total counter");
        for (kind, n) in self
            .committed_by_kind
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "coalition_transactions_committed_total{{type=\"{kind}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP coalition_block_verification_seconds Time to verify and build a block.\n# TYPE coalition_block_verification_seconds histogram");
        for (bucket, bound) in self.verify_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "coalition_block_verification_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.verify_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "coalition_block_verification_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "coalition_block_verification_seconds_sum {}",
            self.verify_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "coalition_block_verification_seconds_count {count}");
        out
    }
}
