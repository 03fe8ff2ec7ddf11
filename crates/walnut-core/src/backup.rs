//! Online backup: a copy of the log up to its durable index, in a directory
//! that opens as a valid log. Sealed segments are copied whole; the active
//! one up to the last durable frame. Appends continue meanwhile.

use crate::error::{Error, IoContext, Result};
use crate::meta::{LogMeta, MetaStore};
use crate::wal::{Wal, META_FILE, META_SLOT};
use std::path::Path;
use std::sync::atomic::Ordering;

impl Wal {
    /// Copies the log, up to [`Wal::durable_index`], into `dest` (which must
    /// not exist or be empty). Returns the last index copied.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<u64> {
        let sh = &self.shared;
        sh.check()?;
        let dest = dest.as_ref();
        let fs = sh.fs.as_ref();
        fs.create_dir_all(dest)
            .ctx(|| format!("creating {}", dest.display()))?;
        if !fs
            .list(dest)
            .ctx(|| format!("listing {}", dest.display()))?
            .is_empty()
        {
            return Err(Error::invalid(format!("{} is not empty", dest.display())));
        }
        // Syncing first completes pending seals, so every copied segment but
        // the last is sealed.
        let durable = if sh.opts.read_only {
            sh.last_index.load(Ordering::Acquire)
        } else {
            sh.sync_now()?
        };
        let first = sh.first_index.load(Ordering::Acquire);
        let segments = sh.segments.read().clone();
        for seg in segments
            .iter()
            .filter(|s| s.first_index() <= durable.max(first))
        {
            let image = seg.copy_upto(durable);
            fs.write_file(&dest.join(&seg.name), &image)
                .ctx(|| format!("copying {}", seg.name))?;
        }
        let mut meta =
            MetaStore::open(fs, dest, META_FILE, META_SLOT, true)?.expect("created when missing");
        let commit = match sh.meta.lock().as_ref() {
            Some(m) => m.log_meta()?,
            None => LogMeta::default(),
        };
        meta.put(
            &LogMeta {
                first_index: first,
                commit_index: commit.commit_index.min(durable),
                ..commit
            }
            .encode(),
        )?;
        fs.sync_dir(dest)
            .ctx(|| format!("syncing {}", dest.display()))?;
        Ok(durable)
    }
}
