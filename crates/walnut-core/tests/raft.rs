//! Raft storage (`walnut_core::raft`) through its public API: the etcd-raft
//! `Storage` semantics and the typed errors. Crash atomicity is in
//! `raft_crash.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use walnut_core::fs::{FileSystem, MemoryFs};
use walnut_core::raft::{ConfState, HardState, NewEntry, RaftLog, Snapshot, SnapshotMeta, Update};
use walnut_core::{Options, Wal};

const DIR: &str = "/raft";

fn small() -> Options {
    Options {
        segment_size: 64 << 10,
        ..Options::default()
    }
}

fn open_mem(fs: &MemoryFs) -> RaftLog {
    RaftLog::open_with(Arc::new(fs.clone()), DIR, small()).unwrap()
}

fn voters(ids: &[u64]) -> ConfState {
    ConfState {
        voters: ids.to_vec(),
        ..Default::default()
    }
}

/// Appends entries `(term, data)` right after the last index.
fn append(log: &RaftLog, items: &[(u64, &str)]) {
    let entries: Vec<_> = items
        .iter()
        .map(|(t, d)| NewEntry {
            term: *t,
            kind: 0,
            data: d.as_bytes(),
        })
        .collect();
    log.save(&Update {
        first_index: log.last_index() + 1,
        entries: &entries,
        ..Default::default()
    })
    .unwrap();
}

fn datas(log: &RaftLog, lo: u64, hi: u64) -> Vec<(u64, u64, String)> {
    log.entries(lo, hi, None)
        .unwrap()
        .into_iter()
        .map(|e| (e.index, e.term, String::from_utf8(e.data).unwrap()))
        .collect()
}

#[test]
fn a_new_storage_is_empty_like_etcds_memory_storage() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    assert_eq!(
        log.initial_state(),
        (HardState::default(), ConfState::default())
    );
    assert_eq!((log.first_index(), log.last_index()), (1, 0));
    assert_eq!(log.term(0).unwrap(), 0);
    assert!(log.entries(1, 1, None).unwrap().is_empty());
    assert!(log.snapshot().unwrap().is_empty());
    assert_eq!(log.term(1).unwrap_err().code(), "ERR_RAFT_UNAVAILABLE");
}

#[test]
fn saved_entries_hard_state_membership_and_meta_survive_a_reopen() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    let entries = [
        NewEntry {
            term: 1,
            kind: 1,
            data: b"conf",
        },
        NewEntry {
            term: 1,
            kind: 0,
            data: b"put a",
        },
    ];
    log.save(&Update {
        hard_state: Some(HardState {
            term: 1,
            vote: 3,
            commit: 1,
        }),
        conf_state: Some(voters(&[1, 2, 3])),
        first_index: 1,
        entries: &entries,
        meta: [
            ("raftId".to_string(), Some(3)),
            ("groupId".to_string(), Some(9)),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    })
    .unwrap();
    log.close().unwrap();
    let log = open_mem(&fs.crash());
    assert_eq!(
        log.initial_state(),
        (
            HardState {
                term: 1,
                vote: 3,
                commit: 1
            },
            voters(&[1, 2, 3])
        )
    );
    let got = log.entries(1, 3, None).unwrap();
    assert_eq!((got[0].kind, got[1].kind), (1, 0));
    assert_eq!(
        datas(&log, 1, 3),
        vec![(1, 1, "conf".into()), (2, 1, "put a".into())]
    );
    assert_eq!(log.meta_value("raftId"), Some(3));
    log.save(&Update {
        meta: [("groupId".to_string(), None)].into_iter().collect(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        log.meta_values(),
        [("raftId".to_string(), 3)]
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    );
}

#[test]
fn entries_at_or_below_the_last_index_replace_the_conflicting_suffix() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "a"), (1, "b"), (1, "c"), (1, "d")]);
    let replacement = [NewEntry {
        term: 2,
        kind: 0,
        data: b"B",
    }];
    log.save(&Update {
        first_index: 2,
        entries: &replacement,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(log.last_index(), 2);
    assert_eq!(
        datas(&log, 1, 3),
        vec![(1, 1, "a".into()), (2, 2, "B".into())]
    );
    drop(log);
    let log = open_mem(&fs.crash());
    assert_eq!(
        datas(&log, 1, 3),
        vec![(1, 1, "a".into()), (2, 2, "B".into())]
    );
}

#[test]
fn a_gap_is_a_typed_error_and_writes_nothing() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "a")]);
    let e = [NewEntry {
        term: 1,
        kind: 0,
        data: b"x",
    }];
    let err = log
        .save(&Update {
            first_index: 3,
            entries: &e,
            hard_state: Some(HardState {
                term: 9,
                vote: 0,
                commit: 0,
            }),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "ERR_RAFT_LOG_GAP");
    assert_eq!(log.last_index(), 1);
    assert_eq!(log.hard_state(), HardState::default());
    append(&log, &[(1, "b")]); // the handle is still usable
    assert_eq!(log.last_index(), 2);
}

