//! What a workload wrote and what the API acknowledged, as the oracle needs it.
//!
//! Every record is self-describing ([`payload`]): its bytes encode its index
//! and a *generation* (bumped by every `truncate_after`, so a rewritten index
//! carries different bytes). The model remembers which generations were ever
//! written at each index, and *when* (an epoch), so that a snapshot only
//! accepts what had been written before it was taken.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// The bytes of record `index` of generation `gen`, `len` bytes long (>= 12).
pub fn payload(index: u64, gen: u32, len: usize) -> Vec<u8> {
    assert!(len >= 12, "lab records carry a 12-byte self-description");
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&gen.to_le_bytes());
    let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (gen as u64) ^ (len as u64) << 40 | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x as u8);
    }
    out
}

/// The (index, generation) a payload claims, if its bytes are exactly what
/// [`payload`] produces for that claim.
pub fn decode(data: &[u8]) -> Option<(u64, u32)> {
    if data.len() < 12 {
        return None;
    }
    let index = u64::from_le_bytes(data[0..8].try_into().unwrap());
    let gen = u32::from_le_bytes(data[8..12].try_into().unwrap());
    (payload(index, gen, data.len()) == data).then_some((index, gen))
}

/// Facts that only accumulate, shared by the model and every frozen copy;
/// each is stamped with the epoch it became true in.
#[derive(Default)]
pub struct History {
    /// Generations written at each index, with the epoch they were written in.
    written: HashMap<u64, Vec<(u32, u64)>>,
    /// Indexes the log may end at (ends of batches, truncation points).
    boundaries: BTreeMap<u64, u64>,
}

/// The model of the log as the workload drives it.
pub struct Model {
    history: Arc<RwLock<History>>,
    epoch: u64,
    gen: u32,
    /// `current[i]`: generation of the latest write of index `i`.
    current: Vec<u32>,
    acked: u64,
    first_lo: u64,
    first_hi: u64,
    /// The last index whose append returned (a process crash keeps it).
    appended: u64,
}

/// The model as it stood when a snapshot was taken.
#[derive(Clone)]
pub struct Frozen {
    history: Arc<RwLock<History>>,
    pub epoch: u64,
    /// Everything up to here was acknowledged durable.
    pub acked: u64,
    /// Generations of the acknowledged indexes (`acked_gens[i]` for `i <= acked`).
    acked_gens: Vec<u32>,
    /// The first index must lie in `first_lo..=first_hi`.
    pub first_lo: u64,
    pub first_hi: u64,
    /// The last index whose append had returned.
    pub appended: u64,
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

impl Model {
    pub fn new() -> Model {
        let mut history = History::default();
        history.boundaries.insert(0, 0); // an empty log
        Model {
            history: Arc::new(RwLock::new(history)),
            epoch: 0,
            gen: 1,
            current: vec![0],
            acked: 0,
            first_lo: 1,
            first_hi: 1,
            appended: 0,
        }
    }

    /// Records that indexes `next..` are about to be written with these
    /// lengths (one atomic batch), and returns their bytes.
    pub fn intend(&mut self, next: u64, lens: &[usize]) -> Vec<Vec<u8>> {
        self.epoch += 1;
        let mut h = self.history.write().unwrap();
        let mut out = Vec::new();
        for (j, &len) in lens.iter().enumerate() {
            let i = next + j as u64;
            h.written.entry(i).or_default().push((self.gen, self.epoch));
            out.push(payload(i, self.gen, len));
        }
        h.boundaries
            .entry(next + lens.len() as u64 - 1)
            .or_insert(self.epoch);
        out
    }

    /// The append of `count` records from `next` (announced with
    /// [`Model::intend`]) returned successfully: they are the log's content.
    pub fn appended(&mut self, next: u64, count: u64) {
        self.appended = next + count - 1;
        self.set_current(next..next + count, self.gen);
    }

    fn set_current(&mut self, range: std::ops::Range<u64>, gen: u32) {
        if self.current.len() < range.end as usize {
            self.current.resize(range.end as usize, 0);
        }
        for i in range {
            self.current[i as usize] = gen;
        }
    }

    /// A handle opened on the log and found these records (index, generation),
    /// which it now reports durable: from here on they are what must survive.
    /// (A failed call leaves the log between two states; recovery picks one.)
    pub fn relearn(&mut self, found: &[(u64, u32)], last: u64) {
        self.epoch += 1;
        for &(i, gen) in found {
            self.set_current(i..i + 1, gen);
        }
        self.acked = last;
        self.history
            .write()
            .unwrap()
            .boundaries
            .entry(last)
            .or_insert(self.epoch);
    }

    /// The API reported everything up to `index` durable.
    pub fn ack(&mut self, index: u64) {
        self.acked = self.acked.max(index);
    }

    /// `truncate_after(index)` is about to run: later records may vanish.
    pub fn begin_truncate_after(&mut self, index: u64) {
        self.epoch += 1;
        self.appended = self.appended.min(index);
        self.acked = self.acked.min(index);
        self.gen += 1;
        self.history
            .write()
            .unwrap()
            .boundaries
            .entry(index)
            .or_insert(self.epoch);
    }

    /// `truncate_before(index)` is about to run on a log ending at `last`.
    pub fn begin_truncate_before(&mut self, index: u64, last: u64) {
        self.epoch += 1;
        self.first_hi = self.first_hi.max(index);
        if index > last + 1 {
            // The log restarts empty at `index`.
            self.history
                .write()
                .unwrap()
                .boundaries
                .entry(index - 1)
                .or_insert(self.epoch);
        }
    }

    /// The first index is now `first`, durably.
    pub fn end_truncate_before(&mut self, first: u64) {
        self.first_lo = self.first_lo.max(first);
        self.first_hi = self.first_hi.max(first);
    }

    /// A call may move the first index up to `bound` (retention).
    pub fn allow_first_up_to(&mut self, bound: u64) {
        self.first_hi = self.first_hi.max(bound);
    }

    pub fn freeze(&self) -> Frozen {
        let n = (self.acked as usize + 1).min(self.current.len());
        Frozen {
            history: self.history.clone(),
            epoch: self.epoch,
            acked: self.acked,
            acked_gens: self.current[..n].to_vec(),
            first_lo: self.first_lo,
            first_hi: self.first_hi,
            appended: self.appended,
        }
    }
}

impl Frozen {
    /// Whether `gen` had been written at `index` when the snapshot was taken.
    pub fn was_written(&self, index: u64, gen: u32) -> bool {
        self.history
            .read()
            .unwrap()
            .written
            .get(&index)
            .is_some_and(|v| v.iter().any(|&(g, e)| g == gen && e <= self.epoch))
    }

    /// The generation acknowledged at `index` (`index <= acked`).
    pub fn acked_gen(&self, index: u64) -> Option<u32> {
        self.acked_gens.get(index as usize).copied()
    }

    /// Whether the log may end at `index` (no batch is cut there).
    pub fn is_boundary(&self, index: u64) -> bool {
        self.history
            .read()
            .unwrap()
            .boundaries
            .get(&index)
            .is_some_and(|&e| e <= self.epoch)
    }
}
