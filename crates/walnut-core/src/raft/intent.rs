//! The redo record of an update that must destroy entries of the committed
//! log (a conflicting suffix, or the whole log when a snapshot is installed).
//!
//! Such an update cannot be made crash-atomic by ordering alone: once the old
//! entries are cut, the old state is gone. So the whole update (the new Raft
//! record, the cut, and the new entries) is first written to `raft-intent`
//! (temporary name, fsync, rename, directory fsync). The rename is the commit
//! point. Then the log is changed, the record is written and the intent
//! removed. A reopen that finds an intent replays it; every step of the replay
//! is idempotent, so a crash during the replay is harmless too.
//!
//! ```text
//! 8    magic "WALNUTIN"
//! 4    record length R, then R bytes: the new Raft record
//! 8    index of the first new entry: the log keeps the record's entries
//!      before it (from the record's first index on) and takes these after
//! 4    entry count; each: u64 term, u8 kind, u32 length, payload
//! 4    CRC32C of everything before
//! ```

use super::record::RaftRecord;
use crate::crc::crc32c;
use crate::error::{Error, IoContext, Result};
use crate::fs::FileSystem;
use std::path::Path;

/// Name of the intent file.
pub const NAME: &str = "raft-intent";
/// Name it is written under before the rename that commits it.
pub const TMP_NAME: &str = "raft-intent.tmp";
const MAGIC: &[u8; 8] = b"WALNUTIN";

/// An owned entry of an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEntry {
    /// Raft term.
    pub term: u64,
    /// Entry type.
    pub kind: u8,
    /// Payload.
    pub data: Vec<u8>,
}

/// What a destructive update does, in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The record once the update is done.
    pub record: RaftRecord,
    /// Index of `entries[0]`.
    pub first_index: u64,
    /// New entries.
    pub entries: Vec<OwnedEntry>,
}

impl Intent {
    /// Serialises the intent with its checksum. `entries` are passed apart so
    /// the caller need not copy payloads into an [`Intent`] first.
    pub fn encode<'a>(
        record: &RaftRecord,
        first_index: u64,
        entries: impl ExactSizeIterator<Item = (u64, u8, &'a [u8])>,
    ) -> Vec<u8> {
        let rec = record.encode();
        let mut w = Vec::with_capacity(64 + rec.len());
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        w.extend_from_slice(&rec);
        w.extend_from_slice(&first_index.to_le_bytes());
        w.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (term, kind, data) in entries {
            w.extend_from_slice(&term.to_le_bytes());
            w.push(kind);
            w.extend_from_slice(&(data.len() as u32).to_le_bytes());
            w.extend_from_slice(data);
        }
        let crc = crc32c(&w);
        w.extend_from_slice(&crc.to_le_bytes());
        w
    }

    /// Parses and verifies an intent; `None` unless it is exactly one valid
    /// intent.
    pub fn decode(b: &[u8]) -> Option<Intent> {
        if b.len() < 12 || &b[0..8] != MAGIC {
            return None;
        }
        let (body, crc) = b.split_at(b.len() - 4);
        if crc32c(body) != u32::from_le_bytes(crc.try_into().ok()?) {
            return None;
        }
        let mut at = 8usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = body.get(at..at.checked_add(n)?)?;
            at += n;
            Some(s)
        };
        let rlen = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let record = RaftRecord::decode(take(rlen)?)?;
        let first_index = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let mut entries = Vec::with_capacity(n.min(body.len() / 13));
        for _ in 0..n {
            let term = u64::from_le_bytes(take(8)?.try_into().ok()?);
            let kind = take(1)?[0];
            let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            entries.push(OwnedEntry {
                term,
                kind,
                data: take(len)?.to_vec(),
            });
        }
        (at == body.len()).then_some(Intent {
            record,
            first_index,
            entries,
        })
    }
}

/// Durably commits an encoded intent (the rename is the commit point).
pub fn write(fs: &dyn FileSystem, dir: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(TMP_NAME);
    crate::fs::remove_if_present(fs, &tmp)?;
    fs.write_file(&tmp, bytes)
        .ctx(|| "writing the Raft intent".into())?;
    fs.rename(&tmp, &dir.join(NAME))
        .ctx(|| "committing the Raft intent".into())?;
    fs.sync_dir(dir).ctx(|| "syncing the log directory".into())
}

/// The pending intent, if one is committed. A present but invalid intent is
/// corruption: the file only ever appears whole (written, synced, renamed).
pub fn read(fs: &dyn FileSystem, dir: &Path) -> Result<Option<Intent>> {
    match fs.read_file(&dir.join(NAME)) {
        Ok(bytes) => Intent::decode(&bytes)
            .map(Some)
            .ok_or_else(|| Error::corrupt(NAME, 0, 0, "the Raft intent does not validate")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading the Raft intent", e)),
    }
}

/// Removes the intent once its update is fully applied.
pub fn remove(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    crate::fs::remove_if_present(fs, &dir.join(NAME))?;
    fs.sync_dir(dir).ctx(|| "syncing the log directory".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let record = RaftRecord {
            last_index: 9,
            last_term: 4,
            ..Default::default()
        };
        let entries = [(4u64, 0u8, &b"eight"[..]), (4, 1, &b"nine"[..])];
        Intent::encode(&record, 8, entries.into_iter())
    }

    #[test]
    fn an_intent_round_trips() {
        let i = Intent::decode(&sample()).unwrap();
        assert_eq!(i.first_index, 8);
        assert_eq!(i.record.last_index, 9);
        assert_eq!(
            i.entries,
            vec![
                OwnedEntry {
                    term: 4,
                    kind: 0,
                    data: b"eight".to_vec()
                },
                OwnedEntry {
                    term: 4,
                    kind: 1,
                    data: b"nine".to_vec()
                }
            ]
        );
    }

    #[test]
    fn any_flipped_bit_or_truncation_is_rejected() {
        let good = sample();
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Intent::decode(&bad), None, "bit {bit}");
        }
        for n in 0..good.len() {
            assert_eq!(Intent::decode(&good[..n]), None, "prefix {n}");
        }
    }
}
