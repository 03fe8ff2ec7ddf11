//! `Wal::segments` lists the files of a log as the handle sees them.

mod common;

use common::{payload, places, small};
use walnut_core::Options;

#[test]
fn segments_cover_the_log_contiguously_and_only_the_last_is_unsealed() {
    for (kind, place) in places() {
        let wal = place.open(small()).unwrap();
        for i in 1..=300u64 {
            wal.append(&payload(i, 200)).unwrap();
        }
        wal.sync().unwrap();
        let segs = wal.segments();
        assert!(segs.len() > 2, "{kind}: small segments must have rotated");
        assert_eq!(segs[0].first_index, 1, "{kind}");
        assert_eq!(segs.last().unwrap().last_index, 300, "{kind}");
        for w in segs.windows(2) {
            assert_eq!(w[1].first_index, w[0].last_index + 1, "{kind}: {w:?}");
            assert!(w[0].sealed, "{kind}: {} must be sealed", w[0].name);
        }
        let active = segs.last().unwrap();
        assert!(!active.sealed, "{kind}");
        for s in &segs {
            assert_eq!(s.file_bytes, small().segment_size, "{kind}");
            assert!(
                s.used_bytes > 576 && s.used_bytes <= s.file_bytes,
                "{kind}: {s:?}"
            );
            assert_eq!(s.name, walnut_core::segment::file_name(s.first_index));
        }
        // Frames hold 32 header bytes + 200 payload bytes each, 8-aligned.
        let entries = active.last_index - active.first_index + 1;
        assert_eq!(active.used_bytes, 576 + entries * 232, "{kind}");
        wal.close().unwrap();

        // A read-only handle sees the same files.
        let ro = place
            .open(Options {
                read_only: true,
                ..small()
            })
            .unwrap();
        let seen: Vec<_> = ro.segments().iter().map(|s| s.name.clone()).collect();
        let had: Vec<_> = segs.iter().map(|s| s.name.clone()).collect();
        assert_eq!(seen, had, "{kind}");
    }
}
