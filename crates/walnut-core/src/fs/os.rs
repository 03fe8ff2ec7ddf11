//! The real file system: `fallocate` before mapping, `msync(MS_SYNC)` for
//! durability, `flock` for exclusion, `fsync` on the directory after changing
//! its names.

use super::sigbus::Guard;
use super::{DirEntry, DirLock, EntryKind, FileSystem, MappedFile};
use crate::region::Region;
use memmap2::MmapRaw;
use rustix::fs::{FallocateFlags, FlockOperation};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

struct OsLock(#[allow(dead_code)] File); // the open descriptor holds the flock
impl DirLock for OsLock {}

/// A mapping registered with the SIGBUS guard for as long as it exists.
struct GuardedMap {
    // Declared first so it is dropped first: the range is unregistered
    // before it is unmapped.
    guard: Guard,
    map: MmapRaw,
}

struct OsMapped {
    map: Arc<GuardedMap>,
    region: Region,
    // Kept open so the mapping's inode stays reachable for fdatasync-like calls.
    _file: File,
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
        self.map.map.flush_range(off, len)?;
        if self.map.guard.failed() {
            return Err(shrunk());
        }
        Ok(())
    }

    fn failed(&self) -> bool {
        self.map.guard.failed()
    }

    fn prefault(&self) {
        // Faulting pages in writable now keeps page faults off the append path.
        // Older kernels lack MADV_POPULATE_WRITE; then the writer faults lazily.
        // Other systems have no such advice (the writer faults lazily there too).
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = self.map.map.advise(memmap2::Advice::PopulateWrite);
    }
}

fn map(file: File, writable: bool) -> io::Result<Arc<dyn MappedFile>> {
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty file"));
    }
    let map = if writable {
        MmapRaw::map_raw(&file)?
    } else {
        memmap2::MmapOptions::new().map_raw_read_only(&file)?
    };
    let map = Arc::new(GuardedMap {
        guard: Guard::register(map.as_ptr(), map.len()),
        map,
    });
    // SAFETY: the mapping lives as long as `map`, which the region keeps alive;
    // a read-only mapping is never written because read-only logs never write.
    let region = unsafe { Region::new(map.map.as_mut_ptr(), map.map.len(), map.clone()) };
    Ok(Arc::new(OsMapped {
        map,
        region,
        _file: file,
    }))
}

impl FileSystem for OsFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }

    fn lock(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(dir.join("LOCK"))?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Box::new(OsLock(file)))),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let kind = if ft.is_file() {
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
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        // Real blocks, not a sparse hole: a full disk must fail here, cleanly,
        // rather than as SIGBUS on the first store into an unbacked page.
        if let Err(e) = rustix::fs::fallocate(&file, FallocateFlags::empty(), 0, size) {
            drop(file);
            let _ = fs::remove_file(path);
            return Err(e.into());
        }
        map(file, true)
    }

    fn open_mapped(&self, path: &Path, writable: bool) -> io::Result<Arc<dyn MappedFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)?;
        map(file, writable)
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(data)?;
        file.sync_data()
    }

    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = fs::symlink_metadata(path)?;
        if !meta.file_type().is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        fs::read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}
