//! A file system that records what the log asks of its files: page-cache
//! hints and syncs, in order, by file name.

use parking_lot::Mutex;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use walnut_core::fs::{DirEntry, DirLock, FileSystem, MappedFile, MemoryFs, Region};

/// What the log asked of one of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    Prefault {
        file: String,
        off: usize,
        len: usize,
    },
    SmallSyncs {
        file: String,
        off: usize,
        small: bool,
    },
    Reads {
        file: String,
    },
    AllocateAhead {
        file: String,
        off: usize,
        len: usize,
    },
    Sync {
        file: String,
        off: usize,
        len: usize,
    },
    Written {
        file: String,
        off: usize,
        len: usize,
    },
}

impl Hint {
    /// The file and end of a range faulted in.
    pub fn prefaulted(&self) -> Option<(&str, usize)> {
        match self {
            Hint::Prefault { file, off, len } => Some((file, off + len)),
            _ => None,
        }
    }

    /// The file and end of a range allocated ahead.
    pub fn allocated(&self) -> Option<(&str, usize)> {
        match self {
            Hint::AllocateAhead { file, off, len } => Some((file, off + len)),
            _ => None,
        }
    }
}

/// A [`MemoryFs`] that records the page-cache hints given to its files and
/// the syncs asked of them.
#[derive(Debug, Default)]
pub struct Recording {
    pub inner: MemoryFs,
    pub hints: Arc<Mutex<Vec<Hint>>>,
}

struct RecordedFile {
    inner: Arc<dyn MappedFile>,
    name: Arc<Mutex<String>>,
    hints: Arc<Mutex<Vec<Hint>>>,
}

impl MappedFile for RecordedFile {
    fn region(&self) -> &Region {
        self.inner.region()
    }
    fn sync(&self, off: usize, len: usize) -> io::Result<()> {
        self.record(|file| Hint::Sync { file, off, len });
        self.inner.sync(off, len)
    }
    fn prefault(&self, off: usize, len: usize) {
        self.record(|file| Hint::Prefault { file, off, len });
    }
    fn expect_small_syncs(&self, off: usize, small: bool) {
        self.record(|file| Hint::SmallSyncs { file, off, small });
    }
    fn expect_reads(&self) {
        self.record(|file| Hint::Reads { file });
    }
    fn written(&self, off: usize, len: usize) {
        self.record(|file| Hint::Written { file, off, len });
    }
    fn allocate_ahead(&self, off: usize, len: usize) {
        self.record(|file| Hint::AllocateAhead { file, off, len });
    }
}

impl RecordedFile {
    /// Records a hint about this file, under its current name.
    fn record(&self, hint: impl FnOnce(String) -> Hint) {
        let file = self.name.lock().clone();
        self.hints.lock().push(hint(file));
    }
}

impl Recording {
    /// Records what is asked of the files of `inner`.
    pub fn over(inner: MemoryFs) -> Recording {
        Recording {
            inner,
            hints: Arc::default(),
        }
    }

    fn wrap(&self, path: &Path, inner: Arc<dyn MappedFile>) -> Arc<dyn MappedFile> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        Arc::new(RecordedFile {
            inner,
            name: Arc::new(Mutex::new(name)),
            hints: self.hints.clone(),
        })
    }

    pub fn hints(&self) -> Vec<Hint> {
        self.hints.lock().clone()
    }

    /// Waits for the background thread to have given a hint matching `f`.
    pub fn wait_for(&self, what: &str, f: impl Fn(&Hint) -> bool) -> Hint {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(h) = self.hints().into_iter().find(|h| f(h)) {
                return h;
            }
            assert!(Instant::now() < deadline, "no {what}: {:?}", self.hints());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl FileSystem for Recording {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn lock(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>> {
        self.inner.lock(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.inner.list(dir)
    }
    fn create_mapped(&self, path: &Path, size: u64) -> io::Result<Arc<dyn MappedFile>> {
        Ok(self.wrap(path, self.inner.create_mapped(path, size)?))
    }
    fn open_mapped(&self, path: &Path, writable: bool) -> io::Result<Arc<dyn MappedFile>> {
        Ok(self.wrap(path, self.inner.open_mapped(path, writable)?))
    }
    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.write_file(path, data)
    }
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.inner.read_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
}
