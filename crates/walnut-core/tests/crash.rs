//! Simulated power loss after every file-system operation of every workload,
//! in the manner of ALICE and SQLite's crash tests (see `harness`).
//!
//! Each workload prints "N crash states x M page variants, 0 oracle
//! violations". `WALNUT_LONG=1 cargo test --release -p walnut-core --test crash
//! -- --nocapture` runs bigger workloads with more variants.

mod harness;

use harness::{lab_options, run_lab, Driver};
use walnut_core::{Options, Retention, SyncPolicy};

/// Workload sizes are per episode; `Effort` decides how many episodes run.
fn n(base: u64) -> u64 {
    base
}

fn len(d: &mut Driver) -> usize {
    d.rng.range(12, 700) as usize
}

#[test]
fn append_without_a_sync_policy_acknowledged_by_sync() {
    run_lab("append/none", lab_options(SyncPolicy::None), 1, |d| {
        for _ in 0..n(330) {
            let l = len(d);
            d.append(l);
            if d.rng.one_in(4) {
                d.sync();
            }
        }
    });
}

#[test]
fn append_with_sync_always_acknowledged_by_return() {
    run_lab("append/always", lab_options(SyncPolicy::Always), 2, |d| {
        for _ in 0..n(160) {
            let l = len(d);
            d.append(l);
        }
    });
}

#[test]
fn append_with_sync_every_bytes_acknowledged_by_wait_durable() {
    run_lab(
        "append/everyBytes",
        lab_options(SyncPolicy::EveryBytes(2048)),
        3,
        |d| {
            for _ in 0..n(260) {
                let l = len(d);
                d.append(l);
                if d.rng.one_in(6) {
                    d.wait_durable();
                }
            }
        },
    );
}

#[test]
fn append_with_sync_every_ms_acknowledged_by_the_durable_index() {
    run_lab(
        "append/everyMs",
        lab_options(SyncPolicy::EveryMs(1)),
        4,
        |d| {
            for _ in 0..n(300) {
                let l = len(d);
                d.append(l);
                if d.rng.one_in(5) {
                    std::thread::sleep(std::time::Duration::from_micros(300));
                    d.poll();
                }
                if d.rng.one_in(25) {
                    d.wait_durable();
                }
            }
        },
    );
}

#[test]
fn atomic_batches_survive_whole_or_not_at_all() {
    run_lab("append_batch", lab_options(SyncPolicy::None), 5, |d| {
        for _ in 0..n(110) {
            let k = d.rng.range(1, 6) as usize;
            let lens: Vec<usize> = (0..k).map(|_| d.rng.range(12, 900) as usize).collect();
            d.append_batch(&lens);
            if d.rng.one_in(3) {
                d.wait_durable();
            }
        }
    });
}

#[test]
fn appends_of_512_kib_or_more_written_with_one_call_survive_like_small_ones() {
    // Such appends reach the file with a write call (`MappedFile::write_parts`,
    // an operation of its own here, so a crash lands between it and the next
    // sync too), not through the mapping.
    for (name, sync, seed) in [
        ("large/always", SyncPolicy::Always, 12),
        ("large/none", SyncPolicy::None, 13),
    ] {
        let o = Options {
            segment_size: 2 << 20,
            max_record_size: 640 << 10,
            ..lab_options(sync)
        };
        run_lab(name, o, seed, |d| {
            for _ in 0..n(6) {
                match d.rng.range(0, 3) {
                    0 => {
                        let l = d.rng.range(520 << 10, 640 << 10) as usize;
                        d.append(l);
                    }
                    1 => {
                        let lens: Vec<usize> = (0..3)
                            .map(|_| d.rng.range(175 << 10, 200 << 10) as usize)
                            .collect();
                        d.append_batch(&lens);
                    }
                    _ => {
                        let l = len(d);
                        d.append(l);
                    }
                }
                if d.rng.one_in(3) {
                    d.sync();
                }
            }
        });
    }
}

