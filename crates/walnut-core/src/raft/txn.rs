//! The write path of [`RaftLog`]: every change goes through [`RaftLog::commit`],
//! which orders file operations so that a crash leaves the state before the
//! change or after it (see the [module docs](super)).

use super::intent::{self, Intent};
use super::record::{RaftRecord, SnapshotRef};
use super::snapfile;
use super::types::{ConfState, NewEntry, Snapshot, SnapshotMeta, Update};
use super::{RaftLog, Writer, MAX_RECORD_LEN};
use crate::crc::crc32c;
use crate::error::{Error, Result};
use crate::frame::frame_len;
use crate::segment::{header::FRAMES_START, trailer::TRAILER_LEN};
use crate::EntryRef;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A change, fully worked out and validated, ready to be made durable.
struct Plan<'a> {
    new: RaftRecord,
    /// Image to store first (its reference is already in `new.snapshot`).
    image: Option<&'a [u8]>,
    /// Index of `entries[0]`.
    first: u64,
    entries: Vec<EntryRef<'a>>,
}

impl RaftLog {
    /// Applies `u` durably and crash-atomically: snapshot, then entries, then
    /// hard state (etcd raftexample's order), with one commit point.
    ///
    /// Entries starting at or below the last index replace the conflicting
    /// suffix; entries at or below the compaction point are skipped (they are
    /// covered by it); entries starting after `last_index + 1` fail with
    /// [`Error::RaftLogGap`]. A snapshot no newer than the stored one fails
    /// with [`Error::RaftSnapshotOutOfDate`]; an empty one (index 0) is
    /// ignored. Nothing is written when validation fails.
    pub fn save(&self, u: &Update<'_>) -> Result<()> {
        let mut w = self.writer.lock();
        self.check(&w)?;
        let cur = self.record();
        let mut new = (*cur).clone();
        let mut image = None;
        if let Some(s) = u.snapshot.filter(|s| !s.is_empty()) {
            let stored = cur.snapshot.as_ref().map_or(0, |r| r.meta.index);
            // The log cannot restart before its compaction point.
            if s.meta.index <= stored || s.meta.index < cur.prev_index {
                return Err(Error::RaftSnapshotOutOfDate {
                    index: s.meta.index,
                    current: stored.max(cur.prev_index),
                });
            }
            new.snapshot = Some(snapshot_ref(&cur, &s.meta, &s.data));
            new.conf_state = s.meta.conf_state.clone();
            new.prev_index = s.meta.index;
            new.prev_term = s.meta.term;
            new.last_index = s.meta.index;
            new.last_term = s.meta.term;
            image = Some(&s.data[..]);
        }
        let (first, entries) = place_entries(&new, u.first_index, u.entries)?;
        if let Some(last) = entries.last() {
            new.last_index = first + entries.len() as u64 - 1;
            new.last_term = last.term;
        }
        if let Some(hs) = u.hard_state {
            new.hard_state = hs;
        }
        if let Some(cs) = &u.conf_state {
            new.conf_state = cs.clone();
        }
        apply_meta(&mut new, &u.meta);
        let plan = Plan {
            new,
            image,
            first,
            entries: entries
                .iter()
                .map(|e| EntryRef {
                    term: e.term,
                    kind: e.kind,
                    data: e.data,
                })
                .collect(),
        };
        self.commit(&mut w, &cur, plan)
    }

    /// Installs a snapshot received from the leader: the log restarts empty
    /// after `snapshot.meta.index` and the membership becomes the snapshot's.
    pub fn apply_snapshot(&self, snapshot: &Snapshot) -> Result<()> {
        if snapshot.is_empty() {
            return Err(Error::invalid(
                "cannot install the empty snapshot (index 0)",
            ));
        }
        self.save(&Update {
            snapshot: Some(snapshot),
            ..Default::default()
        })
    }

    /// Stores a snapshot of the application's state at `index` (which must
    /// be held) with the membership in force there. The log is untouched:
    /// call [`RaftLog::compact`] to drop the prefix it covers.
    pub fn create_snapshot(
        &self,
        index: u64,
        conf_state: ConfState,
        data: &[u8],
    ) -> Result<SnapshotMeta> {
        let mut w = self.writer.lock();
        self.check(&w)?;
        let cur = self.record();
        let stored = cur.snapshot.as_ref().map_or(0, |r| r.meta.index);
        if index <= stored {
            return Err(Error::RaftSnapshotOutOfDate {
                index,
                current: stored,
            });
        }
        let term = self.term(index)?;
        let meta = SnapshotMeta {
            index,
            term,
            conf_state,
        };
        let mut new = (*cur).clone();
        new.snapshot = Some(snapshot_ref(&cur, &meta, data));
        let plan = Plan {
            new,
            image: Some(data),
            first: cur.last_index + 1,
            entries: Vec::new(),
        };
        self.commit(&mut w, &cur, plan)?;
        Ok(meta)
    }

