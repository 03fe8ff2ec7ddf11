//! The append path: frames are copied into the active segment's mapping and
//! published; a full segment is sealed (in the background) and replaced by one
//! the preparer thread allocated ahead of time.

use super::Wal;
use crate::error::{Error, IoContext, Result};
use crate::frame::{self, FrameHeader, FLAG_BATCH_MORE, FLAG_MARKER};
use crate::fs::{FileSystem, MappedFile};
use crate::options::SyncPolicy;
use crate::segment::header::SegmentHeader;
use crate::segment::{self, Segment};
use crate::shared::Shared;
use crate::transform::FrameCtx;
use parking_lot::{Condvar, Mutex};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Name of the segment file the preparer allocates ahead of rotation.
pub(crate) const PREPARED_NAME: &str = "next-segment.tmp";

/// One entry to append: payload plus the Raft fields (zero when unused).
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryRef<'a> {
    /// Raft term.
    pub term: u64,
    /// Entry type.
    pub kind: u8,
    /// Payload.
    pub data: &'a [u8],
}

impl<'a> From<&'a [u8]> for EntryRef<'a> {
    fn from(data: &'a [u8]) -> Self {
        EntryRef {
            data,
            ..Default::default()
        }
    }
}

pub(crate) struct Writer {
    pub active: Arc<Segment>,
    pub next_index: u64,
    /// The next append starts a new segment (the active key changed).
    pub must_rotate: bool,
    unsynced_bytes: u64,
    /// Reused buffer for transformed payloads.
    scratch: Vec<u8>,
    /// End of the part of the active segment handed to the preparer to fault in.
    prefault_to: usize,
    /// End of the part handed to the preparer to allocate (within the above).
    allocate_to: usize,
    /// Bytes appended since open while nobody had asked for a sync.
    bulk_bytes: usize,
    /// The last append went to the file with a write call (see
    /// [`WRITE_CALL_FROM`]); the preparer faults nothing in meanwhile.
    writes_to_file: bool,
}

/// Appends of at least this many bytes of frames go to the file with one
/// vectored write call instead of stores through the mapping. A store into a
/// page the page cache does not hold yet faults it in, and the kernel zeroes
/// it first; a write call that covers the page skips the zeroing, and no page
/// table is filled. The benchmark, three alternating runs of each build
/// (benchmark/RESULTS.md): single 1 MiB appends 2.4k -> 4.1k/s, batches of
/// 8 x 64 KiB 2.7 -> 4.2 GB/s and of 8 x 1 MiB 2.5 -> 3.1 GB/s, a 1 MiB
/// append with `sync: 'always'` 1239 -> 1041 us (p50). Below it the call
/// costs more than it saves (a build that wrote from 4 KiB on: single 64 KiB
/// appends 61k -> 55k/s, 4 KiB 946k -> 388k/s). The preparer stops faulting
/// pages in ahead while appends are this large: its zeroing then only
/// competes with the writer (the 1 MiB `always` append: 1370 us with it).
const WRITE_CALL_FROM: usize = 512 << 10;

/// How far ahead of the writer the preparer keeps the active segment faulted
/// in, and how much it faults in at a time. Faulting in a whole segment at
/// once dirtied up to its full size of zeros that the kernel then wrote to
/// disk, and decided how all of it is cached before the log showed how it
/// syncs (see [`Shared::expect_small_syncs`]).
const PREFAULT_AHEAD: usize = 8 << 20;
const PREFAULT_STEP: usize = 4 << 20;
/// A log that keeps appending without syncing has shown it writes in bulk:
/// the stretch grows with what it appended, up to this, so that a fast
/// writer does not catch up with the faulting when the preparer is held up
/// (1 KiB appends from JavaScript took page faults themselves with 12 MiB).
const PREFAULT_MAX_AHEAD: usize = 48 << 20;
/// Bytes a log appends without a sync before its pages are cached in bulk.
const BULK_AFTER: usize = 4 << 20;

/// Writes the frames of one batch into the active segment and publishes
/// them together: readers (and the syncer) see all of the batch or none.
struct BatchWriter<'w> {
    seg: &'w Segment,
    first: u64,
    n: usize,
    j: usize,
    base: usize,
    off: usize,
    start: usize,
    durable: u64,
    shared: &'w Shared,
}

