//! How the log asks the page cache to hold its segments (performance only):
//! pages are faulted in a bounded stretch ahead of the writer, segments are
//! cached for small syncs once the log shows that it syncs, in bulk until
//! then, and for reading once they are sealed; the blocks ahead of the
//! writer are allocated while its syncs are small, or below 512 KiB when it
//! syncs every append on the appending thread; appends of 512 KiB or more,
//! which go to the file with write calls, have nothing done ahead.

mod common;

use common::recording::{Hint, Recording};
use std::sync::Arc;
use walnut_core::{Options, SyncPolicy, Wal};

const MIB: usize = 1 << 20;
const FIRST: &str = "00000000000000000001.seg";

fn open(policy: SyncPolicy) -> (Arc<Recording>, Wal) {
    let fs = Arc::new(Recording::default());
    let wal = open_in(&fs, policy, 64 * MIB);
    (fs, wal)
}

fn open_in(fs: &Arc<Recording>, policy: SyncPolicy, segment_size: usize) -> Wal {
    let opts = Options {
        sync: policy,
        segment_size: segment_size as u64,
        ..Options::default()
    };
    Wal::open_with(fs.clone(), "/log", opts).unwrap()
}

/// The end of the furthest range of `file` among those `range` picks.
fn furthest_end(hints: &[Hint], file: &str, range: fn(&Hint) -> Option<(&str, usize)>) -> usize {
    hints
        .iter()
        .filter_map(range)
        .filter(|&(f, _)| f == file)
        .map(|(_, end)| end)
        .max()
        .unwrap_or(0)
}

fn prefaulted_end(hints: &[Hint], file: &str) -> usize {
    furthest_end(hints, file, Hint::prefaulted)
}

/// Appends `mib` MiB of 1 KiB records, waits until the preparer has faulted
/// in at least `at_least` bytes beyond the end of the written frames (failing
/// if it never does), and returns how far beyond it was asked to so far. A
/// writer that outruns the preparer (release builds) has queued several
/// stretches by then, and the first one seen past its end may be short.
fn ahead_after(fs: &Recording, wal: &Wal, mib: usize, at_least: usize) -> usize {
    append_mib(wal, mib, &[1024]);
    let written = wal.segments()[0].used_bytes as usize;
    fs.wait_for(
        "faulting in far enough past the writer",
        |h| matches!(h, Hint::Prefault { file, off, len } if file == FIRST && off + len >= written + at_least),
    );
    prefaulted_end(&fs.hints(), FIRST) - written
}

#[test]
fn pages_are_faulted_in_a_bounded_stretch_ahead_of_the_writer() {
    // A log that syncs: 8-12 MiB ahead, however much it appends.
    let (fs, wal) = open(SyncPolicy::EveryBytes(1 << 20));
    let Hint::Prefault { len, .. } = fs.wait_for(
        "prefault of the new log",
        |h| matches!(h, Hint::Prefault { file, .. } if file == FIRST),
    ) else {
        unreachable!()
    };
    assert!(
        len <= 12 * MIB,
        "a new segment is faulted in {len} bytes at once, not ahead of the writer"
    );
    let ahead = ahead_after(&fs, &wal, 30, 8 * MIB);
    assert!(
        (8 * MIB..=12 * MIB).contains(&ahead),
        "a log that syncs is faulted in {ahead} bytes ahead of its writer"
    );
    wal.close().unwrap();

    // A log that never syncs: the stretch grows with what it appended, to at
    // most 48 MiB (+ one 4 MiB step).
    let (fs, wal) = open(SyncPolicy::None);
    let ahead = ahead_after(&fs, &wal, 30, 26 * MIB);
    assert!(
        (26 * MIB..=36 * MIB).contains(&ahead),
        "after 30 MiB of appends without a sync: {ahead} bytes ahead"
    );
    wal.close().unwrap();
}

