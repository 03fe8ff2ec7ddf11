//! Index -> frame offset for one segment: 4 bytes of RAM per entry, O(1)
//! lookup, appended by the writer while readers look up without locks.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// An append-only array of frame offsets with a published length.
pub struct Offsets {
    slots: Box<[AtomicU32]>,
    len: AtomicUsize,
}

impl Offsets {
    /// Room for `capacity` entries. The allocation is zeroed lazily by the OS,
    /// so untouched capacity costs address space, not memory.
    pub fn with_capacity(capacity: usize) -> Offsets {
        Offsets {
            slots: bytemuck::allocation::zeroed_slice_box(capacity),
            len: AtomicUsize::new(0),
        }
    }

    /// The full table of a sealed segment, decoded from its index block
    /// (little-endian `u32`s) straight into place. It has no room to append:
    /// a sealed segment never takes entries again (truncation writes a new
    /// file).
    pub fn from_index_block(block: &[u8]) -> Offsets {
        let slots: Box<[AtomicU32]> = block
            .chunks_exact(4)
            .map(|c| AtomicU32::new(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        let len = AtomicUsize::new(slots.len());
        Offsets { slots, len }
    }

    /// Published number of entries.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// True when no entry is published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room left for entries.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Offset of entry `i`, if published.
    pub fn get(&self, i: usize) -> Option<u32> {
        (i < self.len()).then(|| self.slots[i].load(Ordering::Relaxed))
    }

    /// Writes slot `i` without publishing it (the writer publishes a whole
    /// batch at once with [`Offsets::publish`]).
    pub fn stage(&self, i: usize, offset: u32) {
        self.slots[i].store(offset, Ordering::Relaxed);
    }

    /// Makes the first `len` slots visible to readers.
    pub fn publish(&self, len: usize) {
        debug_assert!(len <= self.slots.len());
        self.len.store(len, Ordering::Release);
    }

    /// The published offsets, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots[..self.len()]
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
    }

    /// The published offsets, copied.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }

    /// Bytes of heap this table occupies when full.
    pub fn heap_bytes(&self) -> usize {
        self.slots.len() * 4
    }
}
