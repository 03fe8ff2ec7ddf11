//! walnut-core against raft-engine and okaywal on the workloads of the Node
//! harness (W-numbers as in `benchmark/RESULTS.md`). Non-durable workloads
//! write up to 512 MiB into one log and then start another (outside the
//! measured time), so page cache and file growth are charged the same way to
//! everyone; durable ones keep one warmed-up log per subject.
//! `WALNUT_BENCH_QUICK=1` shortens every group.
//!
//!     cargo bench -p walnut-bench --features peers

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft_engine::LogBatch;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use walnut_bench::peers::{okaywal_write, open_okaywal, open_raft_engine, raft_entry, RaftEntries};
use walnut_bench::{record, temp_dir, Recycled};
use walnut_core::{Options, SyncPolicy, Wal};

const KIB: usize = 1024;
/// Untimed writes before a durable benchmark starts.
const WARM_UP: u64 = 64;
/// Bytes a non-durable benchmark writes to one log before starting another.
const RECYCLE: u64 = 512 << 20;
const REGION: u64 = 1;

fn quick() -> bool {
    std::env::var_os("WALNUT_BENCH_QUICK").is_some()
}

fn walnut(dir: &std::path::Path, sync: SyncPolicy) -> Wal {
    Wal::open(
        dir,
        Options {
            sync,
            ..Options::default()
        },
    )
    .expect("open walnut")
}

/// W1: non-durable append, one record per call.
fn w1_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("W1 append, non-durable");
    g.throughput(Throughput::Elements(1));
    for size in [16, KIB, 64 * KIB] {
        let buf = record(size);
        g.bench_with_input(BenchmarkId::new("walnut", size), &buf, |b, buf| {
            let mut logs = Recycled::new(RECYCLE, |dir| walnut(dir, SyncPolicy::None));
            b.iter_custom(|iters| {
                let wal = logs.get(iters * buf.len() as u64);
                let t = Instant::now();
                for _ in 0..iters {
                    wal.append(buf).expect("append");
                }
                t.elapsed()
            })
        });
        g.bench_with_input(BenchmarkId::new("raft-engine", size), &buf, |b, buf| {
            let mut engines = Recycled::new(RECYCLE, |dir| (open_raft_engine(dir), 1u64));
            b.iter_custom(|iters| {
                let (engine, next) = engines.get(iters * buf.len() as u64);
                let mut batch = LogBatch::default();
                let t = Instant::now();
                for _ in 0..iters {
                    batch
                        .add_entries::<RaftEntries>(REGION, &[raft_entry(*next, buf)])
                        .expect("add entry");
                    *next += 1;
                    engine.write(&mut batch, false).expect("write");
                }
                t.elapsed()
            })
        });
    }
    g.finish();
}

/// W2: non-durable batched append.
fn w2_batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("W2 batch, non-durable");
    for (size, n) in [(KIB, 256), (64 * KIB, 16)] {
        let buf = record(size);
        let items: Vec<&[u8]> = vec![&buf; n];
        g.throughput(Throughput::Bytes((size * n) as u64));
        let id = format!("{n} x {size}");
        let bytes = (size * n) as u64;
        g.bench_with_input(BenchmarkId::new("walnut", &id), &items, |b, items| {
            let mut logs = Recycled::new(RECYCLE, |dir| walnut(dir, SyncPolicy::None));
            b.iter_custom(|iters| {
                let wal = logs.get(iters * bytes);
                let t = Instant::now();
                for _ in 0..iters {
                    wal.append_batch(items).expect("append batch");
                }
                t.elapsed()
            })
        });
        g.bench_with_input(BenchmarkId::new("raft-engine", &id), &items, |b, items| {
            let mut engines = Recycled::new(RECYCLE, |dir| (open_raft_engine(dir), 1u64));
            b.iter_custom(|iters| {
                let (engine, next) = engines.get(iters * bytes);
                let mut batch = LogBatch::default();
                let t = Instant::now();
                for _ in 0..iters {
                    let entries: Vec<_> = items
                        .iter()
                        .map(|d| {
                            *next += 1;
                            raft_entry(*next - 1, d)
                        })
                        .collect();
                    batch
                        .add_entries::<RaftEntries>(REGION, &entries)
                        .expect("add entries");
                    engine.write(&mut batch, false).expect("write");
                }
                t.elapsed()
            })
        });
    }
    g.finish();
}

