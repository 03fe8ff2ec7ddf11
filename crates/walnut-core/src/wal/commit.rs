//! The commit watermark: an application-level point (for example the Raft
//! commit index after consensus) up to which readers that ask for committed
//! entries may go. It is persisted in the log's metadata.

use super::Wal;
use crate::error::{Error, Result};
use std::sync::atomic::Ordering;

impl Wal {
    /// The commit watermark (0 before the first `commit`). Never beyond
    /// `last_index`.
    pub fn commit_index(&self) -> u64 {
        self.shared
            .commit_index
            .load(Ordering::Acquire)
            .min(self.last_index())
    }

    /// Moves the commit watermark to `index` and makes it durable. It only
    /// moves forward and never past the last index; truncating below it pulls
    /// it back.
    pub fn commit(&self, index: u64) -> Result<()> {
        let sh = &self.shared;
        sh.check()?;
        let last = self.last_index();
        if index > last {
            return Err(Error::OutOfRange {
                index,
                first: self.first_index(),
                last,
            });
        }
        let current = self.commit_index();
        if index < current {
            return Err(Error::invalid(format!(
                "the commit index only moves forward: {index} < {current}"
            )));
        }
        sh.update_meta(|m| m.commit_index = index)?;
        sh.commit_index.fetch_max(index, Ordering::AcqRel);
        Ok(())
    }
}
