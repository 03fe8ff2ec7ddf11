//! # walnut-raft
//!
//! walnut ([`walnut_core::raft::RaftLog`]) as the log storage of two Raft
//! engines from crates.io, each checked by that engine's own expectations:
//!
//! * [`openraft_store::WalnutLogStore`] implements openraft 0.9's
//!   `RaftLogStorage`; `tests/openraft_suite.rs` runs openraft's own
//!   `openraft::testing::Suite::test_all` against it, unmodified;
//! * [`raftrs::WalnutStorage`] implements tikv raft-rs 0.7's `Storage`;
//!   `tests/raftrs_cluster.rs` runs a 3-node in-process cluster, restarts a
//!   node from its walnut directory and checks that it catches up with no
//!   entry lost or duplicated.

pub mod openraft_store;
pub mod raftrs;
