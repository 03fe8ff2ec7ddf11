//! walnut as openraft 0.9's log storage: [`WalnutLogStore`] implements
//! `RaftLogStorage` (and `RaftLogReader`).
//!
//! openraft numbers entries from 0, walnut from 1: openraft index `i` is
//! walnut index `i + 1`. Each entry is stored as JSON (openraft's `serde`
//! feature) with its term in the frame header. The vote is walnut's hard
//! state (term, voted-for node) plus a `committed` flag kept among the meta
//! values of the same record, so a vote is saved crash-atomically. The node id
//! of the last purged log id is kept the same way.

// openraft's own error type is large; its API returns it by value.
#![allow(clippy::result_large_err)]

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, OptionalSend, RaftLogId, RaftTypeConfig,
    StorageError, StorageIOError, Vote,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use walnut_core::raft::{HardState, NewEntry, RaftLog, Update};

const VOTE_COMMITTED: &str = "openraft.vote.committed";
const PURGED_NODE: &str = "openraft.purged.node";
/// Set while the log starts after index 0 without anything having been
/// purged (openraft lets an empty log begin at any index).
const NOT_PURGED: &str = "openraft.purged.none";

/// openraft log storage backed by a walnut [`RaftLog`]. Cloning shares it
/// (the clone is the log reader openraft asks for).
pub struct WalnutLogStore<C> {
    log: Arc<RaftLog>,
    _c: PhantomData<fn() -> C>,
}

impl<C> Clone for WalnutLogStore<C> {
    fn clone(&self) -> Self {
        WalnutLogStore {
            log: self.log.clone(),
            _c: PhantomData,
        }
    }
}

impl<C> WalnutLogStore<C> {
    /// Wraps an open [`RaftLog`].
    pub fn new(log: Arc<RaftLog>) -> Self {
        WalnutLogStore {
            log,
            _c: PhantomData,
        }
    }

    /// The walnut log underneath.
    pub fn log(&self) -> &Arc<RaftLog> {
        &self.log
    }
}

fn io_err(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageError::from(StorageIOError::read_logs(&e))
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageError::from(StorageIOError::write_logs(&e))
}

fn vote_err(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageError::from(StorageIOError::write_vote(&e))
}

/// Runs a blocking walnut write off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> walnut_core::Result<T> + Send + 'static,
) -> Result<walnut_core::Result<T>, tokio::task::JoinError> {
    tokio::task::spawn_blocking(f).await
}

impl<C> WalnutLogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
{
    fn read(&self, lo: u64, hi: u64) -> Result<Vec<Entry<C>>, StorageError<u64>> {
        // openraft indexes -> walnut indexes, clamped to what is held.
        let (first, last) = (self.log.first_index(), self.log.last_index());
        let lo = (lo + 1).max(first);
        let hi = (hi + 1).min(last + 1);
        if lo >= hi {
            return Ok(Vec::new());
        }
        self.log
            .entries(lo, hi, None)
            .map_err(io_err)?
            .into_iter()
            .map(|e| serde_json::from_slice(&e.data).map_err(io_err))
            .collect()
    }

    fn last_purged(&self) -> Option<LogId<u64>> {
        let rec = self.log.record();
        let never_purged = rec.prev_index == 0 || rec.meta.contains_key(NOT_PURGED);
        (!never_purged).then(|| LogId {
            leader_id: CommittedLeaderId::new(
                rec.prev_term,
                rec.meta.get(PURGED_NODE).copied().unwrap_or(0),
            ),
            index: rec.prev_index - 1,
        })
    }
}

impl<C> RaftLogReader<C> for WalnutLogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, StorageError<C::NodeId>> {
        let lo = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i + 1,
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(&i) => i.saturating_add(1),
            Bound::Excluded(&i) => i,
            Bound::Unbounded => u64::MAX - 1,
        };
        self.read(lo, hi)
    }
}

impl<C> RaftLogStorage<C> for WalnutLogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
{
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<C>, StorageError<C::NodeId>> {
        let last_purged_log_id = self.last_purged();
        let last = self.log.last_index();
        let last_log_id = if last >= self.log.first_index() {
            let e = self.read(last - 1, last)?;
            e.last().map(|e| *e.get_log_id())
        } else {
            last_purged_log_id
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        let log = self.log.clone();
        let vote = *vote;
        blocking(move || {
            let commit = log.hard_state().commit;
            log.save(&Update {
                hard_state: Some(HardState {
                    term: vote.leader_id.term,
                    vote: vote.leader_id.node_id,
                    commit,
                }),
                meta: [(VOTE_COMMITTED.to_string(), Some(vote.committed as u64))]
                    .into_iter()
                    .collect(),
                ..Default::default()
            })
        })
        .await
        .map_err(vote_err)?
        .map_err(vote_err)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<C::NodeId>>, StorageError<C::NodeId>> {
        let committed = self.log.meta_value(VOTE_COMMITTED);
        let hs = self.log.hard_state();
        Ok(committed.map(|c| {
            if c == 1 {
                Vote::new_committed(hs.term, hs.vote)
            } else {
                Vote::new(hs.term, hs.vote)
            }
        }))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<C>,
    ) -> Result<(), StorageError<C::NodeId>>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut first = None;
        let mut owned = Vec::new();
        for e in entries {
            first.get_or_insert(e.log_id.index + 1);
            let kind = matches!(e.payload, EntryPayload::Membership(_)) as u8;
            let bytes = serde_json::to_vec(&e).map_err(write_err)?;
            owned.push((e.log_id.leader_id.term, kind, bytes));
        }
        let Some(first) = first else {
            callback.log_io_completed(Ok(()));
            return Ok(());
        };
        let log = self.log.clone();
        let result = blocking(move || {
            if log.last_index() < log.first_index() && first > log.last_index() + 1 {
                // An empty log may begin anywhere in openraft: start walnut's
                // there, marking that nothing before it was purged.
                let meta = [(NOT_PURGED.to_string(), Some(1))].into_iter().collect();
                log.compact_to(first - 1, 0, &meta)?;
            }
            let news: Vec<NewEntry<'_>> = owned
                .iter()
                .map(|(term, kind, data)| NewEntry {
                    term: *term,
                    kind: *kind,
                    data,
                })
                .collect();
            log.save(&Update {
                first_index: first,
                entries: &news,
                ..Default::default()
            })
        })
        .await
        .map_err(write_err)?;
        // The save returned: the entries are durable (one fsync per append).
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        // Drop openraft indexes >= log_id.index, i.e. walnut indexes > log_id.index.
        let log = self.log.clone();
        blocking(move || log.truncate_after(log_id.index))
            .await
            .map_err(write_err)?
            .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        let log = self.log.clone();
        let meta: BTreeMap<String, Option<u64>> = [
            (PURGED_NODE.to_string(), Some(log_id.leader_id.node_id)),
            (NOT_PURGED.to_string(), None),
        ]
        .into_iter()
        .collect();
        blocking(move || log.compact_to(log_id.index + 1, log_id.leader_id.term, &meta))
            .await
            .map_err(write_err)?
            .map_err(write_err)
    }
}
