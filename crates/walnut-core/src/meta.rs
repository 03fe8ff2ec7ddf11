//! Crash-atomic small state: a file of two checksummed slots written
//! alternately. A torn write can only damage the slot being written, so the
//! other, older slot still validates; the valid slot with the higher sequence
//! number wins.
//!
//! ```text
//! slot: offset size field
//!        0     8    magic "WALNUTMT"
//!        8     8    sequence number (> 0)
//!       16     4    payload length
//!       20     4    CRC32C of bytes 0..20 and the payload
//!       24     len  payload
//! ```

use crate::crc::{crc32c, crc32c_append};
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileSystem, MappedFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"WALNUTMT";
const SLOT_HEADER: usize = 24;

/// A two-slot store for one small value.
pub struct MetaStore {
    file: Arc<dyn MappedFile>,
    name: String,
    slot_len: usize,
    seq: u64,
    current: Vec<u8>,
}

fn decode(slot: &[u8]) -> Option<(u64, Vec<u8>)> {
    if &slot[0..8] != MAGIC {
        return None;
    }
    let seq = u64::from_le_bytes(slot[8..16].try_into().unwrap());
    let len = u32::from_le_bytes(slot[16..20].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(slot[20..24].try_into().unwrap());
    if seq == 0 || len > slot.len() - SLOT_HEADER {
        return None;
    }
    let payload = &slot[SLOT_HEADER..SLOT_HEADER + len];
    let c = crc32c_append(crc32c(&slot[0..20]), payload);
    (c == crc).then(|| (seq, payload.to_vec()))
}

impl MetaStore {
    /// Opens `dir/name`, creating it (durably, directory entry included) when
    /// missing and `create` is set. `slot_len` bounds the value size.
    pub fn open(
        fs: &dyn FileSystem,
        dir: &Path,
        name: &str,
        slot_len: usize,
        create: bool,
    ) -> Result<Option<MetaStore>> {
        let path: PathBuf = dir.join(name);
        let file = match fs.open_mapped(&path, create) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                // Made under another name, allocated and synced, then renamed:
                // a crash between making a file and allocating it leaves it
                // empty, and an empty metadata file is damage, not a new log.
                let tmp = dir.join(format!("{name}.tmp"));
                crate::fs::remove_if_present(fs, &tmp)?;
                let f = fs
                    .create_mapped(&tmp, (2 * slot_len) as u64)
                    .ctx(|| format!("creating {name}"))?;
                f.sync(0, 2 * slot_len).ctx(|| format!("syncing {name}"))?;
                fs.rename(&tmp, &path).ctx(|| format!("naming {name}"))?;
                fs.sync_dir(dir)
                    .ctx(|| "syncing the log directory".into())?;
                f
            }
            Err(e) => return Err(Error::io(format!("opening {name}"), e)),
        };
        let region = file.region();
        if create && region.len() == 2 * slot_len {
            // The page cache may hold a slot whose sync failed in a process
            // that is gone: make what this open is about to trust durable.
            file.sync(0, 2 * slot_len)
                .ctx(|| format!("syncing {name}"))?;
        }
        if region.len() != 2 * slot_len {
            return Err(Error::corrupt(
                name,
                0,
                0,
                format!(
                    "metadata file has {} bytes, expected {}",
                    region.len(),
                    2 * slot_len
                ),
            ));
        }
        let a = decode(region.bytes(0, slot_len));
        let b = decode(region.bytes(slot_len, slot_len));
        let (seq, current) = match (a, b) {
            (Some(a), Some(b)) => std::cmp::max_by_key(a, b, |x| x.0),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => {
                // One slot never written and the other invalid: the very first
                // write was torn by a crash before its sync returned, so no
                // value was ever stored. Only two invalid written slots are damage.
                let zero = |at: usize| region.bytes(at, slot_len).iter().all(|&x| x == 0);
                if !zero(0) && !zero(slot_len) {
                    return Err(Error::corrupt(name, 0, 0, "no metadata slot validates"));
                }
                (0, Vec::new())
            }
        };
        Ok(Some(MetaStore {
            file,
            name: name.to_string(),
            slot_len,
            seq,
            current,
        }))
    }

    /// Checks every byte of the file, for absolute recovery: each slot is
    /// either never written (all zero) or valid with zeros after its payload.
    /// A damaged superseded slot changes nothing a reader sees, but it is
    /// damage all the same, and absolute mode refuses all damage.
    pub fn verify_slots(&self) -> Result<()> {
        let region = self.file.region();
        for at in [0, self.slot_len] {
            let slot = region.bytes(at, self.slot_len);
            if slot.iter().all(|&x| x == 0) {
                // Slots are written alternately from sequence 1 (the second
                // slot) on: once the sequence reached 2, neither is blank.
                if self.seq >= 2 {
                    return Err(Error::corrupt(
                        &self.name,
                        at as u64,
                        0,
                        "metadata slot is blank",
                    ));
                }
                continue;
            }
            let Some((_, payload)) = decode(slot) else {
                return Err(Error::corrupt(
                    &self.name,
                    at as u64,
                    0,
                    "metadata slot does not validate",
                ));
            };
            let end = SLOT_HEADER + payload.len();
            if let Some(p) = slot[end..].iter().position(|&x| x != 0) {
                return Err(Error::corrupt(
                    &self.name,
                    (at + end + p) as u64,
                    0,
                    "nonzero bytes after a metadata slot's value",
                ));
            }
        }
        Ok(())
    }

    /// The stored value (empty if never written).
    pub fn get(&self) -> &[u8] {
        &self.current
    }

    /// Durably replaces the value. On error the old value is still what a
    /// reopen reads (or the new one, if the failure came after the write).
    pub fn put(&mut self, value: &[u8]) -> Result<()> {
        if value.len() > self.slot_len - SLOT_HEADER {
            return Err(Error::invalid(format!(
                "{} value of {} bytes exceeds its slot",
                self.name,
                value.len()
            )));
        }
        let seq = self.seq + 1;
        let mut slot = Vec::with_capacity(SLOT_HEADER + value.len());
        slot.extend_from_slice(MAGIC);
        slot.extend_from_slice(&seq.to_le_bytes());
        slot.extend_from_slice(&(value.len() as u32).to_le_bytes());
        let crc = crc32c_append(crc32c(&slot[0..20]), value);
        slot.extend_from_slice(&crc.to_le_bytes());
        slot.extend_from_slice(value);
        // Alternate by sequence parity: the slot written now is never the one
        // holding the current value.
        let at = (seq % 2) as usize * self.slot_len;
        let region = self.file.region();
        // Bytes after the record are never read (the CRC covers `len` bytes of
        // payload), so only the record itself is written and synced.
        region.write(at, &slot);
        self.file
            .sync(at, slot.len())
            .ctx(|| format!("syncing {}", self.name))?;
        self.seq = seq;
        self.current = value.to_vec();
        Ok(())
    }
}

