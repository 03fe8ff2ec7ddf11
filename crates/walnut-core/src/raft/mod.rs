//! Raft storage on top of the log: the hard state, the membership, snapshot
//! metadata and images, and the etcd-raft `Storage` read surface, with one
//! crash-atomic write path.
//!
//! ```no_run
//! use walnut_core::raft::{HardState, NewEntry, RaftLog, Update};
//! let log = RaftLog::open("/tmp/raft-node-1", Default::default())?;
//! let entries = [NewEntry { term: 1, kind: 0, data: b"put x=1" }];
//! log.save(&Update {
//!     hard_state: Some(HardState { term: 1, vote: 1, commit: 0 }),
//!     first_index: log.last_index() + 1,
//!     entries: &entries,
//!     ..Default::default()
//! })?; // durable: entries and hard state, or neither, survive a crash
//! assert_eq!(log.term(1)?, 1);
//! # Ok::<(), walnut_core::Error>(())
//! ```
//!
//! ## Files (besides the log's own)
//!
//! | name | what |
//! | --- | --- |
//! | `raft-meta` | two 64 KiB slots ([`MetaStore`]) holding the [`record::RaftRecord`] |
//! | `raft-snap-<20 digits>` | a snapshot image ([`snapfile`]) |
//! | `raft-snap.tmp` | an image being written; removed at open |
//! | `raft-intent` | the redo record of a destructive update ([`intent`]) |
//! | `raft-intent.tmp` | an intent being written; removed at open |
//!
//! ## How an update stays crash-atomic
//!
//! The record in `raft-meta` is the truth. It names the committed end of the
//! log (`last_index`, `last_term`), the compaction point, and the snapshot
//! image. An update that only appends after the last index writes the entries,
//! syncs the log, then writes the record: a crash before the record is written
//! leaves entries past the committed end, which the next open cuts off. An
//! update that must destroy committed entries (a conflicting suffix, a
//! snapshot install) first commits an [intent](intent) holding the whole
//! update, and the next open replays it. Compaction is done after the record
//! that moves the compaction point is written; an open finishes it. So a
//! reopen always sees the state before an update or after it.

pub mod intent;
mod peek;
pub mod record;
pub mod snapfile;
mod txn;
mod types;

pub use peek::peek;
pub use types::{ConfState, HardState, NewEntry, Snapshot, SnapshotMeta, Update};

use crate::error::{Error, Result};
use crate::fs::{FileSystem, OsFs};
use crate::meta::MetaStore;
use crate::options::{Options, Retention, SyncPolicy};
use crate::segment::Entry;
use crate::wal::Wal;
use parking_lot::{Mutex, RwLock};
use record::RaftRecord;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the file holding the Raft record.
pub const RAFT_META_FILE: &str = "raft-meta";
/// Size of each of its two slots: room for thousands of member ids.
pub const RAFT_META_SLOT: usize = 64 << 10;
/// The largest encoded record a slot holds.
pub const MAX_RECORD_LEN: usize = RAFT_META_SLOT - 24;

/// Raft storage in one directory: a [`Wal`] for the entries plus the files
/// listed in the [module docs](self).
///
/// Reads (`term`, `entries`, the state getters) never wait for a write in
/// progress: they see the last committed state. Writes are serialised and
/// durable when they return; run them off any thread that must not block.
pub struct RaftLog {
    wal: Wal,
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    writer: Mutex<Writer>,
    view: RwLock<View>,
}

struct Writer {
    meta: MetaStore,
    /// Set after a write failed half-way: the files are between two states
    /// that only a reopen can tell apart.
    failed: Option<String>,
}

/// What readers see: the committed record, and how far the log may be read.
#[derive(Clone)]
struct View {
    rec: Arc<RaftRecord>,
    /// Normally `rec.last_index`; lower while a destructive update runs.
    readable_last: u64,
}

impl std::fmt::Debug for RaftLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftLog")
            .field("dir", &self.dir)
            .field("first_index", &self.first_index())
            .field("last_index", &self.last_index())
            .finish()
    }
}

