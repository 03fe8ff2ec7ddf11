//! `Wal::check_range` validates entries like reads do and reports every
//! damaged one, without stopping at the first.

mod common;

use common::{payload, small, Place};
use std::io::{Read, Seek, SeekFrom, Write};
use walnut_core::Options;

#[test]
fn a_clean_range_counts_every_entry_and_its_bytes() {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    let mut bytes = 0;
    for i in 1..=300u64 {
        let p = payload(i, (i % 200) as usize);
        bytes += p.len() as u64;
        wal.append(&p).unwrap();
    }
    let c = wal.check_range(1, 301).unwrap();
    assert_eq!((c.entries, c.bytes), (300, bytes));
    assert!(c.damaged.is_empty());
    assert_eq!(wal.check_range(5, 5).unwrap().entries, 0);
    assert!(
        wal.check_range(1, 302).is_err(),
        "past the end is out of range"
    );
}

#[test]
fn every_damaged_entry_is_reported_and_the_others_still_checked() {
    let place = Place::os();
    let wal = place.open(small()).unwrap();
    for i in 1..=300u64 {
        wal.append(format!("entry {i:05} padding padding").as_bytes())
            .unwrap();
    }
    wal.close().unwrap();
    // Flip one payload bit of entries 20 and 200, wherever they are stored.
    for needle in ["entry 00020", "entry 00200"] {
        let mut hit = false;
        for e in std::fs::read_dir(&place.dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "seg") {
                continue;
            }
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            if let Some(at) = buf
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
            {
                f.seek(SeekFrom::Start(at as u64 + 2)).unwrap();
                f.write_all(&[buf[at + 2] ^ 1]).unwrap();
                hit = true;
            }
        }
        assert!(hit, "{needle} not found");
    }
    // Both lie in the first, sealed segment: opening loads its index
    // without reading the entries, so only reading (or checking) finds them.
    let ro = place
        .open(Options {
            read_only: true,
            ..small()
        })
        .unwrap();
    assert!(ro.segments()[0].sealed && ro.segments()[0].last_index >= 200);
    let c = ro.check_range(1, 301).unwrap();
    assert_eq!(c.entries, 298);
    let idx: Vec<u64> = c.damaged.iter().map(|d| d.index).collect();
    assert_eq!(idx, vec![20, 200]);
    assert!(c.damaged.iter().all(|d| d.file == ro.segments()[0].name));
}
