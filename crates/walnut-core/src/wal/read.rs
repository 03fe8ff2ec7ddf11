//! Reading: by index, by range with a byte budget, by iterator, and waiting
//! for appends (tailing). Readers take no lock the writer waits for; a
//! segment removed by truncation stays mapped while a reader holds it.

use super::Wal;
use crate::error::{Error, Result};
use crate::frame::FrameHeader;
use crate::segment::{Entry, Segment};
use crate::shared::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Wal {
    /// Reads (copies) the entry at `index`.
    pub fn read(&self, index: u64) -> Result<Entry> {
        self.with_entry(index, |h, data| Entry {
            index: h.index,
            term: h.term,
            kind: h.kind,
            data: data.to_vec(),
        })
    }

    /// Validates the entry at `index` and lends its header and payload to `f`
    /// without copying (the borrow ends when `f` returns).
    pub fn with_entry<R>(&self, index: u64, f: impl FnOnce(&FrameHeader, &[u8]) -> R) -> Result<R> {
        self.shared.check()?;
        self.shared.check_range(index)?;
        let seg = self.segment_of(index)?;
        seg.read_with(index, f)
    }

    /// The Raft term of `index`, read from the frame header only.
    pub fn term(&self, index: u64) -> Result<u64> {
        self.shared.check()?;
        self.shared.check_range(index)?;
        Ok(self.segment_of(index)?.header_of(index)?.term)
    }

    /// Entries in `[lo, hi)`, stopping before the total payload would exceed
    /// `max_bytes`, but always at least one entry when `lo < hi`.
    pub fn read_range(&self, lo: u64, hi: u64, max_bytes: Option<u64>) -> Result<Vec<Entry>> {
        self.shared.check()?;
        if lo >= hi {
            return Ok(Vec::new());
        }
        self.shared.check_range(lo)?;
        self.shared.check_range(hi - 1)?;
        let budget = max_bytes.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut used = 0u64;
        for e in self.entries(lo, hi) {
            let e = e?;
            used += e.data.len() as u64;
            if !out.is_empty() && used > budget {
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    /// Iterates entries from `from` (inclusive) to `to` (exclusive), reading
    /// lazily; it ends early at the current last index.
    pub fn entries(&self, from: u64, to: u64) -> Entries {
        Entries {
            shared: self.shared.clone(),
            next: from,
            end: to,
            seg: None,
        }
    }

    /// Blocks until an entry with index `index` exists (or the log closes or
    /// fails); `Ok(false)` on timeout. For tailing from Rust threads.
    pub fn wait_for_append(&self, index: u64, timeout: Option<Duration>) -> Result<bool> {
        let sh = &self.shared;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = sh.appended_mx.lock();
        sh.tail_waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            if let Err(e) = sh.check() {
                break Err(e);
            }
            if sh.last_index.load(Ordering::SeqCst) >= index {
                break Ok(true);
            }
            match deadline {
                Some(d) => {
                    if sh.appended_cv.wait_until(&mut g, d).timed_out() {
                        break Ok(sh.last_index.load(Ordering::SeqCst) >= index);
                    }
                }
                None => sh.appended_cv.wait(&mut g),
            }
        };
        sh.tail_waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn segment_of(&self, index: u64) -> Result<Arc<Segment>> {
        segment_of(&self.shared, index)
    }
}

fn segment_of(sh: &Shared, index: u64) -> Result<Arc<Segment>> {
    sh.segment_for(index).ok_or_else(|| Error::OutOfRange {
        index,
        first: sh.first_index.load(Ordering::Acquire),
        last: sh.last_index.load(Ordering::Acquire),
    })
}

/// Iterator over a range of entries. It holds its current segment, so a
/// concurrent truncation cannot unmap what it is reading.
pub struct Entries {
    shared: Arc<Shared>,
    next: u64,
    end: u64,
    seg: Option<Arc<Segment>>,
}

impl Iterator for Entries {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        let sh = &self.shared;
        if self.next >= self.end || self.next > sh.last_index.load(Ordering::Acquire) {
            return None;
        }
        if let Err(e) = sh.check().and_then(|_| sh.check_range(self.next)) {
            self.end = 0;
            return Some(Err(e));
        }
        let held = self
            .seg
            .as_ref()
            .is_some_and(|s| s.offset_of(self.next).is_some());
        if !held {
            match segment_of(sh, self.next) {
                Ok(s) => self.seg = Some(s),
                Err(e) => {
                    self.end = 0;
                    return Some(Err(e));
                }
            }
        }
        let r = self.seg.as_ref().unwrap().read(self.next);
        self.next += 1;
        if r.is_err() {
            self.end = 0;
        }
        Some(r)
    }
}