/// W3: durable append, one writer, each record durable before the next.
fn w3_durable(c: &mut Criterion) {
    let mut g = c.benchmark_group("W3 durable append, one writer");
    g.throughput(Throughput::Elements(1));
    let buf = record(KIB);
    // Durable workloads write little data, so each subject keeps one log for
    // all its samples, warmed up with WARM_UP writes first (the first syncs of
    // a new log also sync its directory, which would otherwise dominate
    // samples of a few iterations).
    {
        let dir = temp_dir();
        let wal = walnut(dir.path(), SyncPolicy::Always);
        for _ in 0..WARM_UP {
            wal.append(&buf).expect("append");
        }
        g.bench_function("walnut sync=always", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    wal.append(&buf).expect("append");
                }
                t.elapsed()
            })
        });
    }
    {
        let dir = temp_dir();
        let engine = open_raft_engine(dir.path());
        let mut batch = LogBatch::default();
        let mut next = 1;
        let mut write = |engine: &raft_engine::Engine| {
            batch
                .add_entries::<RaftEntries>(REGION, &[raft_entry(next, &buf)])
                .expect("add entry");
            next += 1;
            engine.write(&mut batch, true).expect("write");
        };
        for _ in 0..WARM_UP {
            write(&engine);
        }
        g.bench_function("raft-engine sync", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    write(&engine);
                }
                t.elapsed()
            })
        });
    }
    {
        let dir = temp_dir();
        let wal = open_okaywal(dir.path());
        for _ in 0..WARM_UP {
            okaywal_write(&wal, &buf);
        }
        g.bench_function("okaywal commit", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    okaywal_write(&wal, &buf);
                }
                t.elapsed()
            })
        });
        wal.shutdown().expect("shut okaywal down");
    }
    g.finish();
}

/// Runs `iters` writes spread over `threads` threads, each calling `write`
/// until its share is done; returns the wall time.
fn in_flight<S: Sync>(
    state: &S,
    threads: u64,
    iters: u64,
    write: impl Fn(&S, u64) + Sync,
) -> Duration {
    let per = iters.div_ceil(threads);
    let t = Instant::now();
    std::thread::scope(|s| {
        for k in 0..threads {
            let write = &write;
            s.spawn(move || {
                for _ in 0..per {
                    write(state, k);
                }
            });
        }
    });
    t.elapsed()
}

/// W4: durable group commit, N writers in flight (N threads).
fn w4_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("W4 durable, N in flight");
    g.throughput(Throughput::Elements(1));
    let buf = record(KIB);
    for n in [8u64, 64] {
        // One log per subject and N, warmed up (see W3).
        {
            let dir = temp_dir();
            let wal = walnut(dir.path(), SyncPolicy::None);
            let write = |wal: &Wal, _| {
                let i = wal.append(&buf).expect("append");
                wal.wait_durable(i, None).expect("durable");
            };
            in_flight(&wal, n, WARM_UP, write);
            g.bench_with_input(BenchmarkId::new("walnut", n), &n, |b, &n| {
                b.iter_custom(|iters| in_flight(&wal, n, iters, write))
            });
        }
        {
            let dir = temp_dir();
            let engine = open_raft_engine(dir.path());
            let next: Vec<_> = (0..n).map(|_| AtomicU64::new(1)).collect();
            let write = |engine: &raft_engine::Engine, k: u64| {
                // One Raft group per writer, as in TiKV.
                let i = next[k as usize].fetch_add(1, Ordering::Relaxed);
                let mut batch = LogBatch::default();
                batch
                    .add_entries::<RaftEntries>(k + 1, &[raft_entry(i, &buf)])
                    .expect("add entry");
                engine.write(&mut batch, true).expect("write");
            };
            in_flight(&engine, n, WARM_UP, write);
            g.bench_with_input(BenchmarkId::new("raft-engine", n), &n, |b, &n| {
                b.iter_custom(|iters| in_flight(&engine, n, iters, write))
            });
        }
        {
            let dir = temp_dir();
            let wal = open_okaywal(dir.path());
            let write = |wal: &okaywal::WriteAheadLog, _| okaywal_write(wal, &buf);
            in_flight(&wal, n, WARM_UP, write);
            g.bench_with_input(BenchmarkId::new("okaywal", n), &n, |b, &n| {
                b.iter_custom(|iters| in_flight(&wal, n, iters, write))
            });
            wal.shutdown().expect("shut okaywal down");
        }
    }
    g.finish();
}

