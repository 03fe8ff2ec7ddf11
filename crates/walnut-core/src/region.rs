//! A fixed-size byte region shared by one writer and many readers: the
//! memory mapping of a segment file, or a heap buffer standing in for one in
//! the in-memory file system.
//!
//! This is the only module that dereferences raw pointers. Soundness rests on
//! the protocol that [`crate::segment::Segment`] enforces:
//!
//! * one writer at a time writes only at or beyond the segment's published end
//!   (`write_off`), which readers never read;
//! * readers read only below the published end, which is advanced with
//!   release ordering after the bytes are written;
//! * bytes below the published end never change (truncation writes a new file
//!   instead), so a borrow of them stays valid as long as the region lives.
//!
//! The mapping is also writable by the kernel and, against the rules, by another
//! process; readers therefore validate what they read with CRC32C rather than
//! trusting it.

use std::ptr::NonNull;
use std::sync::Arc;

/// Keeps the memory behind a [`Region`] alive (an `MmapRaw`, a heap buffer).
pub trait Backing: Send + Sync {}
impl<T: Send + Sync> Backing for T {}

/// A view of `len` bytes at `ptr`, kept alive by `owner`.
#[derive(Clone)]
pub struct Region {
    ptr: NonNull<u8>,
    len: usize,
    _owner: Arc<dyn Backing>,
}

// SAFETY: the region is plain memory owned by `_owner` (which is Send + Sync);
// concurrent access follows the single-writer protocol described above.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

struct HeapBuf(*mut [u8]);
// SAFETY: the buffer is plain heap memory; access follows the region protocol.
unsafe impl Send for HeapBuf {}
// SAFETY: as above.
unsafe impl Sync for HeapBuf {}
impl Drop for HeapBuf {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` and is dropped once.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").field("len", &self.len).finish()
    }
}

impl Region {
    /// Wraps memory that `owner` keeps valid and writable for `len` bytes.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as
    /// `owner` lives, and nothing else may free or unmap it meanwhile.
    pub unsafe fn new(ptr: *mut u8, len: usize, owner: Arc<dyn Backing>) -> Region {
        Region {
            ptr: NonNull::new(ptr).expect("region pointer is null"),
            len,
            _owner: owner,
        }
    }

    /// A zero-filled region on the heap, standing in for a mapping in the
    /// in-memory file system.
    pub fn heap(len: usize) -> Region {
        let buf = HeapBuf(Box::into_raw(vec![0u8; len.max(1)].into_boxed_slice()));
        let ptr = buf.0 as *mut u8;
        // SAFETY: `HeapBuf` owns the allocation of at least `len` bytes until it
        // is dropped, and the region keeps it alive.
        unsafe { Region::new(ptr, len, Arc::new(buf)) }
    }

    /// Size of the region in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the region has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base address, for callers that hand a pinned view to foreign code.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    fn check(&self, off: usize, len: usize) {
        assert!(
            off.checked_add(len).is_some_and(|end| end <= self.len),
            "region access {off}+{len} outside {}",
            self.len
        );
    }

    /// Copies `src` into the region at `off`.
    pub fn write(&self, off: usize, src: &[u8]) {
        self.check(off, src.len());
        // SAFETY: bounds checked above; the writer protocol guarantees nobody
        // reads this range while it is written.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(off), src.len())
        }
    }

    /// Sets `len` bytes at `off` to zero.
    pub fn zero(&self, off: usize, len: usize) {
        self.check(off, len);
        // SAFETY: bounds checked above; callers only zero beyond the published
        // end, or bytes of a segment nobody reads yet (recovery).
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr().add(off), 0, len) }
    }

    /// Borrows `len` bytes at `off`. The caller must only borrow published,
    /// stable bytes (see the module docs); the borrow must not outlive them.
    pub fn bytes(&self, off: usize, len: usize) -> &[u8] {
        self.check(off, len);
        // SAFETY: bounds checked above; published bytes are never written again.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) }
    }
}
