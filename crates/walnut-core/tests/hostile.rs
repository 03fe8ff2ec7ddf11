//! Hostile and surprising files: another process truncating or deleting a
//! segment under an open log, symlinks, things named like segments that are
//! not, and names that are almost segment names. The process must survive
//! every one with a typed error, and nothing outside the directory is touched.

#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use walnut_core::segment::file_name;
use walnut_core::{Error, Options, RecoveryMode, Wal};

fn opts() -> Options {
    Options {
        segment_size: 1 << 20,
        prefault: false,
        ..Options::default()
    }
}

fn record(i: u64) -> Vec<u8> {
    (0..500).map(|j| (i * 7 + j) as u8).collect()
}

fn filled(dir: &Path, n: u64) -> Wal {
    let wal = Wal::open(dir, opts()).unwrap();
    for i in 1..=n {
        wal.append(&record(i)).unwrap();
    }
    wal.sync().unwrap();
    wal
}

/// A symlink at `link` to `target`; false (the test is skipped) when the
/// system does not let this user create one (Windows without Developer Mode
/// or administrator rights).
fn symlink(target: &Path, link: &Path) -> bool {
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, link);
    #[cfg(windows)]
    let made = std::os::windows::fs::symlink_file(target, link);
    match made {
        Ok(()) => true,
        Err(e) if cfg!(windows) && e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: cannot create a symlink here ({e})");
            false
        }
        Err(e) => panic!("creating a symlink: {e}"),
    }
}

// The SIGBUS guard is installed on Linux only.
#[cfg(target_os = "linux")]
#[test]
fn a_segment_truncated_under_an_open_log_gives_typed_errors_not_sigbus() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let wal = filled(&dir, 200);
    // Another process cuts the active segment to nothing. Every page of the
    // mapping now lies beyond the end of the file: touching one is SIGBUS.
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(file_name(1)))
        .unwrap()
        .set_len(0)
        .unwrap();
    match wal.read(150) {
        Err(Error::Corrupt(d)) => {
            assert_eq!(d.file, file_name(1));
            assert_eq!(d.index, 150);
            assert!(d.reason.contains("truncated by another process"), "{d}");
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    // The append lands in the zero page the guard put in place, not in the
    // file: the next sync must say so, and the handle is poisoned after it.
    let appended = wal.append(b"after the truncation");
    assert!(appended.is_ok() || matches!(appended, Err(Error::Poisoned(_))));
    let synced = wal.sync();
    assert!(
        matches!(synced, Err(Error::Io { .. }) | Err(Error::Poisoned(_))),
        "a sync of a shrunk file must fail, got {synced:?}"
    );
    assert!(matches!(wal.append(b"x"), Err(Error::Poisoned(_))));
    drop(wal);
    // A reopen sees what is on disk now: an empty segment file.
    let reopened = Wal::open(&dir, opts());
    assert!(
        matches!(
            reopened,
            Err(Error::Corrupt(_)) | Err(Error::Io { .. }) | Err(Error::InvalidArgument(_))
        ) || reopened.as_ref().is_ok_and(|w| w.last_index() == 0),
        "got {reopened:?}"
    );
}

/// Windows refuses to shrink a file while a view of it is mapped, so the
/// hazard the SIGBUS guard handles elsewhere cannot arise.
#[cfg(windows)]
#[test]
fn a_segment_cannot_be_truncated_under_an_open_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let wal = filled(&dir, 200);
    let shrunk = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(file_name(1)))
        .and_then(|f| f.set_len(0));
    assert!(shrunk.is_err(), "a mapped file must not shrink");
    for i in 1..=200 {
        assert_eq!(wal.read(i).unwrap().data, record(i));
    }
    wal.append(b"still works").unwrap();
    wal.sync().unwrap();
}

#[cfg(unix)]
#[test]
fn a_segment_deleted_under_an_open_log_stays_readable_through_the_mapping() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let wal = filled(&dir, 50);
    // Unlinking does not shrink the file: the mapping keeps the inode alive.
    std::fs::remove_file(dir.join(file_name(1))).unwrap();
    for i in 1..=50 {
        assert_eq!(wal.read(i).unwrap().data, record(i));
    }
    wal.append(b"still works").unwrap();
    wal.sync().unwrap();
}

/// Windows refuses to delete a file while a view of it is mapped: another
/// process cannot remove a segment from under an open log.
#[cfg(windows)]
#[test]
fn a_segment_cannot_be_deleted_under_an_open_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let wal = filled(&dir, 50);
    assert!(std::fs::remove_file(dir.join(file_name(1))).is_err());
    for i in 1..=50 {
        assert_eq!(wal.read(i).unwrap().data, record(i));
    }
    wal.append(b"still works").unwrap();
    wal.sync().unwrap();
}

