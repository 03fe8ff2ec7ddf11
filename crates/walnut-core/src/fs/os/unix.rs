//! Unix parts of [`OsFs`](super::OsFs): modes 0600/0700, `O_NOFOLLOW`,
//! `fallocate`, and `fsync` on the directory. Removing or renaming a file that
//! is still mapped is an ordinary unlink or rename here: the mapping keeps
//! the inode alive.

use rustix::fs::{FallocateFlags, OFlags};
use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

pub(super) fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Files walnut creates are readable and writable by their owner only.
pub(super) fn owner_only(opts: &mut OpenOptions) {
    opts.mode(0o600);
}

/// A symlink at the name fails the open (`ELOOP`) instead of being followed.
pub(super) fn no_follow(opts: &mut OpenOptions) {
    opts.custom_flags(OFlags::NOFOLLOW.bits() as i32);
}

/// Nothing left to check after an `O_NOFOLLOW` open.
pub(super) fn check_opened(_file: &File) -> io::Result<()> {
    Ok(())
}

/// A regular file (never a symlink: metadata here does not follow them).
pub(super) fn is_plain_file(meta: &Metadata) -> bool {
    meta.file_type().is_file()
}

/// Directory entries need no check beyond their type here.
pub(super) fn is_link_entry(_entry: &fs::DirEntry) -> io::Result<bool> {
    Ok(false)
}

/// Allocates the blocks (Linux `fallocate`, macOS `F_PREALLOCATE` plus
/// `ftruncate`): a full disk fails here, never as SIGBUS in the mapping.
pub(super) fn preallocate(file: &File, size: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, FallocateFlags::empty(), 0, size).map_err(io::Error::from)
}

/// Writes the dirty pages of a range of `file` to disk and waits for them
/// (Linux `sync_file_range`, which neither flushes the drive's cache nor
/// writes metadata: it is no sync). Elsewhere nothing.
pub(super) fn write_back(file: &File, off: u64, len: u64) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        let (off, len) = (off as libc::off64_t, len as libc::off64_t);
        // SAFETY: integers and a descriptor that `file` keeps open; no memory
        // is passed.
        if unsafe { libc::sync_file_range(file.as_raw_fd(), off, len, flags) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (file, off, len);
    Ok(())
}

/// Writes `parts` back to back at `off`, however many calls it takes.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn write_parts(
    file: &File,
    off: u64,
    mut parts: &mut [io::IoSlice<'_>],
) -> io::Result<()> {
    // Linux takes at most this many parts per call (IOV_MAX).
    const MAX_PARTS: usize = 1024;
    let mut off = off;
    while !parts.is_empty() {
        let n = parts.len().min(MAX_PARTS);
        let written = match rustix::io::pwritev(file, &parts[..n], off) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(w) => w,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        off += written as u64;
        io::IoSlice::advance_slices(&mut parts, written);
    }
    Ok(())
}

pub(super) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)
}

pub(super) fn remove(path: &Path) -> io::Result<()> {
    fs::remove_file(path)
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Nothing waits for a mapping to go away on Unix.
pub(super) fn after_unmap() {}

/// Nothing to tidy at open on Unix.
pub(super) fn after_lock(_dir: &Path) -> io::Result<()> {
    Ok(())
}
