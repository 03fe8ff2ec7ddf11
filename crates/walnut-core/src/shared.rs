//! State shared by the writer, readers, the syncer and the preparer threads.

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::meta::{LogMeta, MetaStore};
use crate::options::{Options, SyncPolicy};
use crate::segment::trailer::Trailer;
use crate::segment::Segment;
use crate::segment_list::SegmentList;
use crate::stats::Counters;
use crate::transform::Transforms;
use parking_lot::{Condvar, Mutex, RwLock};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// What a sync attempt reports to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Everything up to this index is durable.
    Durable(u64),
    /// A full segment's seal became durable (the segment rotated out).
    Sealed {
        /// File name of the segment.
        segment: String,
        /// Its first index.
        first_index: u64,
        /// Its last index.
        last_index: u64,
    },
    /// The sync failed and the log is poisoned.
    Failed {
        /// Stable error code.
        code: &'static str,
        /// Human-readable message.
        message: String,
    },
}

/// Called by the syncer after every sync attempt, from the syncer's thread.
pub type SyncListener = Arc<dyn Fn(SyncEvent) + Send + Sync>;

/// Work for the syncer.
#[derive(Default)]
pub(crate) struct SyncQueue {
    /// Segments whose seal (index block written) must be made durable, in order.
    pub seals: Vec<(Arc<Segment>, Trailer)>,
    /// A name in the directory changed since the last directory sync.
    pub dir_dirty: bool,
    /// Highest index somebody is waiting to see durable.
    pub wanted: u64,
    /// The syncer should exit.
    pub stop: bool,
}

pub(crate) struct Shared {
    pub fs: Arc<dyn FileSystem>,
    pub dir: PathBuf,
    pub opts: Options,
    pub segments: SegmentList,
    pub first_index: AtomicU64,
    pub last_index: AtomicU64,
    pub durable_index: AtomicU64,
    pub closed: AtomicBool,
    poisoned: AtomicBool,
    poison: Mutex<Option<String>>,
    pub queue: Mutex<SyncQueue>,
    pub queue_cv: Condvar,
    /// Serialises syncs with each other and with truncation.
    pub sync_lock: Mutex<()>,
    pub durable_mx: Mutex<()>,
    pub durable_cv: Condvar,
    pub appended_mx: Mutex<()>,
    pub appended_cv: Condvar,
    pub tail_waiters: AtomicUsize,
    pub listener: RwLock<Option<SyncListener>>,
    pub counters: Counters,
    /// The log's metadata file (`None` when read-only, and after close).
    pub meta: Mutex<Option<MetaStore>>,
    pub transforms: Transforms,
    /// The application's commit watermark (see `Wal::commit`).
    pub commit_index: AtomicU64,
    /// Syncs of a few records at a time are expected, so new pages of
    /// segments are cached page by page (see `MappedFile::expect_small_syncs`).
    /// True until the log has shown that it writes in bulk (see
    /// [`Shared::expect_bulk`]), and again from the first requested sync on.
    pub small_syncs: AtomicBool,
    /// The sync policy syncs, or somebody asked for a sync: the log never
    /// goes to bulk caching.
    pub sync_requested: AtomicBool,
    /// Bytes of the active segment a sync has made durable, averaged over
    /// the last few syncs (0 before the first): whether allocating blocks
    /// ahead of the writer pays (see `wal::writer::prepare_stretch`).
    pub sync_bytes: AtomicU64,
}

