//! The crash laboratory shared by `crash.rs` and `faults.rs`.
//!
//! A workload runs against a [`MemoryFs`] whose hook snapshots the disk after
//! every file-system operation (every sync, create, rename, remove and
//! directory sync): the disk "as after operation k" for every k. Each snapshot
//! is then crashed in many ways ([`variants`]): every prefix of the pending
//! directory changes, and fates for every unsynced page (exhaustively when
//! few, sampled when many). Each crashed disk is opened and checked against
//! the [`oracle`], which knows what the workload wrote and what the API had
//! acknowledged when the snapshot was taken.

#![allow(dead_code)]

pub mod model;
pub mod oracle;
pub mod rng;
pub mod variants;

pub use model::{Frozen, Model};
pub use rng::Rng;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use walnut_core::fs::{FileSystem, MemoryFs};
use walnut_core::{Options, Wal};

/// Where every lab log lives inside its memory file system.
pub fn dir() -> PathBuf {
    PathBuf::from("/lab/log")
}

/// Long mode (`WALNUT_LONG=1`): bigger workloads and more page variants.
pub fn long() -> bool {
    std::env::var_os("WALNUT_LONG").is_some_and(|v| v != "0" && !v.is_empty())
}

/// How hard to look, scaled by [`long`].
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Episodes per workload: each is a fresh log with its own seed, so the
    /// cost stays linear (a longer log makes every recovery slower).
    pub episodes: u64,
    /// Exhaustive page fates up to this many dirty pages.
    pub exhaustive_pages: usize,
    /// Random fate assignments per crash state beyond that.
    pub samples: usize,
    /// Every n-th variant also appends after recovery and crashes again.
    pub continue_every: u64,
}

impl Effort {
    pub fn current() -> Effort {
        if long() {
            Effort {
                episodes: 40,
                exhaustive_pages: 3,
                samples: 24,
                continue_every: 3,
            }
        } else {
            Effort {
                episodes: 8,
                exhaustive_pages: 2,
                samples: 4,
                continue_every: 16,
            }
        }
    }
}

/// Totals of one workload.
#[derive(Debug, Default)]
pub struct Tally {
    pub states: AtomicU64,
    pub variants: AtomicU64,
    pub violations: Mutex<Vec<String>>,
}

/// One disk snapshot with what the model knew when it was taken.
pub struct Snapshot {
    pub seq: u64,
    pub what: String,
    pub fs: MemoryFs,
    pub model: Frozen,
}

