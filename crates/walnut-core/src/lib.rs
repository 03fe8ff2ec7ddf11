//! # walnut-core
//!
//! The storage engine of walnut: a segmented write-ahead log of preallocated,
//! memory-mapped files, with CRC32C-framed records, group commit on a
//! dedicated sync thread, crash-safe truncation at both ends, and recovery that
//! tells a torn tail from damaged acknowledged data.
//!
//! ```no_run
//! use walnut_core::{Options, SyncPolicy, Wal};
//! let wal = Wal::open("/tmp/my-log", Options { sync: SyncPolicy::None, ..Options::default() })?;
//! let i = wal.append(b"hello")?;
//! wal.sync()?; // everything appended so far survives power loss
//! assert_eq!(wal.read(i)?.data, b"hello");
//! # Ok::<(), walnut_core::Error>(())
//! ```
//!
//! ## Files in a log directory
//!
//! | name | what |
//! | --- | --- |
//! | `LOCK` | held with `flock(LOCK_EX)` by the one writable handle |
//! | `meta` | two 4 KiB slots ([`meta`]): the first index after compaction |
//! | `NNNNNNNNNNNNNNNNNNNN.seg` | a segment, named by its first index (20 digits) |
//! | `next-segment.tmp` | a segment allocated ahead of rotation; removed on open |
//!
//! ## Segment layout
//!
//! ```text
//! 0      header (64 B, see segment::header)
//! 512    header copy
//! 576    frames, 8-byte aligned (see frame)
//! ...    zero
//! [sealed only] index block: u32 offset per entry (see segment::trailer)
//! len-64 trailer [sealed only]
//! ```
//!
//! A segment file is allocated in full with `fallocate` before it is mapped,
//! so a full disk is an error at creation, never a `SIGBUS` in the mapping.
//!
//! ## Durability
//!
//! `durable_index` advances only after `msync(MS_SYNC)` of every byte up to it
//! (and of directory entries and seals before it) succeeded. A failed sync
//! poisons the handle. See `docs/durability.md` in the repository.

pub mod backup;
pub mod crc;
pub mod error;
pub mod frame;
pub mod fs;
pub mod meta;
pub mod options;
pub mod raft;
pub mod recovery;
mod region;
pub mod segment;
mod segment_list;
mod shared;
pub mod stats;
mod syncer;
pub mod transform;
mod wal;

/// The largest log index: 2^53 - 1, so that every index is exact as a
/// JavaScript number and a log written from Rust stays readable from Node.
pub const MAX_INDEX: u64 = (1 << 53) - 1;

pub use error::{Damage, Error, Result};
pub use options::{Options, RecoveryMode, Retention, SyncPolicy};
pub use recovery::{RecoveryReport, Truncation};
pub use segment::Entry;
pub use segment_list::SegmentCache;
pub use shared::{SyncEvent, SyncListener};
pub use stats::Stats;
pub use transform::{Algorithm, Compression, Encryption, Key};
pub use wal::{Check, Entries, EntryInfo, EntryRef, SegmentInfo, Wal};
