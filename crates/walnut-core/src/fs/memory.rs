//! An in-memory file system with the durability model of a real disk, for
//! tests (ours and our users').
//!
//! Each file has a *volatile* image (the page cache: what reads and the mapping
//! see) and a *durable* image (what survives power loss). `sync` copies pages
//! from the first to the second. Directory changes (create, rename, remove) are
//! volatile until `sync_dir` of their directory. [`MemoryFs::crash_with`]
//! builds the disk "as after power loss now", letting the caller decide the
//! fate of every page that was written but not synced; that is how the crash
//! tests enumerate states in the manner of ALICE and SQLite's crash tests.
//!
//! A page's fate applies to the bytes written since its last sync; bytes
//! that were synced and not rewritten survive whatever happens to the page
//! (the "powersafe overwrite" property SQLite documents, which every
//! append-only log depends on).
//!
//! Directory changes are kept in a *journal* until `sync_dir`: a crash may
//! keep any prefix of it ([`MemoryFs::crash_with_dir_ops`]), as a file system
//! that journals metadata in order (ext4, xfs) may have committed some of the
//! changes on its own before the power went out.
//!
//! Faults ([`MemoryFsFault`]) make chosen operations fail, once or for good.
//! A hook ([`MemoryFs::on_op`]) sees every operation as it completes, so a
//! test can take a [`MemoryFs::snapshot`] "as after operation k" for every k.

use super::{DirEntry, DirLock, EntryKind, FileSystem, MappedFile};
use crate::region::Region;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

/// Size of the unit in which unsynced data survives or is lost after a crash.
pub const PAGE: usize = 4096;

/// Operations a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    /// `MappedFile::sync` (msync/fdatasync).
    Sync,
    /// `MappedFile::write_parts` (a write call). A failed one still leaves
    /// its bytes in the file, the worst case for the caller.
    Write,
    /// `create_mapped` (file creation and preallocation).
    Create,
    /// `write_file`.
    WriteFile,
    /// `rename`.
    Rename,
    /// `remove`.
    Remove,
    /// `sync_dir`.
    SyncDir,
    /// `open_mapped` (opening an existing file).
    Open,
    /// `list` (reading the directory).
    List,
}

/// One completed (or failed) file-system operation, as the hook sees it.
#[derive(Debug, Clone)]
pub struct OpRecord {
    /// Sequence number: 1 for the first operation of this file system.
    pub seq: u64,
    /// Which operation.
    pub op: FaultOp,
    /// The file or directory it acted on (the source of a rename).
    pub path: PathBuf,
    /// Whether it succeeded.
    pub ok: bool,
}

/// Called after every operation; it may inspect or snapshot the file system
/// (no lock of the file system is held while it runs).
pub type OpHook = Arc<dyn Fn(&MemoryFs, &OpRecord) + Send + Sync>;

/// A directory change not yet made durable by `sync_dir`.
#[derive(Clone)]
enum DirOp {
    Link(PathBuf, Arc<MemFile>),
    Unlink(PathBuf),
    Rename(PathBuf, PathBuf),
}

impl DirOp {
    fn dir(&self) -> Option<&Path> {
        match self {
            DirOp::Link(p, _) | DirOp::Unlink(p) | DirOp::Rename(p, _) => p.parent(),
        }
    }

    fn apply(&self, names: &mut BTreeMap<PathBuf, Arc<MemFile>>) {
        match self {
            DirOp::Link(p, f) => {
                names.insert(p.clone(), f.clone());
            }
            DirOp::Unlink(p) => {
                names.remove(p);
            }
            DirOp::Rename(from, to) => {
                if let Some(f) = names.remove(from) {
                    names.insert(to.clone(), f);
                }
            }
        }
    }
}

