//! A segment: one preallocated, memory-mapped file holding a contiguous run of
//! log indexes. See [`header`] and [`trailer`] for the bytes on disk and
//! [`crate::frame`] for the records between them.

pub mod header;
mod offsets;
pub mod trailer;

pub use offsets::Offsets;

use crate::crc::crc32c;
use crate::error::{Error, IoContext, Result};
use crate::frame::{self, FrameHeader, Parsed};
use crate::fs::{FileSystem, MappedFile};
use crate::region::Region;
use header::SegmentHeader;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use trailer::{Trailer, TRAILER_LEN};

/// Suffix of segment file names.
pub const SUFFIX: &str = ".seg";
/// Digits in a segment file name.
pub const NAME_DIGITS: usize = 20;

/// The file name of the segment starting at `first_index`.
pub fn file_name(first_index: u64) -> String {
    format!("{first_index:0NAME_DIGITS$}{SUFFIX}")
}

/// Parses a segment file name strictly: exactly 20 decimal digits and the
/// suffix, naming an index of at least 1. Anything else is not a segment.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&i| i >= 1)
}

/// One stored entry, copied out of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Log index.
    pub index: u64,
    /// Raft term (0 when unused).
    pub term: u64,
    /// Entry type (0 when unused).
    pub kind: u8,
    /// Payload.
    pub data: Vec<u8>,
    /// Append time in Unix ms, when the log stores timestamps.
    pub timestamp: Option<u64>,
}

/// A mapped segment and the in-memory index of its frames.
pub struct Segment {
    /// File name inside the log directory.
    pub name: String,
    /// Decoded header.
    pub header: SegmentHeader,
    seed: u32,
    file: Arc<dyn MappedFile>,
    region: Region,
    offsets: Offsets,
    /// End of the published frames: readers never look beyond it, the writer
    /// never writes below it.
    write_off: AtomicUsize,
    /// End of the durable prefix (advanced under the syncer's lock).
    synced_off: AtomicUsize,
    /// The seal (index block and trailer) is durable.
    sealed: AtomicBool,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("first_index", &self.header.first_index)
            .field("count", &self.count())
            .field("write_off", &self.write_off())
            .finish()
    }
}

/// Frames may use the file up to here, leaving room for the trailer.
fn frames_limit(file_len: usize) -> usize {
    file_len - TRAILER_LEN
}

/// Entries a segment file of `file_len` bytes can hold at most.
pub fn max_entries(file_len: usize) -> usize {
    (frames_limit(file_len) - header::FRAMES_START) / frame::HEADER_LEN
}

impl Segment {
    /// Writes a fresh header into `file` (created or prepared by the caller)
    /// and returns the empty segment.
    pub fn init(name: String, file: Arc<dyn MappedFile>, header: SegmentHeader) -> Segment {
        header.write_to(file.region());
        let capacity = max_entries(file.region().len());
        Segment::assemble(
            name,
            file,
            header,
            Offsets::with_capacity(capacity),
            header::FRAMES_START,
        )
    }

    /// A segment recovered from disk with the given frame offsets and end.
    pub fn recovered(
        name: String,
        file: Arc<dyn MappedFile>,
        header: SegmentHeader,
        offsets: Offsets,
        write_off: usize,
        sealed: bool,
    ) -> Segment {
        let seg = Segment::assemble(name, file, header, offsets, write_off);
        seg.synced_off.store(write_off, Ordering::Relaxed);
        seg.sealed.store(sealed, Ordering::Relaxed);
        seg
    }

    fn assemble(
        name: String,
        file: Arc<dyn MappedFile>,
        header: SegmentHeader,
        offsets: Offsets,
        write_off: usize,
    ) -> Segment {
        Segment {
            name,
            seed: frame::seed(header.salt),
            region: file.region().clone(),
            file,
            header,
            offsets,
            write_off: AtomicUsize::new(write_off),
            synced_off: AtomicUsize::new(0),
            sealed: AtomicBool::new(false),
        }
    }

    /// Maps an existing segment file.
    pub fn map(
        fs: &dyn FileSystem,
        dir: &Path,
        name: &str,
        writable: bool,
    ) -> Result<Arc<dyn MappedFile>> {
        fs.open_mapped(&dir.join(name), writable)
            .ctx(|| format!("mapping segment {name}"))
    }

    /// First index of the segment.
    pub fn first_index(&self) -> u64 {
        self.header.first_index
    }

