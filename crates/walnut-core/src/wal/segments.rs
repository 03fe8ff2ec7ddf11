//! A listing of the segment files a handle holds, for tools that look inside
//! a log (`walnut inspect`) and for monitoring disk use.

use super::Wal;

/// One segment file as the open handle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// File name inside the log directory.
    pub name: String,
    /// Index of the segment's first entry (its file name). Entries below the
    /// log's first index may still be stored here after a compaction.
    pub first_index: u64,
    /// Index of its last entry (`first_index - 1` when empty).
    pub last_index: u64,
    /// Size of the file (it is preallocated in full).
    pub file_bytes: u64,
    /// Bytes in use: headers and frames (the seal's index block and trailer
    /// are not counted).
    pub used_bytes: u64,
    /// Whether the seal (index block and trailer) is durable: no more appends
    /// go to this segment, and opening loads its index without a scan.
    pub sealed: bool,
    /// Creation time from the segment header, Unix milliseconds.
    pub created_ms: u64,
}

impl Wal {
    /// The segment files of the log, oldest first. The last one takes new
    /// appends (on a writable handle).
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.shared
            .segments
            .read()
            .iter()
            .map(|s| SegmentInfo {
                name: s.name.clone(),
                first_index: s.first_index(),
                last_index: s.last_index(),
                file_bytes: s.file_len() as u64,
                used_bytes: s.write_off() as u64,
                sealed: s.is_sealed(),
                created_ms: s.header.created_ms,
            })
            .collect()
    }
}
