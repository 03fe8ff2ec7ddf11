//! A read-only open never changes the log, whatever it finds: it is what
//! `walnut verify`/`inspect` and tailing followers in other processes use.

mod common;

use common::{small, Place};
use std::io::{Seek, SeekFrom, Write};
use walnut_core::{Options, RecoveryMode};

fn read_only(recovery: RecoveryMode) -> Options {
    Options {
        read_only: true,
        recovery,
        ..small()
    }
}

fn snapshot(place: &Place) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(&place.dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_read_only_open_of_a_torn_tail_reports_it_and_changes_nothing() {
    // Regression: tolerateTail used to zero the torn tail through the
    // read-only mapping, which killed the process with SIGSEGV.
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    for i in 0..10u8 {
        wal.append(&[i; 20]).unwrap();
    }
    wal.sync().unwrap();
    let seg = place.dir.join(walnut_core::segment::file_name(1));
    // A crash: no clean-close mark, and bytes of a half-written frame past
    // the end of the log.
    std::mem::forget(wal);
    // The leaked handle's preparer thread allocates the next segment in the
    // background; let it finish so it does not race the snapshots below.
    let prepared = place.dir.join("next-segment.tmp");
    let started = std::time::Instant::now();
    while !prepared.exists() && started.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.seek(SeekFrom::Start(4096)).unwrap();
    f.write_all(b"half-written frame").unwrap();
    drop(f);
    let before = snapshot(&place);

    let ro = place.open(read_only(RecoveryMode::TolerateTail)).unwrap();
    assert_eq!((ro.first_index(), ro.last_index()), (1, 10));
    assert_eq!(ro.read(10).unwrap().data, [9u8; 20]);
    let cut = ro
        .recovery()
        .truncated
        .clone()
        .expect("the tail a writable open would cut is reported");
    assert_eq!(cut.from_index, 11);
    assert!(cut.bytes > 0, "the garbage is counted: {cut:?}");
    assert!(ro.recovery().removed_segments.is_empty());
    drop(ro);
    assert_eq!(snapshot(&place), before, "a read-only open changed the log");

    // Absolute mode reports the same tail as damage, still changing nothing.
    let err = place.open(read_only(RecoveryMode::Absolute)).unwrap_err();
    assert!(matches!(err, walnut_core::Error::Corrupt(_)), "{err:?}");
    assert_eq!(snapshot(&place), before);
}
