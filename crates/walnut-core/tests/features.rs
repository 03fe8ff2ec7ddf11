//! Compression, encryption, timestamps, the commit watermark and the segment
//! marker, through the public API, on disk and in memory.

mod common;

use common::{payload, places, small, Place};
use walnut_core::{Algorithm, Compression, Encryption, Error, Key, Options};

fn json_event(i: u64) -> Vec<u8> {
    format!(
        r#"{{"id":{i},"type":"page_view","user":"user-{}","path":"/products/{}","ts":{}}}"#,
        i % 97,
        i % 13,
        1_700_000_000_000u64 + i
    )
    .repeat(4)
    .into_bytes()
}

fn compressed(algorithm: Algorithm) -> Options {
    Options {
        compression: Compression {
            algorithm,
            threshold: 64,
        },
        ..small()
    }
}

fn encrypted(keys: &[(u32, u8)], active: u32) -> Options {
    Options {
        encryption: Some(Encryption {
            keys: keys
                .iter()
                .map(|&(id, b)| Key { id, key: [b; 32] })
                .collect(),
            active,
        }),
        ..small()
    }
}

#[test]
fn compressed_records_read_back_identically_and_take_less_space() {
    for (kind, place) in places() {
        let mut algorithms = vec![Algorithm::Lz4, Algorithm::Snappy];
        if cfg!(feature = "zstd") {
            algorithms.push(Algorithm::Zstd(3));
        }
        for algorithm in algorithms {
            let dir = place.dir.join(format!("{algorithm:?}"));
            let wal =
                walnut_core::Wal::open_with(place.fs.clone(), &dir, compressed(algorithm)).unwrap();
            for i in 1..=200 {
                wal.append(&json_event(i)).unwrap();
            }
            let used: u64 = wal.segments().iter().map(|s| s.used_bytes).sum();
            let raw: u64 = (1..=200).map(|i| json_event(i).len() as u64).sum();
            assert!(
                used < raw / 2,
                "{kind} {algorithm:?}: {used} bytes on disk for {raw} of records"
            );
            drop(wal);
            let wal = walnut_core::Wal::open_with(place.fs.clone(), &dir, small()).unwrap();
            for i in 1..=200 {
                assert_eq!(
                    wal.read(i).unwrap().data,
                    json_event(i),
                    "{kind} {algorithm:?} record {i}"
                );
            }
        }
    }
}

#[test]
fn logs_written_with_mixed_settings_read_back() {
    let place = Place::memory();
    let settings = [
        small(),
        compressed(Algorithm::Lz4),
        compressed(Algorithm::Snappy),
        small(),
    ];
    let mut n = 0;
    for opts in &settings {
        let wal = place.open(opts.clone()).unwrap();
        for _ in 0..50 {
            n += 1;
            wal.append(&json_event(n)).unwrap();
        }
    }
    let last = if cfg!(feature = "zstd") {
        compressed(Algorithm::Zstd(1))
    } else {
        small()
    };
    let wal = place.open(last).unwrap();
    for i in 1..=n {
        assert_eq!(wal.read(i).unwrap().data, json_event(i));
    }
}

#[test]
fn encrypted_records_never_appear_in_clear_on_disk() {
    let place = Place::os();
    let wal = place.open(encrypted(&[(1, 7)], 1)).unwrap();
    for i in 1..=50 {
        wal.append(format!("secret-{i}-attack-at-dawn").as_bytes())
            .unwrap();
    }
    wal.close().unwrap();
    for entry in std::fs::read_dir(&place.dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(14).any(|w| w == b"attack-at-dawn"),
            "plaintext leaked to disk"
        );
    }
    let wal = place.open(encrypted(&[(1, 7)], 1)).unwrap();
    assert_eq!(wal.read(50).unwrap().data, b"secret-50-attack-at-dawn");
}

#[test]
fn a_wrong_or_missing_key_is_bad_key_never_garbage() {
    for (kind, place) in places() {
        let wal = place.open(encrypted(&[(1, 7)], 1)).unwrap();
        wal.append(b"classified").unwrap();
        drop(wal);
        let wrong = place.open(encrypted(&[(1, 8)], 1)).unwrap();
        assert!(
            matches!(wrong.read(1), Err(Error::BadKey(_))),
            "{kind}: wrong key"
        );
        drop(wrong);
        let missing = place.open(small()).unwrap();
        let err = missing.read(1).unwrap_err();
        assert_eq!(err.code(), "ERR_WAL_BAD_KEY", "{kind}: missing key");
    }
}

#[test]
fn keys_rotate_and_old_segments_stay_readable_with_old_keys() {
    let place = Place::memory();
    let wal = place.open(encrypted(&[(1, 1)], 1)).unwrap();
    wal.append(b"under key 1").unwrap();
    drop(wal);
    let wal = place.open(encrypted(&[(1, 1), (2, 2)], 2)).unwrap();
    wal.append(b"under key 2").unwrap();
    assert_eq!(wal.read(1).unwrap().data, b"under key 1");
    assert_eq!(wal.read(2).unwrap().data, b"under key 2");
    drop(wal);
    let only_new = place.open(encrypted(&[(2, 2)], 2)).unwrap();
    assert!(matches!(only_new.read(1), Err(Error::BadKey(_))));
    assert_eq!(only_new.read(2).unwrap().data, b"under key 2");
}