/// Runs `name` (a test of this binary) in a child process with `env` set.
#[cfg(unix)]
fn child(name: &str, env: &str) -> std::process::ExitStatus {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(env, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_fault_outside_walnut_mappings_still_kills_the_process() {
    if std::env::var_os("WALNUT_TEST_FOREIGN_SIGBUS").is_some() {
        // Child: walnut's guard is installed (a log was opened), then a
        // mapping walnut knows nothing about faults.
        let tmp = tempfile::tempdir().unwrap();
        let _wal = filled(&tmp.path().join("log"), 1);
        let path = tmp.path().join("foreign");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.set_len(8192).unwrap();
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        file.set_len(0).unwrap();
        let byte = unsafe { std::ptr::read_volatile(map.as_ptr().add(4096)) };
        println!("survived with {byte}");
        std::process::exit(0);
    }
    let status = child(
        "a_fault_outside_walnut_mappings_still_kills_the_process",
        "WALNUT_TEST_FOREIGN_SIGBUS",
    );
    assert_eq!(
        status.signal(),
        Some(libc::SIGBUS),
        "a fault in someone else's mapping must keep its default action, got {status:?}"
    );
}

#[test]
fn a_symlink_named_like_a_segment_is_refused_and_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    filled(&dir, 5).close().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::write(&outside, b"not yours").unwrap();
    if !symlink(&outside, &dir.join(file_name(6))) {
        return;
    }
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::Absolute] {
        let r = Wal::open(
            &dir,
            Options {
                recovery: mode,
                ..opts()
            },
        );
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "{mode:?}: {r:?}"
        );
    }
    assert_eq!(std::fs::read(&outside).unwrap(), b"not yours");
    assert!(
        dir.join(file_name(6)).symlink_metadata().is_ok(),
        "the link is left alone"
    );
}

#[test]
fn a_directory_named_like_a_segment_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    filled(&dir, 5).close().unwrap();
    std::fs::create_dir(dir.join(file_name(6))).unwrap();
    let r = Wal::open(&dir, opts());
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
}

#[test]
fn a_symlinked_metadata_file_is_refused_and_its_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    filled(&dir, 5).close().unwrap();
    let outside = tmp.path().join("outside-meta");
    std::fs::write(&outside, vec![0u8; 8192]).unwrap();
    std::fs::remove_file(dir.join("meta")).unwrap();
    if !symlink(&outside, &dir.join("meta")) {
        return;
    }
    let r = Wal::open(&dir, opts());
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    assert_eq!(std::fs::read(&outside).unwrap(), vec![0u8; 8192]);
}

#[test]
fn garbage_named_like_the_next_segment_is_never_read_as_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    filled(&dir, 5).close().unwrap();
    let junk: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(dir.join(file_name(6)), &junk).unwrap();
    let strict = Wal::open(
        &dir,
        Options {
            recovery: RecoveryMode::Absolute,
            ..opts()
        },
    );
    match strict {
        // Reported where the log stops making sense: after entry 5.
        Err(Error::Corrupt(d)) => assert_eq!(d.index, 6, "{d}"),
        other => panic!("absolute mode must refuse it, got {other:?}"),
    }
    // tolerateTail: nothing proves any of it durable (no valid header even),
    // so it is a torn tail: reported, removed, and the log goes on from 5.
    let wal = Wal::open(&dir, opts()).unwrap();
    assert_eq!(wal.last_index(), 5);
    assert_eq!(wal.recovery().removed_segments, vec![file_name(6)]);
    for i in 1..=5 {
        assert_eq!(wal.read(i).unwrap().data, record(i));
    }
}

#[test]
fn names_that_are_almost_segment_names_are_ignored_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    filled(&dir, 5).close().unwrap();
    let almost = [
        "1.seg",
        "000000000000000000006.seg",
        "0000000000000000006.seg",
        "0000000000000000000a.seg",
        "00000000000000000006.seg.bak",
        "00000000000000000006.SEG",
        "+0000000000000000006.seg",
        "00000000000000000000.seg",
    ];
    for name in almost {
        std::fs::write(dir.join(name), b"junk").unwrap();
    }
    let wal = Wal::open(&dir, opts()).unwrap();
    assert_eq!((wal.first_index(), wal.last_index()), (1, 5));
    drop(wal);
    for name in almost {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), b"junk", "{name}");
    }
}