/// The log's own metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogMeta {
    /// Entries below this index are dropped (compaction point).
    pub first_index: u64,
    /// Bumped at every writable open; part of every encryption nonce.
    pub epoch: u64,
    /// The application's commit watermark (0: none).
    pub commit_index: u64,
    /// The last index when the log was last closed cleanly, or 0 while a
    /// handle has it open (or after an unclean shutdown). Recovery treats it
    /// as proof that everything up to it was durable, so damage that wipes
    /// the last records *and* the close marker is not mistaken for a torn tail.
    pub closed_at: u64,
}

impl Default for LogMeta {
    fn default() -> LogMeta {
        LogMeta {
            first_index: 1,
            epoch: 0,
            commit_index: 0,
            closed_at: 0,
        }
    }
}

impl LogMeta {
    /// Encodes as bytes.
    pub fn encode(&self) -> Vec<u8> {
        [
            self.first_index,
            self.epoch,
            self.commit_index,
            self.closed_at,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
    }

    /// Decodes bytes written by [`LogMeta::encode`] (or by an older version,
    /// which wrote fewer fields); empty means never written.
    pub fn decode(b: &[u8]) -> Option<LogMeta> {
        if !b.len().is_multiple_of(8) {
            return None;
        }
        let field = |k: usize| {
            b.get(k * 8..k * 8 + 8)
                .map(|x| u64::from_le_bytes(x.try_into().unwrap()))
        };
        let d = LogMeta::default();
        Some(LogMeta {
            first_index: field(0).unwrap_or(d.first_index),
            epoch: field(1).unwrap_or(d.epoch),
            commit_index: field(2).unwrap_or(d.commit_index),
            closed_at: field(3).unwrap_or(d.closed_at),
        })
    }
}

impl MetaStore {
    /// The log metadata stored here.
    pub fn log_meta(&self) -> Result<LogMeta> {
        LogMeta::decode(self.get())
            .ok_or_else(|| Error::corrupt(&self.name, 0, 0, "metadata value is malformed"))
    }

    /// Durably changes the log metadata with `f`, keeping the other fields.
    pub fn update_log(&mut self, f: impl FnOnce(&mut LogMeta)) -> Result<LogMeta> {
        let mut m = self.log_meta()?;
        f(&mut m);
        self.put(&m.encode())?;
        Ok(m)
    }
}
