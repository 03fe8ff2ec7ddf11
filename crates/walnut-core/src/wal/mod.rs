//! The log handle: open, close, and the state every operation shares.

mod check;
mod commit;
mod read;
mod segments;
mod truncate;
mod writer;

pub use check::Check;
pub use read::{Entries, EntryInfo};
pub use segments::SegmentInfo;
pub use writer::EntryRef;

use crate::error::{Error, IoContext, Result};
use crate::fs::{DirLock, FileSystem, OsFs};
use crate::meta::{LogMeta, MetaStore};
use crate::options::{Options, RecoveryMode};
use crate::recovery::{self, RecoveryReport};
use crate::shared::{Shared, SyncListener};
use crate::stats::Stats;
use crate::syncer;
use crate::transform::Transforms;
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use writer::{Preparer, Writer};

/// Name of the log's metadata file.
pub const META_FILE: &str = "meta";
/// Size of each of the two slots of the metadata file.
pub(crate) const META_SLOT: usize = 4096;

/// A write-ahead log in one directory. All methods take `&self`; the handle
/// can be shared between threads (one append runs at a time; reads never wait
/// for appends).
pub struct Wal {
    pub(crate) shared: Arc<Shared>,
    writer: Mutex<Option<Writer>>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    preparer: Mutex<Option<Preparer>>,
    lock: Mutex<Option<Box<dyn DirLock>>>,
    recovery: RecoveryReport,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("first_index", &self.first_index())
            .field("last_index", &self.last_index())
            .finish()
    }
}