    /// Drops every entry up to and including `index` (etcd's `Compact`):
    /// `first_index` becomes `index + 1` and `term(index)` keeps answering.
    /// Fails with [`Error::RaftCompacted`] if `index < first_index` and with
    /// [`Error::RaftUnavailable`] beyond the last index.
    pub fn compact(&self, index: u64) -> Result<()> {
        let mut w = self.writer.lock();
        self.check(&w)?;
        let cur = self.record();
        if index <= cur.prev_index {
            return Err(Error::RaftCompacted {
                index,
                first: cur.first_index(),
            });
        }
        let term = self.term(index)?;
        let mut new = (*cur).clone();
        new.prev_index = index;
        new.prev_term = term;
        self.commit(&mut w, &cur, Plan::bare(new))
    }

    /// Drops every entry up to and including `index`, whose term is `term`,
    /// even beyond the last index (the log then restarts empty after it), as
    /// openraft's `purge` may ask, and applies `meta` in the same update.
    /// Already compacted indexes are a no-op; a held entry with another term
    /// is an invalid argument.
    pub fn compact_to(
        &self,
        index: u64,
        term: u64,
        meta: &BTreeMap<String, Option<u64>>,
    ) -> Result<()> {
        let mut w = self.writer.lock();
        self.check(&w)?;
        let cur = self.record();
        if index <= cur.prev_index {
            return Ok(());
        }
        let mut new = (*cur).clone();
        if index <= cur.last_index {
            let held = self.term(index)?;
            if held != term {
                return Err(Error::invalid(format!(
                    "entry {index} has term {held}, not {term}"
                )));
            }
        } else {
            check_index(index)?;
            new.last_index = index;
            new.last_term = term;
        }
        new.prev_index = index;
        new.prev_term = term;
        apply_meta(&mut new, meta);
        self.commit(&mut w, &cur, Plan::bare(new))
    }

    /// Drops every entry after `index` (openraft's `truncate`). Dropping
    /// entries without adding any needs no redo record: the record moves the
    /// committed end first, and the log is cut after it.
    pub fn truncate_after(&self, index: u64) -> Result<()> {
        let mut w = self.writer.lock();
        self.check(&w)?;
        let cur = self.record();
        if index >= cur.last_index {
            return Ok(());
        }
        let term = self.term(index)?;
        let mut new = (*cur).clone();
        new.last_index = index;
        new.last_term = term;
        self.commit(&mut w, &cur, Plan::bare(new))
    }

