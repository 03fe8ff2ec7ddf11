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
use walnut_core::{Options, SyncPolicy, Wal};

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
                // A process crash keeps the page cache: every append that
                // returned must survive it, acknowledged or not.
                oracle::check_process_crash(&snap, &opts, &tally);
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
    /// Record failed calls in `errors` instead of panicking (fault tests).
    pub tolerant: bool,
    /// Failed calls: what was called, and the error.
    pub errors: Vec<(String, walnut_core::Error)>,
    /// Operations the file system had performed when the current handle
    /// finished opening.
    pub opened_at_op: u64,
}

impl Driver {
    /// Opens a fresh log on `mem` (panics if that fails).
    pub fn open(mem: MemoryFs, opts: Options, model: Arc<Mutex<Model>>, seed: u64) -> Driver {
        let wal = Wal::open_with(Arc::new(mem.clone()), dir(), opts.clone())
            .expect("opening a fresh log");
        Driver::open_with(mem, opts, model, seed, wal)
    }

    /// Drives a log opened by the caller.
    pub fn open_with(
        mem: MemoryFs,
        opts: Options,
        model: Arc<Mutex<Model>>,
        seed: u64,
        wal: Wal,
    ) -> Driver {
        Driver {
            opts,
            wal: Some(wal),
            model,
            rng: Rng::new(seed),
            tolerant: false,
            errors: Vec::new(),
            opened_at_op: mem.op_count(),
            mem,
        }
    }

    pub fn wal(&self) -> &Wal {
        self.wal.as_ref().expect("the log is open")
    }

    /// The result of a call: its value, or (tolerant mode) `None` with the
    /// error recorded.
    fn outcome<T>(&mut self, what: &str, r: walnut_core::Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) if self.tolerant => {
                self.errors.push((what.to_string(), e));
                None
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }

    fn note_durable(&self) {
        if let Some(wal) = &self.wal {
            let d = wal.durable_index();
            self.model.lock().unwrap().ack(d);
        }
    }

    /// Appends one record of `len` bytes (at least 12).
    pub fn append(&mut self, len: usize) -> Option<u64> {
        self.append_batch(&[len])
    }

    /// Appends an atomic batch of records with these lengths.
    pub fn append_batch(&mut self, lens: &[usize]) -> Option<u64> {
        let wal = self.wal.as_ref()?;
        let next = wal.last_index() + 1;
        let data = self.model.lock().unwrap().intend(next, lens);
        let r = if lens.len() == 1 {
            wal.append(&data[0])
        } else {
            wal.append_batch(&data)
        };
        let i = self.outcome("append", r)?;
        assert_eq!(i, next);
        self.model.lock().unwrap().appended(next, lens.len() as u64);
        if self.opts.sync == walnut_core::SyncPolicy::Always {
            // `append` returned under the always policy: the batch is durable.
            self.model.lock().unwrap().ack(i + lens.len() as u64 - 1);
        }
        self.note_durable();
        Some(i)
    }

    /// `sync()`: its return value is acknowledged.
    pub fn sync(&mut self) {
        let Some(wal) = &self.wal else { return };
        let r = wal.sync();
        if let Some(d) = self.outcome("sync", r) {
            self.model.lock().unwrap().ack(d);
        }
    }

    /// `wait_durable(last)`: like `await wal.write()` in Node.
    pub fn wait_durable(&mut self) {
        let Some(wal) = &self.wal else { return };
        let last = wal.last_index();
        let r = wal.wait_durable(last, None);
        if let Some(done) = self.outcome("wait_durable", r) {
            assert!(done, "wait_durable without a timeout returned false");
            self.model.lock().unwrap().ack(last);
        }
    }

    /// Polls the durable index (what a `durableIndex` getter reports).
    pub fn poll(&mut self) {
        self.note_durable();
    }

    pub fn truncate_after(&mut self, index: u64) {
        let Some(wal) = &self.wal else { return };
        self.model.lock().unwrap().begin_truncate_after(index);
        let r = wal.truncate_after(index);
        self.outcome("truncate_after", r);
        self.note_durable();
    }

    pub fn truncate_before(&mut self, index: u64) {
        let Some(wal) = &self.wal else { return };
        let last = wal.last_index();
        self.model
            .lock()
            .unwrap()
            .begin_truncate_before(index, last);
        let r = wal.truncate_before(index);
        if self.outcome("truncate_before", r).is_some() {
            self.settle_first();
        }
        self.note_durable();
    }

    /// Lets `first_index` rise as far as `bound` during the next call
    /// (retention at rotation).
    pub fn allow_first_up_to(&mut self, bound: u64) {
        self.model.lock().unwrap().allow_first_up_to(bound);
    }

    /// After a call that may have compacted: the first index is now settled.
    pub fn settle_first(&mut self) {
        if let Some(wal) = &self.wal {
            let first = wal.first_index();
            self.model.lock().unwrap().end_truncate_before(first);
        }
    }

    /// Closes cleanly and opens again on the same disk.
    pub fn reopen(&mut self) {
        let Some(wal) = self.wal.take() else { return };
        let r = wal.close();
        if self.outcome("close", r).is_some() {
            self.model.lock().unwrap().ack(wal.last_index());
        }
        drop(wal);
        let r = Wal::open_with(Arc::new(self.mem.clone()), dir(), self.opts.clone());
        self.wal = self.outcome("reopen", r);
        self.opened_at_op = self.mem.op_count();
        if let Some(wal) = &self.wal {
            let (first, last) = (wal.first_index(), wal.last_index());
            let found: Vec<(u64, u32)> = (first..=last)
                .filter_map(|i| wal.read(i).ok())
                .filter_map(|e| model::decode(&e.data))
                .collect();
            assert_eq!(wal.durable_index(), last, "a reopened log is durable");
            self.model.lock().unwrap().relearn(&found, last);
        }
    }

    fn close(&mut self) {
        if let Some(wal) = self.wal.take() {
            let r = wal.close();
            if self.outcome("close", r).is_some() {
                self.model.lock().unwrap().ack(wal.last_index());
            }
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

/// Tiny segments, so that every workload rotates and seals often.
pub fn lab_options(sync: SyncPolicy) -> Options {
    Options {
        segment_size: 16 << 10,
        max_record_size: 4 << 10,
        sync,
        prefault: false,
        ..Options::default()
    }
}
