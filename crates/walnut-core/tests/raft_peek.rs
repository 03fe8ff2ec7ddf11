//! `raft::peek` reads the committed Raft state of a directory without
//! opening it: no lock, no change, while the storage may be open elsewhere.

use std::collections::BTreeMap;
use walnut_core::fs::OsFs;
use walnut_core::raft::{self, ConfState, HardState, NewEntry, RaftLog, Update};
use walnut_core::{Options, Wal};

/// Name, length and checksum of every file in `dir`, except the spare segment
/// the open handle's background thread creates whenever it likes.
fn files(dir: &std::path::Path) -> Vec<(String, usize, u32)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "next-segment.tmp")
        .map(|e| {
            let data = std::fs::read(e.path()).unwrap();
            (
                e.file_name().into_string().unwrap(),
                data.len(),
                crc32c::crc32c(&data),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn peek_shows_the_committed_record_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let rs = RaftLog::open(&dir, Options::default()).unwrap();
    let entries: Vec<NewEntry> = (1..=5u64)
        .map(|t| NewEntry {
            term: t,
            kind: 0,
            data: b"cmd",
        })
        .collect();
    let voters = ConfState {
        voters: vec![1, 2, 3],
        ..ConfState::default()
    };
    rs.save(&Update {
        hard_state: Some(HardState {
            term: 5,
            vote: 2,
            commit: 4,
        }),
        conf_state: Some(voters.clone()),
        first_index: 1,
        entries: &entries,
        meta: BTreeMap::from([("raftId".to_string(), Some(7))]),
        ..Default::default()
    })
    .unwrap();

    // While the storage is open (and locked) by its writer.
    let before = files(&dir);
    let rec = raft::peek(&OsFs, &dir).unwrap().expect("a Raft directory");
    assert_eq!(
        rec.hard_state,
        HardState {
            term: 5,
            vote: 2,
            commit: 4
        }
    );
    assert_eq!(rec.conf_state, voters);
    assert_eq!((rec.last_index, rec.last_term), (5, 5));
    assert_eq!(rec.meta.get("raftId"), Some(&7));
    assert!(rec.snapshot.is_none());
    assert_eq!(files(&dir), before, "peek changed the directory");
    rs.close().unwrap();
}

#[test]
fn peek_says_none_for_a_plain_log_or_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plain");
    let wal = Wal::open(&dir, Options::default()).unwrap();
    wal.append(b"not raft").unwrap();
    wal.close().unwrap();
    assert!(raft::peek(&OsFs, &dir).unwrap().is_none());
    assert!(raft::peek(&OsFs, &tmp.path().join("missing"))
        .unwrap()
        .is_none());
}