impl Wal {
    /// Opens (creating if needed) the log in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Wal> {
        Wal::open_with(Arc::new(OsFs), dir, opts)
    }

    /// Opens the log in `dir` on the given file system.
    pub fn open_with(fs: Arc<dyn FileSystem>, dir: impl AsRef<Path>, opts: Options) -> Result<Wal> {
        let opts = opts.validate()?;
        let dir = dir.as_ref().to_path_buf();
        let writable = !opts.read_only;
        let lock = if writable {
            fs.create_dir_all(&dir)
                .ctx(|| format!("creating {}", dir.display()))?;
            let lock = fs.lock(&dir).ctx(|| format!("locking {}", dir.display()))?;
            Some(lock.ok_or_else(|| Error::Locked(dir.clone()))?)
        } else {
            None
        };
        if writable {
            writer::remove_leftovers(fs.as_ref(), &dir)?;
        }
        let mut meta = MetaStore::open(fs.as_ref(), &dir, META_FILE, META_SLOT, writable)?;
        if let (Some(m), RecoveryMode::Absolute) = (&meta, opts.recovery) {
            m.verify_slots()?;
        }
        let stored = match meta.as_ref() {
            Some(m) => m.log_meta()?,
            None => LogMeta::default(),
        };
        let recovered = recovery::recover(
            fs.as_ref(),
            &dir,
            &opts,
            stored.first_index,
            stored.closed_at,
        )?;
        let recovered_truncation = recovered.report.truncated.is_some();
        let log_meta = match meta.as_mut() {
            // A new epoch for every writable open keeps encryption nonces unique
            // even where an index is written again after a torn tail. The
            // clean-close mark is cleared in the same write, and only now that
            // recovery has succeeded: a failed open must not lose it.
            Some(m) if writable => m.update_log(|lm| {
                lm.epoch += 1;
                lm.closed_at = 0;
            })?,
            _ => stored,
        };
        let transforms = Transforms::new(
            opts.compression,
            opts.encryption.as_ref(),
            opts.timestamps,
            log_meta.epoch,
            opts.max_record_size as usize,
        )?;
        let shared = Arc::new(Shared::new(fs, dir, opts, meta, transforms));
        shared
            .commit_index
            .store(log_meta.commit_index, Ordering::Release);
        let first = log_meta.first_index;
        shared.first_index.store(first, Ordering::Release);
        let mut segments = recovered.segments;
        let last = segments.last().map_or(first - 1, |s| s.last_index());
        // A compaction or reset interrupted by a crash leaves segments that lie
        // wholly below the first index; the last one is kept when the log
        // continues from it.
        let obsolete: Vec<_> = if last + 1 < first {
            std::mem::take(&mut segments)
        } else {
            let keep_from = segments
                .iter()
                .position(|s| s.last_index() + 1 >= first)
                .unwrap_or(segments.len());
            segments
                .drain(..keep_from.min(segments.len().saturating_sub(1)))
                .collect()
        };
        let last = last.max(first - 1);
        shared.last_index.store(last, Ordering::Release);
        let mut writer = None;
        if writable {
            for s in &obsolete {
                shared
                    .fs
                    .remove(&shared.dir.join(&s.name))
                    .ctx(|| format!("removing obsolete segment {}", s.name))?;
            }
            if !obsolete.is_empty() {
                shared
                    .fs
                    .sync_dir(&shared.dir)
                    .ctx(|| "syncing the log directory".into())?;
            }
            let active = match segments.last() {
                Some(s) => {
                    shared.advise(s);
                    s.clone()
                }
                None => {
                    let s = writer::create_segment(&shared, last + 1, None)?;
                    segments.push(s.clone());
                    s
                }
            };
            // Recovery read the page cache, which may hold bytes that never
            // reached the disk: the previous process died, or its sync
            // failed, before they were synced. Everything recovery kept is
            // made durable now, from the first byte, before this handle calls
            // it durable and before later frames attest to it.
            for s in &segments {
                let upto = if s.is_sealed() {
                    s.file_len()
                } else {
                    s.write_off()
                };
                s.file()
                    .sync(0, upto)
                    .ctx(|| format!("syncing {}", s.name))?;
            }
            shared
                .fs
                .sync_dir(&shared.dir)
                .ctx(|| "syncing the log directory".into())?;
            // A seal the previous process left half done (index block written,
            // trailer not) is finished by the syncer, before any later data.
            {
                let mut q = shared.queue.lock();
                for s in segments.iter().take(segments.len() - 1) {
                    if !s.is_sealed() {
                        q.seals.push((s.clone(), s.prepare_seal(writer::now_ms())));
                    }
                }
            }
            let mut w = Writer::new(active, last + 1);
            // Entries of one segment share its key: a new active key starts a
            // new segment. And after a torn tail was cut, the indexes it held
            // are written again: in an encrypted log they go to a new segment
            // (a new salt), so no nonce can repeat even if the metadata that
            // numbers the opens was damaged.
            let rewrites_indexes = recovered_truncation && shared.transforms.active_key() != 0;
            w.must_rotate =
                w.active.header.key_id != shared.transforms.active_key() || rewrites_indexes;
            writer = Some(w);
        }
        shared.durable_index.store(last, Ordering::Release);
        // A persisted commit point can lie beyond what survived a crash.
        shared.commit_index.fetch_min(last, Ordering::AcqRel);
        *shared.segments.write() = segments;
        let wal = Wal {
            syncer: Mutex::new(None),
            preparer: Mutex::new(None),
            writer: Mutex::new(writer),
            lock: Mutex::new(lock),
            recovery: recovered.report,
            shared: shared.clone(),
        };
        if writable {
            let handle = syncer::spawn(shared.clone())
                .map_err(|e| Error::io("starting the sync thread", e))?;
            *wal.syncer.lock() = Some(handle);
            *wal.preparer.lock() = Some(Preparer::start(shared.clone())?);
            if let Some(w) = wal.writer.lock().as_mut() {
                wal.prefault_ahead(w);
            }
            wal.request_prepare();
        }
        Ok(wal)
    }

    /// What recovery found and did when this handle opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The options in force (validated).
    pub fn options(&self) -> &Options {
        &self.shared.opts
    }

    /// First index held (entries below it were truncated away).
    pub fn first_index(&self) -> u64 {
        self.shared.first_index.load(Ordering::Acquire)
    }

    /// Last index held (`first_index - 1` when empty).
    pub fn last_index(&self) -> u64 {
        self.shared.last_index.load(Ordering::Acquire)
    }

    /// Every entry up to this index survives a crash or power loss.
    pub fn durable_index(&self) -> u64 {
        self.shared.durable_index.load(Ordering::Acquire)
    }

    /// Whether the handle is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Makes every entry appended so far durable; returns the durable index.
    pub fn sync(&self) -> Result<u64> {
        self.shared.check()?;
        self.writable()?;
        self.shared.expect_small_syncs();
        self.shared.sync_now()
    }

    /// Asks the background syncer to make `index` durable, without waiting.
    /// Completion is reported to the [`Wal::set_sync_listener`] listener.
    pub fn request_sync(&self, index: u64) -> Result<()> {
        self.shared.check()?;
        self.writable()?;
        self.shared.request_sync(index);
        Ok(())
    }

    /// Blocks until `index` is durable (group commit: one sync serves every
    /// waiter). `Ok(false)` if `timeout` passed first.
    pub fn wait_durable(&self, index: u64, timeout: Option<Duration>) -> Result<bool> {
        self.shared.check()?;
        self.writable()?;
        self.shared.wait_durable(index, timeout)
    }

    /// Installs the function called after every background or explicit sync.
    pub fn set_sync_listener(&self, listener: Option<SyncListener>) {
        *self.shared.listener.write() = listener;
    }

    /// Counters and shape of the log.
    pub fn stats(&self) -> Stats {
        let mut s = self.shared.counters.snapshot();
        let segs = self.shared.segments.read();
        s.segments = segs.len() as u64;
        s.index_bytes = segs.iter().map(|x| x.count() * 4).sum();
        s.first_index = self.first_index();
        s.last_index = self.last_index();
        s.durable_index = self.durable_index();
        s
    }

    /// Closes the log: makes everything durable, marks the clean shutdown,
    /// stops the background threads and releases the directory lock.
    /// Idempotent; every later call on the handle fails with `Closed`.
    pub fn close(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(h) = self.syncer.lock().take() {
            syncer::stop(&self.shared, h);
        }
        if let Some(p) = self.preparer.lock().take() {
            p.stop(&self.shared);
        }
        // A poisoned handle cannot promise durability: say so.
        let mut result = self.shared.check_poison();
        if let Some(w) = w.as_mut() {
            if !self.shared.is_poisoned() {
                result = self
                    .shared
                    .sync_now()
                    .and_then(|_| w.mark_clean_close(&self.shared))
                    .and_then(|_| self.record_clean_close());
            }
        }
        // Let go of the files now, not when the handle is dropped (in Node,
        // whenever the garbage collector gets to it): a reader still holding
        // a segment keeps only that one mapped.
        *w = None;
        self.shared.meta.lock().take();
        self.shared.segments.write().clear();
        self.shared.queue.lock().seals.clear();
        self.shared.wake_durable_waiters();
        self.shared.wake_tailers();
        self.lock.lock().take();
        result
    }

    /// Notes the last index of a clean close in the metadata (see
    /// [`LogMeta::closed_at`]).
    fn record_clean_close(&self) -> Result<()> {
        let last = self.last_index();
        if last == 0 {
            return Ok(());
        }
        self.shared
            .update_meta(|lm| lm.closed_at = last)
            .map(|_| ())
    }

    fn writable(&self) -> Result<()> {
        if self.shared.opts.read_only {
            return Err(Error::ReadOnly);
        }
        Ok(())
    }

    fn request_prepare(&self) {
        if let Some(p) = self.preparer.lock().as_ref() {
            p.want();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
