//! `NativeRaftStorage`: Raft storage ([`walnut_core::raft::RaftLog`]) as the
//! TypeScript `RaftStorage` class sees it.
//!
//! Reads run on the JS thread: they never wait for a write (the core serves
//! them from the last committed state). Every write may fsync, so each runs on
//! the storage's own worker thread, in call order, and settles a promise.
//! Entries cross the boundary packed (one Buffer of payloads plus arrays of
//! terms, types and lengths) so a batch costs one crossing, not one per entry.

use crate::convert::{index, js_index, NativeOptions};
use crate::error::{invalid, panicked, IntoNapi};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use walnut_core::raft::{ConfState, HardState, NewEntry, RaftLog, Snapshot, SnapshotMeta, Update};

type Job = Box<dyn FnOnce() + Send>;

/// Term, vote and commit.
#[napi(object)]
pub struct NativeHardState {
    pub term: f64,
    pub vote: f64,
    pub commit: f64,
}

/// Cluster membership.
#[napi(object)]
pub struct NativeConfState {
    pub voters: Vec<f64>,
    pub learners: Vec<f64>,
    pub voters_outgoing: Vec<f64>,
    pub learners_next: Vec<f64>,
    pub auto_leave: bool,
}

/// Hard state and membership at start-up.
#[napi(object)]
pub struct NativeRaftState {
    pub hard_state: NativeHardState,
    pub conf_state: NativeConfState,
}

/// Snapshot metadata.
#[napi(object)]
pub struct NativeSnapshotMeta {
    pub index: f64,
    pub term: f64,
    pub conf_state: NativeConfState,
}

/// A snapshot with its image.
#[napi(object)]
pub struct NativeSnapshot {
    pub meta: NativeSnapshotMeta,
    pub data: Buffer,
}

/// Entries read, packed: payloads back to back in `data`.
#[napi(object)]
pub struct NativeEntries {
    pub first: f64,
    pub terms: Vec<f64>,
    pub types: Vec<u32>,
    pub lengths: Vec<u32>,
    pub data: Buffer,
}

/// What `save` changes besides the packed entry payloads.
#[napi(object)]
pub struct NativeSave {
    pub hard_state: Option<NativeHardState>,
    pub conf_state: Option<NativeConfState>,
    /// Metadata of a snapshot to install (its image is a separate argument).
    pub snapshot: Option<NativeSnapshotMeta>,
    /// Index of the first entry.
    pub first_index: f64,
    pub terms: Vec<f64>,
    pub types: Vec<u32>,
    pub lengths: Vec<u32>,
    /// Names of meta values to set or (with a null value) remove.
    pub meta_names: Vec<String>,
    pub meta_values: Vec<Option<f64>>,
}

fn ids(v: &[f64], what: &str) -> Result<Vec<u64>> {
    v.iter().map(|&x| index(x, what)).collect()
}

fn js_ids(v: &[u64]) -> Vec<f64> {
    v.iter().map(|&x| js_index(x)).collect()
}

impl NativeConfState {
    fn into_core(self) -> Result<ConfState> {
        Ok(ConfState {
            voters: ids(&self.voters, "confState.voters")?,
            learners: ids(&self.learners, "confState.learners")?,
            voters_outgoing: ids(&self.voters_outgoing, "confState.votersOutgoing")?,
            learners_next: ids(&self.learners_next, "confState.learnersNext")?,
            auto_leave: self.auto_leave,
        })
    }

    fn from_core(c: &ConfState) -> NativeConfState {
        NativeConfState {
            voters: js_ids(&c.voters),
            learners: js_ids(&c.learners),
            voters_outgoing: js_ids(&c.voters_outgoing),
            learners_next: js_ids(&c.learners_next),
            auto_leave: c.auto_leave,
        }
    }
}

impl NativeHardState {
    fn into_core(self) -> Result<HardState> {
        Ok(HardState {
            term: index(self.term, "hardState.term")?,
            vote: index(self.vote, "hardState.vote")?,
            commit: index(self.commit, "hardState.commit")?,
        })
    }

    fn from_core(h: HardState) -> NativeHardState {
        NativeHardState {
            term: js_index(h.term),
            vote: js_index(h.vote),
            commit: js_index(h.commit),
        }
    }
}

impl NativeSnapshotMeta {
    fn into_core(self) -> Result<SnapshotMeta> {
        Ok(SnapshotMeta {
            index: index(self.index, "snapshot index")?,
            term: index(self.term, "snapshot term")?,
            conf_state: self.conf_state.into_core()?,
        })
    }

    fn from_core(m: &SnapshotMeta) -> NativeSnapshotMeta {
        NativeSnapshotMeta {
            index: js_index(m.index),
            term: js_index(m.term),
            conf_state: NativeConfState::from_core(&m.conf_state),
        }
    }
}

