//! The behaviour of a log through its public API, on disk and in memory.

mod common;

use common::{payload, places, small, Place};
use std::time::Duration;
use walnut_core::fs::{FaultOp, MemoryFsFault};
use walnut_core::{Error, Options, RecoveryMode, Retention, SegmentCache, SyncPolicy};

#[test]
fn appended_records_read_back_in_order_and_after_reopen() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=500u64 {
            assert_eq!(
                wal.append(&payload(i, (i % 300) as usize)).unwrap(),
                i,
                "{kind}"
            );
        }
        for i in 1..=500u64 {
            assert_eq!(
                wal.read(i).unwrap().data,
                payload(i, (i % 300) as usize),
                "{kind} index {i}"
            );
        }
        assert!(
            wal.stats().segments > 3,
            "{kind}: small segments must have rotated"
        );
        wal.close().unwrap();
        let wal = place.open(small()).unwrap();
        assert_eq!((wal.first_index(), wal.last_index()), (1, 500), "{kind}");
        assert_eq!(
            wal.recovery().scanned_segments,
            1,
            "{kind}: sealed segments must not be scanned"
        );
        assert!(
            wal.recovery().clean,
            "{kind}: close must be recognised as clean"
        );
        for i in 1..=500u64 {
            assert_eq!(
                wal.read(i).unwrap().data,
                payload(i, (i % 300) as usize),
                "{kind} index {i}"
            );
        }
        assert_eq!(wal.append(b"more").unwrap(), 501, "{kind}");
    }
}

#[test]
fn empty_records_are_entries_not_the_end_of_the_log() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        wal.append(b"").unwrap();
        wal.append(b"x").unwrap();
        wal.append(b"").unwrap();
        wal.close().unwrap();
        let wal = place.open(small()).unwrap();
        assert_eq!(wal.last_index(), 3, "{kind}");
        assert_eq!(wal.read(3).unwrap().data, b"", "{kind}");
    }
}

#[test]
fn a_second_open_of_the_same_directory_is_refused_until_close() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        assert!(
            matches!(place.open(small()), Err(Error::Locked(_))),
            "{kind}"
        );
        wal.close().unwrap();
        place.open(small()).expect("lock must be released by close");
    }
}

#[test]
fn a_closed_handle_refuses_every_call_and_close_is_idempotent() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        wal.append(b"a").unwrap();
        wal.close().unwrap();
        wal.close().unwrap();
        assert!(matches!(wal.append(b"b"), Err(Error::Closed)), "{kind}");
        assert!(matches!(wal.read(1), Err(Error::Closed)), "{kind}");
        assert!(matches!(wal.sync(), Err(Error::Closed)), "{kind}");
    }
}

#[test]
fn oversized_records_and_reads_out_of_range_are_typed_errors_that_change_nothing() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        wal.append(b"a").unwrap();
        let too_big = vec![0u8; 4097];
        assert!(
            matches!(
                wal.append(&too_big),
                Err(Error::RecordTooLarge {
                    size: 4097,
                    max: 4096
                })
            ),
            "{kind}"
        );
        assert!(
            matches!(wal.read(0), Err(Error::OutOfRange { .. })),
            "{kind}"
        );
        assert!(
            matches!(wal.read(2), Err(Error::OutOfRange { .. })),
            "{kind}"
        );
        assert_eq!(
            wal.append(b"b").unwrap(),
            2,
            "{kind}: a refused append must not consume an index"
        );
    }
}

#[test]
fn invalid_options_are_refused() {
    let place = Place::memory();
    for bad in [
        Options {
            segment_size: 1000,
            ..small()
        },
        Options {
            max_record_size: 1 << 20,
            ..small()
        },
        Options {
            sync: SyncPolicy::EveryMs(0),
            ..small()
        },
    ] {
        assert!(matches!(place.open(bad), Err(Error::InvalidArgument(_))));
    }
}

