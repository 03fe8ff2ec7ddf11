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

/// A process killed while it created the next segment file (the file is
/// made, then its blocks are allocated) leaves an empty file under the
/// segment's name, after a segment whose seal may be done. The empty file
/// holds nothing: a reopen removes it and keeps every record, on the real
/// file system as on the memory one.
#[test]
fn an_empty_segment_file_left_by_a_crash_during_its_creation_is_removed() {
    for (kind, place) in common::places() {
        let wal = place.open(options()).unwrap();
        fill_to(&wal, 2);
        let first_sealed = wal.segments()[0].clone();
        // Only the sealed segment is left: the next one starts right after it.
        wal.truncate_after(first_sealed.last_index).unwrap();
        let last = wal.last_index();
        wal.close().unwrap();
        let next = walnut_core::segment::file_name(last + 1);
        let _ = place.fs.remove(&place.dir.join(&next));
        place.fs.write_file(&place.dir.join(&next), &[]).unwrap();

        let wal = place
            .open(options())
            .unwrap_or_else(|e| panic!("{kind}: a reopen refused the log: {e}"));
        assert_eq!(wal.last_index(), last, "{kind}");
        for i in 1..=last {
            assert_eq!(wal.read(i).unwrap().data, record(i), "{kind}: record {i}");
        }
        assert_eq!(
            wal.recovery().removed_segments,
            vec![next.clone()],
            "{kind}"
        );
        assert_eq!(wal.append(&record(last + 1)).unwrap(), last + 1, "{kind}");
        wal.sync().unwrap();
        drop(wal);
        let wal = place.open(options()).unwrap();
        assert_eq!(wal.read(last + 1).unwrap().data, record(last + 1), "{kind}");
    }
}

/// The metadata file of a new log is made under a temporary name and renamed
/// once allocated and synced: a process killed before the rename leaves only
/// the temporary file, which the next open replaces, and never an empty
/// metadata file (which a reopen would have to refuse as damage).
#[test]
fn a_crash_while_a_new_log_made_its_metadata_file_leaves_a_log_that_opens() {
    for (kind, place) in common::places() {
        place.fs.create_dir_all(&place.dir).unwrap();
        let leftover = place.dir.join("meta.tmp");
        place.fs.write_file(&leftover, &[]).unwrap();

        let wal = place
            .open(options())
            .unwrap_or_else(|e| panic!("{kind}: a new log failed to open: {e}"));
        assert_eq!(wal.append(&record(1)).unwrap(), 1, "{kind}");
        wal.close().unwrap();
        let names: Vec<String> = place
            .fs
            .list(&place.dir)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(
            !names.iter().any(|n| n.ends_with(".tmp")),
            "{kind}: leftovers in {names:?}"
        );

        // An empty metadata file is damage now, never taken for a new log.
        let meta = place.dir.join("meta");
        place.fs.remove(&meta).unwrap();
        place.fs.write_file(&meta, &[]).unwrap();
        match place.open(options()) {
            Err(walnut_core::Error::Corrupt(d)) => assert!(
                d.reason.contains("metadata file has 0 bytes"),
                "{kind}: {d}"
            ),
            other => panic!("{kind}: expected a corruption error, got {other:?}"),
        }
    }
}
