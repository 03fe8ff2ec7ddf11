//! openraft's own storage test suite (`openraft::testing::Suite::test_all`),
//! unmodified, with walnut as the log store. The suite also needs a state
//! machine; the in-memory one below is the smallest that meets its contract
//! (walnut is not a state machine: it stores the log).

use openraft::storage::{RaftLogStorage, RaftSnapshotBuilder, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, OptionalSend, Snapshot, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership, Vote,
};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use walnut_core::raft::RaftLog;
use walnut_core::Options;
use walnut_raft::openraft_store::WalnutLogStore;

openraft::declare_raft_types!(
    /// Types of the suite's cluster: string commands and responses.
    pub Cfg: D = String, R = String
);

#[derive(Default, Clone)]
struct SmState {
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, BasicNode>,
    data: BTreeMap<u64, String>,
}

/// The snapshot a state machine holds: metadata and bytes.
type CurrentSnapshot = Option<(SnapshotMeta<u64, BasicNode>, Vec<u8>)>;

/// An in-memory state machine: the applied commands by index.
#[derive(Clone, Default)]
struct MemSm {
    state: Arc<Mutex<SmState>>,
    current: Arc<Mutex<CurrentSnapshot>>,
}

impl RaftSnapshotBuilder<Cfg> for MemSm {
    async fn build_snapshot(&mut self) -> Result<Snapshot<Cfg>, StorageError<u64>> {
        let st = self.state.lock().unwrap().clone();
        let data =
            serde_json::to_vec(&st.data).map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let meta = SnapshotMeta {
            last_log_id: st.last_applied,
            last_membership: st.membership.clone(),
            snapshot_id: format!("{:?}", st.last_applied.map(|l| l.index)),
        };
        *self.current.lock().unwrap() = Some((meta.clone(), data.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<Cfg> for MemSm {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>), StorageError<u64>> {
        let st = self.state.lock().unwrap();
        Ok((st.last_applied, st.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<String>, StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<Cfg>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut st = self.state.lock().unwrap();
        let mut out = Vec::new();
        for e in entries {
            st.last_applied = Some(e.log_id);
            match e.payload {
                EntryPayload::Blank => out.push(String::new()),
                EntryPayload::Normal(cmd) => {
                    st.data.insert(e.log_id.index, cmd.clone());
                    out.push(cmd);
                }
                EntryPayload::Membership(m) => {
                    st.membership = StoredMembership::new(Some(e.log_id), m);
                    out.push(String::new());
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<u64>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<u64>> {
        let bytes = snapshot.into_inner();
        let data = serde_json::from_slice(&bytes)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        *self.state.lock().unwrap() = SmState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            data,
        };
        *self.current.lock().unwrap() = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<Cfg>>, StorageError<u64>> {
        Ok(self
            .current
            .lock()
            .unwrap()
            .clone()
            .map(|(meta, data)| Snapshot {
                meta,
                snapshot: Box::new(Cursor::new(data)),
            }))
    }
}

fn small() -> Options {
    Options {
        segment_size: 64 << 10,
        ..Options::default()
    }
}

/// Builds a fresh walnut log store (in a temporary directory) per test.
struct Builder;

impl StoreBuilder<Cfg, WalnutLogStore<Cfg>, MemSm, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, WalnutLogStore<Cfg>, MemSm), StorageError<u64>> {
        let dir = tempfile::tempdir().map_err(|e| StorageIOError::write_logs(&e))?;
        let log = RaftLog::open(dir.path().join("log"), small())
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok((dir, WalnutLogStore::new(Arc::new(log)), MemSm::default()))
    }
}

#[test]
fn openraft_storage_suite_passes_unmodified() {
    Suite::test_all(Builder).unwrap();
}

#[test]
fn the_openraft_log_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut store =
            WalnutLogStore::<Cfg>::new(Arc::new(RaftLog::open(&path, small()).unwrap()));
        store.save_vote(&Vote::new_committed(3, 2)).await.unwrap();
        let id = |i| LogId::new(openraft::CommittedLeaderId::new(3, 2), i);
        // Appending goes through openraft's own flush callback, which needs a
        // running Raft; walnut's save is the same call, so write through it.
        let log = store.log().clone();
        let entries: Vec<Entry<Cfg>> = (0..5u64)
            .map(|i| Entry {
                log_id: id(i),
                payload: EntryPayload::Normal(format!("cmd{i}")),
            })
            .collect();
        let bytes: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect();
        let news: Vec<_> = bytes
            .iter()
            .map(|b| walnut_core::raft::NewEntry {
                term: 3,
                kind: 0,
                data: b,
            })
            .collect();
        log.save(&walnut_core::raft::Update {
            first_index: 1,
            entries: &news,
            ..Default::default()
        })
        .unwrap();
        store.purge(id(1)).await.unwrap();
        log.close().unwrap();
    });
    drop(rt);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut store =
            WalnutLogStore::<Cfg>::new(Arc::new(RaftLog::open(&path, small()).unwrap()));
        assert_eq!(
            store.read_vote().await.unwrap(),
            Some(Vote::new_committed(3, 2))
        );
        let state = store.get_log_state().await.unwrap();
        let id = |i| LogId::new(openraft::CommittedLeaderId::new(3, 2), i);
        assert_eq!(state.last_purged_log_id, Some(id(1)));
        assert_eq!(state.last_log_id, Some(id(4)));
        let mut reader = store.get_log_reader().await;
        use openraft::storage::RaftLogReader;
        let got = reader.try_get_log_entries(0..10).await.unwrap();
        let cmds: Vec<_> = got
            .iter()
            .map(|e| match &e.payload {
                EntryPayload::Normal(c) => c.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(cmds, ["cmd2", "cmd3", "cmd4"]);
    });
}
