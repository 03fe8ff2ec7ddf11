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
//! Faults ([`MemoryFsFault`]) make chosen operations fail, once or for good.

use super::{DirEntry, DirLock, EntryKind, FileSystem, MappedFile};
use crate::region::Region;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Size of the unit in which unsynced data survives or is lost after a crash.
pub const PAGE: usize = 4096;

/// Operations a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    /// `MappedFile::sync` (msync/fdatasync).
    Sync,
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
    fs: Arc<Mutex<State>>,
}

impl MappedFile for MemFile {
    fn region(&self) -> &Region {
        &self.region
    }

    fn sync(&self, off: usize, len: usize) -> io::Result<()> {
        check_fault(&self.fs, FaultOp::Sync)?;
        let start = off / PAGE * PAGE;
        let end = (off + len)
            .div_ceil(PAGE)
            .saturating_mul(PAGE)
            .min(self.region.len());
        let mut durable = self.durable.lock();
        durable[start..end].copy_from_slice(self.region.bytes(start, end - start));
        Ok(())
    }
}

#[derive(Default)]
struct State {
    files: BTreeMap<PathBuf, Arc<MemFile>>,
    durable_names: BTreeMap<PathBuf, Arc<MemFile>>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    faults: Vec<MemoryFsFault>,
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

    /// The file system as a power loss right now would leave it, with every
    /// unsynced page lost. Locks are not carried over (the process died).
    pub fn crash(&self) -> MemoryFs {
        self.crash_with(|_, _| PageFate::Lost)
    }

    /// Number of pages of `path` whose volatile content differs from the
    /// durable one (the pages a crash could treat in different ways).
    pub fn dirty_pages(&self) -> Vec<(PathBuf, usize)> {
        let st = self.state.lock();
        let mut out = Vec::new();
        for (path, file) in &st.durable_names {
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
    pub fn crash_with(&self, mut fate: impl FnMut(&Path, usize) -> PageFate) -> MemoryFs {
        let st = self.state.lock();
        let next = MemoryFs::new();
        let mut nst = next.state.lock();
        nst.dirs = st.dirs.clone();
        for (path, file) in &st.durable_names {
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
            let region = Region::heap(image.len());
            region.write(0, &image);
            let file = Arc::new(MemFile {
                region,
                durable: Mutex::new(image),
                fs: next.state.clone(),
            });
            nst.files.insert(path.clone(), file.clone());
            nst.durable_names.insert(path.clone(), file);
        }
        drop(nst);
        next
    }

    fn insert(&self, path: &Path, image: Vec<u8>, durable: Vec<u8>) -> Arc<MemFile> {
        let region = Region::heap(image.len());
        region.write(0, &image);
        let file = Arc::new(MemFile {
            region,
            durable: Mutex::new(durable),
            fs: self.state.clone(),
        });
        self.state
            .lock()
            .files
            .insert(path.to_path_buf(), file.clone());
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
        check_fault(&self.state, FaultOp::Create)?;
        self.parent_exists(path)?;
        if self.state.lock().files.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
        }
        let size = size as usize;
        Ok(self.insert(path, vec![0; size], vec![0; size]))
    }

    fn open_mapped(&self, path: &Path, _writable: bool) -> io::Result<Arc<dyn MappedFile>> {
        let st = self.state.lock();
        let file = st.files.get(path).ok_or_else(|| not_found(path))?;
        Ok(file.clone())
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        check_fault(&self.state, FaultOp::WriteFile)?;
        self.parent_exists(path)?;
        if self.state.lock().files.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
        }
        self.insert(path, data.to_vec(), data.to_vec());
        Ok(())
    }

    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let st = self.state.lock();
        let file = st.files.get(path).ok_or_else(|| not_found(path))?;
        Ok(file.region.bytes(0, file.region.len()).to_vec())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        check_fault(&self.state, FaultOp::Rename)?;
        let mut st = self.state.lock();
        let file = st.files.remove(from).ok_or_else(|| not_found(from))?;
        st.files.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        check_fault(&self.state, FaultOp::Remove)?;
        let mut st = self.state.lock();
        st.files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        check_fault(&self.state, FaultOp::SyncDir)?;
        let mut st = self.state.lock();
        st.durable_names.retain(|p, _| p.parent() != Some(dir));
        let live: Vec<_> = st
            .files
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect();
        st.durable_names.extend(live);
        Ok(())
    }
}