#[test]
fn range_reads_respect_the_byte_budget_but_return_at_least_one_entry() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=20u64 {
            wal.append(&payload(i, 100)).unwrap();
        }
        let got = wal.read_range(3, 15, Some(350)).unwrap();
        assert_eq!(
            got.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![3, 4, 5],
            "{kind}"
        );
        assert_eq!(wal.read_range(3, 15, Some(1)).unwrap().len(), 1, "{kind}");
        assert_eq!(wal.read_range(1, 21, None).unwrap().len(), 20, "{kind}");
        let all: Vec<_> = wal.entries(1, u64::MAX).map(|e| e.unwrap().index).collect();
        assert_eq!(all, (1..=20).collect::<Vec<_>>(), "{kind}");
    }
}

#[test]
fn read_into_copies_a_record_that_fits_and_only_measures_one_that_does_not() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=3u64 {
            wal.append(&payload(i, 100 * i as usize)).unwrap();
        }
        let mut buf = vec![0xeeu8; 250];
        let cache = &mut SegmentCache::new();
        assert_eq!(wal.read_into(cache, 2, &mut buf).unwrap(), 200, "{kind}");
        assert_eq!(buf[..200], payload(2, 200)[..], "{kind}: the copy");
        assert!(
            buf[200..].iter().all(|&b| b == 0xee),
            "{kind}: past the copy"
        );
        assert_eq!(wal.read_into(cache, 3, &mut buf).unwrap(), 300, "{kind}");
        assert_eq!(buf[..200], payload(2, 200)[..], "{kind}: nothing copied");
        assert!(
            matches!(
                wal.read_into(cache, 4, &mut buf),
                Err(Error::OutOfRange { .. })
            ),
            "{kind}"
        );
    }
}

#[test]
fn truncate_after_drops_the_suffix_across_segments_and_survives_reopen() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=400u64 {
            wal.append(&payload(i, 150)).unwrap();
        }
        let segments_before = wal.stats().segments;
        wal.truncate_after(57).unwrap();
        assert!(
            wal.stats().segments < segments_before,
            "{kind}: later segments must be removed"
        );
        assert_eq!(wal.last_index(), 57, "{kind}");
        assert!(
            matches!(wal.read(58), Err(Error::OutOfRange { .. })),
            "{kind}"
        );
        assert_eq!(wal.append(b"replacement").unwrap(), 58, "{kind}");
        drop(wal);
        let wal = place.open(small()).unwrap();
        assert_eq!(wal.last_index(), 58, "{kind}");
        assert_eq!(wal.read(57).unwrap().data, payload(57, 150), "{kind}");
        assert_eq!(wal.read(58).unwrap().data, b"replacement", "{kind}");
    }
}

#[test]
fn truncate_before_compacts_whole_segments_and_moves_the_first_index() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=400u64 {
            wal.append(&payload(i, 150)).unwrap();
        }
        let segments_before = wal.stats().segments;
        wal.truncate_before(250).unwrap();
        assert_eq!(wal.first_index(), 250, "{kind}");
        assert!(wal.stats().segments < segments_before, "{kind}");
        assert!(
            matches!(wal.read(249), Err(Error::OutOfRange { .. })),
            "{kind}"
        );
        assert_eq!(wal.read(250).unwrap().data, payload(250, 150), "{kind}");
        drop(wal);
        let wal = place.open(small()).unwrap();
        assert_eq!((wal.first_index(), wal.last_index()), (250, 400), "{kind}");
    }
}

#[test]
fn truncate_before_beyond_the_end_restarts_the_log_there() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=10u64 {
            wal.append(&payload(i, 10)).unwrap();
        }
        wal.truncate_before(1000).unwrap();
        assert_eq!((wal.first_index(), wal.last_index()), (1000, 999), "{kind}");
        assert_eq!(wal.append(b"x").unwrap(), 1000, "{kind}");
        drop(wal);
        let wal = place.open(small()).unwrap();
        assert_eq!(
            (wal.first_index(), wal.last_index()),
            (1000, 1000),
            "{kind}"
        );
    }
}

#[test]
fn sync_always_makes_each_append_survive_power_loss() {
    let place = Place::memory();
    let wal = place
        .open(Options {
            sync: SyncPolicy::Always,
            ..small()
        })
        .unwrap();
    for i in 1..=50u64 {
        wal.append(&payload(i, 64)).unwrap();
        assert_eq!(wal.durable_index(), i);
    }
    let after = place.crashed();
    let wal = after.open(small()).unwrap();
    assert_eq!(wal.last_index(), 50);
    assert_eq!(wal.read(50).unwrap().data, payload(50, 64));
}

