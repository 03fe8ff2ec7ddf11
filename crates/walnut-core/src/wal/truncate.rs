//! Cutting the log at either end. Both directions are crash-safe:
//!
//! * `truncate_after` removes later segment files newest first, syncing the
//!   directory after each, so a crash leaves a prefix of the old log, never a
//!   gap; then it copies the kept entries of the cut segment into a new file
//!   (with a new salt), syncs it and renames it over the old one. A crash sees
//!   the old segment or the new one whole: no stale frame is ever left where
//!   recovery could mistake it for data, and no batch is left half-cut.
//! * `truncate_before` records the new first index in the metadata (durably)
//!   before removing any file, so a crash can only leave extra old files, which
//!   the next open ignores and removes.

use super::writer::{create_segment, new_header, now_ms, Writer};
use super::Wal;
use crate::error::{Error, IoContext, Result};
use crate::frame::FrameHeader;
use crate::segment::header::FRAMES_START;
use crate::segment::Segment;
use crate::shared::Shared;
use crate::transform::{FrameCtx, TRANSFORM_FLAGS};
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Wal {
    /// Drops every entry after `index` (a Raft conflict). `index` may be
    /// `first_index - 1` to drop everything; indexes at or beyond the last are
    /// a no-op.
    pub fn truncate_after(&self, index: u64) -> Result<()> {
        let mut guard = self.writer.lock();
        self.shared.check()?;
        let w = guard.as_mut().ok_or(Error::ReadOnly)?;
        let last = w.next_index - 1;
        let first = self.first_index();
        if index >= last {
            return Ok(());
        }
        if index + 1 < first {
            return Err(Error::OutOfRange {
                index,
                first: first - 1,
                last,
            });
        }
        let result = self.cut_after(w, index);
        if let Err(e) = &result {
            // The on-disk state is between two valid states; only a reopen
            // (recovery) may decide which.
            self.shared.set_poison(e);
        }
        result
    }

    fn cut_after(&self, w: &mut Writer, index: u64) -> Result<()> {
        let sh = &self.shared;
        let _sync = sh.sync_lock.lock();
        let target = sh
            .segments
            .segment_for(index + 1)
            .ok_or_else(|| Error::invalid(format!("no segment holds index {}", index + 1)))?;
        let later: Vec<Arc<Segment>> = {
            let mut q = sh.queue.lock();
            q.seals
                .retain(|(s, _)| s.first_index() < target.first_index());
            let mut segs = sh.segments.write();
            let keep = segs.partition_point(|s| s.first_index() <= target.first_index());
            segs.split_off(keep)
        };
        sh.last_index.store(index, Ordering::Release);
        // From here on the entries after `index` are going away: nothing may
        // report them durable, even if this truncation fails halfway.
        sh.durable_index.fetch_min(index, Ordering::AcqRel);
        for s in later.iter().rev() {
            sh.fs
                .remove(&sh.dir.join(&s.name))
                .ctx(|| format!("removing {}", s.name))?;
            sh.fs
                .sync_dir(&sh.dir)
                .ctx(|| "syncing the log directory".into())?;
        }
        let fresh = rewrite_prefix(sh, &target, index)?;
        {
            let mut segs = sh.segments.write();
            let last = segs.len() - 1;
            segs[last] = fresh.clone();
        }
        w.active = fresh;
        w.next_index = index + 1;
        if sh.commit_index.fetch_min(index, Ordering::AcqRel) > index {
            // Persisted too: new entries at the same indexes are not committed.
            sh.update_meta(|m| m.commit_index = m.commit_index.min(index))?;
        }
        Ok(())
    }

    /// Drops every entry before `index` (compaction): whole segments below it
    /// are deleted and `first_index` becomes `index`. An index beyond
    /// `last_index + 1` empties the log, which then continues at `index`
    /// (installing a snapshot).
    pub fn truncate_before(&self, index: u64) -> Result<()> {
        let mut guard = self.writer.lock();
        self.shared.check()?;
        let w = guard.as_mut().ok_or(Error::ReadOnly)?;
        if index <= self.first_index() {
            return Ok(());
        }
        if index > crate::MAX_INDEX {
            return Err(Error::OutOfRange {
                index,
                first: self.first_index(),
                last: crate::MAX_INDEX,
            });
        }
        let result = self.cut_before(w, index);
        if let Err(e) = &result {
            self.shared.set_poison(e);
        }
        result
    }

    fn cut_before(&self, w: &mut Writer, index: u64) -> Result<()> {
        let sh = &self.shared;
        let restart = index > w.next_index;
        let _sync = sh.sync_lock.lock();
        sh.update_meta(|m| {
            m.first_index = index;
            m.commit_index = m.commit_index.max(index - 1);
        })?;
        sh.first_index.store(index, Ordering::Release);
        let doomed: Vec<Arc<Segment>> = {
            let mut q = sh.queue.lock();
            let mut segs = sh.segments.write();
            let n = if restart {
                segs.len()
            } else {
                // Never the active segment: the log continues in it.
                segs.iter()
                    .take(segs.len() - 1)
                    .take_while(|s| s.last_index() < index)
                    .count()
            };
            let doomed: Vec<_> = segs.drain(..n).collect();
            q.seals
                .retain(|(s, _)| !doomed.iter().any(|d| Arc::ptr_eq(d, s)));
            doomed
        };
        for s in &doomed {
            sh.fs
                .remove(&sh.dir.join(&s.name))
                .ctx(|| format!("removing {}", s.name))?;
        }
        if restart {
            let seg = create_segment(sh, index, None)?;
            sh.segments.write().push(seg.clone());
            w.active = seg;
            w.next_index = index;
            sh.last_index.store(index - 1, Ordering::Release);
            sh.durable_index.store(index - 1, Ordering::Release);
        }
        sh.fs
            .sync_dir(&sh.dir)
            .ctx(|| "syncing the log directory".into())?;
        sh.queue.lock().dir_dirty = false;
        Ok(())
    }

    /// Drops the oldest sealed segments beyond the retention limits. Runs at
    /// rotation; the active segment is never dropped.
    pub(super) fn apply_retention(&self, w: &mut Writer) -> Result<()> {
        let r = self.shared.opts.retention;
        if r.max_age_ms.is_none() && r.max_segments.is_none() {
            return Ok(());
        }
        let now = now_ms();
        let new_first = {
            let segs = self.shared.segments.read();
            let total = segs.len();
            let mut drop = 0;
            // A sealed segment's newest entry is about as old as the creation
            // of the segment that replaced it.
            for pair in segs.windows(2) {
                let left = total - drop;
                let sealed_at = pair[1].header.created_ms;
                let over_count = r.max_segments.is_some_and(|m| left > m);
                let too_old = r.max_age_ms.is_some_and(|age| {
                    left > r.min_segments.max(1) && now.saturating_sub(sealed_at) > age
                });
                if !(over_count || too_old) {
                    break;
                }
                drop += 1;
            }
            (drop > 0).then(|| segs[drop].first_index())
        };
        match new_first {
            Some(i) if i > self.first_index() => {
                let result = self.cut_before(w, i);
                if let Err(e) = &result {
                    self.shared.set_poison(e);
                }
                result
            }
            _ => Ok(()),
        }
    }
}