/// A save, validated and owning its bytes, ready to leave the JS thread.
struct OwnedSave {
    hard_state: Option<HardState>,
    conf_state: Option<ConfState>,
    snapshot: Option<Snapshot>,
    first_index: u64,
    terms: Vec<u64>,
    types: Vec<u8>,
    lengths: Vec<u32>,
    data: Vec<u8>,
    meta: std::collections::BTreeMap<String, Option<u64>>,
}

impl OwnedSave {
    fn new(req: NativeSave, data: &[u8], snapshot_data: &[u8]) -> Result<OwnedSave> {
        let n = req.terms.len();
        if req.types.len() != n || req.lengths.len() != n {
            return Err(invalid(
                "terms, types and lengths must have one element per entry",
            ));
        }
        let total: u64 = req.lengths.iter().map(|&l| l as u64).sum();
        if total != data.len() as u64 {
            return Err(invalid(format!(
                "entry lengths add up to {total} bytes but {} were given",
                data.len()
            )));
        }
        if req.meta_names.len() != req.meta_values.len() {
            return Err(invalid("meta names and values differ in number"));
        }
        let types = req
            .types
            .iter()
            .map(|&t| u8::try_from(t).map_err(|_| invalid(format!("bad entry type {t}"))))
            .collect::<Result<Vec<u8>>>()?;
        let meta = req
            .meta_names
            .into_iter()
            .zip(req.meta_values)
            .map(|(k, v)| Ok((k, v.map(|x| index(x, "meta value")).transpose()?)))
            .collect::<Result<_>>()?;
        Ok(OwnedSave {
            hard_state: req.hard_state.map(NativeHardState::into_core).transpose()?,
            conf_state: req.conf_state.map(NativeConfState::into_core).transpose()?,
            snapshot: req
                .snapshot
                .map(|m| -> Result<Snapshot> {
                    Ok(Snapshot {
                        meta: m.into_core()?,
                        data: snapshot_data.to_vec(),
                    })
                })
                .transpose()?,
            first_index: index(req.first_index, "firstIndex")?,
            terms: ids(&req.terms, "entry term")?,
            types,
            lengths: req.lengths,
            data: data.to_vec(),
            meta,
        })
    }

    fn run(&self, log: &RaftLog) -> walnut_core::Result<()> {
        let mut at = 0usize;
        let entries: Vec<NewEntry<'_>> = (0..self.terms.len())
            .map(|k| {
                let len = self.lengths[k] as usize;
                let e = NewEntry {
                    term: self.terms[k],
                    kind: self.types[k],
                    data: &self.data[at..at + len],
                };
                at += len;
                e
            })
            .collect();
        log.save(&Update {
            snapshot: self.snapshot.as_ref(),
            first_index: self.first_index,
            entries: &entries,
            hard_state: self.hard_state,
            conf_state: self.conf_state.clone(),
            meta: self.meta.clone(),
        })
    }
}

/// Native Raft storage handle.
#[napi]
pub struct NativeRaftStorage {
    log: Arc<RaftLog>,
    worker: Mutex<Option<Sender<Job>>>,
}

/// Starts the worker thread every write of one storage runs on, in order.
fn start_worker() -> Result<Sender<Job>> {
    let (tx, rx) = channel::<Job>();
    std::thread::Builder::new()
        .name("walnut-raft".into())
        .spawn(move || {
            // Ends when the handle (and with it the sender) is dropped.
            while let Ok(job) = rx.recv() {
                job();
            }
        })
        .map_err(|e| invalid(format!("cannot start the Raft worker thread: {e}")))?;
    Ok(tx)
}

/// Queues `f` on `worker` and returns a promise of its result.
fn queue<'env, T, F>(env: &'env Env, worker: &Sender<Job>, f: F) -> Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    let job: Job = Box::new(move || {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(panicked()))
        {
            Ok(v) => deferred.resolve(move |_| Ok(v)),
            Err(e) => deferred.reject(e),
        }
    });
    worker
        .send(job)
        .map_err(|_| invalid("the Raft worker thread has stopped"))?;
    Ok(promise)
}