#[test]
fn truncation_reencrypts_the_kept_entries_for_their_new_segment() {
    for (kind, place) in places() {
        let opts = Options {
            compression: Compression {
                algorithm: Algorithm::Lz4,
                threshold: 1,
            },
            timestamps: true,
            ..encrypted(&[(9, 9)], 9)
        };
        let wal = place.open(opts.clone()).unwrap();
        for i in 1..=20 {
            wal.append(&json_event(i)).unwrap();
        }
        let ts5 = wal.timestamp(5).unwrap();
        wal.truncate_after(10).unwrap();
        wal.append(b"eleven").unwrap();
        drop(wal);
        let wal = place.open(opts).unwrap();
        for i in 1..=10 {
            assert_eq!(
                wal.read(i).unwrap().data,
                json_event(i),
                "{kind} record {i}"
            );
        }
        assert_eq!(wal.read(11).unwrap().data, b"eleven", "{kind}");
        assert_eq!(
            wal.timestamp(5).unwrap(),
            ts5,
            "{kind}: timestamps survive the rewrite"
        );
    }
}

#[test]
fn timestamps_are_stored_per_entry_and_seekable() {
    let place = Place::memory();
    let wal = place
        .open(Options {
            timestamps: true,
            ..small()
        })
        .unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for i in 1..=5 {
        wal.append(&payload(i, 10)).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    let middle = wal.timestamp(5).unwrap().unwrap() + 1;
    for i in 6..=10 {
        wal.append(&payload(i, 10)).unwrap();
    }
    let e = wal.read(1).unwrap();
    assert!(e.timestamp.unwrap() >= before);
    assert_eq!(
        e.data,
        payload(1, 10),
        "the timestamp is not part of the data"
    );
    assert_eq!(wal.seek_time(middle).unwrap(), 6);
    assert_eq!(wal.seek_time(0).unwrap(), 1);
    assert_eq!(wal.seek_time(u64::MAX).unwrap(), 11);
    let plain = Place::memory().open(small()).unwrap();
    plain.append(b"x").unwrap();
    assert_eq!(plain.timestamp(1).unwrap(), None);
}

#[test]
fn the_commit_watermark_persists_only_moves_forward_and_follows_truncation() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=10 {
            wal.append(&payload(i, 10)).unwrap();
        }
        assert_eq!(wal.commit_index(), 0);
        wal.commit(7).unwrap();
        assert!(
            matches!(wal.commit(6), Err(Error::InvalidArgument(_))),
            "{kind}"
        );
        assert!(
            matches!(wal.commit(11), Err(Error::OutOfRange { .. })),
            "{kind}"
        );
        drop(wal);
        let wal = place.open(small()).unwrap();
        assert_eq!(wal.commit_index(), 7, "{kind}: persisted");
        wal.truncate_after(4).unwrap();
        assert_eq!(wal.commit_index(), 4, "{kind}: truncation pulls it back");
        for i in 5..=10 {
            wal.append(&payload(i + 100, 10)).unwrap();
        }
        drop(wal);
        let wal = place.open(small()).unwrap();
        assert_eq!(
            wal.commit_index(),
            4,
            "{kind}: new entries at old indexes are not committed"
        );
    }
}

#[test]
fn a_log_with_another_application_marker_is_foreign() {
    let place = Place::memory();
    let wal = place
        .open(Options {
            marker: 0xA11CE,
            ..small()
        })
        .unwrap();
    wal.append(b"mine").unwrap();
    drop(wal);
    let err = place
        .open(Options {
            marker: 0xB0B,
            ..small()
        })
        .unwrap_err();
    assert_eq!(err.code(), "ERR_WAL_FOREIGN");
    assert!(matches!(err, Error::Foreign(_)));
    place
        .open(Options {
            marker: 0xA11CE,
            ..small()
        })
        .expect("the right marker opens");
}

#[test]
fn after_a_torn_tail_is_cut_an_encrypted_log_writes_the_reused_indexes_into_a_new_segment() {
    // The nonce is salt || epoch || index: indexes the torn tail held are
    // written again, so they must not share the old segment's salt.
    let place = Place::memory();
    let opts = encrypted(&[(1, 1)], 1);
    let wal = place.open(opts.clone()).unwrap();
    wal.append(b"synced").unwrap();
    wal.sync().unwrap();
    wal.append(b"torn").unwrap();
    let after = place.crashed_with(|_, _| walnut_core::fs::PageFate::Garbage(7));
    drop(wal);
    let wal = after.open(opts).unwrap();
    assert!(
        wal.recovery().truncated.is_some(),
        "the torn record was cut"
    );
    let before = wal.segments().len();
    assert_eq!(wal.append(b"again").unwrap(), 2);
    assert_eq!(
        wal.segments().len(),
        before + 1,
        "index 2 goes to a fresh segment"
    );
    assert_eq!(wal.read(2).unwrap().data, b"again");
}
