//! Options of a log, validated once at open.

use crate::error::{Error, Result};
use crate::segment::{header, trailer};
use crate::transform::{Compression, Encryption};

/// When appended records are made durable without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Only on explicit `sync`, durable waits, and close.
    #[default]
    None,
    /// Before `append`/`append_batch` returns.
    Always,
    /// In the background once this many bytes were appended since the last sync.
    EveryBytes(u64),
    /// In the background at most this many milliseconds after an append.
    EveryMs(u64),
}

/// What opening a log does about damage it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Truncate (and zero) a torn tail that nothing proves acknowledged; any
    /// other damage is an error. The default.
    #[default]
    TolerateTail,
    /// Any damage, a torn tail included, is an error.
    Absolute,
    /// Read-only: keep every record that validates up to the first damage and
    /// change nothing on disk. For forensics.
    Salvage,
}

/// Retention for logs used as a stream: whole sealed segments are dropped from
/// the front when they exceed these limits (checked at rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Drop sealed segments whose seal is older than this.
    pub max_age_ms: Option<u64>,
    /// Keep at least this many segments whatever their age.
    pub min_segments: usize,
    /// Keep at most this many segments.
    pub max_segments: Option<usize>,
}

/// Options for [`crate::Wal::open`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Size of each segment file, preallocated. Default 64 MiB.
    pub segment_size: u64,
    /// Largest payload accepted. Default 16 MiB (or what fits a segment).
    pub max_record_size: u64,
    /// Background sync policy.
    pub sync: SyncPolicy,
    /// Recovery mode.
    pub recovery: RecoveryMode,
    /// Open without the write lock and without changing anything.
    pub read_only: bool,
    /// Application marker stored in every segment header; a log written with
    /// another marker is refused.
    pub marker: u64,
    /// Retention policy.
    pub retention: Retention,
    /// Fault in segment pages a few MiB ahead of the writer, on the preparer
    /// thread (off the append path).
    pub prefault: bool,
    /// Compression of new records.
    pub compression: Compression,
    /// Encryption keys (reading needs every key that wrote a segment still
    /// in the log; new segments use the active one).
    pub encryption: Option<Encryption>,
    /// Store the append time (Unix ms) with each new entry.
    pub timestamps: bool,
}

/// Default segment size.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 << 20;
/// Smallest segment size accepted.
pub const MIN_SEGMENT_SIZE: u64 = 16 << 10;
/// Largest segment size accepted (frame offsets are u32).
pub const MAX_SEGMENT_SIZE: u64 = 1 << 31;
const DEFAULT_MAX_RECORD: u64 = 16 << 20;

impl Default for Options {
    fn default() -> Options {
        Options {
            segment_size: DEFAULT_SEGMENT_SIZE,
            max_record_size: DEFAULT_MAX_RECORD,
            sync: SyncPolicy::None,
            recovery: RecoveryMode::TolerateTail,
            read_only: false,
            marker: 0,
            retention: Retention::default(),
            prefault: true,
            compression: Compression::default(),
            encryption: None,
            timestamps: false,
        }
    }
}

impl Options {
    /// Largest payload a segment of `segment_size` can hold.
    pub fn record_capacity(segment_size: u64) -> u64 {
        segment_size
            - header::FRAMES_START as u64
            - trailer::TRAILER_LEN as u64
            - crate::frame::HEADER_LEN as u64
            - 8 // index block slot, rounded to the frame alignment
    }

    /// Checks the options and fills in derived values.
    pub(crate) fn validate(mut self) -> Result<Options> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size)
            || !self.segment_size.is_multiple_of(4096)
        {
            return Err(Error::invalid(format!(
                "segmentSize must be a multiple of 4096 between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}, got {}",
                self.segment_size
            )));
        }
        let cap = Options::record_capacity(self.segment_size);
        if self.max_record_size == DEFAULT_MAX_RECORD {
            self.max_record_size = self.max_record_size.min(cap);
        }
        if self.max_record_size > cap {
            return Err(Error::invalid(format!(
                "maxRecordSize {} does not fit a segment of {} bytes (at most {cap})",
                self.max_record_size, self.segment_size
            )));
        }
        match self.sync {
            SyncPolicy::EveryBytes(0) | SyncPolicy::EveryMs(0) => {
                return Err(Error::invalid("sync interval must be positive"))
            }
            _ => {}
        }
        if self.recovery == RecoveryMode::Salvage {
            self.read_only = true;
        }
        if let Some(max) = self.retention.max_segments {
            if max == 0 {
                return Err(Error::invalid("retention.maxSegments must be at least 1"));
            }
        }
        Ok(self)
    }
}
