//! The corruption matrix: a small multi-segment log, closed cleanly, damaged
//! one way at a time (a flipped bit, a zeroed 512-byte sector) in every file.
//!
//! * `absolute` must refuse every damaged log (100%).
//! * `tolerateTail` must never return wrong bytes nor silently lose a record:
//!   it refuses to open with a `Corrupt` error naming file, offset and index,
//!   or it opens with the same first and last index and every record reads
//!   back byte-identical or fails its read with `Corrupt` (sealed segments
//!   are not checksummed at open; each read verifies its record). A cleanly
//!   closed log has no torn tail, so nothing may be cut off.
//!
//! Quick mode flips one bit in every 11th byte (rotating the bit); with
//! `WALNUT_LONG=1` every bit of every file is flipped.

mod harness;

use harness::{file, open_at};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use walnut_core::fs::{FileSystem, MemoryFs};
use walnut_core::{Error, Options, RecoveryMode, SyncPolicy};

fn opts(recovery: RecoveryMode) -> Options {
    Options {
        recovery,
        ..harness::lab_options(SyncPolicy::None)
    }
}

/// A cleanly closed log of three segments (two sealed) and its records.
fn build() -> (MemoryFs, Vec<Vec<u8>>) {
    let mem = MemoryFs::new();
    let wal = open_at(&mem, &opts(RecoveryMode::TolerateTail)).unwrap();
    let mut rng = harness::Rng::new(42);
    let mut i = 1u64;
    while wal.stats().segments < 3 {
        let n = rng.range(1, 3) as usize;
        let lens: Vec<usize> = (0..n).map(|_| rng.range(12, 700) as usize).collect();
        let batch: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(j, &l)| harness::model::payload(i + j as u64, 1, l))
            .collect();
        wal.append_batch(&batch).unwrap();
        i += n as u64;
        if rng.one_in(4) {
            wal.sync().unwrap();
        }
    }
    // Leave the active segment partly filled.
    for _ in 0..10 {
        wal.append(&harness::model::payload(i, 1, 100)).unwrap();
        i += 1;
    }
    wal.close().unwrap();
    let wal = open_at(&mem, &opts(RecoveryMode::Absolute)).expect("the clean log opens");
    let records = (1..=wal.last_index())
        .map(|k| wal.read(k).unwrap().data)
        .collect();
    wal.close().unwrap();
    (mem, records)
}

#[derive(Default)]
struct Counts {
    cases: AtomicU64,
    absolute_refused: AtomicU64,
    refused_at_open: AtomicU64,
    detected_at_read: AtomicU64,
    harmless: AtomicU64,
    violations: Mutex<Vec<String>>,
}