    /// Published entries.
    pub fn count(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Last published index (`first_index - 1` when empty).
    pub fn last_index(&self) -> u64 {
        self.first_index() + self.count() - 1
    }

    /// Published end of frames.
    pub fn write_off(&self) -> usize {
        self.write_off.load(Ordering::Acquire)
    }

    /// End of the durable prefix.
    pub fn synced_off(&self) -> usize {
        self.synced_off.load(Ordering::Acquire)
    }

    /// Whether the seal is durable.
    pub fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    /// CRC seed of this segment.
    pub fn seed(&self) -> u32 {
        self.seed
    }

    /// The mapped bytes.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The underlying file.
    pub fn file(&self) -> &Arc<dyn MappedFile> {
        &self.file
    }

    /// Size of the file.
    pub fn file_len(&self) -> usize {
        self.region.len()
    }

    /// Offset of entry `index`, if this segment holds it.
    pub fn offset_of(&self, index: u64) -> Option<usize> {
        let i = index.checked_sub(self.first_index())?;
        self.offsets
            .get(usize::try_from(i).ok()?)
            .map(|o| o as usize)
    }

    /// Whether `frames` more bytes of frames for `entries` more entries fit,
    /// keeping room for the index block and trailer of the seal.
    pub fn fits(&self, write_off: usize, frames: usize, entries: usize) -> bool {
        let count = self.offsets.len() + entries;
        count <= self.offsets.capacity()
            && write_off + frames + count * 4 <= frames_limit(self.file_len())
    }

    /// Writes one frame at `off` (writer only, beyond the published end).
    pub fn write_frame(&self, off: usize, header: FrameHeader, payload: &[u8]) -> usize {
        let raw = frame::seal_header(self.seed, header, payload);
        // The padding is written too: the space is normally zero already, but
        // garbage left by a crash beyond the recovered end must not end up
        // inside a checksummed frame.
        self.region.write_parts(off, &frame::parts(&raw, payload));
        off + frame::frame_len(payload.len())
    }

    /// The bytes of a frame header for `payload`, checksum included.
    pub fn seal_header(&self, header: FrameHeader, payload: &[u8]) -> [u8; frame::HEADER_LEN] {
        frame::seal_header(self.seed, header, payload)
    }

    /// Records the offset of the `i`-th entry of a batch being written.
    pub fn stage_offset(&self, slot: usize, offset: usize) {
        self.offsets.stage(slot, offset as u32);
    }

    /// Publishes frames up to `write_off` and `count` entries, in that order,
    /// so whoever sees the entries also sees their bytes.
    pub fn publish(&self, write_off: usize, count: usize) {
        self.write_off.store(write_off, Ordering::Release);
        self.offsets.publish(count);
    }

    /// Validates the entry at `index` and lends its header and payload to `f`
    /// (no copy is made here). Published bytes never change, so no lock is held.
    pub fn read_with<R>(&self, index: u64, f: impl FnOnce(&FrameHeader, &[u8]) -> R) -> Result<R> {
        let off = self.offset_of(index).ok_or_else(|| {
            Error::invalid(format!("index {index} is not in segment {}", self.name))
        })?;
        let end = self.write_off();
        let bytes = self.region.bytes(0, end);
        let why = match frame::parse(bytes, off, self.seed) {
            Parsed::Valid(h) if h.index == index && !h.is_marker() => {
                let start = off + frame::HEADER_LEN;
                return Ok(f(&h, &bytes[start..start + h.len as usize]));
            }
            Parsed::Valid(_) => "frame holds another index",
            Parsed::Invalid(why) => why,
            Parsed::End => "frame is zeroed",
        };
        // After the SIGBUS guard replaced vanished pages, say why they vanished.
        let why = if self.file.failed() {
            "the segment file shrank under its mapping (truncated by another process)"
        } else {
            why
        };
        Err(Error::corrupt(&self.name, off as u64, index, why))
    }

    /// The frame header of `index` without reading the payload (for Raft terms).
    pub fn header_of(&self, index: u64) -> Result<FrameHeader> {
        let off = self.offset_of(index).ok_or_else(|| {
            Error::invalid(format!("index {index} is not in segment {}", self.name))
        })?;
        let h = FrameHeader::decode(self.region.bytes(off, frame::HEADER_LEN));
        if h.index != index {
            return Err(Error::corrupt(
                &self.name,
                off as u64,
                index,
                "frame holds another index",
            ));
        }
        Ok(h)
    }

    /// Makes `[synced_off, upto)` durable and advances `synced_off`. Called
    /// only by the syncer (which serialises calls).
    pub fn sync_upto(&self, upto: usize) -> std::io::Result<()> {
        let from = self.synced_off();
        if upto > from {
            // Nothing below `upto` is written again (the writer only writes
            // past the published end, which is at or past it).
            self.file.written(from, upto - from);
            self.file.sync(from, upto - from)?;
            self.synced_off.store(upto, Ordering::Release);
        }
        Ok(())
    }

    /// Writes the index block after the last frame (writer, at rotation) and
    /// returns the trailer that [`Segment::seal`] will make durable.
    pub fn prepare_seal(&self, sealed_ms: u64) -> Trailer {
        let frames_end = self.write_off();
        let block = trailer::encode_index(self.offsets.iter(), self.offsets.len());
        self.region.write(frames_end, &block);
        Trailer {
            salt: self.header.salt,
            first_index: self.first_index(),
            count: self.count(),
            frames_end: frames_end as u64,
            index_crc: crc32c(&block),
            sealed_ms,
        }
    }

    /// Makes frames and index block durable, then writes and syncs the trailer.
    pub fn seal(&self, t: &Trailer) -> std::io::Result<()> {
        let block_end = t.frames_end as usize + t.count as usize * 4;
        // Before the sync: it lets the file system forget the writable
        // mapping, which the sync would otherwise write-protect page by page.
        self.file.expect_reads();
        self.sync_upto(block_end)?;
        let at = self.file_len() - TRAILER_LEN;
        self.region.write(at, &t.encode());
        self.file.sync(at, TRAILER_LEN)?;
        self.sealed.store(true, Ordering::Release);
        Ok(())
    }

    /// An image of the file holding entries up to `index` (a sealed segment
    /// whole; otherwise the frames up to that entry, then zeros).
    pub fn copy_upto(&self, index: u64) -> Vec<u8> {
        let len = self.file_len();
        if self.is_sealed() && self.last_index() <= index {
            return self.region.bytes(0, len).to_vec();
        }
        let end = if index >= self.last_index() {
            self.write_off()
        } else {
            self.offset_of(index + 1).unwrap_or(header::FRAMES_START)
        };
        let mut image = vec![0u8; len];
        image[..end].copy_from_slice(self.region.bytes(0, end));
        image
    }
}