#[test]
fn reads_follow_etcd_bounds_and_byte_budgets() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "aaaa"), (1, "bbbb"), (2, "cccc"), (3, "dddd")]);
    assert_eq!(log.entries(1, 5, Some(8)).unwrap().len(), 2);
    assert_eq!(log.entries(1, 5, Some(1)).unwrap().len(), 1, "at least one");
    assert_eq!(
        log.entries(5, 6, None).unwrap_err().code(),
        "ERR_RAFT_UNAVAILABLE"
    );
    assert_eq!(log.term(3).unwrap(), 2);
    log.compact(2).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (3, 4));
    assert_eq!(
        log.term(2).unwrap(),
        1,
        "term of first_index - 1 after compaction"
    );
    assert_eq!(log.term(1).unwrap_err().code(), "ERR_RAFT_COMPACTED");
    assert_eq!(
        log.entries(2, 4, None).unwrap_err().code(),
        "ERR_RAFT_COMPACTED"
    );
    assert_eq!(log.compact(2).unwrap_err().code(), "ERR_RAFT_COMPACTED");
    assert_eq!(log.compact(5).unwrap_err().code(), "ERR_RAFT_UNAVAILABLE");
    drop(log);
    let log = open_mem(&fs.crash());
    assert_eq!((log.first_index(), log.last_index()), (3, 4));
    assert_eq!(log.term(2).unwrap(), 1);
    assert_eq!(log.wal().first_index(), 3, "the log's prefix is gone too");
}

#[test]
fn a_created_snapshot_reads_back_verified_and_older_ones_are_out_of_date() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "a"), (2, "b"), (2, "c")]);
    let meta = log.create_snapshot(2, voters(&[1, 2]), b"image@2").unwrap();
    assert_eq!((meta.index, meta.term), (2, 2));
    assert_eq!(log.snapshot().unwrap().data, b"image@2");
    assert_eq!(
        log.create_snapshot(2, voters(&[1]), b"again")
            .unwrap_err()
            .code(),
        "ERR_RAFT_SNAPSHOT_OUT_OF_DATE"
    );
    assert_eq!(
        log.create_snapshot(4, voters(&[1]), b"future")
            .unwrap_err()
            .code(),
        "ERR_RAFT_UNAVAILABLE"
    );
    log.create_snapshot(3, voters(&[1, 2, 3]), b"image@3")
        .unwrap();
    drop(log);
    let crashed = fs.crash();
    let log = open_mem(&crashed);
    let s = log.snapshot().unwrap();
    assert_eq!(
        (s.meta.index, s.meta.term, s.data),
        (3, 2, b"image@3".to_vec())
    );
    let snaps: Vec<_> = crashed
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .filter(|e| e.name.starts_with("raft-snap-"))
        .collect();
    assert_eq!(snaps.len(), 1, "the replaced image is removed");
}

#[test]
fn a_damaged_snapshot_image_is_reported_not_returned() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "a")]);
    log.create_snapshot(1, voters(&[1]), b"precious").unwrap();
    let path = Path::new(DIR).join(walnut_core::raft::snapfile::file_name(1));
    let mut bytes = fs.read_file(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs.remove(&path).unwrap();
    fs.write_file(&path, &bytes).unwrap();
    assert_eq!(log.snapshot().unwrap_err().code(), "ERR_WAL_CORRUPT");
}

