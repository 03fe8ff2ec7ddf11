//! Error injection: every file-system operation of a mixed workload (appends,
//! syncs, rotation, truncation at both ends, reopen) is made to fail, once
//! and for good, with EIO and with ENOSPC. Whatever fails:
//!
//! * every failed call returns a typed error (`Io`, `NoSpace` or `Poisoned`),
//!   never a panic;
//! * a failed sync poisons the handle: it refuses all work until reopened;
//! * a power loss at the end, then a reopen without faults, recovers a log
//!   that satisfies the crash oracle (acknowledged records intact, nothing
//!   invented, no gap), and appends after it survive the next power loss.

mod harness;

use harness::{lab_options, oracle, Driver, Model, Rng};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use walnut_core::fs::{FaultOp, MemoryFs, MemoryFsFault, PageFate};
use walnut_core::{Error, SyncPolicy};

const EIO: i32 = 5;
const ENOSPC: i32 = 28;

/// Operations that go through the hook, so that the n-th one can be made to fail.
const SITES: [FaultOp; 6] = [
    FaultOp::Sync,
    FaultOp::Create,
    FaultOp::WriteFile,
    FaultOp::Rename,
    FaultOp::Remove,
    FaultOp::SyncDir,
];

/// Appends, syncs, rotation, both truncations and a reopen.
fn mixed(d: &mut Driver) {
    for step in 0..48u64 {
        let len = d.rng.range(12, 2500) as usize;
        d.append(len);
        if step % 4 == 3 {
            d.sync();
        }
        if step % 9 == 8 {
            d.wait_durable();
        }
        let Some(wal) = &d.wal else { return };
        let (first, last) = (wal.first_index(), wal.last_index());
        match step {
            20 => d.truncate_after(last.saturating_sub(3).max(first - 1)),
            32 => d.truncate_before((first + 5).min(last)),
            40 => d.reopen(),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Sightings {
    /// Operations of each kind seen so far.
    seen: Mutex<BTreeMap<String, u64>>,
    /// Sequence number of the first failed sync, if any.
    failed_sync: AtomicU64,
}

/// Runs the mixed workload with the `nth` operation of kind `op` failing
/// (and, if `persistent`, every later one too). Returns a description of
/// each broken promise.
fn fault_run(
    policy: SyncPolicy,
    op: FaultOp,
    nth: u64,
    errno: i32,
    persistent: bool,
) -> Vec<String> {
    let mem = MemoryFs::new();
    let seen = Arc::new(Sightings::default());
    {
        let seen = seen.clone();
        mem.on_op(Some(Arc::new(move |fs, rec| {
            if !rec.ok && rec.op == FaultOp::Sync {
                let _ = seen.failed_sync.compare_exchange(
                    0,
                    rec.seq,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
            }
            let mut m = seen.seen.lock().unwrap();
            let n = m.entry(format!("{:?}", rec.op)).or_default();
            *n += 1;
            if rec.op == op && *n + 1 == nth {
                fs.inject(MemoryFsFault {
                    op,
                    errno,
                    times: if persistent { None } else { Some(1) },
                });
            }
        })));
    }
    if nth == 1 {
        mem.inject(MemoryFsFault {
            op,
            errno,
            times: if persistent { None } else { Some(1) },
        });
    }
    let model = Arc::new(Mutex::new(Model::new()));
    let o = lab_options(policy);
    let mut problems = Vec::new();
    let run = catch_unwind(AssertUnwindSafe(|| {
        let mut d = match harness::open_at(&mem, &o) {
            Ok(w) => Driver::open_with(mem.clone(), o.clone(), model.clone(), nth, w),
            Err(e) => return (vec![("open".to_string(), e)], 0, None),
        };
        d.tolerant = true;
        mixed(&mut d);
        (std::mem::take(&mut d.errors), d.opened_at_op, d.wal.take())
    }));
    let (errors, opened_at, wal) = match run {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return vec![format!("panic: {msg}")];
        }
    };
    for (what, e) in &errors {
        let typed = match e {
            Error::Io { source, .. } => source.raw_os_error() == Some(errno),
            Error::NoSpace(_) => errno == ENOSPC,
            Error::Poisoned(_) => true,
            _ => false,
        };
        if !typed {
            problems.push(format!("{what} failed with an unexpected error: {e:?}"));
        }
    }
    let failed_sync = seen.failed_sync.load(Ordering::Acquire);
    if let Some(wal) = &wal {
        // A sync that failed while this handle was open poisons it for good.
        if failed_sync > opened_at {
            if !matches!(wal.sync(), Err(Error::Poisoned(_))) {
                problems.push("a failed sync did not poison the handle (sync)".into());
            }
            if !matches!(wal.append(b"after a failed sync"), Err(Error::Poisoned(_))) {
                problems.push("a failed sync did not poison the handle (append)".into());
            }
        }
    }
    // Power loss now, faults gone, then recovery must satisfy the oracle.
    mem.on_op(None);
    mem.clear_faults();
    let frozen = model.lock().unwrap().freeze();
    let mut rng = Rng::new(nth ^ (errno as u64) << 32);
    let pending = mem.pending_dir_ops();
    for (k, kept) in [0, pending].into_iter().enumerate() {
        for fates in 0..3u64 {
            let crashed = mem.crash_with_dir_ops(kept, |_, _| match fates {
                0 => PageFate::Lost,
                1 => PageFate::Kept,
                _ => match rng.next() % 4 {
                    0 => PageFate::Lost,
                    1 => PageFate::Kept,
                    2 => PageFate::Zeroed,
                    s => PageFate::Garbage(s),
                },
            });
            let verdict = catch_unwind(AssertUnwindSafe(|| {
                oracle::verify(&crashed, &o, &frozen, k == 0 && fates == 2)
            }));
            match verdict {
                Ok(Ok(_)) => {}
                Ok(Err(why)) => problems.push(format!(
                    "after power loss ({kept} dir ops kept, fates {fates}): {why}"
                )),
                Err(_) => problems.push("panic during recovery".into()),
            }
        }
    }
    drop(wal);
    if !problems.is_empty() {
        let mut calls: Vec<String> = errors.iter().map(|(w, e)| format!("{w}: {e}")).collect();
        calls.dedup_by(|a, b| {
            a.split(':').next() == b.split(':').next()
                && a.contains("poisoned")
                && b.contains("poisoned")
        });
        calls.truncate(6);
        problems[0] = format!("{} [failed calls: {}]", problems[0], calls.join("; "));
    }
    problems
}

/// How many operations of each kind the mixed workload performs.
fn census(policy: SyncPolicy) -> BTreeMap<String, u64> {
    let mem = MemoryFs::new();
    let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    {
        let counts = counts.clone();
        mem.on_op(Some(Arc::new(move |_, rec| {
            *counts
                .lock()
                .unwrap()
                .entry(format!("{:?}", rec.op))
                .or_default() += 1;
        })));
    }
    let model = Arc::new(Mutex::new(Model::new()));
    let mut d = Driver::open(mem.clone(), lab_options(policy), model, 1);
    mixed(&mut d);
    drop(d);
    mem.on_op(None);
    let c = counts.lock().unwrap().clone();
    c
}

fn every_site(policy: SyncPolicy, label: &str) {
    let census = census(policy);
    let stride = 1;
    let mut runs = 0;
    let mut problems = Vec::new();
    for op in SITES {
        let total = census.get(&format!("{op:?}")).copied().unwrap_or(0);
        for nth in (1..=total).step_by(stride) {
            for errno in [EIO, ENOSPC] {
                for persistent in [false, true] {
                    runs += 1;
                    for p in fault_run(policy, op, nth, errno, persistent) {
                        problems.push(format!(
                            "{op:?} #{nth} errno {errno} {}: {p}",
                            if persistent { "persistent" } else { "once" }
                        ));
                    }
                }
            }
        }
    }
    println!(
        "faults/{label}: {runs} fault runs over sites {census:?} (every {}), {} broken promises",
        if stride == 1 {
            "site".to_string()
        } else {
            format!("{stride}nd site")
        },
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} broken promises, first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_operation_failing_once_or_for_good_without_a_sync_policy() {
    every_site(SyncPolicy::None, "none");
}

#[test]
fn every_operation_failing_once_or_for_good_with_sync_always() {
    every_site(SyncPolicy::Always, "always");
}

#[test]
fn opening_and_listing_failures_are_typed_and_leave_the_log_intact() {
    for op in [FaultOp::Open, FaultOp::List] {
        for errno in [EIO, ENOSPC] {
            for persistent in [false, true] {
                let mem = MemoryFs::new();
                let model = Arc::new(Mutex::new(Model::new()));
                let mut d =
                    Driver::open(mem.clone(), lab_options(SyncPolicy::None), model.clone(), 3);
                for _ in 0..30 {
                    d.append(300);
                }
                d.sync();
                d.reopen();
                let acked = d.wal().last_index();
                drop(d);
                mem.inject(MemoryFsFault {
                    op,
                    errno,
                    times: if persistent { None } else { Some(1) },
                });
                match harness::open_at(&mem, &lab_options(SyncPolicy::None)) {
                    Err(Error::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(errno)),
                    Err(Error::NoSpace(_)) => assert_eq!(errno, ENOSPC),
                    other => panic!("{op:?} failing: expected a typed I/O error, got {other:?}"),
                }
                mem.clear_faults();
                let wal = harness::open_at(&mem, &lab_options(SyncPolicy::None)).unwrap();
                let r = oracle::check_log(&wal, &model.lock().unwrap().freeze()).unwrap();
                assert_eq!(r.last, acked);
            }
        }
    }
}

// Regression tests for what the runs above found.

fn fail_next(mem: &MemoryFs, op: FaultOp) {
    mem.inject(MemoryFsFault {
        op,
        errno: EIO,
        times: Some(1),
    });
}

#[test]
fn a_reopen_syncs_what_it_recovered_before_calling_it_durable() {
    // The previous handle appended, then its sync failed: the records are in
    // the page cache only. A new handle (no reboot in between) reads them and
    // reports them durable, so it must first make them so.
    let mem = MemoryFs::new();
    let o = lab_options(SyncPolicy::None);
    let wal = harness::open_at(&mem, &o).unwrap();
    for i in 0..5u64 {
        wal.append(&harness::model::payload(i + 1, 1, 100)).unwrap();
    }
    fail_next(&mem, FaultOp::Sync);
    assert!(wal.sync().is_err());
    drop(wal);
    let wal = harness::open_at(&mem, &o).unwrap();
    assert_eq!(wal.durable_index(), 5);
    let after = mem.crash();
    drop(wal);
    let wal = harness::open_at(&after, &o).unwrap();
    assert_eq!(wal.last_index(), 5, "records reported durable were lost");
}

#[test]
fn closing_a_poisoned_handle_reports_the_poison() {
    let mem = MemoryFs::new();
    let wal = harness::open_at(&mem, &lab_options(SyncPolicy::None)).unwrap();
    wal.append(b"not durable").unwrap();
    fail_next(&mem, FaultOp::Sync);
    assert!(wal.sync().is_err());
    assert!(
        matches!(wal.close(), Err(Error::Poisoned(_))),
        "close promises durability; a poisoned handle cannot keep that promise"
    );
}

#[test]
fn a_failed_truncate_after_never_reports_the_dropped_entries_durable() {
    let mem = MemoryFs::new();
    let wal = harness::open_at(&mem, &lab_options(SyncPolicy::None)).unwrap();
    for _ in 0..10 {
        wal.append(&[7u8; 100]).unwrap();
    }
    wal.sync().unwrap();
    mem.inject(MemoryFsFault {
        op: FaultOp::Create,
        errno: EIO,
        times: None,
    });
    assert!(wal.truncate_after(4).is_err());
    assert!(
        wal.durable_index() <= 4,
        "durable index {}",
        wal.durable_index()
    );
}

#[test]
fn a_torn_first_metadata_write_is_not_corruption() {
    // Every writable open bumps a counter in `meta`; a power loss while the
    // first such write is unsynced leaves one garbage slot and one zero slot.
    let mem = MemoryFs::new();
    let o = lab_options(SyncPolicy::None);
    // Let the metadata file be created and synced empty (under its temporary
    // name, before the rename), then fail the sync of the first value
    // written into it.
    let syncs = Arc::new(AtomicU64::new(0));
    {
        let syncs = syncs.clone();
        mem.on_op(Some(Arc::new(move |fs, rec| {
            let meta = rec
                .path
                .file_name()
                .is_some_and(|n| n == "meta" || n == "meta.tmp");
            if rec.op == FaultOp::Sync && meta && syncs.fetch_add(1, Ordering::AcqRel) == 1 {
                fail_next(fs, FaultOp::Sync);
            }
        })));
    }
    assert!(harness::open_at(&mem, &o).is_err());
    mem.on_op(None);
    assert!(
        mem.dirty_pages()
            .iter()
            .any(|(p, _)| p.file_name().is_some_and(|n| n == "meta")),
        "the metadata write must be the one left unsynced"
    );
    let torn = mem.crash_with(|_, _| PageFate::Garbage(99));
    let wal = harness::open_at(&torn, &o).expect("a torn first write is not damage");
    assert_eq!(wal.last_index(), 0);
}