#[test]
fn without_a_sync_power_loss_may_lose_unsynced_records_but_never_synced_ones() {
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    for i in 1..=30u64 {
        wal.append(&payload(i, 64)).unwrap();
    }
    assert_eq!(wal.sync().unwrap(), 30);
    for i in 31..=60u64 {
        wal.append(&payload(i, 64)).unwrap();
    }
    let after = place.crashed();
    let wal = after.open(small()).unwrap();
    assert!(wal.last_index() >= 30);
    for i in 1..=wal.last_index() {
        assert_eq!(wal.read(i).unwrap().data, payload(i, 64));
    }
}

#[test]
fn group_commit_serves_many_waiters_with_few_syncs() {
    let place = Place::os();
    let wal = std::sync::Arc::new(place.open(small()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                for i in 0..20u64 {
                    let idx = wal.append(&payload(t * 100 + i, 32)).unwrap();
                    assert!(wal.wait_durable(idx, None).unwrap());
                    assert!(wal.durable_index() >= idx);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(wal.last_index(), 160);
    assert!(wal.stats().syncs <= 160);
}

#[test]
fn every_ms_policy_syncs_in_the_background() {
    let place = Place::memory();
    let wal = place
        .open(Options {
            sync: SyncPolicy::EveryMs(5),
            ..small()
        })
        .unwrap();
    wal.append(b"x").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while wal.durable_index() < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(wal.durable_index(), 1);
}

#[test]
fn every_bytes_policy_syncs_after_enough_bytes() {
    let place = Place::memory();
    let wal = place
        .open(Options {
            sync: SyncPolicy::EveryBytes(1000),
            ..small()
        })
        .unwrap();
    for i in 1..=20u64 {
        wal.append(&payload(i, 100)).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while wal.durable_index() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(wal.durable_index() >= 5);
}

#[test]
fn a_failed_sync_poisons_the_handle_and_reopen_recovers() {
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    wal.append(b"durable").unwrap();
    wal.sync().unwrap();
    wal.append(b"doomed").unwrap();
    place.mem.as_ref().unwrap().inject(MemoryFsFault {
        op: FaultOp::Sync,
        errno: 5,
        times: Some(1),
    });
    assert!(matches!(wal.sync(), Err(Error::Io { .. })));
    assert!(matches!(wal.append(b"x"), Err(Error::Poisoned(_))));
    assert!(matches!(wal.read(1), Err(Error::Poisoned(_))));
    assert!(
        matches!(wal.sync(), Err(Error::Poisoned(_))),
        "a failed sync must never be retried"
    );
    drop(wal);
    let wal = place.crashed().open(small()).unwrap();
    assert_eq!(wal.read(1).unwrap().data, b"durable");
}

/// Options for appends of up to 1 MiB, which go to the file with write calls
/// from 512 KiB of frames on.
fn large() -> Options {
    Options {
        segment_size: 8 << 20,
        max_record_size: 1 << 20,
        prefault: false,
        ..Options::default()
    }
}

#[test]
fn appends_of_512_kib_or_more_are_one_write_call_and_read_back_like_small_ones() {
    for (kind, place) in places() {
        let writes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let Some(mem) = &place.mem {
            let writes = writes.clone();
            mem.on_op(Some(std::sync::Arc::new(move |_, rec| {
                if rec.op == FaultOp::Write {
                    writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })));
        }
        let wal = place.open(large()).unwrap();
        // Odd lengths, so frames end in padding; 600 records are 1,800 parts,
        // more than one call takes on Linux.
        let many: Vec<Vec<u8>> = (1..=600).map(|i| payload(i, 1001)).collect();
        let few: Vec<Vec<u8>> = (601..=603).map(|i| payload(i, 200 << 10)).collect();
        let mut expected = Vec::new();
        assert_eq!(wal.append(&payload(0, 13)).unwrap(), 1, "{kind}");
        expected.push(payload(0, 13));
        assert_eq!(wal.append_batch(&many).unwrap(), 2, "{kind}");
        expected.extend(many);
        assert_eq!(wal.append(&payload(9, 700 << 10)).unwrap(), 602, "{kind}");
        expected.push(payload(9, 700 << 10));
        assert_eq!(wal.append(&payload(7, 77)).unwrap(), 603, "{kind}");
        expected.push(payload(7, 77));
        assert_eq!(wal.append_batch(&few).unwrap(), 604, "{kind}");
        expected.extend(few);
        if place.mem.is_some() {
            assert_eq!(
                writes.load(std::sync::atomic::Ordering::Relaxed),
                3,
                "{kind}: the two large batches and the large record, nothing else"
            );
        }
        let check = |wal: &walnut_core::Wal, when: &str| {
            assert_eq!(wal.last_index(), expected.len() as u64, "{kind} {when}");
            for (k, want) in expected.iter().enumerate() {
                let i = k as u64 + 1;
                assert_eq!(&wal.read(i).unwrap().data, want, "{kind} {when}: index {i}");
            }
        };
        check(&wal, "as written");
        wal.sync().unwrap();
        let place = match place.mem {
            Some(_) => place.crashed(),
            None => {
                wal.close().unwrap();
                place
            }
        };
        let wal = place.open(large()).unwrap();
        check(&wal, "after reopen");
    }
}

#[test]
fn a_failed_write_call_is_an_error_and_leaves_nothing_that_a_crash_could_bring_back() {
    let place = Place::memory();
    let wal = place.open(large()).unwrap();
    wal.append(b"before").unwrap();
    place.mem.as_ref().unwrap().inject(MemoryFsFault {
        op: FaultOp::Write,
        errno: 5,
        times: Some(1),
    });
    // The in-memory file system keeps the bytes of a failed write: the worst
    // case, a call that failed after copying.
    let doomed: Vec<Vec<u8>> = (2..=4).map(|i| payload(i, 200 << 10)).collect();
    assert!(matches!(wal.append_batch(&doomed), Err(Error::Io { .. })));
    assert_eq!(
        wal.last_index(),
        1,
        "nothing of the failed batch is published"
    );
    // Exactly as long as the first doomed frame: the next one would start
    // right behind it.
    assert_eq!(wal.append(&payload(20, 200 << 10)).unwrap(), 2);
    wal.sync().unwrap();
    // The kernel may write any dirty page back before the power goes.
    let after = place.crashed_with(|_, _| walnut_core::fs::PageFate::Kept);
    let wal = after.open(large()).unwrap();
    assert_eq!(
        wal.last_index(),
        2,
        "frames of the failed batch came back after the crash"
    );
    assert_eq!(wal.read(2).unwrap().data, payload(20, 200 << 10));
}

#[test]
fn a_full_disk_at_rotation_is_a_no_space_error_and_appends_resume_later() {
    let place = Place::memory();
    let wal = place
        .open(Options {
            prefault: false,
            ..small()
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(50)); // let the preparer finish
    let mem = place.mem.as_ref().unwrap();
    mem.inject(MemoryFsFault {
        op: FaultOp::Create,
        errno: 28,
        times: None,
    });
    let mut last = 0;
    let err = loop {
        match wal.append(&payload(last + 1, 1000)) {
            Ok(i) => last = i,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::NoSpace(_)), "got {err:?}");
    assert_eq!(wal.last_index(), last);
    mem.clear_faults();
    assert_eq!(wal.append(b"after").unwrap(), last + 1);
    assert_eq!(wal.read(last).unwrap().data, payload(last, 1000));
}

#[test]
fn a_torn_tail_is_truncated_and_reported() {
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    for i in 1..=10u64 {
        wal.append(&payload(i, 100)).unwrap();
    }
    wal.sync().unwrap();
    for i in 11..=20u64 {
        wal.append(&payload(i, 100)).unwrap();
    }
    // Power loss where the unsynced pages survive only in part.
    let mut n = 0;
    let after = place.crashed_with(|_, _| {
        n += 1;
        if n % 2 == 0 {
            walnut_core::fs::PageFate::Kept
        } else {
            walnut_core::fs::PageFate::Garbage(n)
        }
    });
    let wal = after.open(small()).unwrap();
    assert!(wal.last_index() >= 10);
    for i in 1..=wal.last_index() {
        assert_eq!(wal.read(i).unwrap().data, payload(i, 100));
    }
    let t = wal
        .recovery()
        .truncated
        .clone()
        .expect("the torn tail must be reported");
    assert_eq!(t.from_index, wal.last_index() + 1);
    assert_eq!(wal.append(b"next").unwrap(), wal.last_index());
}

#[test]
fn damage_to_acknowledged_data_is_corruption_not_a_torn_tail() {
    let place = Place::os();
    let wal = place
        .open(Options {
            sync: SyncPolicy::Always,
            ..small()
        })
        .unwrap();
    for i in 1..=10u64 {
        wal.append(&payload(i, 100)).unwrap();
    }
    wal.close().unwrap();
    let seg = place.dir.join(walnut_core::segment::file_name(1));
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[walnut_core::segment::header::FRAMES_START + 40] ^= 1; // inside record 1
    std::fs::write(&seg, &bytes).unwrap();
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::Absolute] {
        match place.open(Options {
            recovery: mode,
            ..small()
        }) {
            Err(Error::Corrupt(d)) => {
                assert_eq!(d.index, 1, "{mode:?}");
                assert_eq!(
                    d.offset as usize,
                    walnut_core::segment::header::FRAMES_START
                );
                assert_eq!(d.file, "00000000000000000001.seg");
            }
            other => panic!("{mode:?}: expected corruption, got {other:?}"),
        }
    }
    let wal = place
        .open(Options {
            recovery: RecoveryMode::Salvage,
            ..small()
        })
        .unwrap();
    assert_eq!(wal.last_index(), 0);
    assert!(wal.recovery().damage.is_some());
    assert!(matches!(wal.append(b"x"), Err(Error::ReadOnly)));
}

#[test]
fn an_incomplete_batch_is_dropped_whole() {
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    wal.append(b"before").unwrap();
    wal.sync().unwrap();
    let batch: Vec<Vec<u8>> = (0..10).map(|i| payload(i, 700)).collect();
    assert_eq!(wal.append_batch(&batch).unwrap(), 2);
    // Keep every unsynced page but the last: the batch's final frame is lost.
    let dirty = place.mem.as_ref().unwrap().dirty_pages();
    let last_dirty = dirty.iter().map(|(_, p)| *p).max().unwrap();
    let after = place.crashed_with(|_, p| {
        if p == last_dirty {
            walnut_core::fs::PageFate::Lost
        } else {
            walnut_core::fs::PageFate::Kept
        }
    });
    let wal = after.open(small()).unwrap();
    assert_eq!(wal.last_index(), 1, "a batch is all or nothing");
}

#[test]
fn backup_copies_up_to_the_durable_index_and_opens_as_a_log() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=300u64 {
            wal.append(&payload(i, 120)).unwrap();
        }
        let dest = place.dir.with_file_name("backup");
        assert_eq!(wal.backup(&dest).unwrap(), 300, "{kind}");
        wal.append(b"after backup").unwrap();
        let copy = walnut_core::Wal::open_with(place.fs.clone(), &dest, small()).unwrap();
        assert_eq!((copy.first_index(), copy.last_index()), (1, 300), "{kind}");
        assert_eq!(copy.read(300).unwrap().data, payload(300, 120), "{kind}");
        assert!(copy.recovery().truncated.is_none(), "{kind}");
    }
}

#[test]
fn retention_keeps_at_most_max_segments() {
    let place = Place::memory();
    let opts = Options {
        retention: Retention {
            max_segments: Some(3),
            ..Retention::default()
        },
        ..small()
    };
    let wal = place.open(opts.clone()).unwrap();
    for i in 1..=1000u64 {
        wal.append(&payload(i, 200)).unwrap();
    }
    assert!(wal.stats().segments <= 3);
    assert!(wal.first_index() > 1);
    assert_eq!(wal.read(1000).unwrap().data, payload(1000, 200));
    drop(wal);
    let wal = place.open(opts).unwrap();
    assert_eq!(wal.last_index(), 1000);
}

#[test]
fn tailing_waits_for_the_next_append() {
    let place = Place::memory();
    let wal = std::sync::Arc::new(place.open(small()).unwrap());
    let w2 = wal.clone();
    let t = std::thread::spawn(move || {
        w2.wait_for_append(1, Some(Duration::from_secs(10)))
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(20));
    wal.append(b"wake").unwrap();
    assert!(t.join().unwrap());
    assert!(!wal
        .wait_for_append(2, Some(Duration::from_millis(10)))
        .unwrap());
}

#[test]
fn a_read_only_open_sees_the_log_without_taking_the_lock() {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    wal.append(b"a").unwrap();
    wal.sync().unwrap();
    let ro = place
        .open(Options {
            read_only: true,
            ..small()
        })
        .unwrap();
    assert_eq!(ro.read(1).unwrap().data, b"a");
    assert!(matches!(ro.append(b"b"), Err(Error::ReadOnly)));
}

#[test]
fn terms_are_answered_from_frame_headers() {
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    let entries: Vec<walnut_core::EntryRef> = (1..=5u64)
        .map(|t| walnut_core::EntryRef {
            term: t * 10,
            kind: 1,
            data: b"e",
        })
        .collect();
    wal.append_entries(&entries).unwrap();
    assert_eq!(wal.term(3).unwrap(), 30);
    assert_eq!(wal.read(5).unwrap().kind, 1);
}

#[test]
fn indexes_stop_at_the_largest_exact_javascript_integer() {
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    wal.truncate_before(walnut_core::MAX_INDEX).unwrap();
    assert_eq!(wal.append(b"last").unwrap(), walnut_core::MAX_INDEX);
    assert!(matches!(
        wal.append(b"one too many"),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        wal.truncate_before(walnut_core::MAX_INDEX + 2),
        Err(Error::OutOfRange { .. })
    ));
}

#[test]
fn truncating_inside_a_batch_keeps_the_entries_before_the_cut_across_reopen_and_power_loss() {
    // Found by the model test: the kept part of a cut batch must not be
    // mistaken for an unfinished batch and rolled back.
    let place = Place::memory();
    let wal = place.open(small()).unwrap();
    wal.append(b"1").unwrap();
    wal.append_batch(&[b"2", b"3", b"4", b"5"]).unwrap();
    wal.sync().unwrap();
    wal.truncate_after(2).unwrap();
    wal.append(b"3'").unwrap();
    let after = place.crashed();
    let wal = after.open(small()).unwrap();
    assert!(
        wal.last_index() >= 2,
        "acknowledged entries 1 and 2 must survive"
    );
    assert_eq!(wal.read(2).unwrap().data, b"2");
}

#[test]
fn absolute_mode_names_the_damaged_record_inside_a_sealed_segment() {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    for i in 1..=400u64 {
        wal.append(&payload(i, 150)).unwrap();
    }
    wal.close().unwrap();
    let seg = place.dir.join(walnut_core::segment::file_name(1));
    let mut bytes = std::fs::read(&seg).unwrap();
    // Record 1 is 32 + 150 bytes, padded to 184: record 3 starts at 576 + 2 * 184.
    let third = walnut_core::segment::header::FRAMES_START + 2 * 184;
    bytes[third + 40] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    match place.open(Options {
        recovery: RecoveryMode::Absolute,
        ..small()
    }) {
        Err(Error::Corrupt(d)) => {
            assert_eq!((d.index, d.offset as usize), (3, third), "{d:?}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[cfg(target_os = "linux")] // reads /proc/self/maps
#[test]
fn close_unmaps_the_segments_without_waiting_for_the_handle_to_be_dropped() {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    wal.append(b"x").unwrap();
    wal.close().unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let dir = place.dir.to_string_lossy().into_owned();
    let still: Vec<&str> = maps.lines().filter(|l| l.contains(&dir)).collect();
    assert!(
        still.is_empty(),
        "files of a closed log are still mapped: {still:?}"
    );
    drop(wal);
}

/// Windows cannot delete a mapped file: deleting every file of a closed log
/// proves the log no longer maps any of them.
#[cfg(windows)]
#[test]
fn close_unmaps_the_files_without_waiting_for_the_handle_to_be_dropped() {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    for i in 0..200u32 {
        wal.append(&i.to_le_bytes().repeat(64)).unwrap();
    }
    // Removes the first segments while they are mapped (tombstones).
    wal.truncate_before(150).unwrap();
    wal.close().unwrap();
    for entry in std::fs::read_dir(&place.dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::remove_file(&path)
            .unwrap_or_else(|e| panic!("{} is still in use: {e}", path.display()));
    }
    drop(wal);
}
