//! Reading the committed Raft state of a directory without opening it:
//! for tools (`walnut inspect`) that must take no lock and change nothing.
//! [`RaftLog::open`](super::RaftLog::open) cannot serve them: it must be
//! writable, because an open may have to finish an interrupted update.

use super::record::RaftRecord;
use super::{RAFT_META_FILE, RAFT_META_SLOT};
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::meta::MetaStore;
use std::path::Path;

/// The committed Raft record in `dir`, or `None` when `dir` holds no Raft
/// metadata (a plain log, or no log). Maps the metadata file read-only; an
/// update a crash interrupted (a `raft-intent` file) is not applied, so this
/// is the state before it, which the next writable open completes.
pub fn peek(fs: &dyn FileSystem, dir: &Path) -> Result<Option<RaftRecord>> {
    let Some(meta) = MetaStore::open(fs, dir, RAFT_META_FILE, RAFT_META_SLOT, false)? else {
        return Ok(None);
    };
    if meta.get().is_empty() {
        return Ok(Some(RaftRecord::default()));
    }
    RaftRecord::decode(meta.get())
        .map(Some)
        .ok_or_else(|| Error::corrupt(RAFT_META_FILE, 0, 0, "the Raft record is malformed"))
}