fn small_hints(fs: &Recording, file: &str) -> Vec<(usize, bool)> {
    fs.hints()
        .into_iter()
        .filter_map(|h| match h {
            Hint::SmallSyncs {
                file: f,
                off,
                small,
            } if f == file => Some((off, small)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_log_is_cached_in_bulk_once_it_appended_mibs_without_a_sync_and_page_by_page_from_its_first_sync(
) {
    let (fs, wal) = open(SyncPolicy::None);
    let record = vec![7u8; 1024];
    for _ in 0..1000 {
        wal.append(&record).unwrap();
    }
    assert!(
        small_hints(&fs, FIRST).iter().all(|&(_, small)| small),
        "a new log must start page by page (its first sync may come at once): {:?}",
        fs.hints()
    );

    for _ in 0..5000 {
        wal.append(&record).unwrap();
    }
    assert!(
        small_hints(&fs, FIRST).iter().any(|&(_, small)| !small),
        "after ~6 MiB without a sync the log must cache in bulk: {:?}",
        fs.hints()
    );

    wal.sync().unwrap();
    let written = wal.segments()[0].used_bytes as usize;
    let last = *small_hints(&fs, FIRST).last().unwrap();
    assert_eq!(
        last,
        (written, true),
        "the first sync must switch the rest of the active segment back to page by page"
    );
    // The spare segment prepared from now on is cached page by page too.
    fs.wait_for(
        "a spare segment cached for small syncs",
        |h| matches!(h, Hint::SmallSyncs { file, small: true, .. } if file != FIRST),
    );
    wal.close().unwrap();
}

#[test]
fn a_log_with_a_sync_policy_is_never_cached_in_bulk() {
    let record = vec![7u8; 1024];
    for policy in [
        SyncPolicy::Always,
        SyncPolicy::EveryMs(5),
        SyncPolicy::EveryBytes(4096),
    ] {
        let (fs, wal) = open(policy);
        for _ in 0..8 * 1024 {
            wal.append(&record).unwrap();
        }
        let hints = fs.hints();
        assert!(
            !hints
                .iter()
                .any(|h| matches!(h, Hint::SmallSyncs { small: false, .. })),
            "{policy:?} must never cache in bulk: {hints:?}"
        );
        assert!(
            !small_hints(&fs, FIRST).is_empty(),
            "{policy:?}: the segment was never advised: {hints:?}"
        );
        wal.close().unwrap();
    }
}

fn read_hints(fs: &Recording) -> Vec<String> {
    fs.hints()
        .into_iter()
        .filter_map(|h| match h {
            Hint::Reads { file } => Some(file),
            _ => None,
        })
        .collect()
}

/// A log of 1 MiB segments that appended `mib` MiB without syncing, once its
/// first segment is sealed (and so cached for reading).
fn past_the_first_seal(mib: usize) -> (Arc<Recording>, Wal) {
    let fs = Arc::new(Recording::default());
    let wal = open_in(&fs, SyncPolicy::None, MIB);
    append_mib(&wal, mib, &[1024]);
    fs.wait_for(
        "the first segment cached for reading once sealed",
        |h| matches!(h, Hint::Reads { file } if file == FIRST),
    );
    (fs, wal)
}

#[test]
fn sealed_segments_are_cached_for_reading_once_sealed_and_when_reopened() {
    // A writable mapping starts without readahead; a sealed segment left so
    // is read back from disk one page per fault after a restart.
    let (fs, wal) = past_the_first_seal(3);
    let segments = wal.segments();
    assert!(segments.len() >= 3, "expected rotations: {segments:?}");
    let active = segments.last().unwrap().name.clone();
    assert!(
        !read_hints(&fs).contains(&active),
        "the segment being written must keep its caching for writes: {:?}",
        fs.hints()
    );
    wal.close().unwrap();

    fs.hints.lock().clear();
    let wal = open_in(&fs, SyncPolicy::None, MIB);
    let reads = read_hints(&fs);
    let segments = wal.segments();
    let (active, sealed) = segments.split_last().unwrap();
    for s in sealed {
        assert!(
            reads.contains(&s.name),
            "reopened sealed segment {} is not cached for reading: {reads:?}",
            s.name
        );
    }
    assert!(
        !reads.contains(&active.name),
        "the reopened last segment is written to again: {reads:?}"
    );
    wal.close().unwrap();
}

#[test]
fn a_segment_gives_up_its_writable_mapping_before_the_sync_that_seals_it() {
    // That sync writes the whole segment back; every page still mapped
    // writable would be write-protected one TLB shootdown at a time, each
    // interrupting the appending thread.
    let (fs, wal) = past_the_first_seal(2);
    wal.close().unwrap();
    let hints = fs.hints();
    let first = |pred: &dyn Fn(&Hint) -> bool| hints.iter().position(pred);
    let reads = first(&|h| matches!(h, Hint::Reads { file } if file == FIRST));
    let seal_sync =
        first(&|h| matches!(h, Hint::Sync { file, len, .. } if file == FIRST && *len > 4096));
    assert!(
        reads.is_some() && seal_sync.is_some() && reads < seal_sync,
        "read hint at {reads:?}, sealing sync at {seal_sync:?}: {hints:?}"
    );
}

#[test]
fn every_sync_first_lets_the_mapping_give_up_the_bytes_it_covers() {
    // Write-back would otherwise write-protect each page still mapped
    // writable, with a TLB shootdown each; nothing below the synced end is
    // written again.
    let fs = Arc::new(Recording::default());
    let wal = open_in(&fs, SyncPolicy::Always, MIB);
    for i in 0..20 {
        wal.append(&vec![i as u8; 3000]).unwrap();
    }
    wal.close().unwrap();
    let hints = fs.hints();
    let syncs: Vec<_> = hints
        .iter()
        .enumerate()
        .filter_map(|(at, h)| match h {
            Hint::Sync { file, off, len } if file == FIRST && *off > 0 => Some((at, *off, *len)),
            _ => None,
        })
        .collect();
    assert!(syncs.len() >= 20, "one sync per append: {hints:?}");
    for (at, off, len) in syncs {
        assert!(
            hints[..at].iter().rev().take(3).any(
                |h| matches!(h, Hint::Written { file, off: o, len: l } if file == FIRST && (*o, *l) == (off, len))
            ),
            "the sync of {len} bytes at {off} was not preceded by giving them up: {:?}",
            &hints[at.saturating_sub(3)..=at]
        );
    }
}

/// The end of the furthest range of `file` allocated ahead.
fn allocated_end(fs: &Recording, file: &str) -> usize {
    furthest_end(&fs.hints(), file, Hint::allocated)
}

/// Appends `mib` MiB of records of the lengths `lens`, in turn.
fn append_mib(wal: &Wal, mib: usize, lens: &[usize]) {
    let records: Vec<Vec<u8>> = lens.iter().map(|&len| vec![7u8; len]).collect();
    let mut appended = 0;
    for record in records.iter().cycle() {
        if appended >= mib * MIB {
            break;
        }
        wal.append(record).unwrap();
        appended += record.len();
    }
}

/// Appends `mib` MiB of records of the lengths `lens` and returns how far
/// blocks of the first segment were allocated once the preparer ran every
/// job the appends queued before it faulted in 8 MiB past them (jobs run in
/// order; any log faults in at least that far ahead).
fn allocated_after(fs: &Recording, wal: &Wal, mib: usize, lens: &[usize]) -> usize {
    append_mib(wal, mib, lens);
    let written = wal.segments()[0].used_bytes as usize;
    fs.wait_for(
        "faulting in 8 MiB past the writer",
        |h| matches!(h, Hint::Prefault { file, off, len } if file == FIRST && off + len >= written + 8 * MIB),
    );
    allocated_end(fs, FIRST)
}

/// Waits until `fs` saw blocks of the first segment allocated past what the
/// writer has written.
fn wait_for_allocation_past_the_writer(fs: &Recording, wal: &Wal) {
    let written = wal.segments()[0].used_bytes as usize;
    fs.wait_for("blocks allocated past the writer", |h| {
        matches!(h, Hint::AllocateAhead { file, off, len } if file == FIRST && off + len > written)
    });
}

#[test]
fn a_log_whose_syncs_are_small_has_the_blocks_ahead_of_its_writer_allocated() {
    let (fs, wal) = open(SyncPolicy::Always);
    append_mib(&wal, 20, &[1024]);
    wait_for_allocation_past_the_writer(&fs, &wal);
    // The preparer allocates after faulting in; both reach past the writer.
    assert!(
        prefaulted_end(&fs.hints(), FIRST) >= allocated_end(&fs, FIRST),
        "allocated beyond what was faulted in: {:?}",
        fs.hints()
    );
    wal.close().unwrap();
}

#[test]
fn a_log_that_syncs_every_append_of_64_kib_on_the_appending_thread_has_the_blocks_ahead_allocated()
{
    let (fs, wal) = open(SyncPolicy::Always);
    append_mib(&wal, 20, &[64 << 10]);
    wait_for_allocation_past_the_writer(&fs, &wal);
    wal.close().unwrap();
}

#[test]
fn a_log_whose_syncs_are_large_or_that_writes_in_bulk_stops_allocating_ahead() {
    // Syncs of 1 MiB on the sync thread, or of over 512 KiB on average on the
    // appending thread: allocating would write each block twice for no gain.
    // (Records of 1 MiB go to the file with write calls, those of 256 KiB
    // through the mapping; 20 MiB is 16 pairs, so the last record appended
    // is of 256 KiB and the preparer faults in past the writer.) A log without syncs caches in bulk
    // after a few MiB and never needs it. Until its first syncs are measured
    // a log may allocate some (how much depends on how fast its first sync
    // completes), but not once they are.
    for (policy, lens) in [
        (SyncPolicy::EveryBytes(1 << 20), &[1024][..]),
        (SyncPolicy::Always, &[MIB, 256 << 10][..]),
        (SyncPolicy::None, &[1024][..]),
    ] {
        let (fs, wal) = open(policy);
        let early = allocated_after(&fs, &wal, 20, lens);
        let late = allocated_after(&fs, &wal, 20, lens);
        assert!(
            late <= early + 2 * MIB,
            "{policy:?}: blocks allocated up to {early} bytes after 20 MiB of appends, up to {late} after 40 MiB"
        );
        wal.close().unwrap();
    }
}

#[test]
fn appends_that_go_to_the_file_have_nothing_faulted_in_or_allocated_ahead() {
    for policy in [SyncPolicy::None, SyncPolicy::Always] {
        let (fs, wal) = open(policy);
        // Records of 1 MiB, then one of 1 KiB through the mapping: the
        // preparer faults in past the writer for it, after any earlier job.
        append_mib(&wal, 40, &[MIB]);
        let before_last = wal.segments()[0].used_bytes as usize;
        wal.append(&[7u8; 1024]).unwrap();
        fs.wait_for(
            "faulting in past the writer",
            |h| matches!(h, Hint::Prefault { file, off, .. } if file == FIRST && *off >= before_last),
        );
        let hints = fs.hints();
        // What the log faulted in when it opened is all, until the last append.
        let early: Vec<_> = hints
            .iter()
            .filter(|h| matches!(h, Hint::Prefault { file, off, len } if file == FIRST && *off < before_last && off + len > 13 * MIB))
            .collect();
        assert!(
            early.is_empty(),
            "{policy:?}: faulted in ahead of 1 MiB appends: {early:?}"
        );
        let allocated = allocated_end(&fs, FIRST);
        assert!(
            allocated <= 13 * MIB,
            "{policy:?}: blocks allocated up to {allocated} bytes ahead of 1 MiB appends"
        );
        wal.close().unwrap();
    }
}
