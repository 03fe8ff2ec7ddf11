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

/// A fresh temporary directory (removed when dropped).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("walnut-bench-")
        .tempdir()
        .expect("create a temporary directory")
}