    fn check(&self, w: &Writer) -> Result<()> {
        if self.wal.is_closed() {
            return Err(Error::Closed);
        }
        match &w.failed {
            Some(why) => Err(Error::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Makes `plan` durable. A failure after the first write leaves the files
    /// between two states; the handle then refuses writes until reopened, and
    /// the reopen settles on one of the two.
    fn commit(&self, w: &mut Writer, cur: &RaftRecord, plan: Plan<'_>) -> Result<()> {
        let encoded = plan.new.encode();
        if encoded.len() > MAX_RECORD_LEN {
            return Err(Error::invalid(format!(
                "the Raft state would take {} bytes; at most {MAX_RECORD_LEN} fit its slot \
                 (too many member ids or meta values)",
                encoded.len()
            )));
        }
        let result = self.commit_steps(w, cur, &plan, &encoded);
        if let Err(e) = &result {
            w.failed = Some(e.to_string());
        }
        result
    }

    fn commit_steps(
        &self,
        w: &mut Writer,
        cur: &RaftRecord,
        plan: &Plan<'_>,
        encoded: &[u8],
    ) -> Result<()> {
        let new = &plan.new;
        if let (Some(data), Some(r)) = (plan.image, &new.snapshot) {
            snapfile::write(self.fs.as_ref(), &self.dir, r.file_id, &r.meta, data)?;
        }
        // Entries that do not simply follow the committed log destroy part of
        // it (a conflicting suffix, or everything before a snapshot): commit
        // a redo record of the whole change first.
        let destructive = !plan.entries.is_empty()
            && (plan.first <= cur.last_index || new.prev_index != cur.prev_index);
        if destructive {
            let bytes = Intent::encode(
                new,
                plan.first,
                plan.entries.iter().map(|e| (e.term, e.kind, e.data)),
            );
            intent::write(self.fs.as_ref(), &self.dir, &bytes)?;
            // Readers must not see entries that are about to be replaced.
            let mut keep = plan.first - 1;
            if new.prev_index != cur.prev_index {
                keep = keep.min(cur.prev_index);
            }
            let mut v = self.view.write();
            v.readable_last = v.readable_last.min(keep);
        }
        if !plan.entries.is_empty() {
            self.apply_log(new, plan.first, &plan.entries)?;
        }
        w.meta.put(encoded)?;
        self.publish(Arc::new(new.clone()));
        if destructive {
            intent::remove(self.fs.as_ref(), &self.dir)?;
        }
        self.settle(new)?;
        if let Some(old) = &cur.snapshot {
            if new.snapshot.as_ref().map(|s| s.file_id) != Some(old.file_id) {
                // Not synced: a file that comes back after a crash is
                // unreferenced and removed at the next open.
                crate::fs::remove_if_present(
                    self.fs.as_ref(),
                    &self.dir.join(snapfile::file_name(old.file_id)),
                )?;
            }
        }
        Ok(())
    }

    /// Makes the log hold the committed entries of `rec` before `first`
    /// and then `entries` from `first` on, durably. Idempotent, so replaying
    /// an intent after a crash in the middle of it is safe.
    pub(super) fn apply_log(
        &self,
        rec: &RaftRecord,
        first: u64,
        entries: &[EntryRef<'_>],
    ) -> Result<()> {
        self.wal.truncate_before(rec.first_index())?;
        if self.wal.last_index() >= first {
            self.wal.truncate_after(first - 1)?;
        }
        if self.wal.last_index() + 1 != first {
            return Err(Error::corrupt(
                super::RAFT_META_FILE,
                0,
                first,
                format!(
                    "entries for index {first} cannot follow the log, which ends at {}",
                    self.wal.last_index()
                ),
            ));
        }
        // The log appends atomic batches that fit one segment; atomicity
        // across batches is not needed, the record's commit provides it.
        let budget = self.wal.options().segment_size as usize - FRAMES_START - TRAILER_LEN - 4096;
        let mut start = 0;
        let mut used = 0;
        for (k, e) in entries.iter().enumerate() {
            let cost = frame_len(e.data.len()) + 4;
            if k > start && used + cost > budget {
                self.wal.append_entries(&entries[start..k])?;
                start = k;
                used = 0;
            }
            used += cost;
        }
        if start < entries.len() {
            self.wal.append_entries(&entries[start..])?;
        }
        self.wal.sync()?;
        Ok(())
    }

    /// Cuts the log to what `rec` commits: entries past its end and before
    /// its first index go. Safe to repeat.
    pub(super) fn settle(&self, rec: &RaftRecord) -> Result<()> {
        if self.wal.last_index() > rec.last_index {
            self.wal.truncate_after(rec.last_index)?;
        }
        self.wal.truncate_before(rec.first_index())
    }
}

impl<'a> Plan<'a> {
    /// A change of the record alone.
    fn bare(new: RaftRecord) -> Plan<'a> {
        Plan {
            first: new.last_index + 1,
            new,
            image: None,
            entries: Vec::new(),
        }
    }
}

fn apply_meta(rec: &mut RaftRecord, meta: &BTreeMap<String, Option<u64>>) {
    for (name, value) in meta {
        match value {
            Some(v) => rec.meta.insert(name.clone(), *v),
            None => rec.meta.remove(name),
        };
    }
}

/// The reference a new image will have: the next file id after the stored one.
fn snapshot_ref(cur: &RaftRecord, meta: &SnapshotMeta, data: &[u8]) -> SnapshotRef {
    SnapshotRef {
        meta: meta.clone(),
        file_id: cur.snapshot.as_ref().map_or(1, |s| s.file_id + 1),
        len: data.len() as u64,
        crc: crc32c(data),
    }
}

fn check_index(index: u64) -> Result<()> {
    if index > crate::MAX_INDEX {
        return Err(Error::OutOfRange {
            index,
            first: 1,
            last: crate::MAX_INDEX,
        });
    }
    Ok(())
}

/// Where `entries` (starting at `first`) go in the log `rec` describes:
/// entries the compaction point covers are skipped; a gap is an error.
fn place_entries<'e, 'a>(
    rec: &RaftRecord,
    first: u64,
    entries: &'e [NewEntry<'a>],
) -> Result<(u64, &'e [NewEntry<'a>])> {
    if entries.is_empty() {
        return Ok((rec.last_index + 1, entries));
    }
    if first == 0 {
        return Err(Error::invalid("Raft entries start at index 1"));
    }
    check_index(first.saturating_add(entries.len() as u64 - 1))?;
    if first > rec.last_index + 1 {
        return Err(Error::RaftLogGap {
            index: first,
            last: rec.last_index,
        });
    }
    if first <= rec.prev_index {
        let skip = (rec.prev_index + 1 - first) as usize;
        if skip >= entries.len() {
            return Ok((rec.last_index + 1, &[]));
        }
        return Ok((rec.prev_index + 1, &entries[skip..]));
    }
    Ok((first, entries))
}
