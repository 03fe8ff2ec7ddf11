//! The real file system. The mapping, its durability and the directory lock
//! are shared; what differs by platform (permissions, not following links,
//! preallocation, directory sync, removing and replacing files that are still
//! mapped) is in [`unix`] and [`windows`], behind the same small functions.
//!
//! | | Unix | Windows |
//! | --- | --- | --- |
//! | preallocation | `fallocate` (Linux), `F_PREALLOCATE` (macOS) | `SetEndOfFile` (`File::set_len`) |
//! | durability | `msync(MS_SYNC)` | `FlushViewOfFile` + `FlushFileBuffers` |
//! | lock | `flock` (`File::try_lock`) | `LockFileEx` (`File::try_lock`) |
//! | directory sync | `fsync` on the directory | none (see [`windows`]) |
//! | no-follow | `O_NOFOLLOW` | `FILE_FLAG_OPEN_REPARSE_POINT`, reparse points refused |
//! | owner-only | modes 0600 / 0700 | inherited ACL (see [`windows`]) |

use super::sigbus::Guard;
use super::{DirEntry, DirLock, EntryKind, FileSystem, MappedFile};
use crate::region::Region;
use memmap2::MmapRaw;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

/// The open LOCK file holds the lock (`flock` on Unix, `LockFileEx` on
/// Windows, both through `File::try_lock`).
struct OsLock(File);
impl DirLock for OsLock {}

impl Drop for OsLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too, but on Windows only after a
        // delay that "depends upon available system resources" (LockFileEx's
        // documentation, which asks for an explicit unlock): a reopen right
        // after a close could find the log still locked.
        let _ = self.0.unlock();
    }
}

/// A mapping registered with the SIGBUS guard for as long as it exists.
struct GuardedMap {
    // Fields drop in this order. The range is unregistered before it is
    // unmapped, the file is closed after, and only then may a file that was
    // removed while mapped be deleted for good (Windows: see `after_unmap`).
    guard: Guard,
    map: MmapRaw,
    file: File,
    _after: AfterUnmap,
}

struct AfterUnmap;

impl Drop for AfterUnmap {
    fn drop(&mut self) {
        sys::after_unmap();
    }
}

struct OsMapped {
    map: Arc<GuardedMap>,
    region: Region,
    /// A background write-back (`allocate_ahead`) failed. The kernel reports a
    /// write error once per open file, and that call took it: the pages it
    /// could not write may hold the writer's data by now, so every later sync
    /// must fail instead of reporting them durable.
    write_back_failed: AtomicBool,
}

fn shrunk() -> io::Error {
    io::Error::other("the file shrank under its mapping (truncated by another process)")
}

impl MappedFile for OsMapped {
    fn region(&self) -> &Region {
        &self.region
    }

    fn sync(&self, off: usize, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        // Pages replaced after a SIGBUS are anonymous memory: msync would
        // "succeed" without writing them anywhere.
        if self.map.guard.failed() {
            return Err(shrunk());
        }
        if self.write_back_failed.load(Ordering::Acquire) {
            return Err(io::Error::other(
                "an earlier write-back of this file failed: written data may be lost",
            ));
        }
        // Unix: msync(MS_SYNC). Windows: memmap2 (0.9) calls FlushViewOfFile,
        // which only starts writing the dirty pages, then FlushFileBuffers on
        // its handle of the file, which waits for them and flushes the
        // drive's cache; together they are what msync(MS_SYNC) is here.
        self.map.map.flush_range(off, len)?;
        if self.map.guard.failed() {
            return Err(shrunk());
        }
        Ok(())
    }

