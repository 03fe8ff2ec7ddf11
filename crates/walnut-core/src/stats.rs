//! Counters the log keeps about itself, cheap enough for the append path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Buckets of the sync latency histogram: bucket `b` counts syncs that took
/// less than `2^b` microseconds (and at least `2^(b-1)`).
pub const LATENCY_BUCKETS: usize = 32;

#[derive(Default)]
pub(crate) struct Counters {
    appends: AtomicU64,
    appended_bytes: AtomicU64,
    syncs: AtomicU64,
    sync_failures: AtomicU64,
    rotations: AtomicU64,
    sync_latency: [AtomicU64; LATENCY_BUCKETS],
}

impl Counters {
    pub fn record_append(&self, entries: u64, bytes: u64) {
        self.appends.fetch_add(entries, Relaxed);
        self.appended_bytes.fetch_add(bytes, Relaxed);
    }

    pub fn record_sync(&self, took: Duration, ok: bool) {
        if !ok {
            self.sync_failures.fetch_add(1, Relaxed);
            return;
        }
        self.syncs.fetch_add(1, Relaxed);
        let us = took.as_micros().max(1) as u64;
        let bucket = (64 - us.leading_zeros() as usize).min(LATENCY_BUCKETS - 1);
        self.sync_latency[bucket].fetch_add(1, Relaxed);
    }

    pub fn record_rotation(&self) {
        self.rotations.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        Stats {
            appends: self.appends.load(Relaxed),
            appended_bytes: self.appended_bytes.load(Relaxed),
            syncs: self.syncs.load(Relaxed),
            sync_failures: self.sync_failures.load(Relaxed),
            rotations: self.rotations.load(Relaxed),
            sync_latency_us: std::array::from_fn(|i| self.sync_latency[i].load(Relaxed)),
            ..Stats::default()
        }
    }
}

/// A snapshot of a log's counters and shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Entries appended by this handle.
    pub appends: u64,
    /// Payload bytes appended by this handle.
    pub appended_bytes: u64,
    /// Successful syncs.
    pub syncs: u64,
    /// Failed syncs (at most one: the first poisons the log).
    pub sync_failures: u64,
    /// Segment rotations.
    pub rotations: u64,
    /// Sync latency histogram (see [`LATENCY_BUCKETS`]).
    pub sync_latency_us: [u64; LATENCY_BUCKETS],
    /// Segment files currently in the log.
    pub segments: u64,
    /// First index.
    pub first_index: u64,
    /// Last index.
    pub last_index: u64,
    /// Durable index.
    pub durable_index: u64,
    /// Bytes of RAM held by the in-memory index (4 per entry).
    pub index_bytes: u64,
}
