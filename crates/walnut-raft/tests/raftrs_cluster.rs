//! A 3-node raft-rs cluster in one process, every node's log in walnut:
//! proposals commit; a node stops while the others go on (and compact past
//! it); it restarts from its walnut directory alone, catches up (through a
//! snapshot and entries) and every node ends with every proposal applied
//! exactly once, in order.

use raft::prelude::{ConfState, Entry, EntryType, Message};
use raft::{Config, RawNode, StateRole, Storage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use walnut_core::raft::RaftLog;
use walnut_core::Options;
use walnut_raft::raftrs::WalnutStorage;

/// Snapshot (and compact) every this many applied entries.
const SNAPSHOT_EVERY: u64 = 16;

struct Node {
    raw: RawNode<WalnutStorage>,
    /// The application state: proposal values applied, in order.
    applied: Vec<String>,
    applied_index: u64,
}

fn logger() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

fn encode(values: &[String]) -> Vec<u8> {
    values.join("\n").into_bytes()
}

fn decode(data: &[u8]) -> Vec<String> {
    if data.is_empty() {
        return Vec::new();
    }
    String::from_utf8(data.to_vec())
        .unwrap()
        .split('\n')
        .map(str::to_string)
        .collect()
}

fn open_node(id: u64, dir: &Path) -> Node {
    let log = RaftLog::open(
        dir,
        Options {
            segment_size: 256 << 10,
            ..Options::default()
        },
    )
    .unwrap();
    let store = WalnutStorage::new(Arc::new(log));
    if store.log().conf_state().voters.is_empty() {
        store
            .set_conf_state(&ConfState::from((vec![1, 2, 3], vec![])))
            .unwrap();
    }
    // The state machine restarts from the stored snapshot; Raft redelivers
    // the committed entries after it.
    let snap = store.log().snapshot().unwrap();
    let config = Config {
        id,
        election_tick: 10,
        heartbeat_tick: 3,
        max_size_per_msg: 64 << 10,
        max_inflight_msgs: 64,
        applied: snap.meta.index,
        ..Default::default()
    };
    Node {
        raw: RawNode::new(&config, store, &logger()).unwrap(),
        applied: decode(&snap.data),
        applied_index: snap.meta.index,
    }
}

impl Node {
    fn apply(&mut self, entries: Vec<Entry>) {
        for e in entries {
            self.applied_index = e.index;
            if e.get_entry_type() == EntryType::EntryNormal && !e.data.is_empty() {
                self.applied
                    .push(String::from_utf8(e.data.to_vec()).unwrap());
            }
        }
    }

    /// One round of the raft-rs Ready protocol, with walnut persisting.
    fn handle_ready(&mut self, out: &mut Vec<Message>) {
        if !self.raw.has_ready() {
            return;
        }
        let store = self.raw.store().clone();
        let mut ready = self.raw.ready();
        out.extend(ready.take_messages());
        if !ready.snapshot().is_empty() {
            let s = ready.snapshot();
            self.applied = decode(&s.data);
            self.applied_index = s.get_metadata().index;
        }
        self.apply(ready.take_committed_entries());
        let snapshot = (!ready.snapshot().is_empty()).then(|| ready.snapshot().clone());
        store
            .persist(snapshot.as_ref(), ready.entries(), ready.hs())
            .unwrap();
        out.extend(ready.take_persisted_messages());
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            store.set_commit(commit).unwrap();
        }
        out.extend(light.take_messages());
        self.apply(light.take_committed_entries());
        self.raw.advance_apply();
        self.maybe_snapshot();
    }

    /// The application snapshots its state and lets walnut drop the prefix.
    fn maybe_snapshot(&mut self) {
        let store = self.raw.store().clone();
        let snap_index = store.log().snapshot_meta().map_or(0, |m| m.index);
        if self.applied_index >= snap_index + SNAPSHOT_EVERY {
            let cs = store.initial_state().unwrap().conf_state;
            store
                .create_snapshot(self.applied_index, &cs, &encode(&self.applied))
                .unwrap();
            store.compact(self.applied_index).unwrap();
        }
    }
}

