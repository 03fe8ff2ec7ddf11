//! Crash atomicity of Raft storage: a power loss simulated after every
//! file-system operation of a workload that covers every kind of update
//! (append, conflicting suffix, snapshot creation, compaction, snapshot
//! install with entries) must reopen to the state of the last update that
//! returned, or of the one in flight: never a mix.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use walnut_core::fs::{MemoryFs, PageFate};
use walnut_core::raft::{ConfState, HardState, NewEntry, RaftLog, Snapshot, SnapshotMeta, Update};
use walnut_core::Options;

const DIR: &str = "/raft";

fn small() -> Options {
    Options {
        segment_size: 64 << 10,
        ..Options::default()
    }
}

fn voters(ids: &[u64]) -> ConfState {
    ConfState {
        voters: ids.to_vec(),
        ..Default::default()
    }
}

/// Everything a reopen shows: what the crash test compares.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    hard: HardState,
    conf: ConfState,
    first: u64,
    last: u64,
    prev_term: u64,
    entries: Vec<(u64, u8, Vec<u8>)>,
    snapshot: Snapshot,
    meta: BTreeMap<String, u64>,
}

fn observe(log: &RaftLog) -> Observed {
    let (hard, conf) = log.initial_state();
    let (first, last) = (log.first_index(), log.last_index());
    Observed {
        hard,
        conf,
        first,
        last,
        prev_term: log.term(first - 1).unwrap(),
        entries: log
            .entries(first, last + 1, None)
            .unwrap()
            .into_iter()
            .map(|e| (e.term, e.kind, e.data))
            .collect(),
        snapshot: log.snapshot().unwrap(),
        meta: log.meta_values(),
    }
}

/// One step of the crash workload.
fn step(log: &RaftLog, k: u64) {
    let hs = Some(HardState {
        term: k,
        vote: k % 3,
        commit: log.last_index().min(k),
    });
    let data = format!("entry-{k}").repeat(1 + (k as usize % 5) * 40);
    let ents = [
        NewEntry {
            term: k,
            kind: 0,
            data: data.as_bytes(),
        },
        NewEntry {
            term: k,
            kind: 2,
            data: b"cc",
        },
    ];
    let meta = [("checkpoint".to_string(), Some(k))].into_iter().collect();
    match k % 6 {
        // Plain append with a hard state change.
        0 | 1 => log
            .save(&Update {
                hard_state: hs,
                first_index: log.last_index() + 1,
                entries: &ents,
                meta,
                ..Default::default()
            })
            .unwrap(),
        // A conflicting suffix: replace the last entry.
        2 => log
            .save(&Update {
                hard_state: hs,
                first_index: log.last_index().max(log.first_index()),
                entries: &ents,
                ..Default::default()
            })
            .unwrap(),
        3 => {
            log.create_snapshot(log.last_index(), voters(&[1, k]), data.as_bytes())
                .unwrap();
        }
        4 => log.compact(log.last_index() - 1).unwrap(),
        // A snapshot install followed by entries in the same save.
        _ => {
            let snap = Snapshot {
                meta: SnapshotMeta {
                    index: log.last_index() + 3,
                    term: k,
                    conf_state: voters(&[k, k + 1]),
                },
                data: data.as_bytes().to_vec(),
            };
            log.save(&Update {
                snapshot: Some(&snap),
                first_index: snap.meta.index + 1,
                entries: &ents,
                hard_state: hs,
                ..Default::default()
            })
            .unwrap()
        }
    }
}

#[test]
fn after_a_power_loss_at_any_operation_the_state_is_a_whole_resolved_or_later_one() {
    let fs = MemoryFs::new();
    let log = RaftLog::open_with(Arc::new(fs.clone()), DIR, small()).unwrap();
    let seed = [NewEntry {
        term: 0,
        kind: 0,
        data: b"seed",
    }; 2];
    log.save(&Update {
        first_index: 1,
        entries: &seed,
        ..Default::default()
    })
    .unwrap();
    let steps = 30u64;
    // states[k]: the state after k steps resolved.
    let mut states = vec![observe(&log)];
    let resolved = Arc::new(AtomicUsize::new(0));
    let crashes: Arc<Mutex<Vec<(usize, MemoryFs)>>> = Arc::default();
    let (r, c) = (resolved.clone(), crashes.clone());
    let variant = AtomicUsize::new(0);
    fs.on_op(Some(Arc::new(move |fs: &MemoryFs, _| {
        let done = r.load(Ordering::SeqCst);
        // Three power losses per operation: every unsynced page and
        // directory change lost; all of them kept; a random mix of page fates
        // (kept, lost, zeroed, garbage) with a random prefix of directory changes.
        let v = variant.fetch_add(1, Ordering::Relaxed);
        let mut seed = (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mixed = fs.crash_with_dir_ops(v % (fs.pending_dir_ops() + 1), |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            match seed % 4 {
                0 => PageFate::Lost,
                1 => PageFate::Kept,
                2 => PageFate::Zeroed,
                _ => PageFate::Garbage(seed),
            }
        });
        let kept = fs.crash_with_dir_ops(fs.pending_dir_ops(), |_, _| PageFate::Kept);
        let mut c = c.lock().unwrap();
        c.push((done, fs.crash()));
        c.push((done, kept));
        c.push((done, mixed));
    })));
    for k in 1..=steps {
        step(&log, k);
        resolved.store(k as usize, Ordering::SeqCst);
        states.push(observe(&log));
    }
    fs.on_op(None);
    let crashes = std::mem::take(&mut *crashes.lock().unwrap());
    assert!(crashes.len() > 500, "only {} crash points", crashes.len());
    for (n, (done, img)) in crashes.iter().enumerate() {
        let log = RaftLog::open_with(Arc::new(img.clone()), DIR, small())
            .unwrap_or_else(|e| panic!("crash point {n} (after {done} steps): open failed: {e}"));
        let got = observe(&log);
        let ok = got == states[*done] || states.get(done + 1) == Some(&got);
        assert!(
            ok,
            "crash point {n} after {done} resolved steps shows a state that is neither: {got:?}"
        );
    }
    println!(
        "{} power-loss images over {steps} Raft updates, every one reopened to a whole state",
        crashes.len()
    );
}