#[napi]
impl NativeRaftStorage {
    /// Opens (recovering and finishing any interrupted update) on the
    /// storage's worker thread.
    #[napi(ts_return_type = "Promise<NativeRaftStorage>", catch_unwind)]
    pub fn open(env: &Env, dir: String, options: NativeOptions) -> Result<Object<'_>> {
        let opts = options.into_core()?;
        let worker = start_worker()?;
        let tx = worker.clone();
        queue(env, &worker, move || {
            let log = RaftLog::open(dir, opts).napi()?;
            Ok(NativeRaftStorage {
                log: Arc::new(log),
                worker: Mutex::new(Some(tx)),
            })
        })
    }

    fn worker(&self) -> Result<Sender<Job>> {
        self.worker
            .lock()
            .map_err(|_| panicked())?
            .clone()
            .ok_or(walnut_core::Error::Closed)
            .napi()
    }

    /// Hard state and membership.
    #[napi(catch_unwind)]
    pub fn initial_state(&self) -> NativeRaftState {
        let (h, c) = self.log.initial_state();
        NativeRaftState {
            hard_state: NativeHardState::from_core(h),
            conf_state: NativeConfState::from_core(&c),
        }
    }

    /// Entries in `[lo, hi)` within a byte budget (at least one), packed.
    #[napi(catch_unwind)]
    pub fn entries(&self, lo: f64, hi: f64, max_bytes: Option<f64>) -> Result<NativeEntries> {
        let (lo, hi) = (index(lo, "lo")?, index(hi, "hi")?);
        let budget = max_bytes.map(|b| index(b, "maxBytes")).transpose()?;
        let got = self.log.entries(lo, hi, budget).napi()?;
        let mut data = Vec::with_capacity(got.iter().map(|e| e.data.len()).sum());
        let mut out = NativeEntries {
            first: js_index(lo),
            terms: Vec::with_capacity(got.len()),
            types: Vec::with_capacity(got.len()),
            lengths: Vec::with_capacity(got.len()),
            data: Buffer::from(Vec::new()),
        };
        for e in &got {
            out.terms.push(js_index(e.term));
            out.types.push(e.kind as u32);
            out.lengths.push(e.data.len() as u32);
            data.extend_from_slice(&e.data);
        }
        out.data = data.into();
        Ok(out)
    }

    /// The term of entry `i` (also of `firstIndex - 1`).
    #[napi(catch_unwind)]
    pub fn term(&self, i: f64) -> Result<f64> {
        self.log.term(index(i, "index")?).napi().map(js_index)
    }

    /// First index held.
    #[napi(getter)]
    pub fn first_index(&self) -> f64 {
        js_index(self.log.first_index())
    }

    /// Last index held.
    #[napi(getter)]
    pub fn last_index(&self) -> f64 {
        js_index(self.log.last_index())
    }

    /// The stored snapshot (index 0 when none), image verified.
    #[napi(catch_unwind)]
    pub fn snapshot(&self) -> Result<NativeSnapshot> {
        let s = self.log.snapshot().napi()?;
        Ok(NativeSnapshot {
            meta: NativeSnapshotMeta::from_core(&s.meta),
            data: s.data.into(),
        })
    }

    /// Named integers kept with the hard state.
    #[napi(catch_unwind)]
    pub fn meta_values(&self) -> HashMap<String, f64> {
        self.log
            .meta_values()
            .into_iter()
            .map(|(k, v)| (k, js_index(v)))
            .collect()
    }

    /// Saves snapshot, entries, hard state (one commit point) on the worker.
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn save<'env>(
        &self,
        env: &'env Env,
        req: NativeSave,
        data: &[u8],
        snapshot_data: &[u8],
    ) -> Result<Object<'env>> {
        let save = OwnedSave::new(req, data, snapshot_data)?;
        let log = self.log.clone();
        queue(env, &self.worker()?, move || save.run(&log).napi())
    }

    /// Stores a snapshot at `index` on the worker.
    #[napi(ts_return_type = "Promise<NativeSnapshotMeta>", catch_unwind)]
    pub fn create_snapshot<'env>(
        &self,
        env: &'env Env,
        index_: f64,
        conf_state: NativeConfState,
        data: &[u8],
    ) -> Result<Object<'env>> {
        let i = index(index_, "index")?;
        let cs = conf_state.into_core()?;
        let data = data.to_vec();
        let log = self.log.clone();
        queue(env, &self.worker()?, move || {
            let m = log.create_snapshot(i, cs, &data).napi()?;
            Ok(NativeSnapshotMeta::from_core(&m))
        })
    }

    /// Installs a snapshot on the worker.
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn apply_snapshot<'env>(
        &self,
        env: &'env Env,
        meta: NativeSnapshotMeta,
        data: &[u8],
    ) -> Result<Object<'env>> {
        let snap = Snapshot {
            meta: meta.into_core()?,
            data: data.to_vec(),
        };
        let log = self.log.clone();
        queue(env, &self.worker()?, move || {
            log.apply_snapshot(&snap).napi()
        })
    }

    /// Drops entries up to and including `index` on the worker.
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn compact<'env>(&self, env: &'env Env, index_: f64) -> Result<Object<'env>> {
        let i = index(index_, "index")?;
        let log = self.log.clone();
        queue(env, &self.worker()?, move || log.compact(i).napi())
    }

    /// Closes after every queued write; the worker thread then ends.
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let worker = self.worker.lock().map_err(|_| panicked())?.take();
        let log = self.log.clone();
        match worker {
            Some(w) => queue(env, &w, move || log.close().napi()),
            // Already closed: resolve at once, like `Wal.close`.
            None => {
                let (deferred, promise) = env.create_deferred()?;
                deferred.resolve(|_| Ok(()));
                Ok(promise)
            }
        }
    }

    /// Whether the storage is closed.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.log.is_closed()
    }
}
