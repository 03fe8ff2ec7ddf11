//! The log's segments in index order, and a reader's copy of that list.
//!
//! A reader holds a segment (an `Arc`) while it reads, so that truncation
//! cannot unmap it underneath. Finding and holding a segment through the
//! shared list costs four locked instructions (the lock taken and released,
//! the count raised and dropped), and the last of them waits until the
//! reader's copy of the record has left the store buffer: about 40 ns of a
//! 1 µs random read from JavaScript (benchmark/RESULTS.md). A caller that
//! reads record after record on one thread keeps a [`SegmentCache`] instead:
//! the list as it last saw it, valid while the list's generation is
//! unchanged, so a read costs one plain load. Every change to the list bumps
//! the generation while its lock is held.

use crate::segment::Segment;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The segments of a log, oldest first.
#[derive(Default)]
pub(crate) struct SegmentList {
    list: RwLock<Vec<Arc<Segment>>>,
    generation: AtomicU64,
}

/// Write access to the list; bumps its generation when dropped, before the
/// lock is released.
pub(crate) struct ListWriteGuard<'a> {
    guard: RwLockWriteGuard<'a, Vec<Arc<Segment>>>,
    generation: &'a AtomicU64,
}

impl Deref for ListWriteGuard<'_> {
    type Target = Vec<Arc<Segment>>;
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl DerefMut for ListWriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl Drop for ListWriteGuard<'_> {
    fn drop(&mut self) {
        // The field `guard` is dropped after this body: the lock is still
        // held, so a reader that copies the list under the read lock copies
        // the generation that goes with it.
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// The segment of `segments` (oldest first) that holds `index`, if any.
pub(crate) fn find(segments: &[Arc<Segment>], index: u64) -> Option<&Arc<Segment>> {
    let pos = segments.partition_point(|s| s.first_index() <= index);
    pos.checked_sub(1).map(|p| &segments[p])
}

impl SegmentList {
    pub fn read(&self) -> RwLockReadGuard<'_, Vec<Arc<Segment>>> {
        self.list.read()
    }

    pub fn write(&self) -> ListWriteGuard<'_> {
        ListWriteGuard {
            guard: self.list.write(),
            generation: &self.generation,
        }
    }

    /// The segment holding `index`, held by the caller.
    pub fn segment_for(&self, index: u64) -> Option<Arc<Segment>> {
        find(&self.read(), index).cloned()
    }

    /// The list as it is now, through `cache`: copied again only when it
    /// changed since the cache last saw it.
    pub fn current<'c>(&self, cache: &'c mut SegmentCache) -> &'c [Arc<Segment>] {
        if cache.generation != Some(self.generation.load(Ordering::Acquire)) {
            let list = self.read();
            // Stable while the read lock is held (writers bump it under the
            // write lock).
            cache.generation = Some(self.generation.load(Ordering::Relaxed));
            cache.segments.clone_from(&list);
        }
        &cache.segments
    }
}

/// One reader's copy of a log's segment list, for [`crate::Wal::read_into`]
/// and [`crate::Wal::with_entry_cached`]: it saves the locked instructions of
/// finding and holding the segment on every read.
///
/// It holds the segments it copied. One that truncation removed stays
/// mapped, and its file's space allocated, until the cache is used again,
/// [`cleared`](SegmentCache::clear) or dropped: clear it when the log is
/// closed or truncated (or when a segment rotates out, if retention drops
/// segments), unless a read follows soon.
#[derive(Debug, Default)]
pub struct SegmentCache {
    generation: Option<u64>,
    segments: Vec<Arc<Segment>>,
}

impl SegmentCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Releases every segment the cache holds.
    pub fn clear(&mut self) {
        self.generation = None;
        self.segments = Vec::new();
    }
}
