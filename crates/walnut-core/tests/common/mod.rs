//! Helpers shared by the integration tests: every behaviour is checked on the
//! real file system and on the in-memory one.

#![allow(dead_code)]

pub mod recording;

use std::path::PathBuf;
use std::sync::Arc;
use walnut_core::fs::{FileSystem, MemoryFs, OsFs};
use walnut_core::{Options, Result, Wal};

/// A place to put a log: a temporary directory on disk, or a memory file system.
pub struct Place {
    pub fs: Arc<dyn FileSystem>,
    pub mem: Option<MemoryFs>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Place {
    pub fn os() -> Place {
        let tmp = tempfile::tempdir().unwrap();
        Place {
            fs: Arc::new(OsFs),
            mem: None,
            dir: tmp.path().join("log"),
            _tmp: Some(tmp),
        }
    }

    pub fn memory() -> Place {
        let mem = MemoryFs::new();
        Place {
            fs: Arc::new(mem.clone()),
            mem: Some(mem),
            dir: PathBuf::from("/log"),
            _tmp: None,
        }
    }

    pub fn open(&self, opts: Options) -> Result<Wal> {
        Wal::open_with(self.fs.clone(), &self.dir, opts)
    }

    /// The memory place as power loss would leave it now (unsynced pages lost).
    pub fn crashed(&self) -> Place {
        self.crashed_with(|_, _| walnut_core::fs::PageFate::Lost)
    }

    /// The memory place after power loss, `fate` deciding each unsynced page.
    pub fn crashed_with(
        &self,
        fate: impl FnMut(&std::path::Path, usize) -> walnut_core::fs::PageFate,
    ) -> Place {
        let mem = self
            .mem
            .as_ref()
            .expect("crash needs the memory fs")
            .crash_with(fate);
        Place {
            fs: Arc::new(mem.clone()),
            mem: Some(mem),
            dir: self.dir.clone(),
            _tmp: None,
        }
    }
}

/// Both kinds of place.
pub fn places() -> Vec<(&'static str, Place)> {
    vec![("os", Place::os()), ("memory", Place::memory())]
}

/// Small segments so tests rotate often.
pub fn small() -> Options {
    Options {
        segment_size: 16 << 10,
        max_record_size: 4 << 10,
        prefault: false,
        ..Options::default()
    }
}

pub fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i as usize * 31 + j) as u8).collect()
}