/// A fault to inject: the next `times` calls of `op` fail with `errno`
/// (`times == None`: every call from now on).
#[derive(Debug, Clone)]
pub struct MemoryFsFault {
    /// Which operation fails.
    pub op: FaultOp,
    /// The OS error number to report (e.g. `libc` EIO = 5, ENOSPC = 28).
    pub errno: i32,
    /// How many calls fail; `None` for all of them.
    pub times: Option<u32>,
}

/// What happens to one unsynced page in a simulated power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFate {
    /// The write never reached the disk: the durable content stays.
    Lost,
    /// The write reached the disk.
    Kept,
    /// The disk returned zeros for the page.
    Zeroed,
    /// The disk returned garbage (the byte pattern is derived from the seed).
    Garbage(u64),
}

struct MemFile {
    region: Region,
    durable: Mutex<Vec<u8>>,
    /// Weak: the state holds its files, so a strong pointer back would be a
    /// cycle and no file would ever be freed.
    fs: Weak<Mutex<State>>,
    /// The name the file was last given (for the operation log only).
    path: Mutex<PathBuf>,
}

impl MemFile {
    fn new(fs: &Arc<Mutex<State>>, path: &Path, image: &[u8], durable: Vec<u8>) -> Arc<MemFile> {
        let region = Region::heap(image.len());
        region.write(0, image);
        Arc::new(MemFile {
            region,
            durable: Mutex::new(durable),
            fs: Arc::downgrade(fs),
            path: Mutex::new(path.to_path_buf()),
        })
    }
}

impl MappedFile for MemFile {
    fn region(&self) -> &Region {
        &self.region
    }