/// Runs `workload` on a fresh memory file system, snapshotting after every
/// operation, and checks every crash variant of every snapshot on two
/// verifier threads while the workload runs. Prints the figures and panics
/// on any oracle violation.
pub fn run_lab(name: &str, opts: Options, seed: u64, workload: impl Fn(&mut Driver)) -> (u64, u64) {
    let started = Instant::now();
    let effort = Effort::current();
    let tally = Arc::new(Tally::default());
    for episode in 0..effort.episodes {
        run_episode(&opts, seed * 1_000_003 + episode, effort, &tally, &workload);
    }
    let states = tally.states.load(Ordering::Relaxed);
    let variants = tally.variants.load(Ordering::Relaxed);
    let violations = tally.violations.lock().unwrap();
    println!(
        "{name}: {states} crash states x {:.1} page variants ({variants} recoveries, {} episodes), {} oracle violations [{:.1}s]",
        variants as f64 / states.max(1) as f64,
        effort.episodes,
        violations.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        violations.is_empty(),
        "{name}: {} oracle violations, first ones:\n{}",
        violations.len(),
        violations
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(states > 0, "{name}: the workload produced no crash state");
    (states, variants)
}

/// One fresh log: the workload runs while two threads check its snapshots.
fn run_episode(
    opts: &Options,
    seed: u64,
    effort: Effort,
    tally: &Arc<Tally>,
    workload: &impl Fn(&mut Driver),
) {
    let mem = MemoryFs::new();
    let model = Arc::new(Mutex::new(Model::new()));
    let (tx, rx) = mpsc::sync_channel::<Snapshot>(32);
    let rx = Arc::new(Mutex::new(rx));
    let verifiers: Vec<_> = (0..2)
        .map(|v| {
            let rx = rx.clone();
            let tally = tally.clone();
            let opts = opts.clone();
            std::thread::spawn(move || loop {
                let snap = match rx.lock().unwrap().recv() {
                    Ok(s) => s,
                    Err(_) => return,
                };
                let mut rng = Rng::new(seed ^ (snap.seq << 8) ^ v);
                oracle::check_snapshot(&snap, &opts, effort, &mut rng, &tally);
            })
        })
        .collect();
    {
        let model = model.clone();
        let tx = Mutex::new(tx);
        mem.on_op(Some(Arc::new(move |fs, rec| {
            if !rec.ok {
                // A failed operation changed nothing; the state after it is
                // the state after the previous one.
                return;
            }
            // The model lock is held across both copies: whatever the model
            // calls acknowledged was made durable by operations that completed
            // before this snapshot, and no record the model has not yet heard
            // of can be written into the mapping meanwhile (the driver
            // registers each record under this lock before appending it).
            let m = model.lock().unwrap();
            let snap = Snapshot {
                seq: rec.seq,
                what: format!("episode seed {seed}: {:?} {}", rec.op, rec.path.display()),
                model: m.freeze(),
                fs: fs.snapshot(),
            };
            drop(m);
            let _ = tx.lock().unwrap().send(snap);
        })));
    }
    let mut driver = Driver::open(mem.clone(), opts.clone(), model.clone(), seed);
    workload(&mut driver);
    driver.close();
    mem.on_op(None); // drops the sender: the verifiers finish the queue and stop
    for v in verifiers {
        v.join().expect("a verifier panicked");
    }
}

/// Drives a workload: every call updates the model around the API call so
/// that snapshots taken during the call see a consistent picture.
pub struct Driver {
    pub mem: MemoryFs,
    pub opts: Options,
    pub wal: Option<Wal>,
    pub model: Arc<Mutex<Model>>,
    pub rng: Rng,
}

impl Driver {
    fn open(mem: MemoryFs, opts: Options, model: Arc<Mutex<Model>>, seed: u64) -> Driver {
        let wal = Wal::open_with(Arc::new(mem.clone()), dir(), opts.clone())
            .expect("opening a fresh log");
        Driver {
            mem,
            opts,
            wal: Some(wal),
            model,
            rng: Rng::new(seed),
        }
    }

    pub fn wal(&self) -> &Wal {
        self.wal.as_ref().expect("the log is open")
    }

    fn note_durable(&self) {
        let d = self.wal().durable_index();
        self.model.lock().unwrap().ack(d);
    }

    /// Appends one record of `len` bytes (at least 12).
    pub fn append(&mut self, len: usize) -> u64 {
        let next = self.wal().last_index() + 1;
        let data = self.model.lock().unwrap().intend(next, &[len]);
        let i = self.wal().append(&data[0]).expect("append");
        assert_eq!(i, next);
        if self.opts.sync == walnut_core::SyncPolicy::Always {
            // `append` returned under the always policy: the record is durable.
            self.model.lock().unwrap().ack(i);
        }
        self.note_durable();
        i
    }

    /// Appends an atomic batch of records with these lengths.
    pub fn append_batch(&mut self, lens: &[usize]) -> u64 {
        let next = self.wal().last_index() + 1;
        let data = self.model.lock().unwrap().intend(next, lens);
        let i = self.wal().append_batch(&data).expect("append_batch");
        assert_eq!(i, next);
        if self.opts.sync == walnut_core::SyncPolicy::Always {
            self.model.lock().unwrap().ack(i + lens.len() as u64 - 1);
        }
        self.note_durable();
        i
    }

    /// `sync()`: its return value is acknowledged.
    pub fn sync(&mut self) {
        let d = self.wal().sync().expect("sync");
        self.model.lock().unwrap().ack(d);
    }

    /// `wait_durable(last)`: like `await wal.write()` in Node.
    pub fn wait_durable(&mut self) {
        let last = self.wal().last_index();
        assert!(self.wal().wait_durable(last, None).expect("wait_durable"));
        self.model.lock().unwrap().ack(last);
    }

    /// Polls the durable index (what a `durableIndex` getter reports).
    pub fn poll(&mut self) {
        self.note_durable();
    }

    pub fn truncate_after(&mut self, index: u64) {
        self.model.lock().unwrap().begin_truncate_after(index);
        self.wal().truncate_after(index).expect("truncate_after");
        self.note_durable();
    }

    pub fn truncate_before(&mut self, index: u64) {
        let last = self.wal().last_index();
        self.model
            .lock()
            .unwrap()
            .begin_truncate_before(index, last);
        self.wal().truncate_before(index).expect("truncate_before");
        let first = self.wal().first_index();
        self.model.lock().unwrap().end_truncate_before(first);
        self.note_durable();
    }

    /// Lets `first_index` rise as far as `bound` during the next call
    /// (retention at rotation).
    pub fn allow_first_up_to(&mut self, bound: u64) {
        self.model.lock().unwrap().allow_first_up_to(bound);
    }

    /// After a call that may have compacted: the first index is now settled.
    pub fn settle_first(&mut self) {
        let first = self.wal().first_index();
        self.model.lock().unwrap().end_truncate_before(first);
    }

    /// Closes cleanly and opens again on the same disk.
    pub fn reopen(&mut self) {
        let wal = self.wal.take().expect("open");
        wal.close().expect("close");
        self.model.lock().unwrap().ack(wal.last_index());
        drop(wal);
        self.wal = Some(
            Wal::open_with(Arc::new(self.mem.clone()), dir(), self.opts.clone())
                .expect("reopen after a clean close"),
        );
    }

    fn close(&mut self) {
        if let Some(wal) = self.wal.take() {
            wal.close().expect("close");
            self.model.lock().unwrap().ack(wal.last_index());
        }
    }

    /// First indexes of the segment files present now, oldest first.
    pub fn segment_firsts(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .mem
            .list(&dir())
            .unwrap()
            .iter()
            .filter_map(|e| walnut_core::segment::parse_name(&e.name))
            .collect();
        v.sort();
        v
    }
}

/// Opens the log on `fs` at the lab directory.
pub fn open_at(fs: &MemoryFs, opts: &Options) -> walnut_core::Result<Wal> {
    Wal::open_with(Arc::new(fs.clone()), dir(), opts.clone())
}

/// The path of a file of the lab log.
pub fn file(name: &str) -> PathBuf {
    dir().join(name)
}

/// Whether `p` is inside the lab log directory.
pub fn in_lab(p: &Path) -> bool {
    p.parent() == Some(dir().as_path())
}