/// One damaged copy of the log, judged in both modes.
fn judge(base: &MemoryFs, records: &[Vec<u8>], path: &Path, off: usize, bytes: &[u8], c: &Counts) {
    c.cases.fetch_add(1, Ordering::Relaxed);
    let what = format!("{}+{off}", path.file_name().unwrap().to_string_lossy());
    let damaged = || {
        let d = base.snapshot();
        d.damage(path, off, bytes).unwrap();
        d
    };
    match open_at(&damaged(), &opts(RecoveryMode::Absolute)) {
        Ok(_) => c
            .violations
            .lock()
            .unwrap()
            .push(format!("{what}: absolute mode opened a damaged log")),
        Err(_) => {
            c.absolute_refused.fetch_add(1, Ordering::Relaxed);
        }
    }
    let wal = match open_at(&damaged(), &opts(RecoveryMode::TolerateTail)) {
        Err(Error::Corrupt(d)) => {
            if d.file.is_empty() {
                c.violations
                    .lock()
                    .unwrap()
                    .push(format!("{what}: a corruption error that names no file"));
            }
            c.refused_at_open.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(e) => {
            c.violations
                .lock()
                .unwrap()
                .push(format!("{what}: open failed with {e:?}, not Corrupt"));
            return;
        }
        Ok(w) => w,
    };
    let n = records.len() as u64;
    if wal.first_index() != 1 || wal.last_index() != n {
        c.violations.lock().unwrap().push(format!(
            "{what}: silent loss: opened as {}..={} instead of 1..={n} (report {:?})",
            wal.first_index(),
            wal.last_index(),
            wal.recovery().truncated
        ));
        return;
    }
    let mut detected = false;
    for (k, want) in records.iter().enumerate() {
        match wal.read(k as u64 + 1) {
            Ok(e) if &e.data == want => {}
            Ok(_) => {
                c.violations.lock().unwrap().push(format!(
                    "{what}: silent acceptance: record {} has other bytes",
                    k + 1
                ));
                return;
            }
            Err(Error::Corrupt(_)) => detected = true,
            Err(e) => {
                c.violations.lock().unwrap().push(format!(
                    "{what}: reading {} failed with {e:?}, not Corrupt",
                    k + 1
                ));
                return;
            }
        }
    }
    if detected {
        c.detected_at_read.fetch_add(1, Ordering::Relaxed);
    } else {
        c.harmless.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every file of the log but the (empty) lock file, with its bytes.
fn files(mem: &MemoryFs) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = mem
        .list(&harness::dir())
        .unwrap()
        .into_iter()
        .filter(|e| e.name != "LOCK")
        .map(|e| {
            let p = file(&e.name);
            let bytes = mem.read_file(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn report(label: &str, c: &Counts) {
    let v = c.violations.lock().unwrap();
    let cases = c.cases.load(Ordering::Relaxed);
    println!(
        "{label}: {cases} cases; absolute refused {} ({:.1}%); tolerateTail: {} refused at open, {} caught at read, {} harmless (data identical); {} silent acceptances",
        c.absolute_refused.load(Ordering::Relaxed),
        100.0 * c.absolute_refused.load(Ordering::Relaxed) as f64 / cases.max(1) as f64,
        c.refused_at_open.load(Ordering::Relaxed),
        c.detected_at_read.load(Ordering::Relaxed),
        c.harmless.load(Ordering::Relaxed),
        v.len()
    );
    assert!(
        v.is_empty(),
        "{} violations, first ones:\n{}",
        v.len(),
        v.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(cases > 0);
}

#[test]
fn every_flipped_bit_is_refused_by_absolute_and_never_silently_accepted() {
    let (base, records) = build();
    let files = files(&base);
    let stride = if harness::long() { 1 } else { 11 };
    let mut cases = Vec::new();
    for (p, bytes) in &files {
        for off in (0..bytes.len()).step_by(stride) {
            if stride == 1 {
                for bit in 0..8 {
                    cases.push((p.clone(), off, bytes[off] ^ (1 << bit)));
                }
            } else {
                cases.push((p.clone(), off, bytes[off] ^ (1 << ((off / stride) % 8))));
            }
        }
    }
    let c = Counts::default();
    std::thread::scope(|s| {
        for part in cases.chunks(cases.len().div_ceil(2)) {
            let (base, records, c) = (&base, &records, &c);
            s.spawn(move || {
                for (p, off, b) in part {
                    judge(base, records, p, *off, &[*b], c);
                }
            });
        }
    });
    report(
        &format!(
            "bit flips ({} records, {} files, every {})",
            records.len(),
            files.len(),
            if stride == 1 {
                "bit".into()
            } else {
                format!("{stride}th byte")
            }
        ),
        &c,
    );
}

#[test]
fn every_zeroed_sector_is_refused_by_absolute_and_never_silently_accepted() {
    let (base, records) = build();
    let c = Counts::default();
    for (p, bytes) in files(&base) {
        for (k, sector) in bytes.chunks(512).enumerate() {
            if sector.iter().all(|&b| b == 0) {
                continue; // zeroing it changes nothing
            }
            judge(&base, &records, &p, k * 512, &vec![0; sector.len()], &c);
        }
    }
    report(&format!("zeroed sectors ({} records)", records.len()), &c);
}

#[test]
fn wiping_the_last_records_with_the_close_marker_is_corruption_not_a_torn_tail() {
    // Found by the sector matrix: one zeroed sector held the last records and
    // the clean-close marker, so nothing in the segments attested to them and
    // tolerateTail cut them off as a torn tail. The metadata now remembers the
    // last index of a clean close.
    let (base, records) = build();
    let last_seg = files(&base)
        .into_iter()
        .rfind(|(p, _)| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let (path, bytes) = last_seg;
    let end = bytes[..bytes.len() - 64]
        .iter()
        .rposition(|&b| b != 0)
        .unwrap()
        + 1;
    for attempt in 0..2 {
        let d = base.snapshot();
        d.damage(&path, end - 100, &[0; 100]).unwrap();
        match open_at(&d, &opts(RecoveryMode::TolerateTail)) {
            Err(Error::Corrupt(damage)) => assert_eq!(damage.index, records.len() as u64),
            other => panic!("attempt {attempt}: expected corruption, got {other:?}"),
        }
        // A failed open changes nothing: trying again fails the same way.
        let again = open_at(&d, &opts(RecoveryMode::TolerateTail));
        assert!(matches!(again, Err(Error::Corrupt(_))), "{again:?}");
    }
}