struct Cluster {
    dirs: BTreeMap<u64, PathBuf>,
    nodes: BTreeMap<u64, Node>,
    mailbox: Vec<Message>,
    _tmp: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: BTreeMap<u64, PathBuf> = (1..=3)
            .map(|id| (id, tmp.path().join(format!("node-{id}"))))
            .collect();
        let nodes = dirs.iter().map(|(&id, d)| (id, open_node(id, d))).collect();
        Cluster {
            dirs,
            nodes,
            mailbox: Vec::new(),
            _tmp: tmp,
        }
    }

    fn round(&mut self) {
        for m in std::mem::take(&mut self.mailbox) {
            // Messages to a stopped node are lost, as on a network.
            if let Some(n) = self.nodes.get_mut(&m.to) {
                let _ = n.raw.step(m);
            }
        }
        let mut out = Vec::new();
        for n in self.nodes.values_mut() {
            n.raw.tick();
            n.handle_ready(&mut out);
        }
        self.mailbox = out;
    }

    fn leader(&self) -> Option<u64> {
        self.nodes
            .iter()
            .find(|(_, n)| n.raw.raft.state == StateRole::Leader)
            .map(|(&id, _)| id)
    }

    /// Runs rounds until `done` holds; fails after a generous bound.
    fn run_until(&mut self, what: &str, done: impl Fn(&Cluster) -> bool) {
        for _ in 0..5_000 {
            if done(self) {
                return;
            }
            self.round();
        }
        panic!("cluster did not reach: {what}");
    }

    fn propose(&mut self, values: std::ops::RangeInclusive<u32>) {
        self.run_until("a leader", |c| c.leader().is_some());
        for v in values {
            let leader = self.leader().unwrap();
            self.nodes
                .get_mut(&leader)
                .unwrap()
                .raw
                .propose(vec![], format!("v{v}").into_bytes())
                .unwrap();
            self.round();
        }
    }

    fn all_applied(&self, n: usize) -> bool {
        self.nodes.values().all(|node| node.applied.len() >= n)
    }
}

fn expected(n: u32) -> Vec<String> {
    (1..=n).map(|v| format!("v{v}")).collect()
}

#[test]
fn a_restarted_node_catches_up_from_its_walnut_directory_with_nothing_lost_or_duplicated() {
    let mut c = Cluster::new();
    c.nodes.get_mut(&1).unwrap().raw.campaign().unwrap();
    c.propose(1..=30);
    c.run_until("30 applied everywhere", |c| c.all_applied(30));

    // Node 3 stops; the others commit 50 more and compact past its log.
    let stopped = c.nodes.remove(&3).unwrap();
    let last_before = stopped.raw.store().log().last_index();
    drop(stopped);
    c.propose(31..=80);
    c.run_until("80 applied on the survivors", |c| c.all_applied(80));
    let leader = c.leader().unwrap();
    let leader_first = c.nodes[&leader].raw.store().log().first_index();
    assert!(
        leader_first > last_before + 1,
        "the leader compacted past the stopped node's log ({leader_first} vs {last_before})"
    );

    // Node 3 restarts from its directory alone.
    let restarted = open_node(3, &c.dirs[&3]);
    assert_eq!(restarted.raw.store().log().last_index(), last_before);
    assert!(
        restarted
            .raw
            .store()
            .initial_state()
            .unwrap()
            .hard_state
            .term
            >= 1
    );
    c.nodes.insert(3, restarted);
    c.propose(81..=100);
    c.run_until("100 applied everywhere", |c| c.all_applied(100));
    for _ in 0..50 {
        c.round(); // let any duplicate surface
    }
    for (id, n) in &c.nodes {
        assert_eq!(n.applied, expected(100), "node {id}");
    }

    // Then the leader restarts too: a new term, and still nothing lost.
    let leader = c.leader().unwrap();
    drop(c.nodes.remove(&leader));
    let back = open_node(leader, &c.dirs[&leader]);
    c.nodes.insert(leader, back);
    c.propose(101..=120);
    c.run_until("120 applied everywhere", |c| c.all_applied(120));
    for _ in 0..50 {
        c.round();
    }
    for (id, n) in &c.nodes {
        assert_eq!(n.applied, expected(120), "node {id}");
        let log = n.raw.store().log();
        let last = log.last_index();
        assert_eq!(
            log.term(last).unwrap(),
            n.raw.raft.raft_log.last_term(),
            "node {id}"
        );
    }
}