#[test]
fn rotation_through_many_tiny_segments() {
    run_lab("rotation", lab_options(SyncPolicy::None), 6, |d| {
        for _ in 0..n(110) {
            let l = d.rng.range(1500, 4000) as usize;
            d.append(l);
            if d.rng.one_in(3) {
                d.sync();
            }
        }
    });
}

#[test]
fn truncate_after_copies_the_prefix_and_renames_it_into_place() {
    run_lab("truncate_after", lab_options(SyncPolicy::None), 7, |d| {
        for step in 0..n(240) {
            let l = len(d);
            d.append(l);
            if d.rng.one_in(4) {
                d.sync();
            }
            if step % 30 == 29 {
                let (first, last) = (d.wal().first_index(), d.wal().last_index());
                // Sometimes a few entries back, sometimes into earlier segments.
                let back = if d.rng.one_in(2) { 3 } else { 60 };
                let to = last.saturating_sub(d.rng.range(1, back)).max(first - 1);
                d.truncate_after(to);
            }
        }
    });
}

#[test]
fn truncate_before_writes_the_metadata_then_removes_segments() {
    run_lab("truncate_before", lab_options(SyncPolicy::None), 8, |d| {
        for step in 0..n(260) {
            let l = len(d);
            d.append(l);
            if d.rng.one_in(4) {
                d.sync();
            }
            if step % 40 == 39 {
                let (first, last) = (d.wal().first_index(), d.wal().last_index());
                // Mostly compaction; now and then a snapshot install beyond the end.
                let to = if d.rng.one_in(4) {
                    last + d.rng.range(2, 50)
                } else {
                    d.rng.range(first + 1, last)
                };
                d.truncate_before(to);
            }
        }
    });
}

#[test]
fn retention_drops_whole_segments_at_rotation() {
    let o = Options {
        retention: Retention {
            max_segments: Some(3),
            ..Retention::default()
        },
        ..lab_options(SyncPolicy::None)
    };
    run_lab("retention", o, 9, |d| {
        for _ in 0..n(150) {
            // A rotation keeps the two newest segments and the new one.
            let firsts = d.segment_firsts();
            let bound = firsts.len().checked_sub(2).map_or(1, |k| firsts[k]);
            d.allow_first_up_to(bound);
            let l = d.rng.range(200, 1500) as usize;
            d.append(l);
            d.settle_first();
            if d.rng.one_in(3) {
                d.sync();
            }
        }
    });
}

#[test]
fn reopen_after_clean_close_and_go_on() {
    run_lab("reopen", lab_options(SyncPolicy::None), 10, |d| {
        for _ in 0..n(8) {
            for _ in 0..30 {
                let l = len(d);
                d.append(l);
                if d.rng.one_in(5) {
                    d.sync();
                }
            }
            d.reopen();
        }
    });
}

#[test]
fn encrypted_compressed_timestamped_logs_survive_like_plain_ones() {
    // Transforms change the bytes on disk (and copy-on-truncate re-seals
    // encrypted entries for the new file); the guarantees must not change.
    let o = Options {
        compression: walnut_core::Compression {
            algorithm: walnut_core::Algorithm::Lz4,
            threshold: 16,
        },
        encryption: Some(walnut_core::Encryption {
            keys: vec![walnut_core::Key {
                id: 7,
                key: [7; 32],
            }],
            active: 7,
        }),
        timestamps: true,
        ..lab_options(SyncPolicy::None)
    };
    run_lab("transforms", o, 11, |d| {
        for step in 0..n(200) {
            let l = len(d);
            d.append(l);
            if d.rng.one_in(4) {
                d.sync();
            }
            if step % 50 == 49 {
                let (first, last) = (d.wal().first_index(), d.wal().last_index());
                let to = last.saturating_sub(d.rng.range(1, 20)).max(first - 1);
                d.truncate_after(to);
            }
        }
    });
}