    fn failed(&self) -> bool {
        self.map.guard.failed()
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn write_parts(&self, off: usize, parts: &[io::IoSlice<'_>]) -> io::Result<()> {
        // A write call would extend a file that another process shrank.
        if self.map.guard.failed() {
            return Err(shrunk());
        }
        let mut parts = parts.to_vec();
        sys::write_parts(&self.map.file, off as u64, &mut parts)
    }

    fn prefault(&self, off: usize, len: usize) {
        // Faulting pages in writable now keeps page faults off the append path.
        // Older kernels lack MADV_POPULATE_WRITE; then the writer faults lazily.
        // Other systems have no such advice (the writer faults lazily there too).
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let end = off.saturating_add(len).min(self.map.map.len());
            if off < end {
                let _ = self
                    .map
                    .map
                    .advise_range(memmap2::Advice::PopulateWrite, off, end - off);
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (off, len);
    }

    fn expect_small_syncs(&self, off: usize, small: bool) {
        // Linux 6.x (ext4 at least) caches file pages in large folios when it
        // faults them in through readahead. A store through a mapping dirties
        // its whole folio, and msync writes every dirty folio back whole: with
        // 1 KiB records synced 64 at a time that was 14.5x the payload on disk
        // and twice the sync latency (benchmark/RESULTS.md). MADV_RANDOM turns
        // readahead off for the range, so faults bring in single pages and a
        // sync writes back what was stored; MADV_NORMAL brings large folios
        // back, which fault in about twice as fast for data synced in bulk.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let advice = if small {
                memmap2::Advice::Random
            } else {
                memmap2::Advice::Normal
            };
            let len = self.map.map.len();
            if off < len {
                let _ = self.map.map.advise_range(advice, off, len - off);
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (off, small);
    }

    fn allocate_ahead(&self, off: usize, len: usize) {
        // Measured in C on this machine (ext4, mapping cached page by page,
        // msync after each append): 4 KiB appends synced in 85-101 us on
        // fallocated blocks, 45-58 us on blocks allocated ahead; 64 KiB in
        // 165-199 against 88-129 us. The cost is writing the zeros once.
        let end = off.saturating_add(len).min(self.map.map.len());
        if off >= end || self.map.guard.failed() {
            return;
        }
        let written = sys::write_back(&self.map.file, off as u64, (end - off) as u64);
        self.after_write_back(written, off, end - off);
    }

    fn written(&self, off: usize, len: usize) {
        // Write-back write-protects every page still mapped writable, one TLB
        // shootdown each, and each interrupts the writer's core: sealing a
        // 64 MiB segment cost the appending thread a tenth of its time.
        // Dropping the page-table entries first takes one shootdown for the
        // whole range; readers fault the pages back in from the page cache.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let page = rustix::param::page_size();
            let start = off / page * page;
            let end = off.saturating_add(len).min(self.map.map.len()) / page * page;
            if start < end {
                // SAFETY: the mapping is shared and file-backed, so
                // MADV_DONTNEED drops page-table entries only: the page cache
                // keeps every byte (the dirty bits of the entries go to the
                // pages, which write-back still writes), and the next access
                // faults the same bytes back in. Only a private mapping would
                // lose data, and this one never is.
                let _ = unsafe {
                    self.map.map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (off, len);
    }

    fn expect_reads(&self) {
        // A writable mapping starts out without readahead (MADV_RANDOM, see
        // expect_small_syncs). Left so, a sealed segment that is no longer in
        // the page cache (after a restart) is read back one page per fault:
        // a cold scan of 256 MiB through a writable log ran at 110 MB/s
        // against 976 MB/s through a read-only one.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = self.map.map.advise(memmap2::Advice::Normal);
        self.written(0, self.map.map.len());
    }
}

impl OsMapped {
    fn after_write_back(&self, written: io::Result<()>, off: usize, len: usize) {
        match written {
            // Written back, the pages are clean and write-protected: fault them
            // in writable again, or the writer takes a fault per page.
            Ok(()) => self.prefault(off, len),
            Err(_) => self.write_back_failed.store(true, Ordering::Release),
        }
    }
}

/// An empty file: nothing to map, read, or write back.
struct EmptyFile(Region);

impl MappedFile for EmptyFile {
    fn region(&self) -> &Region {
        &self.0
    }

    fn sync(&self, _off: usize, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a sync past the end of an empty file",
        ))
    }
}

fn not_regular() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")
}

fn map(file: File, writable: bool) -> io::Result<OsMapped> {
    let meta = file.metadata()?;
    if !sys::is_plain_file(&meta) {
        return Err(not_regular());
    }
    if meta.len() == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty file"));
    }
    let map = if writable {
        MmapRaw::map_raw(&file)?
    } else {
        memmap2::MmapOptions::new().map_raw_read_only(&file)?
    };
    // Writable files start out expecting small syncs (see expect_small_syncs).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if writable {
        let _ = map.advise(memmap2::Advice::Random);
    }
    let map = Arc::new(GuardedMap {
        guard: Guard::register(map.as_ptr(), map.len()),
        map,
        file,
        _after: AfterUnmap,
    });
    // SAFETY: the mapping lives as long as `map`, which the region keeps alive;
    // a read-only mapping is never written because read-only logs never write.
    let region = unsafe { Region::new(map.map.as_mut_ptr(), map.map.len(), map.clone()) };
    Ok(OsMapped {
        map,
        region,
        write_back_failed: AtomicBool::new(false),
    })
}

