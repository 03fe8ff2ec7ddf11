//! The one error type of the core. Every variant maps to a stable code string
//! ([`Error::code`]) that the Node binding passes through unchanged, so a
//! JavaScript caller can branch on `err.code` without parsing messages.

use std::io;
use std::path::PathBuf;

/// Where damage was found: enough for an operator to look at the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// File name of the segment (or metadata file) inside the log directory.
    pub file: String,
    /// Byte offset of the first damaged frame or structure in that file.
    pub offset: u64,
    /// The log index that was expected at that position.
    pub index: u64,
    /// What exactly failed to validate.
    pub reason: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {}:{} (expected index {})",
            self.reason, self.file, self.offset, self.index
        )
    }
}

/// Errors returned by walnut-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The handle was closed.
    #[error("the log is closed")]
    Closed,
    /// Another handle (in this or another process) holds the directory lock.
    #[error("the log directory {0} is locked by another handle or process")]
    Locked(PathBuf),
    /// Stored data failed validation somewhere the recovery mode does not allow
    /// dropping it.
    #[error("log is corrupt: {0}")]
    Corrupt(Damage),
    /// A requested index is outside `[first_index, last_index]`.
    #[error("index {index} is out of range [{first}, {last}]")]
    OutOfRange {
        /// The index asked for.
        index: u64,
        /// First index held by the log.
        first: u64,
        /// Last index held by the log.
        last: u64,
    },
    /// A record is larger than `max_record_size`.
    #[error("record of {size} bytes exceeds the maximum record size of {max} bytes")]
    RecordTooLarge {
        /// Size of the refused record.
        size: u64,
        /// The configured limit.
        max: u64,
    },
    /// An argument or option is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The file system is full; nothing was written.
    #[error("no space left on device: {0}")]
    NoSpace(String),
    /// Any other I/O failure.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What walnut was doing.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A sync failed earlier; the handle refuses all work until reopened,
    /// because a failed fsync may have silently dropped dirty pages.
    #[error("the log is poisoned by an earlier failure ({0}); reopen it")]
    Poisoned(String),
    /// The handle was opened read-only (salvage mode or a read-only open).
    #[error("the log was opened read-only")]
    ReadOnly,
    /// An encrypted entry needs a key that was not supplied, or does not
    /// authenticate with the key supplied under its id.
    #[error("bad encryption key: {0}")]
    BadKey(String),
    /// The log belongs to another application (its segment marker differs).
    #[error("foreign log: {0}")]
    Foreign(String),
    /// Raft storage: the index asked for was dropped by compaction.
    #[error("index {index} is compacted (the first index is {first})")]
    RaftCompacted {
        /// The index asked for.
        index: u64,
        /// First index still held.
        first: u64,
    },
    /// Raft storage: the index asked for is beyond the last index.
    #[error("index {index} is unavailable (the last index is {last})")]
    RaftUnavailable {
        /// The index asked for.
        index: u64,
        /// Last index held.
        last: u64,
    },
    /// Raft storage: a snapshot no newer than the stored one (or than the
    /// compaction point).
    #[error("snapshot at index {index} is out of date (the log already covers index {current})")]
    RaftSnapshotOutOfDate {
        /// Index of the refused snapshot.
        index: u64,
        /// Index the stored state already covers.
        current: u64,
    },
    /// Raft storage: entries that would leave a hole after the last index.
    #[error("entries starting at index {index} leave a gap after the last index {last}")]
    RaftLogGap {
        /// Index of the first entry given.
        index: u64,
        /// Last index held.
        last: u64,
    },
}

impl Error {
    /// The stable code of this error, as exposed to JavaScript.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Closed => "ERR_WAL_CLOSED",
            Error::Locked(_) => "ERR_WAL_LOCKED",
            Error::Corrupt(_) => "ERR_WAL_CORRUPT",
            Error::OutOfRange { .. } => "ERR_WAL_OUT_OF_RANGE",
            Error::RecordTooLarge { .. } => "ERR_WAL_RECORD_TOO_LARGE",
            Error::InvalidArgument(_) => "ERR_WAL_INVALID_ARGUMENT",
            Error::NoSpace(_) => "ERR_WAL_NO_SPACE",
            Error::Io { .. } => "ERR_WAL_IO",
            Error::Poisoned(_) => "ERR_WAL_POISONED",
            Error::ReadOnly => "ERR_WAL_READ_ONLY",
            Error::RaftCompacted { .. } => "ERR_RAFT_COMPACTED",
            Error::RaftUnavailable { .. } => "ERR_RAFT_UNAVAILABLE",
            Error::RaftSnapshotOutOfDate { .. } => "ERR_RAFT_SNAPSHOT_OUT_OF_DATE",
            Error::RaftLogGap { .. } => "ERR_RAFT_LOG_GAP",
            Error::BadKey(_) => "ERR_WAL_BAD_KEY",
            Error::Foreign(_) => "ERR_WAL_FOREIGN",
        }
    }

    /// Wraps an I/O error, turning ENOSPC/EDQUOT (on Windows: a full disk or
    /// quota) into [`Error::NoSpace`] so callers can tell "free some space and
    /// retry" from every other failure.
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        let context = context.into();
        if is_no_space(&source) {
            Error::NoSpace(format!("{context}: {source}"))
        } else {
            Error::Io { context, source }
        }
    }

    pub(crate) fn corrupt(
        file: impl Into<String>,
        offset: u64,
        index: u64,
        reason: impl Into<String>,
    ) -> Error {
        Error::Corrupt(Damage {
            file: file.into(),
            offset,
            index,
            reason: reason.into(),
        })
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }
}

fn is_no_space(e: &io::Error) -> bool {
    e.raw_os_error().is_some_and(is_no_space_code) || e.kind() == io::ErrorKind::StorageFull
}

/// `ENOSPC`, and `EDQUOT` (out of quota is out of space for the caller).
#[cfg(unix)]
fn is_no_space_code(code: i32) -> bool {
    code == rustix::io::Errno::NOSPC.raw_os_error()
        || code == rustix::io::Errno::DQUOT.raw_os_error()
}

/// `ERROR_HANDLE_DISK_FULL` (39), `ERROR_DISK_FULL` (112) and, like `EDQUOT`,
/// `ERROR_DISK_QUOTA_EXCEEDED` (1295).
#[cfg(windows)]
fn is_no_space_code(code: i32) -> bool {
    matches!(code, 39 | 112 | 1295)
}

#[cfg(not(any(unix, windows)))]
fn is_no_space_code(_code: i32) -> bool {
    false
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to `io::Result`s at the call site.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}
