//! What a writable open makes durable after a process crash: recovery reads
//! the page cache, which may hold bytes the dead process never synced, so
//! the open syncs every segment it keeps before it builds on them.

mod common;

use common::recording::{Hint, Recording};
use std::sync::Arc;
use walnut_core::{Options, SyncPolicy, Wal};

fn options() -> Options {
    Options {
        sync: SyncPolicy::None,
        segment_size: 64 << 10,
        ..Options::default()
    }
}

fn record(i: u64) -> Vec<u8> {
    let mut r = vec![(i % 251) as u8; 1000];
    r[..8].copy_from_slice(&i.to_le_bytes());
    r
}

/// A new log on a memory file system whose later state a test can copy.
fn open_fresh() -> (Recording, Wal) {
    let fs = Recording::over(Default::default());
    let wal = Wal::open_with(
        Arc::new(Recording::over(fs.inner.clone())),
        "/log",
        options(),
    )
    .unwrap();
    (fs, wal)
}

/// Appends records until the log has `segments` segment files.
fn fill_to(wal: &Wal, segments: usize) {
    while wal.segments().len() < segments {
        wal.append(&record(wal.last_index() + 1)).unwrap();
    }
}

/// The log as a process crash leaves it (every write kept, synced or not),
/// opened again; returns the new handle and the names of the files the open
/// synced.
fn reopen_after_process_crash(fs: &Recording) -> (Arc<Recording>, Wal, Vec<String>) {
    let after = Arc::new(Recording::over(fs.inner.snapshot()));
    let wal = Wal::open_with(after.clone(), "/log", options()).unwrap();
    let synced = after
        .hints()
        .into_iter()
        .filter_map(|h| match h {
            Hint::Sync { file, .. } if file.ends_with(".seg") => Some(file),
            _ => None,
        })
        .collect();
    (after, wal, synced)
}

/// Power loss after `wal` synced: every record up to `last` must be there.
fn assert_survives_power_loss(fs: &Recording, wal: Wal, last: u64) {
    wal.sync().unwrap();
    let crashed = Arc::new(Recording::over(fs.inner.crash()));
    std::mem::forget(wal); // the machine went down with the handle open
    let wal = Wal::open_with(crashed, "/log", options()).unwrap();
    assert_eq!(wal.last_index(), last, "records lost to power loss");
    for i in 1..=last {
        assert_eq!(wal.read(i).unwrap().data, record(i), "record {i}");
    }
}

/// The process holding `wal` dies; the reopen must sync each of its segment
/// files, and after power loss every record up to `last` must be there.
fn reopen_syncs_every_segment(fs: &Recording, wal: Wal, last: u64) {
    let names: Vec<String> = wal.segments().into_iter().map(|s| s.name).collect();
    let (after, reopened, synced) = reopen_after_process_crash(fs);
    std::mem::forget(wal); // the dead process never closed it
    for name in &names {
        assert!(
            synced.contains(name),
            "{name} was not synced by the reopen: {synced:?}"
        );
    }
    assert_survives_power_loss(&after, reopened, last);
}

#[test]
fn a_reopen_syncs_every_segment_when_nothing_proves_it_durable() {
    let (fs, wal) = open_fresh();
    // The append that rotates into the second segment is the last: no frame
    // written after the first segment's seal attests to it.
    fill_to(&wal, 2);
    let last = wal.last_index();
    // Sealed in the background; wait, so that the reopen finds a seal.
    while !wal.segments()[0].sealed {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    reopen_syncs_every_segment(&fs, wal, last);
}

#[test]
fn a_reopen_syncs_sealed_segments_even_when_later_frames_attest_them() {
    // The frames prove the process that wrote them synced them, not that the
    // files now opened are those it synced: a directory copied without a
    // sync carries the same frames.
    let (fs, wal) = open_fresh();
    fill_to(&wal, 3);
    wal.sync().unwrap();
    // Written after the sync: its frame attests everything before it.
    wal.append(&record(wal.last_index() + 1)).unwrap();
    let last = wal.last_index();
    reopen_syncs_every_segment(&fs, wal, last);
}
