//! The values a Raft implementation keeps next to its log, in the shapes
//! etcd's `raftpb` and tikv's `eraftpb` give them.

use std::collections::BTreeMap;

/// The state a Raft node must persist before it answers any message: its
/// current term, whom it voted for in that term, and the highest index known
/// committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HardState {
    /// Current term.
    pub term: u64,
    /// Node voted for in `term` (0: none).
    pub vote: u64,
    /// Highest log index known committed.
    pub commit: u64,
}

/// Cluster membership, as etcd's `ConfState`: voters and learners, plus the
/// outgoing configuration while a joint consensus change is in progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfState {
    /// Voters of the (incoming) configuration.
    pub voters: Vec<u64>,
    /// Learners.
    pub learners: Vec<u64>,
    /// Voters of the outgoing configuration (joint consensus only).
    pub voters_outgoing: Vec<u64>,
    /// Voters that become learners when the joint configuration is left.
    pub learners_next: Vec<u64>,
    /// Whether the joint configuration is left automatically.
    pub auto_leave: bool,
}

/// What a snapshot covers: every entry up to `index` (whose term is `term`),
/// with the membership in force at that index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotMeta {
    /// Last index the snapshot covers.
    pub index: u64,
    /// Term of that entry.
    pub term: u64,
    /// Membership at `index`.
    pub conf_state: ConfState,
}

/// A snapshot: its metadata and the application's state machine image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// What it covers.
    pub meta: SnapshotMeta,
    /// The application's bytes (opaque to walnut).
    pub data: Vec<u8>,
}

impl Snapshot {
    /// The empty snapshot (index 0), which is what a log without one reports,
    /// as etcd's `MemoryStorage` does.
    pub fn is_empty(&self) -> bool {
        self.meta.index == 0
    }
}

/// An entry to store. Its index is implied by its position in
/// [`Update::entries`] (see [`Update::first_index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NewEntry<'a> {
    /// Raft term.
    pub term: u64,
    /// Entry type: 0 normal, 1 conf change, 2 conf change v2 (etcd and
    /// raft-rs numbering); other values are stored as given.
    pub kind: u8,
    /// Payload.
    pub data: &'a [u8],
}

/// One crash-atomic change, applied in the order etcd's raftexample uses:
/// snapshot, then entries, then hard state. After a crash a reopen sees the
/// state before the update or the state after it, never a mix.
#[derive(Debug, Clone, Default)]
pub struct Update<'a> {
    /// A snapshot to install (the log restarts after its index).
    pub snapshot: Option<&'a Snapshot>,
    /// Index of `entries[0]`; entries at or below the last index replace the
    /// conflicting suffix, a gap after the last index is an error.
    pub first_index: u64,
    /// Contiguous entries starting at `first_index`.
    pub entries: &'a [NewEntry<'a>],
    /// New hard state.
    pub hard_state: Option<HardState>,
    /// New membership.
    pub conf_state: Option<ConfState>,
    /// Small named integers to set (`Some`) or remove (`None`), kept in the
    /// same record (dgraph's RaftId, GroupId, CheckpointIndex...).
    pub meta: BTreeMap<String, Option<u64>>,
}
