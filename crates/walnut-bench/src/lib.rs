//! Shared pieces of walnut's Rust benchmarks (`benches/wal.rs`): the peers
//! opened the way the benchmarks use them, and the records they write.
//!
//! The benchmarks compare walnut-core with two Rust write-ahead logs from
//! crates.io on the same workloads as the Node harness (`benchmark/run.js`):
//! tikv's raft-engine and okaywal. Run them with
//! `cargo bench -p walnut-bench --features peers` (the peers are behind a
//! feature so that `cargo test` and `cargo clippy --all-targets` on the
//! workspace never build them).

#[cfg(feature = "peers")]
pub mod peers;

/// A record of `size` bytes that no compressor or shortcut can shrink.
pub fn record(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 131 + 7) as u8).collect()
}

/// A store that is replaced by a fresh one, outside the measured time, once
/// `limit` bytes were written to it: long benchmarks then neither fill the
/// disk nor measure the first writes of a new log again in every sample.
pub struct Recycled<T> {
    make: Box<dyn Fn(&std::path::Path) -> T>,
    // The store drops before its directory (tuple fields drop in order).
    current: Option<(T, tempfile::TempDir)>,
    written: u64,
    limit: u64,
}

impl<T> Recycled<T> {
    /// Stores made by `make` in fresh directories, `limit` bytes each.
    pub fn new(limit: u64, make: impl Fn(&std::path::Path) -> T + 'static) -> Self {
        Recycled {
            make: Box::new(make),
            current: None,
            written: 0,
            limit,
        }
    }

    /// The store to write `bytes` more to: the current one, or a fresh one
    /// when the current one would go past the limit.
    pub fn get(&mut self, bytes: u64) -> &mut T {
        if self.current.is_none() || self.written + bytes > self.limit {
            self.current = None;
            let dir = temp_dir();
            let store = (self.make)(dir.path());
            self.current = Some((store, dir));
            self.written = 0;
        }
        self.written += bytes;
        &mut self.current.as_mut().expect("a current store").0
    }
}

/// A fresh temporary directory (removed when dropped).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("walnut-bench-")
        .tempdir()
        .expect("create a temporary directory")
}