/// W6: open a log of `WALNUT_BENCH_W6_MIB` MiB (default 256, quick 64) of
/// 1 KiB records that was closed cleanly (warm page cache).
fn w6_open(c: &mut Criterion) {
    let mib: usize = std::env::var("WALNUT_BENCH_W6_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { 64 } else { 256 });
    let records = (mib << 20) / KIB;
    let buf = record(KIB);
    let mut g = c.benchmark_group(format!("W6 open {mib} MiB of 1 KiB records"));
    g.sample_size(10);

    let walnut_dir = temp_dir();
    {
        let wal = walnut(walnut_dir.path(), SyncPolicy::None);
        for chunk in (0..records).collect::<Vec<_>>().chunks(4096) {
            wal.append_batch(&vec![&buf[..]; chunk.len()])
                .expect("fill");
        }
        wal.close().expect("close");
    }
    g.bench_function("walnut", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let wal = walnut(walnut_dir.path(), SyncPolicy::None);
                total += t.elapsed();
                assert_eq!(wal.last_index(), records as u64);
                wal.close().expect("close");
            }
            total
        })
    });

    let engine_dir = temp_dir();
    {
        let engine = open_raft_engine(engine_dir.path());
        let mut next = 1;
        for chunk in (0..records).collect::<Vec<_>>().chunks(4096) {
            let entries: Vec<_> = chunk
                .iter()
                .map(|_| {
                    next += 1;
                    raft_entry(next - 1, &buf)
                })
                .collect();
            let mut batch = LogBatch::default();
            batch
                .add_entries::<RaftEntries>(REGION, &entries)
                .expect("add entries");
            engine.write(&mut batch, true).expect("write");
        }
    }
    g.bench_function("raft-engine", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let engine = open_raft_engine(engine_dir.path());
                total += t.elapsed();
                assert_eq!(engine.last_index(REGION), Some(records as u64));
            }
            total
        })
    });

    let okay_dir = temp_dir();
    {
        let wal = open_okaywal(okay_dir.path());
        for _ in 0..records {
            let mut entry = wal.begin_entry().expect("begin");
            entry.write_chunk(&buf).expect("chunk");
            // Commit without the peer's fsync-per-entry cost would not be
            // okaywal; the fill is slow but outside the measurement.
            entry.commit().expect("commit");
        }
        wal.shutdown().expect("shutdown");
    }
    g.bench_function("okaywal", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let wal = open_okaywal(okay_dir.path());
                total += t.elapsed();
                wal.shutdown().expect("shutdown");
            }
            total
        })
    });
    g.finish();
}

/// W8: random reads of single 1 KiB records.
fn w8_read(c: &mut Criterion) {
    let records = 65_536u64;
    let buf = record(KIB);
    let mut g = c.benchmark_group("W8 random read 1 KiB");
    g.throughput(Throughput::Elements(1));
    let positions: Vec<u64> = (0..records).map(|i| (i * 7919) % records + 1).collect();

    let walnut_dir = temp_dir();
    let wal = Arc::new(walnut(walnut_dir.path(), SyncPolicy::None));
    for _ in 0..records / 1024 {
        wal.append_batch(&vec![&buf[..]; 1024]).expect("fill");
    }
    g.bench_function("walnut", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % positions.len();
            wal.read(positions[k]).expect("read")
        })
    });

    let engine_dir = temp_dir();
    let engine = open_raft_engine(engine_dir.path());
    // One entry per write: raft-engine reads back the whole block of entries
    // a write stored, so large batches would make its reads look slower than
    // they are with TiKV's small ones.
    for i in 1..=records {
        let mut batch = LogBatch::default();
        batch
            .add_entries::<RaftEntries>(REGION, &[raft_entry(i, &buf)])
            .expect("add entry");
        engine.write(&mut batch, false).expect("write");
    }
    assert_eq!(engine.last_index(REGION), Some(records));
    g.bench_function("raft-engine", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % positions.len();
            engine
                .get_entry::<RaftEntries>(REGION, positions[k])
                .expect("read")
                .expect("present")
        })
    });
    g.finish();
}

fn config() -> Criterion {
    let c = Criterion::default().sample_size(10);
    if quick() {
        c.measurement_time(Duration::from_millis(500))
            .warm_up_time(Duration::from_millis(100))
    } else {
        c.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500))
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = w1_append, w2_batch, w3_durable, w4_group, w6_open, w8_read
}
criterion_main!(benches);