impl RaftLog {
    /// Opens (creating if needed) Raft storage in `dir` on the real file
    /// system. The log's sync policy and retention are ignored: Raft storage
    /// syncs every update itself and compacts only when told.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<RaftLog> {
        RaftLog::open_with(Arc::new(OsFs), dir, opts)
    }

    /// Opens Raft storage on the given file system. Finishes whatever a crash
    /// interrupted (see the [module docs](self)).
    pub fn open_with(
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        opts: Options,
    ) -> Result<RaftLog> {
        if opts.read_only || opts.recovery == crate::RecoveryMode::Salvage {
            return Err(Error::invalid(
                "Raft storage must be opened writable: an open may have to finish an update",
            ));
        }
        let opts = Options {
            sync: SyncPolicy::None,
            retention: Retention::default(),
            ..opts
        };
        let dir = dir.as_ref().to_path_buf();
        let wal = Wal::open_with(fs.clone(), &dir, opts)?;
        for tmp in [snapfile::TMP_NAME, intent::TMP_NAME] {
            crate::fs::remove_if_present(fs.as_ref(), &dir.join(tmp))?;
        }
        let existed =
            MetaStore::open(fs.as_ref(), &dir, RAFT_META_FILE, RAFT_META_SLOT, false)?.is_some();
        if !existed && (wal.last_index() > 0 || wal.first_index() > 1) {
            return Err(Error::invalid(format!(
                "{} holds a plain walnut log, not Raft storage",
                dir.display()
            )));
        }
        let meta = MetaStore::open(fs.as_ref(), &dir, RAFT_META_FILE, RAFT_META_SLOT, true)?
            .ok_or_else(|| Error::invalid("the Raft metadata file vanished while opening"))?;
        let rec = if meta.get().is_empty() {
            RaftRecord::default()
        } else {
            RaftRecord::decode(meta.get()).ok_or_else(|| {
                Error::corrupt(RAFT_META_FILE, 0, 0, "the Raft record is malformed")
            })?
        };
        let log = RaftLog {
            wal,
            fs,
            dir,
            writer: Mutex::new(Writer { meta, failed: None }),
            view: RwLock::new(View {
                readable_last: rec.last_index,
                rec: Arc::new(rec),
            }),
        };
        log.recover()?;
        Ok(log)
    }

    /// The underlying log (entries only; write through [`RaftLog`]).
    pub fn wal(&self) -> &Wal {
        &self.wal
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn view(&self) -> View {
        self.view.read().clone()
    }

    /// The committed record (hard state, membership, compaction point,
    /// snapshot metadata, meta values).
    pub fn record(&self) -> Arc<RaftRecord> {
        self.view.read().rec.clone()
    }

    /// Hard state and membership, as Raft reads them at start-up.
    pub fn initial_state(&self) -> (HardState, ConfState) {
        let rec = self.record();
        (rec.hard_state, rec.conf_state.clone())
    }

    /// The stored hard state.
    pub fn hard_state(&self) -> HardState {
        self.record().hard_state
    }

    /// The stored membership.
    pub fn conf_state(&self) -> ConfState {
        self.record().conf_state.clone()
    }

    /// A named integer stored with the hard state.
    pub fn meta_value(&self, name: &str) -> Option<u64> {
        self.record().meta.get(name).copied()
    }

    /// All named integers stored with the hard state.
    pub fn meta_values(&self) -> BTreeMap<String, u64> {
        self.record().meta.clone()
    }

    /// First index held (entries below it were compacted).
    pub fn first_index(&self) -> u64 {
        self.view.read().rec.first_index()
    }

    /// Last index held (`first_index - 1` when no entry is held).
    pub fn last_index(&self) -> u64 {
        self.view.read().readable_last
    }

    /// The term of entry `index`, from the frame header alone. Answers for
    /// `first_index - 1` too (the compaction point's term). Fails with
    /// [`Error::RaftCompacted`] below that and [`Error::RaftUnavailable`]
    /// beyond the last index.
    pub fn term(&self, index: u64) -> Result<u64> {
        let v = self.view();
        if index == v.rec.prev_index {
            return Ok(v.rec.prev_term);
        }
        if index < v.rec.prev_index {
            return Err(Error::RaftCompacted {
                index,
                first: v.rec.first_index(),
            });
        }
        if index > v.readable_last {
            return Err(Error::RaftUnavailable {
                index,
                last: v.readable_last,
            });
        }
        self.wal.term(index).map_err(|e| self.raced(e, index))
    }

    /// Entries in `[lo, hi)`, stopping before their payloads would exceed
    /// `max_bytes`, but at least one when `lo < hi`. Fails with
    /// [`Error::RaftCompacted`] when `lo < first_index` and
    /// [`Error::RaftUnavailable`] when `hi > last_index + 1`.
    pub fn entries(&self, lo: u64, hi: u64, max_bytes: Option<u64>) -> Result<Vec<Entry>> {
        let v = self.view();
        if lo > hi {
            return Err(Error::invalid(format!("lo {lo} is greater than hi {hi}")));
        }
        if lo < v.rec.first_index() {
            return Err(Error::RaftCompacted {
                index: lo,
                first: v.rec.first_index(),
            });
        }
        if hi > v.readable_last + 1 {
            return Err(Error::RaftUnavailable {
                index: hi - 1,
                last: v.readable_last,
            });
        }
        self.wal
            .read_range(lo, hi, max_bytes)
            .map_err(|e| self.raced(e, lo))
    }

    /// The stored snapshot, its image read and verified; the empty snapshot
    /// (index 0) when none was stored.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let rec = self.record();
        match &rec.snapshot {
            None => Ok(Snapshot::default()),
            Some(r) => Ok(Snapshot {
                meta: r.meta.clone(),
                data: snapfile::read(self.fs.as_ref(), &self.dir, r)?,
            }),
        }
    }

    /// Metadata of the stored snapshot, without reading its image.
    pub fn snapshot_meta(&self) -> Option<SnapshotMeta> {
        self.record().snapshot.as_ref().map(|s| s.meta.clone())
    }

    /// Closes the log (final sync included). Later calls fail with
    /// [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        let _w = self.writer.lock();
        self.wal.close()
    }

    /// Whether the handle is closed.
    pub fn is_closed(&self) -> bool {
        self.wal.is_closed()
    }

    /// A log read that failed because a concurrent update moved the bounds
    /// after the view was taken: report it in Raft terms.
    fn raced(&self, e: Error, index: u64) -> Error {
        match e {
            Error::OutOfRange { .. } => {
                let v = self.view();
                if index < v.rec.first_index() {
                    Error::RaftCompacted {
                        index,
                        first: v.rec.first_index(),
                    }
                } else {
                    Error::RaftUnavailable {
                        index,
                        last: v.readable_last,
                    }
                }
            }
            e => e,
        }
    }

    /// Brings the log in line with the committed record: replays a pending
    /// intent, cuts entries past the committed end, finishes a compaction, and
    /// removes snapshot images nothing refers to.
    fn recover(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if let Some(i) = intent::read(self.fs.as_ref(), &self.dir)? {
            let refs: Vec<_> = i
                .entries
                .iter()
                .map(|e| crate::EntryRef {
                    term: e.term,
                    kind: e.kind,
                    data: &e.data,
                })
                .collect();
            self.apply_log(&i.record, i.first_index, &refs)?;
            w.meta.put(&i.record.encode())?;
            intent::remove(self.fs.as_ref(), &self.dir)?;
            self.publish(Arc::new(i.record));
        }
        let rec = self.record();
        let (wal_first, wal_last) = (self.wal.first_index(), self.wal.last_index());
        // The log must start no later than the record's first index and hold
        // every committed entry, the last one with the committed term.
        let consistent = wal_first <= rec.first_index()
            && (rec.last_index == rec.prev_index
                || (wal_last >= rec.last_index && self.wal.term(rec.last_index)? == rec.last_term));
        if !consistent {
            return Err(Error::corrupt(
                RAFT_META_FILE,
                0,
                rec.last_index,
                format!(
                    "the log holds [{wal_first}, {wal_last}] but the Raft record commits [{}, {}] ending in term {}",
                    rec.first_index(),
                    rec.last_index,
                    rec.last_term
                ),
            ));
        }
        self.settle(&rec)?;
        let keep = rec.snapshot.as_ref().map(|s| s.file_id);
        if let Some(id) = keep {
            if !snapfile::exists(self.fs.as_ref(), &self.dir, id)? {
                return Err(Error::corrupt(
                    snapfile::file_name(id),
                    0,
                    rec.snapshot.as_ref().map_or(0, |s| s.meta.index),
                    "the snapshot image the Raft record names is missing",
                ));
            }
        }
        snapfile::remove_others(self.fs.as_ref(), &self.dir, keep)
    }

    fn publish(&self, rec: Arc<RaftRecord>) {
        let mut v = self.view.write();
        v.readable_last = rec.last_index;
        v.rec = rec;
    }
}