impl Shared {
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: PathBuf,
        opts: Options,
        meta: Option<MetaStore>,
        transforms: Transforms,
    ) -> Shared {
        let syncs = !matches!(opts.sync, SyncPolicy::None);
        Shared {
            fs,
            dir,
            opts,
            segments: SegmentList::default(),
            first_index: AtomicU64::new(1),
            last_index: AtomicU64::new(0),
            durable_index: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            poison: Mutex::new(None),
            queue: Mutex::new(SyncQueue::default()),
            queue_cv: Condvar::new(),
            sync_lock: Mutex::new(()),
            durable_mx: Mutex::new(()),
            durable_cv: Condvar::new(),
            appended_mx: Mutex::new(()),
            appended_cv: Condvar::new(),
            tail_waiters: AtomicUsize::new(0),
            listener: RwLock::new(None),
            counters: Counters::default(),
            meta: Mutex::new(meta),
            transforms,
            commit_index: AtomicU64::new(0),
            small_syncs: AtomicBool::new(true),
            sync_requested: AtomicBool::new(syncs),
            sync_bytes: AtomicU64::new(0),
        }
    }

    /// Caches the unwritten part of `seg` for the syncs this log has seen.
    pub fn advise(&self, seg: &Segment) {
        seg.file()
            .expect_small_syncs(seg.write_off(), self.small_syncs.load(Ordering::Acquire));
    }

    /// Notes that somebody waits for durability: from now on the rest of the
    /// active segment and every later one are cached page by page, so that
    /// syncs write back only what was stored.
    pub fn expect_small_syncs(&self) {
        if self.sync_requested.load(Ordering::Relaxed) {
            return;
        }
        self.sync_requested.store(true, Ordering::Release);
        if !self.small_syncs.swap(true, Ordering::AcqRel) {
            if let Some(seg) = self.segments.read().last() {
                self.advise(seg);
            }
        }
    }

    /// Called by the writer once the log has appended a few MiB without
    /// anybody asking for a sync: it writes in bulk, so the rest of `seg` and
    /// later segments are cached in large folios, which are cheaper to fill.
    /// A log starts out page by page because a log that syncs from its first
    /// record (a service's durable log) would otherwise have its first
    /// stretch of pages in large folios, each of its early syncs writing back
    /// up to a whole folio.
    pub fn expect_bulk(&self, seg: &Segment) {
        if self.sync_requested.load(Ordering::Acquire)
            || self
                .small_syncs
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        // A sync requested meanwhile wins (it may have seen `small_syncs` true).
        if self.sync_requested.load(Ordering::Acquire) {
            self.small_syncs.store(true, Ordering::Release);
            return;
        }
        self.advise(seg);
    }

    /// Durably changes the log metadata with `f`, keeping the other fields.
    pub fn update_meta(&self, f: impl FnOnce(&mut LogMeta)) -> Result<LogMeta> {
        match self.meta.lock().as_mut() {
            Some(m) => m.update_log(f),
            None if self.closed.load(Ordering::Acquire) => Err(Error::Closed),
            None => Err(Error::ReadOnly),
        }
    }

    /// Fails if the handle is closed or poisoned.
    pub fn check(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.check_poison()
    }

    pub fn check_poison(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            let why = self.poison.lock().clone().unwrap_or_default();
            return Err(Error::Poisoned(why));
        }
        Ok(())
    }

    /// Refuses all further work: after a failed sync the kernel may already
    /// have dropped the dirty pages, so retrying could report success for
    /// data that is gone.
    pub fn set_poison(&self, err: &Error) {
        self.poison.lock().get_or_insert_with(|| err.to_string());
        self.poisoned.store(true, Ordering::Release);
        self.wake_durable_waiters();
        self.wake_tailers();
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    pub fn wake_durable_waiters(&self) {
        let _g = self.durable_mx.lock();
        self.durable_cv.notify_all();
    }

    /// Wakes threads waiting for appends; free when nobody waits.
    pub fn wake_tailers(&self) {
        if self.tail_waiters.load(Ordering::SeqCst) > 0 {
            let _g = self.appended_mx.lock();
            self.appended_cv.notify_all();
        }
    }

    pub fn emit(&self, event: SyncEvent) {
        if let Some(l) = self.listener.read().clone() {
            l(event);
        }
    }

    /// Checks `index` is stored.
    pub fn check_range(&self, index: u64) -> Result<()> {
        let first = self.first_index.load(Ordering::Acquire);
        let last = self.last_index.load(Ordering::Acquire);
        if index < first || index > last {
            return Err(Error::OutOfRange { index, first, last });
        }
        Ok(())
    }
}
