//! Reading: by index, by range with a byte budget, by iterator, and waiting
//! for appends (tailing). Readers take no lock the writer waits for; a
//! segment removed by truncation stays mapped while a reader holds it.

use super::Wal;
use crate::error::{Damage, Error, Result};
use crate::segment::{Entry, Segment};
use crate::segment_list::{self, SegmentCache};
use crate::shared::Shared;
use crate::transform::{FrameCtx, Transforms, TRANSFORM_FLAGS};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Wal {
    /// Reads (copies) the entry at `index`.
    pub fn read(&self, index: u64) -> Result<Entry> {
        self.with_entry(index, EntryInfo::with_data)
    }

    /// Validates the entry at `index` and lends its payload to `f` (decoded,
    /// and without a copy when the entry is stored as it was given).
    pub fn with_entry<R>(&self, index: u64, f: impl FnOnce(&EntryInfo, &[u8]) -> R) -> Result<R> {
        self.shared.check()?;
        self.shared.check_range(index)?;
        let seg = self.segment_of(index)?;
        decode_with(&self.shared, &seg, index, f)
    }

    /// [`Wal::with_entry`] for a caller that reads entry after entry on one
    /// thread: the segment is found through `cache`, without a locked
    /// instruction while the segment list is unchanged.
    pub fn with_entry_cached<R>(
        &self,
        cache: &mut SegmentCache,
        index: u64,
        f: impl FnOnce(&EntryInfo, &[u8]) -> R,
    ) -> Result<R> {
        self.shared.check()?;
        self.shared.check_range(index)?;
        let seg = segment_list::find(self.shared.segments.current(cache), index)
            .ok_or_else(|| out_of_range(&self.shared, index))?;
        decode_with(&self.shared, seg, index, f)
    }

    /// Copies the payload of `index` to the start of `dst` when it fits, and
    /// returns its length either way (a larger length means nothing was
    /// copied). For a caller that reads record after record into one buffer
    /// (the Node binding's slab), with its own `cache`: the bytes after the
    /// copy are fetched for writing, so that the next record's copy does not
    /// wait on memory.
    pub fn read_into(&self, cache: &mut SegmentCache, index: u64, dst: &mut [u8]) -> Result<usize> {
        self.with_entry_cached(cache, index, |_, data| {
            if let Some((to, rest)) = dst.split_at_mut_checked(data.len()) {
                to.copy_from_slice(data);
                let next = rest.len().min(data.len());
                crate::region::prepare_write(&mut rest[..next]);
            }
            data.len()
        })
    }

    /// The append time of `index` (Unix ms), without decoding its payload;
    /// `None` if the entry was written without a timestamp.
    pub fn timestamp(&self, index: u64) -> Result<Option<u64>> {
        self.shared.check()?;
        self.shared.check_range(index)?;
        let seg = self.segment_of(index)?;
        seg.read_with(index, |h, raw| Transforms::timestamp_of(h.flags, raw))
    }

    /// The first index whose timestamp is at or after `time_ms` (binary
    /// search; assumes append times do not go backwards), or `last_index + 1`.
    /// Entries without a timestamp count as older than any time.
    pub fn seek_time(&self, time_ms: u64) -> Result<u64> {
        let (mut lo, mut hi) = (self.first_index(), self.last_index() + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.timestamp(mid)?.unwrap_or(0) < time_ms {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
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
    sh.segments
        .segment_for(index)
        .ok_or_else(|| out_of_range(sh, index))
}

fn out_of_range(sh: &Shared, index: u64) -> Error {
    Error::OutOfRange {
        index,
        first: sh.first_index.load(Ordering::Acquire),
        last: sh.last_index.load(Ordering::Acquire),
    }
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
        let r = decode_with(
            sh,
            self.seg.as_ref().unwrap(),
            self.next,
            EntryInfo::with_data,
        );
        self.next += 1;
        if r.is_err() {
            self.end = 0;
        }
        Some(r)
    }
}

/// What a reader learns about an entry besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryInfo {
    /// Log index.
    pub index: u64,
    /// Raft term (0 when unused).
    pub term: u64,
    /// Entry type (0 when unused).
    pub kind: u8,
    /// Append time, Unix ms, if the entry carries one.
    pub timestamp: Option<u64>,
}

impl EntryInfo {
    fn with_data(&self, data: &[u8]) -> Entry {
        Entry {
            index: self.index,
            term: self.term,
            kind: self.kind,
            data: data.to_vec(),
            timestamp: self.timestamp,
        }
    }
}

/// Reads entry `index` of `seg`, undoing any transform (decryption,
/// decompression) before lending the payload to `f`.
pub(crate) fn decode_with<R>(
    sh: &Shared,
    seg: &Segment,
    index: u64,
    f: impl FnOnce(&EntryInfo, &[u8]) -> R,
) -> Result<R> {
    seg.read_with(index, |h, raw| {
        let mut info = EntryInfo {
            index: h.index,
            term: h.term,
            kind: h.kind,
            timestamp: None,
        };
        if h.flags & TRANSFORM_FLAGS == 0 {
            return Ok(f(&info, raw));
        }
        let ctx = FrameCtx {
            salt: seg.header.salt,
            key_id: seg.header.key_id,
            index,
            term: h.term,
            kind: h.kind,
        };
        let d = sh
            .transforms
            .decode(&ctx, h.flags, raw)
            .map_err(|e| match e {
                Error::Corrupt(d) => Error::Corrupt(Damage {
                    file: seg.name.clone(),
                    offset: seg.offset_of(index).unwrap_or(0) as u64,
                    ..d
                }),
                other => other,
            })?;
        info.timestamp = d.timestamp;
        Ok(f(&info, &d.data))
    })?
}