#[test]
fn installing_a_snapshot_restarts_the_log_after_it() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "a"), (1, "b"), (1, "c")]);
    let snap = Snapshot {
        meta: SnapshotMeta {
            index: 10,
            term: 4,
            conf_state: voters(&[1, 2, 3]),
        },
        data: b"leader image".to_vec(),
    };
    let after = [NewEntry {
        term: 4,
        kind: 0,
        data: b"k",
    }];
    log.save(&Update {
        snapshot: Some(&snap),
        first_index: 11,
        entries: &after,
        hard_state: Some(HardState {
            term: 4,
            vote: 0,
            commit: 10,
        }),
        ..Default::default()
    })
    .unwrap();
    assert_eq!((log.first_index(), log.last_index()), (11, 11));
    assert_eq!(log.term(10).unwrap(), 4);
    assert_eq!(log.conf_state(), voters(&[1, 2, 3]));
    assert_eq!(
        log.apply_snapshot(&snap).unwrap_err().code(),
        "ERR_RAFT_SNAPSHOT_OUT_OF_DATE"
    );
    drop(log);
    let log = open_mem(&fs.crash());
    assert_eq!(datas(&log, 11, 12), vec![(11, 4, "k".into())]);
    assert_eq!(log.snapshot().unwrap(), snap);
    // A snapshot inside the held log drops the entries after it too.
    let snap2 = Snapshot {
        meta: SnapshotMeta {
            index: 11,
            term: 4,
            conf_state: voters(&[1, 2]),
        },
        data: b"img".to_vec(),
    };
    log.apply_snapshot(&snap2).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (12, 11));
}

#[test]
fn openraft_style_purge_beyond_the_end_and_truncate() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    append(&log, &[(1, "a"), (1, "b"), (2, "c")]);
    log.truncate_after(1).unwrap();
    assert_eq!(datas(&log, 1, 2), vec![(1, 1, "a".into())]);
    assert_eq!(
        log.compact_to(1, 7, &BTreeMap::new()).unwrap_err().code(),
        "ERR_WAL_INVALID_ARGUMENT"
    );
    log.compact_to(
        5,
        3,
        &[("purgedBy".to_string(), Some(2))].into_iter().collect(),
    )
    .unwrap();
    assert_eq!(log.meta_value("purgedBy"), Some(2));
    assert_eq!(
        (log.first_index(), log.last_index(), log.term(5).unwrap()),
        (6, 5, 3)
    );
    append(&log, &[(3, "f")]);
    drop(log);
    let log = open_mem(&fs.crash());
    assert_eq!(datas(&log, 6, 7), vec![(6, 3, "f".into())]);
}

#[test]
fn an_oversized_membership_is_refused_before_anything_is_written() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    let huge: Vec<u64> = (1..=10_000).collect();
    let err = log
        .save(&Update {
            conf_state: Some(voters(&huge)),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "ERR_WAL_INVALID_ARGUMENT");
    let big: Vec<u64> = (1..=5_000).collect();
    log.save(&Update {
        conf_state: Some(voters(&big)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(log.conf_state().voters.len(), 5_000);
}

#[test]
fn a_plain_log_directory_is_not_taken_for_raft_storage() {
    let fs = MemoryFs::new();
    let wal = Wal::open_with(Arc::new(fs.clone()), DIR, small()).unwrap();
    wal.append(b"not raft").unwrap();
    wal.close().unwrap();
    let err = RaftLog::open_with(Arc::new(fs.clone()), DIR, small()).unwrap_err();
    assert_eq!(err.code(), "ERR_WAL_INVALID_ARGUMENT");
    let wal = Wal::open_with(Arc::new(fs), DIR, small()).unwrap();
    assert_eq!(wal.read(1).unwrap().data, b"not raft", "untouched");
}

#[test]
fn batches_larger_than_a_segment_are_stored_across_segments() {
    let fs = MemoryFs::new();
    let log = open_mem(&fs);
    let payload = vec![7u8; 4000];
    let entries: Vec<_> = (0..100)
        .map(|_| NewEntry {
            term: 1,
            kind: 0,
            data: &payload,
        })
        .collect();
    log.save(&Update {
        first_index: 1,
        entries: &entries,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(log.last_index(), 100);
    assert!(log.wal().stats().segments > 1);
    drop(log);
    let log = open_mem(&fs.crash());
    assert_eq!(log.entries(1, 101, None).unwrap().len(), 100);
}
