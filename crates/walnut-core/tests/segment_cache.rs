//! A reader's segment cache (`SegmentCache`): reads through it see every
//! change to the segment list, and it lets go of removed segments.

mod common;

use common::{payload, places, small, Place};
use walnut_core::{Error, SegmentCache, Wal};

/// The payload of `index`, read through `cache`.
fn read_cached(wal: &Wal, cache: &mut SegmentCache, index: u64) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; 8 << 10];
    let n = wal.read_into(cache, index, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

#[test]
fn a_cached_reader_sees_rotation_truncation_and_compaction() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        let cache = &mut SegmentCache::new();
        wal.append(&payload(1, 500)).unwrap();
        assert_eq!(read_cached(&wal, cache, 1).unwrap(), payload(1, 500));

        // Segments created after the cache was filled.
        for i in 2..=300u64 {
            wal.append(&payload(i, 500)).unwrap();
        }
        assert!(wal.segments().len() > 5, "{kind}: the log should rotate");
        for i in 1..=300u64 {
            assert_eq!(
                read_cached(&wal, cache, i).unwrap(),
                payload(i, 500),
                "{kind}: entry {i} after rotation"
            );
        }

        // Entries replaced after a suffix truncation: the new bytes, never
        // those of the segments the truncation removed.
        wal.truncate_after(100).unwrap();
        for i in 101..=200u64 {
            wal.append(&payload(i + 1000, 300)).unwrap();
        }
        for i in 95..=200u64 {
            let want = if i <= 100 {
                payload(i, 500)
            } else {
                payload(i + 1000, 300)
            };
            assert_eq!(
                read_cached(&wal, cache, i).unwrap(),
                want,
                "{kind}: entry {i} after truncate_after"
            );
        }
        assert!(
            matches!(read_cached(&wal, cache, 201), Err(Error::OutOfRange { .. })),
            "{kind}: entry 201 was truncated"
        );

        // Compaction.
        wal.truncate_before(150).unwrap();
        assert!(
            matches!(read_cached(&wal, cache, 149), Err(Error::OutOfRange { .. })),
            "{kind}: entry 149 was compacted"
        );
        assert_eq!(
            read_cached(&wal, cache, 150).unwrap(),
            payload(1150, 300),
            "{kind}: entry 150 after compaction"
        );
    }
}

/// Mappings of this process onto files under `dir` that have been deleted.
#[cfg(target_os = "linux")]
fn deleted_mappings_under(dir: &std::path::Path) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let dir = dir.to_str().unwrap();
    maps.lines()
        .filter(|l| l.contains(dir) && l.ends_with("(deleted)"))
        .count()
}

/// A log of 300 entries on disk in several segments, read through a cache
/// from its first entry, then compacted to 250: the cache is stale and holds
/// segments that are no longer in the log.
fn compacted_behind_a_cache() -> (Place, Wal, SegmentCache) {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    for i in 1..=300u64 {
        wal.append(&payload(i, 500)).unwrap();
    }
    let mut cache = SegmentCache::new();
    read_cached(&wal, &mut cache, 1).unwrap();
    wal.truncate_before(250).unwrap();
    (place, wal, cache)
}

#[cfg(target_os = "linux")]
#[test]
fn segments_removed_by_compaction_stay_mapped_only_until_the_cache_reads_again() {
    let (place, wal, mut cache) = compacted_behind_a_cache();
    assert!(
        deleted_mappings_under(&place.dir) > 0,
        "the cache holds the removed segments (else this test shows nothing)"
    );
    assert_eq!(
        read_cached(&wal, &mut cache, 260).unwrap(),
        payload(260, 500)
    );
    assert_eq!(
        deleted_mappings_under(&place.dir),
        0,
        "the next read must let go of every removed segment"
    );
}

#[test]
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn clearing_a_cache_releases_its_segments_and_it_still_reads() {
    let (place, wal, mut cache) = compacted_behind_a_cache();
    cache.clear();
    #[cfg(target_os = "linux")]
    assert_eq!(deleted_mappings_under(&place.dir), 0, "clear releases");
    assert_eq!(
        read_cached(&wal, &mut cache, 299).unwrap(),
        payload(299, 500)
    );
}