impl<'w> BatchWriter<'w> {
    fn new(shared: &'w Shared, w: &'w Writer, n: usize) -> BatchWriter<'w> {
        let seg = &*w.active;
        let off = seg.write_off();
        BatchWriter {
            seg,
            first: w.next_index,
            n,
            j: 0,
            base: seg.count() as usize,
            off,
            start: off,
            durable: shared.durable_index.load(Ordering::Acquire),
            shared,
        }
    }

    /// Nonce and associated-data context of the next frame.
    fn ctx(&self, e: EntryRef<'_>) -> FrameCtx {
        FrameCtx {
            salt: self.seg.header.salt,
            key_id: self.seg.header.key_id,
            index: self.first + self.j as u64,
            term: e.term,
            kind: e.kind,
        }
    }

    /// The header of the next frame, whose offset it stages.
    fn next_header(&mut self, e: EntryRef<'_>, flags: u16) -> FrameHeader {
        let index = self.first + self.j as u64;
        // The attestation: everything up to `durable` was synced before this
        // frame existed (see frame.rs); 0 when nothing is known to be durable.
        let lag = if self.durable > 0 {
            index - self.durable
        } else {
            0
        };
        let more = if self.j + 1 < self.n {
            FLAG_BATCH_MORE
        } else {
            0
        };
        let header = FrameHeader {
            index,
            term: e.term,
            kind: e.kind,
            flags: flags | more,
            lag: u32::try_from(lag).unwrap_or(0),
            ..Default::default()
        };
        self.seg.stage_offset(self.base + self.j, self.off);
        self.j += 1;
        header
    }

    fn write(&mut self, e: EntryRef<'_>, flags: u16, payload: &[u8]) {
        let header = self.next_header(e, flags);
        self.off = self.seg.write_frame(self.off, header, payload);
    }

    /// Writes the frames of `items` (plain payloads) with one call to the
    /// file instead of stores through the mapping (see [`WRITE_CALL_FROM`]).
    fn write_to_file<'a>(&mut self, items: impl Iterator<Item = EntryRef<'a>>) -> Result<()> {
        let mut heads = Vec::with_capacity(self.n);
        let mut payloads = Vec::with_capacity(self.n);
        for e in items {
            let header = self.next_header(e, 0);
            heads.push(self.seg.seal_header(header, e.data));
            payloads.push(e.data);
            self.off += frame::frame_len(e.data.len());
        }
        let mut parts = Vec::with_capacity(3 * self.n);
        for (head, data) in heads.iter().zip(&payloads) {
            parts.extend(frame::parts(head, data));
        }
        if let Err(e) = self.seg.file().write_parts(self.start, &parts) {
            // Whatever reached the file must not outlive the failure: the next
            // append starts at the same offset, and if it ends where one of
            // these frames begins, recovery after a crash would find that
            // frame (and the rest of the batch) whole and bring it back.
            self.seg.region().zero(self.start, self.off - self.start);
            return Err(Error::io(
                format!("writing to segment {}", self.seg.name),
                e,
            ));
        }
        Ok(())
    }

    /// Publishes the batch; returns the bytes of frames written.
    fn finish(self) -> usize {
        self.seg.publish(self.off, self.base + self.n);
        // The next batch most likely goes right here and is about this size.
        // Its cache lines are fetched for writing now, while the caller does
        // something else: each append ends with locked instructions (the
        // counters, the writer's mutex), and those wait until every store of
        // the append has reached the cache. With the lines still in memory
        // that wait was most of `append`'s own time for 1 KiB records; with
        // them fetched ahead, 1 KiB appends from JS ran 15% faster
        // (benchmark/RESULTS.md).
        self.seg
            .region()
            .prepare_write(self.off, self.off - self.start);
        self.shared
            .last_index
            .store(self.first + self.n as u64 - 1, Ordering::Release);
        self.off - self.start
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Creates (or takes the prepared file for) the segment starting at `first`.
pub(crate) fn create_segment(
    shared: &Shared,
    first: u64,
    prepared: Option<Arc<dyn MappedFile>>,
) -> Result<Arc<Segment>> {
    let name = segment::file_name(first);
    let path = shared.dir.join(&name);
    let file = match prepared {
        Some(f) => {
            shared
                .fs
                .rename(&shared.dir.join(PREPARED_NAME), &path)
                .ctx(|| format!("activating {name}"))?;
            f
        }
        None => shared
            .fs
            .create_mapped(&path, shared.opts.segment_size)
            .ctx(|| format!("creating {name}"))?,
    };
    let header = new_header(shared, first)?;
    shared.queue.lock().dir_dirty = true;
    let seg = Arc::new(Segment::init(name, file, header));
    shared.advise(&seg);
    Ok(seg)
}

/// A header for a new segment file, with a fresh random salt.
pub(crate) fn new_header(shared: &Shared, first: u64) -> Result<SegmentHeader> {
    let salt = getrandom::u64().map_err(|e| {
        Error::io(
            "drawing a segment salt",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(SegmentHeader {
        first_index: first,
        salt: salt | 1,
        created_ms: now_ms(),
        marker: shared.opts.marker,
        key_id: shared.transforms.active_key(),
    })
}

/// Removes files a previous handle left half-made.
pub(crate) fn remove_leftovers(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    for name in [PREPARED_NAME, super::truncate::REWRITE_NAME] {
        crate::fs::remove_if_present(fs, &dir.join(name))?;
    }
    Ok(())
}

impl Writer {
    pub fn new(active: Arc<Segment>, next_index: u64) -> Writer {
        Writer {
            next_index,
            must_rotate: false,
            unsynced_bytes: 0,
            scratch: Vec::new(),
            prefault_to: active.write_off(),
            allocate_to: active.write_off(),
            bulk_bytes: 0,
            writes_to_file: false,
            active,
        }
    }

    /// Writes a marker proving everything up to the last index durable (the
    /// caller synced just before), then syncs it. Skipped when it does not fit.
    pub fn mark_clean_close(&mut self, shared: &Shared) -> Result<()> {
        let seg = &self.active;
        let off = seg.write_off();
        let payload = (self.next_index - 1).to_le_bytes();
        if seg.is_sealed() || !seg.fits(off, frame::frame_len(payload.len()), 0) {
            return Ok(());
        }
        let header = FrameHeader {
            index: self.next_index - 1,
            flags: FLAG_MARKER,
            ..Default::default()
        };
        let end = seg.write_frame(off, header, &payload);
        seg.publish(end, seg.count() as usize);
        let _g = shared.sync_lock.lock();
        seg.sync_upto(end).ctx(|| format!("syncing {}", seg.name))
    }
}

/// Whether the blocks ahead of the writer are allocated before its syncs
/// reach them (see [`MappedFile::allocate_ahead`]). Allocating writes the
/// zeros once, and every sync's cache flush then waits for them as well, so
/// it pays only for some syncs (benchmark/RESULTS.md, alternating runs):
/// - small ones: syncs of 4 KiB took 85-101 -> 55-65 us;
/// - those of a log that syncs every append on the appending thread
///   (`SyncPolicy::Always`), up to [`ALLOCATE_ALWAYS_BELOW`]: 64 KiB records
///   202 -> 161 us (p50); at 1 MiB nothing was gained;
/// - not the sync thread's syncs of 64 KiB, which lost: 64 writes of 1 KiB
///   in flight 177-190k -> 147-161k records/s, and one 64 KiB `write()` at a
///   time 2.9k -> 2.6k/s. Why syncs of the same size gain on one thread and
///   lose on the other was not found.
///
/// A log that writes in bulk syncs rarely and in large ranges.
fn allocation_pays(shared: &Shared) -> bool {
    let avg = shared.sync_bytes.load(Ordering::Relaxed);
    shared.small_syncs.load(Ordering::Relaxed)
        && (avg < ALLOCATE_BELOW
            || shared.opts.sync == SyncPolicy::Always && avg < ALLOCATE_ALWAYS_BELOW)
}

/// Syncs of fewer bytes than this on average have their blocks allocated
/// ahead.
const ALLOCATE_BELOW: u64 = 32 << 10;
/// ... and so do those of a log that syncs every append, below this.
const ALLOCATE_ALWAYS_BELOW: u64 = 512 << 10;
/// How far ahead of the writer blocks are allocated, and how many at a time.
/// Only a short way: the zeros are written while syncs run, and with a whole
/// faulted-in stretch (12 MiB) allocated at once, the first thousand writes
/// of a new log, one in flight at a time, ran 29% slower.
const ALLOCATE_AHEAD: usize = 2 << 20;
const ALLOCATE_STEP: usize = 1 << 20;

/// Allocates the next segment file in the background, so that rotation costs
/// a rename instead of an fallocate, and faults in the active segment ahead of
/// the writer, so that appends do not pay for page faults.
pub(crate) struct Preparer {
    state: Arc<(Mutex<PrepState>, Condvar)>,
    handle: JoinHandle<()>,
}

/// Work on a range of the active segment, in the order it was asked for.
enum Job {
    /// Fault the range in.
    Prefault(Arc<dyn MappedFile>, usize, usize),
    /// Allocate its blocks, once faulted in (see [`allocation_pays`]).
    Allocate(Arc<dyn MappedFile>, usize, usize),
}

#[derive(Default)]
struct PrepState {
    /// The prepared file, and how much of it is (being) faulted in.
    ready: Option<(Arc<dyn MappedFile>, usize)>,
    jobs: Vec<Job>,
    wanted: bool,
    stop: bool,
}

impl Preparer {
    pub fn start(shared: Arc<Shared>) -> Result<Preparer> {
        let state: Arc<(Mutex<PrepState>, Condvar)> = Arc::default();
        let st = state.clone();
        let handle = std::thread::Builder::new()
            .name("walnut-prepare".into())
            .spawn(move || loop {
                let (jobs, prepare) = {
                    let mut s = st.0.lock();
                    while !(s.stop || !s.jobs.is_empty() || s.wanted && s.ready.is_none()) {
                        st.1.wait(&mut s);
                    }
                    if s.stop {
                        return;
                    }
                    let prepare = s.wanted && s.ready.is_none();
                    if prepare {
                        s.wanted = false;
                    }
                    (std::mem::take(&mut s.jobs), prepare)
                };
                // The active segment first: the writer is in it now.
                for job in jobs {
                    match job {
                        Job::Prefault(file, off, len) => file.prefault(off, len),
                        // Skipped once the log closes or its syncs grew.
                        Job::Allocate(file, off, len) => {
                            if !st.0.lock().stop && allocation_pays(&shared) {
                                file.allocate_ahead(off, len);
                            }
                        }
                    }
                }
                if !prepare {
                    continue;
                }
                // A failure (a full disk) is left for rotation to report: it
                // retries synchronously and returns the error to the appender.
                let path = shared.dir.join(PREPARED_NAME);
                let Ok(file) = shared.fs.create_mapped(&path, shared.opts.segment_size) else {
                    continue;
                };
                file.expect_small_syncs(0, shared.small_syncs.load(Ordering::Acquire));
                let first = if shared.opts.prefault {
                    PREFAULT_AHEAD + PREFAULT_STEP
                } else {
                    0
                };
                // Offered before it is faulted in: a rotation that comes
                // while the faulting runs takes this file and writes behind
                // the faulting, instead of creating a segment of its own that
                // nobody faults in (3 of 9 rotations did, appending 600k
                // records of 1 KiB). Faulting in never changes the bytes, so
                // it may run under the writer.
                st.0.lock().ready = Some((file.clone(), first));
                file.prefault(0, first);
            })
            .map_err(|e| Error::io("starting the preparer thread", e))?;
        Ok(Preparer { state, handle })
    }

    pub fn want(&self) {
        self.state.0.lock().wanted = true;
        self.state.1.notify_one();
    }

    /// Queues work on the active segment.
    fn queue(&self, job: Job) {
        self.state.0.lock().jobs.push(job);
        self.state.1.notify_one();
    }

    fn take(&self) -> Option<(Arc<dyn MappedFile>, usize)> {
        self.state.0.lock().ready.take()
    }

    pub fn stop(self, shared: &Shared) {
        self.state.0.lock().stop = true;
        self.state.1.notify_one();
        let _ = self.handle.join();
        if self.state.0.lock().ready.take().is_some() {
            let _ = shared.fs.remove(&shared.dir.join(PREPARED_NAME));
        }
    }
}

impl Wal {
    /// Appends one record; returns its index.
    pub fn append(&self, data: &[u8]) -> Result<u64> {
        self.append_with(
            1,
            std::iter::once(data.len()),
            std::iter::once(EntryRef::from(data)),
        )
    }

    /// Appends records as one atomic batch (after a crash, all or none of them
    /// are in the log); returns the index of the first. The batch must fit in
    /// one segment.
    pub fn append_batch<T: AsRef<[u8]>>(&self, items: &[T]) -> Result<u64> {
        self.append_with(
            items.len(),
            items.iter().map(|d| d.as_ref().len()),
            items.iter().map(|d| EntryRef::from(d.as_ref())),
        )
    }

    /// Appends entries with Raft fields as one atomic batch.
    pub fn append_entries(&self, entries: &[EntryRef<'_>]) -> Result<u64> {
        self.append_with(
            entries.len(),
            entries.iter().map(|e| e.data.len()),
            entries.iter().copied(),
        )
    }

    /// Appends records packed back to back in `data`, with their `lengths`, as
    /// one atomic batch (one call for many records, as the Node binding does).
    pub fn append_packed(&self, data: &[u8], lengths: &[u32]) -> Result<u64> {
        let total: u64 = lengths.iter().map(|&l| l as u64).sum();
        if total != data.len() as u64 {
            return Err(Error::invalid(format!(
                "lengths add up to {total} bytes but {} were given",
                data.len()
            )));
        }
        let mut at = 0usize;
        self.append_with(
            lengths.len(),
            lengths.iter().map(|&l| l as usize),
            lengths.iter().map(move |&l| {
                let d = &data[at..at + l as usize];
                at += l as usize;
                EntryRef::from(d)
            }),
        )
    }

    /// The append path shared by every form of append: `sizes` is walked once
    /// for validation before `items` is written.
    pub(crate) fn append_with<'a>(
        &self,
        n: usize,
        sizes: impl Iterator<Item = usize>,
        items: impl Iterator<Item = EntryRef<'a>>,
    ) -> Result<u64> {
        let mut guard = self.writer.lock();
        self.shared.check()?;
        let w = guard.as_mut().ok_or(Error::ReadOnly)?;
        if n == 0 {
            return Err(Error::invalid("a batch needs at least one record"));
        }
        let max = self.shared.opts.max_record_size;
        let mut frames = 0usize;
        let mut payload = 0u64;
        for size in sizes {
            if size as u64 > max {
                return Err(Error::RecordTooLarge {
                    size: size as u64,
                    max,
                });
            }
            frames += frame::frame_len(size);
            payload += size as u64;
        }
        let first = w.next_index;
        if first + n as u64 - 1 > crate::MAX_INDEX {
            return Err(Error::OutOfRange {
                index: first + n as u64 - 1,
                first: self.first_index(),
                last: crate::MAX_INDEX,
            });
        }
        let tf = &self.shared.transforms;
        let frames = if tf.is_identity() {
            self.place(w, n, frames, payload)?;
            let to_file = frames >= WRITE_CALL_FROM;
            let mut batch = BatchWriter::new(&self.shared, w, n);
            if to_file {
                batch.write_to_file(items)?;
            } else {
                for e in items {
                    batch.write(e, 0, e.data);
                }
            }
            let frames = batch.finish();
            w.writes_to_file = to_file;
            frames
        } else {
            // Compression and timestamps do not depend on the segment; the
            // encryption nonce does, but not the encrypted size. So: prepare,
            // choose the segment, then seal into it.
            let now = now_ms();
            let mut staged = Vec::with_capacity(n);
            let mut frames = 0;
            for e in items {
                let (flags, ts, body) = tf.prepare(e.data, now)?;
                frames += frame::frame_len(tf.sealed_len(body.len(), ts.is_some()));
                staged.push((e, flags, ts, body));
            }
            self.place(w, n, frames, payload)?;
            let mut scratch = std::mem::take(&mut w.scratch);
            let mut batch = BatchWriter::new(&self.shared, w, n);
            for (e, flags, ts, body) in staged {
                scratch.clear();
                let ctx = batch.ctx(e);
                let flags = tf.seal(&ctx, flags, ts, &body, &mut scratch)?;
                batch.write(e, flags, &scratch);
            }
            let frames = batch.finish();
            w.scratch = scratch;
            frames
        };
        let last = first + n as u64 - 1;
        w.next_index = last + 1;
        w.bulk_bytes = w.bulk_bytes.saturating_add(frames);
        self.prefault_ahead(w);
        self.shared.counters.record_append(n as u64, payload);
        self.shared.wake_tailers();
        match self.shared.opts.sync {
            SyncPolicy::Always => {
                self.shared.sync_now()?;
            }
            SyncPolicy::EveryBytes(limit) => {
                w.unsynced_bytes += frames as u64;
                if w.unsynced_bytes >= limit {
                    w.unsynced_bytes = 0;
                    self.shared.request_sync(last);
                }
            }
            SyncPolicy::None | SyncPolicy::EveryMs(_) => {}
        }
        Ok(first)
    }

    /// Hands the next stretch of the active segment to the preparer to fault
    /// in once the writer comes within [`PREFAULT_AHEAD`] (more for a bulk
    /// writer) of what it was given before, and the next MiB to allocate once
    /// it comes within [`ALLOCATE_AHEAD`]. Nothing while appends go to the
    /// file with write calls ([`WRITE_CALL_FROM`]).
    pub(crate) fn prefault_ahead(&self, w: &mut Writer) {
        let sh = &self.shared;
        if w.bulk_bytes >= BULK_AFTER
            && sh.small_syncs.load(Ordering::Relaxed)
            && !sh.sync_requested.load(Ordering::Relaxed)
        {
            sh.expect_bulk(&w.active);
        }
        let at = w.active.write_off();
        if w.writes_to_file {
            w.prefault_to = w.prefault_to.max(at);
            w.allocate_to = w.allocate_to.max(at);
            return;
        }
        let ahead = if sh.small_syncs.load(Ordering::Relaxed) {
            PREFAULT_AHEAD
        } else {
            w.bulk_bytes.clamp(PREFAULT_AHEAD, PREFAULT_MAX_AHEAD)
        };
        let want = at + ahead;
        let len = w.active.file_len();
        if want > w.prefault_to && w.prefault_to < len && self.shared.opts.prefault {
            let to = (want + PREFAULT_STEP).min(len);
            let job = Job::Prefault(w.active.file().clone(), w.prefault_to, to - w.prefault_to);
            self.queue(job);
            w.prefault_to = to;
        }
        if at + ALLOCATE_AHEAD > w.allocate_to && w.allocate_to < w.prefault_to {
            let from = w.allocate_to.max(at);
            let to = (from + ALLOCATE_STEP).min(w.prefault_to);
            if allocation_pays(sh) {
                self.queue(Job::Allocate(w.active.file().clone(), from, to - from));
            }
            w.allocate_to = to;
        }
    }

    fn queue(&self, job: Job) {
        if let Some(p) = self.preparer.lock().as_ref() {
            p.queue(job);
        }
    }

    /// Makes sure `frames` bytes of `n` entries fit the active segment,
    /// rotating to a new one when they do not (or when it must rotate anyway).
    fn place(&self, w: &mut Writer, n: usize, frames: usize, payload: u64) -> Result<()> {
        if w.active.fits(w.active.write_off(), frames, n) && !w.active.is_sealed() && !w.must_rotate
        {
            return Ok(());
        }
        let size = self.shared.opts.segment_size as usize;
        let empty_fits =
            frames + n * 4 + segment::header::FRAMES_START + segment::trailer::TRAILER_LEN <= size
                && n <= segment::max_entries(size);
        if !empty_fits {
            return Err(Error::RecordTooLarge {
                size: payload,
                max: crate::options::Options::record_capacity(self.shared.opts.segment_size),
            });
        }
        self.rotate(w)?;
        w.must_rotate = false;
        Ok(())
    }

    /// Seals the active segment (its index block now, its trailer on the
    /// syncer) and switches to a new one starting at the next index. Nothing
    /// changes if the new segment cannot be created.
    fn rotate(&self, w: &mut Writer) -> Result<()> {
        // An empty segment is replaced, not sealed: the new one starts at the
        // same index, so it takes the same name (a prepared file is renamed
        // over it atomically; otherwise the empty file goes first).
        let replace = w.active.count() == 0;
        let (prepared, prefaulted) = match self.preparer.lock().as_ref().and_then(|p| p.take()) {
            Some((file, upto)) => (Some(file), upto),
            None => (None, 0),
        };
        if replace && prepared.is_none() {
            let path = self.shared.dir.join(&w.active.name);
            self.shared
                .fs
                .remove(&path)
                .ctx(|| format!("replacing the empty segment {}", w.active.name))?;
        }
        let next = create_segment(&self.shared, w.next_index, prepared)?;
        let old = std::mem::replace(&mut w.active, next.clone());
        w.prefault_to = prefaulted.max(w.active.write_off());
        w.allocate_to = w.active.write_off();
        {
            // The syncer reads the seal list and the active segment under this
            // same lock, so it never syncs the new segment without the old seal.
            let mut q = self.shared.queue.lock();
            let mut segs = self.shared.segments.write();
            if replace {
                segs.pop();
            } else if !old.is_sealed() {
                let trailer = old.prepare_seal(now_ms());
                q.seals.push((old, trailer));
            }
            segs.push(next);
        }
        self.shared.queue_cv.notify_one();
        self.shared.counters.record_rotation();
        self.request_prepare();
        self.apply_retention(w)
    }
}