/// Name of the file a truncation builds before renaming it into place.
pub(crate) const REWRITE_NAME: &str = "truncate.tmp";

/// A durable copy of `seg`'s entries up to `last`, renamed over `seg`'s file.
fn rewrite_prefix(sh: &Shared, seg: &Segment, last: u64) -> Result<Arc<Segment>> {
    let tmp = sh.dir.join(REWRITE_NAME);
    crate::fs::remove_if_present(sh.fs.as_ref(), &tmp)?;
    let file = sh
        .fs
        .create_mapped(&tmp, seg.file_len() as u64)
        .ctx(|| format!("creating a copy of {}", seg.name))?;
    let fresh = Segment::init(seg.name.clone(), file, new_header(sh, seg.first_index())?);
    let mut off = FRAMES_START;
    let mut slot = 0;
    let mut scratch = Vec::new();
    for index in seg.first_index()..=last {
        off = seg.read_with(index, |h, data| -> Result<usize> {
            // Encrypted payloads are bound to their segment's salt: seal them
            // again for the new file (compression and timestamp stay).
            let place = |s: &Segment| FrameCtx {
                salt: s.header.salt,
                key_id: s.header.key_id,
                index,
                term: h.term,
                kind: h.kind,
            };
            scratch.clear();
            let flags =
                sh.transforms
                    .reseal(&place(seg), &place(&fresh), h.flags, data, &mut scratch)?;
            // Every kept entry is complete now: no batch flag survives the cut.
            let header = FrameHeader {
                index,
                term: h.term,
                kind: h.kind,
                lag: h.lag,
                flags: flags & TRANSFORM_FLAGS,
                ..Default::default()
            };
            fresh.stage_offset(slot, off);
            Ok(fresh.write_frame(off, header, &scratch))
        })??;
        slot += 1;
    }
    fresh.publish(off, slot);
    fresh
        .sync_upto(off)
        .ctx(|| format!("syncing the copy of {}", seg.name))?;
    sh.fs
        .rename(&tmp, &sh.dir.join(&seg.name))
        .ctx(|| format!("replacing {}", seg.name))?;
    sh.fs
        .sync_dir(&sh.dir)
        .ctx(|| "syncing the log directory".into())?;
    Ok(Arc::new(fresh))
}