    fn write_parts(&self, off: usize, parts: &[io::IoSlice<'_>]) -> io::Result<()> {
        self.region.write_parts(off, parts);
        // The path is copied out first: the hook snapshots every file, and
        // locks each one's path to do so.
        let path = self.path.lock().clone();
        match self.fs.upgrade() {
            Some(fs) => {
                let result = check_fault(&fs, FaultOp::Write);
                finish(&fs, FaultOp::Write, &path, result)
            }
            None => Ok(()),
        }
    }

    fn sync(&self, off: usize, len: usize) -> io::Result<()> {
        let path = self.path.lock().clone();
        // A file outliving its file system (still mapped) syncs without
        // faults or hook.
        let fs = self.fs.upgrade();
        let fault = fs
            .as_ref()
            .map_or(Ok(()), |fs| check_fault(fs, FaultOp::Sync));
        let result = fault.map(|()| {
            let start = off / PAGE * PAGE;
            let end = (off + len)
                .div_ceil(PAGE)
                .saturating_mul(PAGE)
                .min(self.region.len());
            let mut durable = self.durable.lock();
            durable[start..end].copy_from_slice(self.region.bytes(start, end - start));
        });
        match &fs {
            Some(fs) => finish(fs, FaultOp::Sync, &path, result),
            None => result,
        }
    }
}

#[derive(Default)]
struct State {
    files: BTreeMap<PathBuf, Arc<MemFile>>,
    durable_names: BTreeMap<PathBuf, Arc<MemFile>>,
    /// Directory changes since the last `sync_dir` of their directory, in order.
    journal: Vec<DirOp>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    faults: Vec<MemoryFsFault>,
    ops: u64,
    hook: Option<OpHook>,
}

impl State {
    /// The durable namespace after the first `kept` journal entries reached
    /// the disk.
    fn names_after(&self, kept: usize) -> BTreeMap<PathBuf, Arc<MemFile>> {
        let mut names = self.durable_names.clone();
        for op in self.journal.iter().take(kept) {
            op.apply(&mut names);
        }
        names
    }
}

fn check_fault(state: &Mutex<State>, op: FaultOp) -> io::Result<()> {
    let mut st = state.lock();
    let Some(pos) = st.faults.iter().position(|f| f.op == op) else {
        return Ok(());
    };
    let errno = st.faults[pos].errno;
    if let Some(times) = &mut st.faults[pos].times {
        *times -= 1;
        if *times == 0 {
            st.faults.remove(pos);
        }
    }
    Err(io::Error::from_raw_os_error(errno))
}

/// Counts an operation and runs the hook, outside every lock.
fn finish<T>(
    state: &Arc<Mutex<State>>,
    op: FaultOp,
    path: &Path,
    result: io::Result<T>,
) -> io::Result<T> {
    let (seq, hook) = {
        let mut st = state.lock();
        st.ops += 1;
        (st.ops, st.hook.clone())
    };
    if let Some(hook) = hook {
        let fs = MemoryFs {
            state: state.clone(),
        };
        let record = OpRecord {
            seq,
            op,
            path: path.to_path_buf(),
            ok: result.is_ok(),
        };
        hook(&fs, &record);
    }
    result
}

/// An in-memory [`FileSystem`]. Cloning shares the same files.
#[derive(Clone, Default)]
pub struct MemoryFs {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.lock();
        f.debug_struct("MemoryFs")
            .field("files", &st.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct MemLock {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
}
impl DirLock for MemLock {}
impl Drop for MemLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.dir);
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl MemoryFs {
    /// An empty file system.
    pub fn new() -> MemoryFs {
        MemoryFs::default()
    }

    /// Adds a fault; faults on the same operation apply in the order added.
    pub fn inject(&self, fault: MemoryFsFault) {
        self.state.lock().faults.push(fault);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Installs (or with `None` removes) the function called after every
    /// operation. A crash test uses it to snapshot the disk after each one.
    pub fn on_op(&self, hook: Option<OpHook>) {
        self.state.lock().hook = hook;
    }

    /// Operations performed so far (successful or not).
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// Directory changes not yet made durable by `sync_dir`; a crash may keep
    /// any prefix of them (see [`MemoryFs::crash_with_dir_ops`]).
    pub fn pending_dir_ops(&self) -> usize {
        self.state.lock().journal.len()
    }

    /// An independent copy of this file system as it is now: volatile and
    /// durable images, names and pending directory changes. Locks, faults and
    /// the hook are not copied.
    pub fn snapshot(&self) -> MemoryFs {
        let st = self.state.lock();
        let next = MemoryFs::new();
        let mut copies: BTreeMap<*const MemFile, Arc<MemFile>> = BTreeMap::new();
        let mut copy = |f: &Arc<MemFile>| -> Arc<MemFile> {
            copies
                .entry(Arc::as_ptr(f))
                .or_insert_with(|| {
                    let image = f.region.bytes(0, f.region.len());
                    let durable = f.durable.lock().clone();
                    MemFile::new(&next.state, &f.path.lock(), image, durable)
                })
                .clone()
        };
        let files = st.files.iter().map(|(p, f)| (p.clone(), copy(f))).collect();
        let durable_names = st
            .durable_names
            .iter()
            .map(|(p, f)| (p.clone(), copy(f)))
            .collect();
        let journal = st
            .journal
            .iter()
            .map(|op| match op {
                DirOp::Link(p, f) => DirOp::Link(p.clone(), copy(f)),
                other => other.clone(),
            })
            .collect();
        {
            let mut nst = next.state.lock();
            nst.files = files;
            nst.durable_names = durable_names;
            nst.journal = journal;
            nst.dirs = st.dirs.clone();
            nst.ops = st.ops;
        }
        next
    }

    /// The file system as a power loss right now would leave it, with every
    /// unsynced page lost. Locks are not carried over (the process died).
    pub fn crash(&self) -> MemoryFs {
        self.crash_with(|_, _| PageFate::Lost)
    }

    /// The pages whose volatile content differs from the durable one, in the
    /// files a crash keeping no pending directory change would leave (the
    /// pages a crash could treat in different ways).
    pub fn dirty_pages(&self) -> Vec<(PathBuf, usize)> {
        self.dirty_pages_with_dir_ops(0)
    }

    /// Like [`MemoryFs::dirty_pages`], for a crash that keeps the first
    /// `kept` pending directory changes.
    pub fn dirty_pages_with_dir_ops(&self, kept: usize) -> Vec<(PathBuf, usize)> {
        let st = self.state.lock();
        let mut out = Vec::new();
        for (path, file) in &st.names_after(kept) {
            let durable = file.durable.lock();
            for page in 0..durable.len().div_ceil(PAGE) {
                let start = page * PAGE;
                let end = (start + PAGE).min(durable.len());
                if file.region.bytes(start, end - start) != &durable[start..end] {
                    out.push((path.clone(), page));
                }
            }
        }
        out
    }

    /// The file system after a power loss, with `fate(path, page)` deciding
    /// each unsynced page of each file whose name was durable. Names created,
    /// renamed or removed since the last `sync_dir` revert to their durable state.
    pub fn crash_with(&self, fate: impl FnMut(&Path, usize) -> PageFate) -> MemoryFs {
        self.crash_with_dir_ops(0, fate)
    }

    /// The file system after a power loss in which the first `kept` pending
    /// directory changes reached the disk (in order) and the rest did not;
    /// `fate(path, page)` decides each unsynced page of each surviving file.
    pub fn crash_with_dir_ops(
        &self,
        kept: usize,
        mut fate: impl FnMut(&Path, usize) -> PageFate,
    ) -> MemoryFs {
        let st = self.state.lock();
        let next = MemoryFs::new();
        let mut nst = next.state.lock();
        nst.dirs = st.dirs.clone();
        for (path, file) in &st.names_after(kept) {
            let mut image = file.durable.lock().clone();
            for page in 0..image.len().div_ceil(PAGE) {
                let start = page * PAGE;
                let end = (start + PAGE).min(image.len());
                let volatile = file.region.bytes(start, end - start);
                if volatile == &image[start..end] {
                    continue;
                }
                let fate = fate(path, page);
                let mut x = match fate {
                    PageFate::Garbage(seed) => seed | 1,
                    _ => 1,
                };
                for (b, &new) in image[start..end].iter_mut().zip(volatile) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if *b == new {
                        continue;
                    }
                    *b = match fate {
                        PageFate::Lost => *b,
                        PageFate::Kept => new,
                        PageFate::Zeroed => 0,
                        PageFate::Garbage(_) => x as u8,
                    };
                }
            }
            let file = MemFile::new(&next.state, path, &image, image.clone());
            nst.files.insert(path.clone(), file.clone());
            nst.durable_names.insert(path.clone(), file);
        }
        drop(nst);
        next
    }

    /// Overwrites bytes of a file in place, in both its volatile and durable
    /// images, as damage on the medium would (for corruption tests).
    pub fn damage(&self, path: &Path, offset: usize, bytes: &[u8]) -> io::Result<()> {
        let st = self.state.lock();
        let file = st.files.get(path).ok_or_else(|| not_found(path))?;
        if offset + bytes.len() > file.region.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "damage beyond the end of the file",
            ));
        }
        file.region.write(offset, bytes);
        file.durable.lock()[offset..offset + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn insert(&self, path: &Path, image: Vec<u8>, durable: Vec<u8>) -> Arc<MemFile> {
        let file = MemFile::new(&self.state, path, &image, durable);
        let mut st = self.state.lock();
        st.files.insert(path.to_path_buf(), file.clone());
        st.journal
            .push(DirOp::Link(path.to_path_buf(), file.clone()));
        file
    }

    fn parent_exists(&self, path: &Path) -> io::Result<()> {
        let parent = path.parent().unwrap_or(Path::new(""));
        if self.state.lock().dirs.contains(parent) {
            Ok(())
        } else {
            Err(not_found(parent))
        }
    }

    fn finish<T>(&self, op: FaultOp, path: &Path, result: io::Result<T>) -> io::Result<T> {
        finish(&self.state, op, path, result)
    }
}

impl FileSystem for MemoryFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        for anc in dir.ancestors() {
            st.dirs.insert(anc.to_path_buf());
        }
        Ok(())
    }

    fn lock(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>> {
        let mut st = self.state.lock();
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        if !st.locks.insert(dir.to_path_buf()) {
            return Ok(None);
        }
        Ok(Some(Box::new(MemLock {
            dir: dir.to_path_buf(),
            state: self.state.clone(),
        })))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        check_fault(&self.state, FaultOp::List)?;
        let st = self.state.lock();
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let files = st
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .map(|p| DirEntry {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                kind: EntryKind::File,
            });
        let dirs = st
            .dirs
            .iter()
            .filter(|p| p.parent() == Some(dir))
            .map(|p| DirEntry {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                kind: EntryKind::Dir,
            });
        Ok(files.chain(dirs).collect())
    }

    fn create_mapped(&self, path: &Path, size: u64) -> io::Result<Arc<dyn MappedFile>> {
        let result = (|| -> io::Result<()> {
            check_fault(&self.state, FaultOp::Create)?;
            self.parent_exists(path)?;
            if self.state.lock().files.contains_key(path) {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
            }
            // Made empty, then allocated, as on a real disk: a crash in
            // between may leave the name with no bytes behind it (the first
            // link without the second), and the hook sees that state too.
            self.insert(path, Vec::new(), Vec::new());
            Ok(())
        })();
        self.finish(FaultOp::Create, path, result)?;
        let size = size as usize;
        let file: Arc<dyn MappedFile> = self.insert(path, vec![0; size], vec![0; size]);
        self.finish(FaultOp::Create, path, Ok(file))
    }

    fn open_mapped(&self, path: &Path, _writable: bool) -> io::Result<Arc<dyn MappedFile>> {
        check_fault(&self.state, FaultOp::Open)?;
        let st = self.state.lock();
        let file = st.files.get(path).ok_or_else(|| not_found(path))?;
        Ok(file.clone())
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let result = (|| {
            check_fault(&self.state, FaultOp::WriteFile)?;
            self.parent_exists(path)?;
            if self.state.lock().files.contains_key(path) {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
            }
            self.insert(path, data.to_vec(), data.to_vec());
            Ok(())
        })();
        self.finish(FaultOp::WriteFile, path, result)
    }

    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let st = self.state.lock();
        let file = st.files.get(path).ok_or_else(|| not_found(path))?;
        Ok(file.region.bytes(0, file.region.len()).to_vec())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let result = (|| {
            check_fault(&self.state, FaultOp::Rename)?;
            let mut st = self.state.lock();
            let file = st.files.remove(from).ok_or_else(|| not_found(from))?;
            *file.path.lock() = to.to_path_buf();
            st.files.insert(to.to_path_buf(), file);
            st.journal
                .push(DirOp::Rename(from.to_path_buf(), to.to_path_buf()));
            Ok(())
        })();
        self.finish(FaultOp::Rename, from, result)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let result = (|| {
            check_fault(&self.state, FaultOp::Remove)?;
            let mut st = self.state.lock();
            st.files.remove(path).ok_or_else(|| not_found(path))?;
            st.journal.push(DirOp::Unlink(path.to_path_buf()));
            Ok(())
        })();
        self.finish(FaultOp::Remove, path, result)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let result = (|| {
            check_fault(&self.state, FaultOp::SyncDir)?;
            let mut st = self.state.lock();
            let journal = std::mem::take(&mut st.journal);
            let (done, pending): (Vec<_>, Vec<_>) =
                journal.into_iter().partition(|op| op.dir() == Some(dir));
            for op in &done {
                op.apply(&mut st.durable_names);
            }
            st.journal = pending;
            Ok(())
        })();
        self.finish(FaultOp::SyncDir, dir, result)
    }
}
