//! The file-system boundary. Every file operation of the log goes through
//! [`FileSystem`], so tests can swap the real one ([`OsFs`]) for an in-memory
//! one ([`MemoryFs`]) that can simulate power loss and inject faults.
//!
//! Files walnut writes are fixed-size and memory-mapped ([`MappedFile`]):
//! segments and the two-slot metadata files alike. Small whole files
//! (snapshots, backups) go through [`FileSystem::write_file`].

mod memory;
mod os;
mod sigbus;

pub use memory::{FaultOp, MemoryFs, MemoryFsFault, OpHook, OpRecord, PageFate, PAGE};
pub use os::OsFs;

pub use crate::region::Region;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// What a directory entry is. Anything other than a regular file is refused
/// by the log, so a symlink can never redirect writes outside the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link, device, socket or FIFO.
    Other,
}

/// One name in a directory listing.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// File name (not a path).
    pub name: String,
    /// Type of the entry, not following symlinks.
    pub kind: EntryKind,
}

/// A held directory lock, released when dropped.
pub trait DirLock: Send + Sync {}

/// A fixed-size file mapped into memory for reading and (optionally) writing.
pub trait MappedFile: Send + Sync {
    /// The mapped bytes.
    fn region(&self) -> &Region;
    /// Makes `len` bytes at `off` durable (msync(MS_SYNC) or equivalent).
    /// A failure means the bytes may be lost; callers must not retry.
    fn sync(&self, off: usize, len: usize) -> io::Result<()>;
    /// Copies `parts`, back to back, into the file at `off`, as one write
    /// call where the system has one (large appends: a call that covers a
    /// page the page cache does not hold yet spares the kernel zeroing it,
    /// which a store through the mapping makes it do). The bytes must lie
    /// beyond what readers may see. After an error any of them may or may
    /// not be in the file.
    fn write_parts(&self, off: usize, parts: &[io::IoSlice<'_>]) -> io::Result<()> {
        self.region().write_parts(off, parts);
        Ok(())
    }
    /// Faults in the pages of `len` bytes at `off` ahead of use, so the writer
    /// does not pay for page faults on the hot path. Best effort.
    fn prefault(&self, _off: usize, _len: usize) {}
    /// Tells the page cache how the bytes from `off` on will be made durable.
    /// `true` (the state of a new writable mapping): a few records at a time,
    /// so each sync should write back only the pages stored to. `false`: in
    /// bulk, long after they were written, so pages may be cached in large
    /// groups, which are cheaper to fault in. Only speed depends on it.
    fn expect_small_syncs(&self, _off: usize, _small: bool) {}
    /// Tells the page cache the file will only be read from now on (a sealed
    /// segment, before its last sync), in order: it may read ahead, and the
    /// mapping need not stay writable. Only speed depends on it.
    fn expect_reads(&self) {}
    /// Tells the mapping that the whole pages within `len` bytes at `off` are
    /// written for good (the next sync will write them back), so it need not
    /// keep them mapped writable. Only speed depends on it.
    fn written(&self, _off: usize, _len: usize) {}
    /// Has the file system allocate the blocks of `len` bytes at `off` now,
    /// ahead of the writer, by writing the (zero) pages there to disk, and
    /// leaves them faulted in. ext4 converts unwritten (fallocated) extents in
    /// the sync that first covers a block, and writes the inode to disk in the
    /// same sync; allocated ahead, a sync writes data only. Best effort: it
    /// writes only what the page cache holds and never changes a byte; after
    /// an I/O error in it, every later [`MappedFile::sync`] fails.
    fn allocate_ahead(&self, _off: usize, _len: usize) {}
    /// Whether the mapping no longer shows the file: another process shrank
    /// the file and the SIGBUS guard replaced the vanished pages with zeros.
    /// Reads of such a file fail their checksums; syncs fail.
    fn failed(&self) -> bool {
        false
    }
}

/// Operations the log performs on its directory. Implementations must be safe
/// to call from several threads.
pub trait FileSystem: Send + Sync + std::fmt::Debug + 'static {
    /// Creates `dir` (and parents) if missing, with owner-only permissions.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Takes the exclusive lock of `dir`; `Ok(None)` when someone else holds it.
    fn lock(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>>;
    /// Lists `dir`, not following symlinks.
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// Creates a new file of `size` bytes, allocating its blocks up front so
    /// that a full disk is reported here and never as a fault in the mapping.
    fn create_mapped(&self, path: &Path, size: u64) -> io::Result<Arc<dyn MappedFile>>;
    /// Maps an existing regular file (refusing anything else).
    fn open_mapped(&self, path: &Path, writable: bool) -> io::Result<Arc<dyn MappedFile>>;
    /// Creates `path` with `data` and makes it durable (not its directory entry).
    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Reads a whole regular file.
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Renames within a directory (atomic replace).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes creations, renames and removals in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// Removes `path` if it exists: a leftover a crash may or may not have left.
pub(crate) fn remove_if_present(fs: &dyn FileSystem, path: &Path) -> crate::error::Result<()> {
    match fs.remove(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::io(
            format!("removing {}", path.display()),
            e,
        )),
    }
}
