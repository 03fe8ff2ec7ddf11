//! walnut as the storage of tikv's `raft` crate (raft-rs 0.7):
//! [`WalnutStorage`] implements [`raft::Storage`] for reads, and
//! [`WalnutStorage::persist`] stores what a `Ready` asks to persist (snapshot,
//! entries, hard state) as one crash-atomic walnut update.
//!
//! Each raft-rs [`Entry`] is stored whole (protobuf-encoded, so its `context`
//! survives) as the walnut payload, with its term and type also in the frame
//! header, so `term(i)` reads no payload.

use protobuf::Message as _;
use raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};
use std::sync::Arc;
use walnut_core::raft::{self as wr, NewEntry, RaftLog, Update};

/// raft-rs storage backed by a walnut [`RaftLog`].
#[derive(Clone)]
pub struct WalnutStorage {
    log: Arc<RaftLog>,
}

/// Maps a walnut error to the raft-rs error Raft understands.
pub fn to_raft(e: walnut_core::Error) -> raft::Error {
    match e {
        walnut_core::Error::RaftCompacted { .. } => raft::Error::Store(StorageError::Compacted),
        walnut_core::Error::RaftUnavailable { .. } => raft::Error::Store(StorageError::Unavailable),
        walnut_core::Error::RaftSnapshotOutOfDate { .. } => {
            raft::Error::Store(StorageError::SnapshotOutOfDate)
        }
        other => raft::Error::Store(StorageError::Other(Box::new(other))),
    }
}

fn conf_in(c: &ConfState) -> wr::ConfState {
    wr::ConfState {
        voters: c.voters.clone(),
        learners: c.learners.clone(),
        voters_outgoing: c.voters_outgoing.clone(),
        learners_next: c.learners_next.clone(),
        auto_leave: c.auto_leave,
    }
}

fn conf_out(c: &wr::ConfState) -> ConfState {
    ConfState {
        voters: c.voters.clone(),
        learners: c.learners.clone(),
        voters_outgoing: c.voters_outgoing.clone(),
        learners_next: c.learners_next.clone(),
        auto_leave: c.auto_leave,
        ..Default::default()
    }
}

fn snapshot_in(s: &Snapshot) -> wr::Snapshot {
    let m = s.get_metadata();
    wr::Snapshot {
        meta: wr::SnapshotMeta {
            index: m.index,
            term: m.term,
            conf_state: conf_in(m.get_conf_state()),
        },
        data: s.data.to_vec(),
    }
}

fn snapshot_out(s: &wr::Snapshot) -> Snapshot {
    let mut meta = SnapshotMetadata::default();
    meta.index = s.meta.index;
    meta.term = s.meta.term;
    meta.set_conf_state(conf_out(&s.meta.conf_state));
    let mut out = Snapshot::default();
    out.set_metadata(meta);
    out.data = s.data.clone().into();
    out
}

impl WalnutStorage {
    /// Wraps an open [`RaftLog`].
    pub fn new(log: Arc<RaftLog>) -> WalnutStorage {
        WalnutStorage { log }
    }

    /// The walnut log underneath.
    pub fn log(&self) -> &Arc<RaftLog> {
        &self.log
    }

    /// Persists what a `Ready` (or `LightReady`) asks for, crash-atomically,
    /// in etcd raftexample's order: snapshot, then entries, then hard state.
    pub fn persist(
        &self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> raft::Result<()> {
        let encoded: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| e.write_to_bytes().map_err(raft::Error::CodecError))
            .collect::<raft::Result<_>>()?;
        let news: Vec<NewEntry<'_>> = entries
            .iter()
            .zip(&encoded)
            .map(|(e, bytes)| NewEntry {
                term: e.term,
                kind: e.get_entry_type() as u8,
                data: bytes,
            })
            .collect();
        let snap = snapshot
            .filter(|s| s.get_metadata().index > 0)
            .map(snapshot_in);
        let conf_state = snap.as_ref().map(|s| s.meta.conf_state.clone());
        self.log
            .save(&Update {
                snapshot: snap.as_ref(),
                first_index: entries.first().map_or(0, |e| e.index),
                entries: &news,
                hard_state: hard_state.map(|h| wr::HardState {
                    term: h.term,
                    vote: h.vote,
                    commit: h.commit,
                }),
                conf_state,
                meta: Default::default(),
            })
            .map_err(to_raft)
    }

    /// Records a new commit index (from a `LightReady`), keeping term and vote.
    pub fn set_commit(&self, commit: u64) -> raft::Result<()> {
        let mut hs = self.log.hard_state();
        hs.commit = commit;
        self.log
            .save(&Update {
                hard_state: Some(hs),
                ..Default::default()
            })
            .map_err(to_raft)
    }

    /// Records the membership after a conf change was applied.
    pub fn set_conf_state(&self, cs: &ConfState) -> raft::Result<()> {
        self.log
            .save(&Update {
                conf_state: Some(conf_in(cs)),
                ..Default::default()
            })
            .map_err(to_raft)
    }

    /// Stores the application's snapshot at `index` (applied, held in the log).
    pub fn create_snapshot(&self, index: u64, cs: &ConfState, data: &[u8]) -> raft::Result<()> {
        self.log
            .create_snapshot(index, conf_in(cs), data)
            .map(|_| ())
            .map_err(to_raft)
    }

    /// Drops every entry up to and including `index` (etcd's `Compact`).
    pub fn compact(&self, index: u64) -> raft::Result<()> {
        self.log.compact(index).map_err(to_raft)
    }
}

impl raft::Storage for WalnutStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let (hs, cs) = self.log.initial_state();
        let hard_state = HardState {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
            ..Default::default()
        };
        Ok(RaftState::new(hard_state, conf_out(&cs)))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        // raft-rs passes u64::MAX for "no limit" (NO_LIMIT).
        let max = max_size.into().filter(|&m| m != u64::MAX);
        self.log
            .entries(low, high, max)
            .map_err(to_raft)?
            .into_iter()
            .map(|e| Entry::parse_from_bytes(&e.data).map_err(raft::Error::CodecError))
            .collect()
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.log.term(idx).map_err(to_raft)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.log.first_index())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.log.last_index())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let s = self.log.snapshot().map_err(to_raft)?;
        // Only the application can make a newer snapshot; Raft asks again later.
        if s.is_empty() || s.meta.index < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(snapshot_out(&s))
    }
}
