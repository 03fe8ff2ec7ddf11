//! Windows parts of [`OsFs`](super::OsFs). Compile-checked on Linux
//! (`cargo check --target x86_64-pc-windows-msvc`); exercised only by the
//! GitHub Actions Windows jobs. Requires NTFS (or ReFS) on Windows 10 / Server
//! 2016 or later. Everything is plain `std`, no `unsafe`.
//!
//! **Files that are still mapped cannot be deleted or replaced.** Windows
//! refuses to delete a file while any process has a view of it mapped
//! (`DeleteFileW` fails with `ERROR_ACCESS_DENIED` whatever the share mode,
//! and POSIX-semantics deletion fails the same way), and `rename` cannot
//! replace such a file either. Renaming a mapped file to a name that is free
//! does work (the files are opened with `FILE_SHARE_DELETE`, as `std` always
//! does). walnut removes segment files that a reader may still hold, and
//! replaces mapped files in two places (copy-on-truncate, and rotation over an
//! empty segment). So here:
//!
//! * [`remove`] renames the file to a *tombstone*,
//!   `<name>.removed-<pid>-<n>.walnut-tomb`, in the same directory, then tries
//!   to delete it. If that fails (still mapped), the tombstone is deleted once
//!   the last mapping of this process goes away ([`after_unmap`]), or at the
//!   next writable open ([`after_lock`]). The name is free at once either way,
//!   so a new segment of the same name can be created right away.
//! * [`rename`] first tries an ordinary replacing rename. If the target is in
//!   use, it moves the target aside to `<name>.replaced-<pid>-<n>.walnut-tomb`,
//!   renames the source into place, then turns the aside file into a
//!   `removed` tombstone. A crash between the first two renames leaves no file
//!   under the name and the old file aside: the next writable open renames it
//!   back ([`after_lock`]), so a crash still shows the old file or the new one,
//!   never neither. This relies on NTFS keeping metadata operations in order
//!   across a crash (a crash keeps a prefix of them), which is what its journal
//!   does.
//!
//! Tombstones are never mistaken for log files: segment names are parsed
//! strictly, and nothing else walnut reads ends in `.walnut-tomb`.
//!
//! **Directory sync is a no-op.** Windows offers no documented way to flush a
//! directory (`FlushFileBuffers` on a directory handle is not supported). NTFS
//! records creations, renames and removals in its metadata journal, in order;
//! walnut assumes, as SQLite does on Windows, that a name change is durable
//! once a later `FlushFileBuffers` on the same volume has returned (walnut's
//! next sync of any of its files does one). This is an assumption about NTFS,
//! not something a test here checks.
//!
//! **Permissions.** Files and the directory get the access control list they
//! inherit from the parent directory: `std` cannot pass a security descriptor
//! at creation, and walnut does not set one afterwards. Put the log under a
//! directory that only its owner can read (a user's profile directory is,
//! by default).
//!
//! **Links.** Files are opened with `FILE_FLAG_OPEN_REPARSE_POINT`, so a
//! symbolic link, junction or other reparse point is opened as itself rather
//! than followed, and then refused. `create_new` never follows one either.
//!
//! **Preallocation** is `File::set_len` (`SetEndOfFile`): NTFS allocates the
//! clusters of a non-sparse file when its end of file is extended (reading
//! zeros where nothing was written), so a full disk fails there with
//! `ERROR_DISK_FULL`. In an NTFS-compressed directory allocation is deferred:
//! a full disk then fails a later sync instead (a poisoned handle, not a
//! crash: Windows allocates when it writes dirty pages back, not when the
//! mapping is stored into).

use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::io;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// `FILE_FLAG_OPEN_REPARSE_POINT`: open a reparse point itself, not its target.
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
/// `FILE_ATTRIBUTE_REPARSE_POINT`.
const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x0400;
/// `ERROR_ACCESS_DENIED`: what deleting or replacing a mapped file fails with.
const ERROR_ACCESS_DENIED: i32 = 5;
/// `ERROR_SHARING_VIOLATION`.
const ERROR_SHARING_VIOLATION: i32 = 32;
/// `ERROR_USER_MAPPED_FILE`: "a file with a user-mapped section open".
const ERROR_USER_MAPPED_FILE: i32 = 1224;

/// Suffix of every tombstone.
const TOMB: &str = ".walnut-tomb";
/// A file that was removed: delete it.
const REMOVED: &str = "removed";
/// A file moved aside by a replacement that may not have completed.
const REPLACED: &str = "replaced";

/// Tombstones this process could not delete yet (still mapped).
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

pub(super) fn create_dir_all(dir: &Path) -> io::Result<()> {
    // The directory inherits its parent's ACL (see the module docs).
    DirBuilder::new().recursive(true).create(dir)
}

/// Nothing to set: the file inherits the directory's ACL (see the module docs).
pub(super) fn owner_only(_opts: &mut OpenOptions) {}