impl FileSystem for OsFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        sys::create_dir_all(dir)
    }

    fn lock(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        sys::owner_only(&mut opts);
        sys::no_follow(&mut opts);
        let file = opts.open(dir.join("LOCK"))?;
        sys::check_opened(&file)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let lock = OsLock(file);
        // Only the holder of the lock may tidy the directory.
        sys::after_lock(dir)?;
        Ok(Some(Box::new(lock)))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let kind = if sys::is_link_entry(&entry)? {
                EntryKind::Other
            } else if ft.is_file() {
                EntryKind::File
            } else if ft.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::Other
            };
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not a name walnut would ever create
            };
            out.push(DirEntry { name, kind });
        }
        Ok(out)
    }

    fn create_mapped(&self, path: &Path, size: u64) -> io::Result<Arc<dyn MappedFile>> {
        let mut opts = OpenOptions::new();
        // create_new never follows a link: it fails if anything has the name.
        opts.read(true).write(true).create_new(true);
        sys::owner_only(&mut opts);
        let file = opts.open(path)?;
        // Real blocks, not a sparse hole: a full disk must fail here, cleanly,
        // rather than as SIGBUS on the first store into an unbacked page.
        if let Err(e) = sys::preallocate(&file, size) {
            drop(file);
            let _ = fs::remove_file(path);
            return Err(e);
        }
        Ok(Arc::new(map(file, true)?))
    }

    fn open_mapped(&self, path: &Path, writable: bool) -> io::Result<Arc<dyn MappedFile>> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(writable);
        sys::no_follow(&mut opts);
        let file = opts.open(path)?;
        let meta = file.metadata()?;
        // Nothing maps zero bytes. An empty file is an empty region here, as
        // on the memory file system, so that the caller judges it by what it
        // holds: a segment a crash left between its creation and its
        // allocation is one, and recovery removes it.
        if sys::is_plain_file(&meta) && meta.len() == 0 {
            return Ok(Arc::new(EmptyFile(Region::heap(0))));
        }
        Ok(Arc::new(map(file, writable)?))
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        sys::owner_only(&mut opts);
        let mut file = opts.open(path)?;
        file.write_all(data)?;
        file.sync_data()
    }

    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = fs::symlink_metadata(path)?;
        if !sys::is_plain_file(&meta) {
            return Err(not_regular());
        }
        fs::read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        sys::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        sys::remove(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sys::sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mapped file of `size` bytes in a new temporary directory (removed
    /// when the returned guard is dropped).
    fn new_segment(size: usize) -> (tempfile::TempDir, std::path::PathBuf, Arc<dyn MappedFile>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let file = OsFs.create_mapped(&path, size as u64).unwrap();
        (dir, path, file)
    }

    #[test]
    fn a_failed_write_back_fails_every_later_sync() {
        // The kernel reports a write error to one call per open file; if the
        // background write-back took it, the syncs must still fail.
        let (_dir, path, file) = new_segment(1 << 20);
        drop(file);
        let file = OpenOptions::new().read(true).write(true).open(&path);
        let mapped = map(file.unwrap(), true).unwrap();
        mapped.sync(0, 4096).unwrap();
        mapped.after_write_back(Err(io::Error::from_raw_os_error(5)), 0, 4096);
        for _ in 0..2 {
            assert!(
                mapped.sync(0, 4096).is_err(),
                "a sync after a failed write-back succeeded"
            );
        }
    }

    #[test]
    fn allocating_ahead_changes_no_byte_and_leaves_the_pages_writable() {
        let size = 4 << 20;
        let (_dir, path, file) = new_segment(size);
        file.expect_small_syncs(0, true);
        let region = file.region();
        region.write(0, &[1u8; 5000]);
        // Overlaps the bytes just written, as it may overlap a writer that
        // caught up with the preparer.
        file.allocate_ahead(4096, 2 << 20);
        region.write(8192, &[2u8; 3000]);
        region.write(size - 10, &[3u8; 10]);
        file.sync(0, size).unwrap();
        drop(file);

        assert_runs(
            &path,
            &[
                (0, 5000, 1),
                (5000, 8192, 0),
                (8192, 11192, 2),
                (11192, size - 10, 0),
                (size - 10, size, 3),
            ],
        );
    }

    /// Asserts the file is made of these runs `(from, to, byte)`, end to end.
    fn assert_runs(path: &std::path::Path, runs: &[(usize, usize, u8)]) {
        let bytes = fs::read(path).unwrap();
        assert_eq!(bytes.len(), runs.last().map_or(0, |r| r.1), "file length");
        for &(from, to, value) in runs {
            if let Some(at) = bytes[from..to].iter().position(|&b| b != value) {
                panic!(
                    "byte {} is {}, expected {value}",
                    from + at,
                    bytes[from + at]
                );
            }
        }
    }

    #[test]
    fn unsynced_bytes_survive_the_mapping_giving_up_its_pages_before_the_sync() {
        // `written` and `expect_reads` drop page-table entries of pages that
        // are still dirty; the bytes must stay readable and reach the file,
        // and the page the writer is still filling must keep taking writes.
        let size = 1 << 20;
        let (_dir, path, file) = new_segment(size);
        let region = file.region();
        region.write(100, &[7u8; 10_000]);
        file.written(100, 10_000);
        region.write(10_100, &[8u8; 5_000]);
        assert!(
            region.bytes(100, 10_000).iter().all(|&b| b == 7),
            "the mapping lost unsynced bytes"
        );
        file.sync(0, 15_100).unwrap();
        file.expect_reads();
        assert!(region.bytes(10_100, 5_000).iter().all(|&b| b == 8));
        drop(file);
        assert_runs(
            &path,
            &[
                (0, 100, 0),
                (100, 10_100, 7),
                (10_100, 15_100, 8),
                (15_100, size, 0),
            ],
        );
    }
}
