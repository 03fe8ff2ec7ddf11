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

    /// Copies `parts`, back to back, into the region at `off`.
    pub fn write_parts(&self, off: usize, parts: &[std::io::IoSlice<'_>]) {
        let mut at = off;
        for part in parts {
            self.write(at, part);
            at += part.len();
        }
    }

    /// Sets `len` bytes at `off` to zero.
    pub fn zero(&self, off: usize, len: usize) {
        self.check(off, len);
        // SAFETY: bounds checked above; callers only zero beyond the published
        // end, or bytes of a segment nobody reads yet (recovery).
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr().add(off), 0, len) }
    }

    /// Asks the CPU to fetch the cache lines of up to `len` bytes at `off`
    /// (at most 4 KiB) for writing, ahead of the stores that will
    /// fill them. Only a hint: it never faults, and it does nothing where the
    /// CPU has no such instruction or the range is outside the region.
    pub fn prepare_write(&self, off: usize, len: usize) {
        let len = len.min(PREPARE_MAX).min(self.len.saturating_sub(off));
        if len > 0 {
            // SAFETY: `off..off + len` lies in the region.
            unsafe { prefetch_for_write(self.ptr.as_ptr().add(off), len) }
        }
    }

    /// Borrows `len` bytes at `off`. The caller must only borrow published,
    /// stable bytes (see the module docs); the borrow must not outlive them.
    pub fn bytes(&self, off: usize, len: usize) -> &[u8] {
        self.check(off, len);
        // SAFETY: bounds checked above; published bytes are never written again.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) }
    }
}

/// Whether the CPU has `PREFETCHW` (CPUID 8000_0001h, ECX bit 8), which
/// `is_x86_feature_detected!` does not report on stable Rust.
#[cfg(target_arch = "x86_64")]
static HAS_PREFETCHW: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    use std::arch::x86_64::__cpuid;
    // Leaf 8000_0001h exists when the highest extended leaf reaches it.
    __cpuid(0x8000_0000).eax >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0
});

/// The most bytes fetched ahead of a write: a longer copy streams through
/// the cache behind the CPU's own prefetcher.
const PREPARE_MAX: usize = 4096;

/// [`Region::prepare_write`] for a buffer the caller is about to fill.
pub(crate) fn prepare_write(buf: &mut [u8]) {
    // SAFETY: the bytes of one slice lie in one allocation.
    unsafe { prefetch_for_write(buf.as_ptr(), buf.len().min(PREPARE_MAX)) }
}

/// `PREFETCHW` on every cache line of `len` bytes from `at`, where the CPU
/// has the instruction (a no-op elsewhere).
///
/// # Safety
/// The bytes must lie in one allocation: a prefetch reads nothing the
/// program sees and cannot fault, but a pointer outside an allocation may
/// not even be computed.
unsafe fn prefetch_for_write(at: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    if *HAS_PREFETCHW {
        for line in (0..len).step_by(64) {
            // SAFETY: `line < len`, inside the allocation (the caller's
            // promise); the instruction only hints the cache and changes no
            // register or flag.
            unsafe {
                std::arch::asm!(
                    "prefetchw [{0}]",
                    in(reg) at.add(line),
                    options(nostack, readonly, preserves_flags)
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (at, len);
}
