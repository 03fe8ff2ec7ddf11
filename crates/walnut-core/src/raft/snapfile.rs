//! Snapshot images, one file each beside the log: `raft-snap-<id>` with `id`
//! as exactly 20 decimal digits. A file is written whole under a temporary
//! name, made durable, renamed into place and the directory synced, so a name
//! that exists always holds complete bytes. Nothing refers to a file until the
//! Raft record that names it is committed; files no record names are removed
//! at open.
//!
//! ```text
//! 0   8  magic "WALNUTSN"
//! 8   8  snapshot index
//! 16  8  snapshot term
//! 24  8  data length
//! 32  4  CRC32C of the data
//! 36  4  CRC32C of bytes 0..36
//! 40  .. data
//! ```

use super::record::SnapshotRef;
use super::types::SnapshotMeta;
use crate::crc::crc32c;
use crate::error::{Error, IoContext, Result};
use crate::fs::{EntryKind, FileSystem};
use std::path::Path;

const MAGIC: &[u8; 8] = b"WALNUTSN";
const HEADER: usize = 40;
const PREFIX: &str = "raft-snap-";
const DIGITS: usize = 20;
/// Name a snapshot image is written under before it is renamed into place.
pub const TMP_NAME: &str = "raft-snap.tmp";

/// The file name of snapshot image `id`.
pub fn file_name(id: u64) -> String {
    format!("{PREFIX}{id:0width$}", width = DIGITS)
}

/// The id in a snapshot file name; `None` for any other name.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Durably stores `data` as image `id` of the snapshot described by `meta`.
pub fn write(
    fs: &dyn FileSystem,
    dir: &Path,
    id: u64,
    meta: &SnapshotMeta,
    data: &[u8],
) -> Result<SnapshotRef> {
    let crc = crc32c(data);
    let mut bytes = Vec::with_capacity(HEADER + data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&meta.index.to_le_bytes());
    bytes.extend_from_slice(&meta.term.to_le_bytes());
    bytes.extend_from_slice(&(data.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc.to_le_bytes());
    let hcrc = crc32c(&bytes);
    bytes.extend_from_slice(&hcrc.to_le_bytes());
    bytes.extend_from_slice(data);
    let tmp = dir.join(TMP_NAME);
    crate::fs::remove_if_present(fs, &tmp)?;
    // An earlier attempt at the same id that never got committed may remain.
    let name = file_name(id);
    crate::fs::remove_if_present(fs, &dir.join(&name))?;
    fs.write_file(&tmp, &bytes)
        .ctx(|| format!("writing snapshot {name}"))?;
    fs.rename(&tmp, &dir.join(&name))
        .ctx(|| format!("renaming snapshot {name} into place"))?;
    fs.sync_dir(dir)
        .ctx(|| "syncing the log directory".into())?;
    Ok(SnapshotRef {
        meta: meta.clone(),
        file_id: id,
        len: data.len() as u64,
        crc,
    })
}

/// Reads the image `r` names and checks it against the record and its own
/// checksums; any mismatch is [`Error::Corrupt`].
pub fn read(fs: &dyn FileSystem, dir: &Path, r: &SnapshotRef) -> Result<Vec<u8>> {
    let name = file_name(r.file_id);
    let bytes = fs
        .read_file(&dir.join(&name))
        .ctx(|| format!("reading snapshot {name}"))?;
    let bad = |offset: u64, why: &str| Error::corrupt(name.clone(), offset, r.meta.index, why);
    if bytes.len() < HEADER || &bytes[0..8] != MAGIC {
        return Err(bad(0, "snapshot file has no valid header"));
    }
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    if crc32c(&bytes[0..36]) != u32_at(36) {
        return Err(bad(0, "snapshot header checksum mismatch"));
    }
    if u64_at(8) != r.meta.index || u64_at(16) != r.meta.term {
        return Err(bad(8, "snapshot file belongs to another snapshot"));
    }
    let data = &bytes[HEADER..];
    if u64_at(24) != r.len || data.len() as u64 != r.len {
        return Err(bad(24, "snapshot data has the wrong length"));
    }
    if u32_at(32) != r.crc || crc32c(data) != r.crc {
        return Err(bad(HEADER as u64, "snapshot data checksum mismatch"));
    }
    Ok(data.to_vec())
}

/// Removes every snapshot image but `keep`, and a leftover temporary file.
pub fn remove_others(fs: &dyn FileSystem, dir: &Path, keep: Option<u64>) -> Result<()> {
    let mut removed = false;
    for e in fs.list(dir).ctx(|| "listing the log directory".into())? {
        let doomed = match parse_name(&e.name) {
            Some(id) => Some(id) != keep,
            None => e.name == TMP_NAME,
        };
        if doomed && e.kind == EntryKind::File {
            crate::fs::remove_if_present(fs, &dir.join(&e.name))?;
            removed = true;
        }
    }
    if removed {
        fs.sync_dir(dir)
            .ctx(|| "syncing the log directory".into())?;
    }
    Ok(())
}

/// Whether image `id` is present as a regular file.
pub fn exists(fs: &dyn FileSystem, dir: &Path, id: u64) -> Result<bool> {
    let name = file_name(id);
    Ok(fs
        .list(dir)
        .ctx(|| "listing the log directory".into())?
        .iter()
        .any(|e| e.name == name && e.kind == EntryKind::File))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemoryFs;
    use crate::raft::types::ConfState;

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            index: 12,
            term: 3,
            conf_state: ConfState {
                voters: vec![1, 2, 3],
                ..Default::default()
            },
        }
    }

    #[test]
    fn names_are_parsed_strictly() {
        assert_eq!(parse_name(&file_name(42)), Some(42));
        assert_eq!(parse_name("raft-snap-42"), None);
        assert_eq!(parse_name("raft-snap-0000000000000000004x"), None);
        assert_eq!(parse_name("raft-snap-000000000000000000042"), None);
        assert_eq!(parse_name(TMP_NAME), None);
    }

    #[test]
    fn an_image_reads_back_and_any_flipped_bit_is_detected() {
        let fs = MemoryFs::new();
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        let r = write(&fs, dir, 7, &meta(), b"state machine image").unwrap();
        assert_eq!(read(&fs, dir, &r).unwrap(), b"state machine image");
        let path = dir.join(file_name(7));
        let good = fs.read_file(&path).unwrap();
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            fs.remove(&path).unwrap();
            fs.write_file(&path, &bad).unwrap();
            let err = read(&fs, dir, &r).unwrap_err();
            assert_eq!(err.code(), "ERR_WAL_CORRUPT", "bit {bit}");
        }
    }

    #[test]
    fn only_the_kept_image_survives_cleanup() {
        let fs = MemoryFs::new();
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        for id in 1..=3 {
            write(&fs, dir, id, &meta(), b"x").unwrap();
        }
        fs.write_file(&dir.join(TMP_NAME), b"half").unwrap();
        fs.write_file(&dir.join("unrelated"), b"kept").unwrap();
        remove_others(&fs, dir, Some(2)).unwrap();
        let mut names: Vec<_> = fs.list(dir).unwrap().into_iter().map(|e| e.name).collect();
        names.sort();
        assert_eq!(names, vec![file_name(2), "unrelated".to_string()]);
    }
}