/// A reparse point at the name is opened as itself, never followed;
/// [`check_opened`] then refuses it.
pub(super) fn no_follow(opts: &mut OpenOptions) {
    opts.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

fn is_reparse_point(meta: &Metadata) -> bool {
    meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0
}

/// Refuses a file opened with [`no_follow`] that is a link (or any other
/// reparse point), as `O_NOFOLLOW` does on Unix.
pub(super) fn check_opened(file: &File) -> io::Result<()> {
    if is_reparse_point(&file.metadata()?) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a symbolic link or other reparse point; refusing to follow it",
        ));
    }
    Ok(())
}

/// A regular file that is not a reparse point of any kind.
pub(super) fn is_plain_file(meta: &Metadata) -> bool {
    meta.file_type().is_file() && !is_reparse_point(meta)
}

/// Whether a directory entry is a reparse point (its attributes come with
/// the listing: no extra system call).
pub(super) fn is_link_entry(entry: &fs::DirEntry) -> io::Result<bool> {
    Ok(is_reparse_point(&entry.metadata()?))
}

pub(super) fn preallocate(file: &File, size: u64) -> io::Result<()> {
    file.set_len(size)
}

/// No-op: see "Directory sync" in the module docs.
pub(super) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Whether an error may mean "the file is mapped or open elsewhere".
fn in_use(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION | ERROR_USER_MAPPED_FILE)
    )
}

/// A free tombstone name for `path`, in its directory.
fn tomb_for(path: &Path, kind: &str) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tomb = path.with_file_name(format!("{name}.{kind}-{}-{n}{TOMB}", std::process::id()));
        match fs::symlink_metadata(&tomb) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(tomb),
            Err(e) => return Err(e),
            Ok(_) => continue, // left by an earlier process with the same id
        }
    }
}

/// Deletes a tombstone now, or once nothing maps it any more.
fn bury(tomb: PathBuf) {
    if fs::remove_file(&tomb).is_err() {
        PENDING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tomb);
    }
}

/// Removes `path`: renamed to a tombstone at once (works while mapped), and
/// deleted as soon as Windows lets us (see the module docs). A missing file
/// is `NotFound`, as on Unix.
pub(super) fn remove(path: &Path) -> io::Result<()> {
    let tomb = tomb_for(path, REMOVED)?;
    fs::rename(path, &tomb)?;
    bury(tomb);
    Ok(())
}

/// Renames `from` to `to`, replacing `to` even while it is mapped (see the
/// module docs for how, and what a crash in between leaves).
pub(super) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    let err = match fs::rename(from, to) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    if !in_use(&err) || fs::symlink_metadata(to).is_err() || fs::symlink_metadata(from).is_err() {
        return Err(err);
    }
    // `to` is mapped (here or in another process): move it aside first.
    let aside = tomb_for(to, REPLACED)?;
    fs::rename(to, &aside)?;
    if let Err(e) = fs::rename(from, to) {
        // Undo, so the caller sees nothing changed. If even that fails, the
        // next writable open puts the old file back.
        let _ = fs::rename(&aside, to);
        return Err(e);
    }
    // Committed. From here the old file is garbage: make it a `removed`
    // tombstone, so no later open takes it for an interrupted replacement.
    match tomb_for(to, REMOVED).and_then(|dead| fs::rename(&aside, &dead).map(|()| dead)) {
        Ok(dead) => bury(dead),
        // `to` exists, so an open deletes this one rather than restoring it.
        Err(_) => bury(aside),
    }
    Ok(())
}

/// Nothing: Windows has no call that writes a range of a file's cache back
/// without flushing the drive, so blocks are allocated by the syncs.
pub(super) fn write_back(_file: &File, _off: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

/// Called each time one of this process's mappings has gone away (and its
/// file handle closed): deletes the tombstones that mapping may have kept.
pub(super) fn after_unmap() {
    let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
    // Kept only while still in use; any other failure is left to the next
    // writable open, which sweeps the directory.
    pending.retain(|tomb| fs::remove_file(tomb).is_err_and(|e| in_use(&e)));
}

/// Called once the directory lock is held: finishes what a crashed process
/// left. A `replaced` tombstone whose original name is missing is a
/// replacement interrupted between its two renames: it is renamed back. Every
/// other tombstone is deleted (a failure, e.g. another process still mapping
/// it, leaves it for the next open).
pub(super) fn after_lock(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some((original, tag)) = name.strip_suffix(TOMB).and_then(|s| s.rsplit_once('.')) else {
            continue;
        };
        let tomb = dir.join(&name);
        if tag.starts_with(REPLACED) {
            let original = dir.join(original);
            match fs::symlink_metadata(&original) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::rename(&tomb, &original)?;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        let _ = fs::remove_file(&tomb);
    }
    Ok(())
}
