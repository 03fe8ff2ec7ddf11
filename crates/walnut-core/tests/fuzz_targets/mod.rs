//! Fuzz targets, shared by the coverage-guided libFuzzer binaries in `fuzz/`
//! (`npm run fuzz`) and by the `fuzz_smoke` test, which replays the corpus
//! and every kept crasher and runs a short random mutation loop in CI.
//!
//! Each target takes arbitrary bytes. It must never panic, hang or allocate
//! without bound; where the decoder accepts the input, the target also checks
//! that what was accepted is consistent (a round trip, bounds respected).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use walnut_core::frame::{self, Parsed};
use walnut_core::fs::{FileSystem, MemoryFs};
use walnut_core::meta::{LogMeta, MetaStore};
use walnut_core::segment::header::SegmentHeader;
use walnut_core::segment::trailer::{self, Trailer, TRAILER_LEN};
use walnut_core::segment::Offsets;
use walnut_core::{Error, Options, RecoveryMode, Wal};

/// A fuzz target: arbitrary bytes in, a panic if anything is wrong.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/` and the smoke test know them.
pub const TARGETS: [(&str, Target); 5] = [
    ("frame", frame),
    ("segment_header", segment_header),
    ("trailer", trailer),
    ("meta", meta),
    ("open_dir", open_dir),
];

/// The record decoder: the first 4 bytes seed the checksum, the rest is a
/// segment's bytes; frames are parsed at the first few aligned offsets.
pub fn frame(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let seed = u32::from_le_bytes(data[..4].try_into().unwrap());
    let bytes = &data[4..];
    for off in (0..bytes.len().min(256)).step_by(frame::ALIGN) {
        if let Parsed::Valid(h) = frame::parse(bytes, off, seed) {
            let end = off + frame::frame_len(h.len as usize);
            assert!(end <= bytes.len(), "a valid frame runs past the bytes");
            let payload = &bytes[off + frame::HEADER_LEN..off + frame::HEADER_LEN + h.len as usize];
            let resealed = frame::seal_header(seed, h, payload);
            assert_eq!(
                &resealed[..],
                &bytes[off..off + frame::HEADER_LEN],
                "round trip"
            );
        }
    }
}

/// The segment header (both copies).
pub fn segment_header(data: &[u8]) {
    let _ = SegmentHeader::decode(data);
    if let Ok(read) = SegmentHeader::read_from(data) {
        let raw = read.header.encode();
        assert!(
            data[..64] == raw || data[512..576] == raw,
            "an accepted header is one of the copies"
        );
    }
}

/// The seal: trailer and index block.
pub fn trailer(data: &[u8]) {
    if data.len() >= TRAILER_LEN {
        if let Some(t) = Trailer::decode(&data[..TRAILER_LEN]) {
            assert_eq!(Trailer::decode(&t.encode()), Some(t), "round trip");
        }
    }
    let offsets = Offsets::from_index_block(data);
    let whole = data.len() / 4 * 4;
    assert_eq!(offsets.len(), data.len() / 4);
    assert_eq!(
        trailer::encode_index(offsets.iter(), offsets.len()),
        &data[..whole],
        "round trip"
    );
}

/// The metadata file: the input is its content, padded or cut to 8 KiB.
pub fn meta(data: &[u8]) {
    let fs = MemoryFs::new();
    let dir = Path::new("/m");
    fs.create_dir_all(dir).unwrap();
    let mut image = data.to_vec();
    image.resize(8192, 0);
    fs.write_file(&dir.join("meta"), &image).unwrap();
    if let Ok(Some(store)) = MetaStore::open(&fs, dir, "meta", 4096, false) {
        let _ = store.verify_slots();
        if let Some(m) = LogMeta::decode(store.get()) {
            assert_eq!(LogMeta::decode(&m.encode()), Some(m), "round trip");
        }
    }
}

fn small(recovery: RecoveryMode) -> Options {
    Options {
        segment_size: 16 << 10,
        max_record_size: 4 << 10,
        recovery,
        prefault: false,
        ..Options::default()
    }
}

fn lab() -> PathBuf {
    PathBuf::from("/fuzz/log")
}

/// A small valid log (two segments, the first sealed) to damage.
fn base() -> &'static (MemoryFs, Vec<PathBuf>) {
    static BASE: OnceLock<(MemoryFs, Vec<PathBuf>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let fs = MemoryFs::new();
        let wal = Wal::open_with(
            Arc::new(fs.clone()),
            lab(),
            small(RecoveryMode::TolerateTail),
        )
        .unwrap();
        let mut i = 0u32;
        while wal.stats().segments < 2 || i < 40 {
            let len = 20 + (i * 97 % 900) as usize;
            if i % 5 == 4 {
                wal.append_batch(&[vec![i as u8; len], vec![!i as u8; 30]])
                    .unwrap();
            } else {
                wal.append(&vec![i as u8; len]).unwrap();
            }
            i += 1;
        }
        wal.close().unwrap();
        let mut files: Vec<PathBuf> = fs
            .list(&lab())
            .unwrap()
            .into_iter()
            .filter(|e| e.name != "LOCK")
            .map(|e| lab().join(e.name))
            .collect();
        files.sort();
        (fs, files)
    })
}

/// Open and recover a damaged directory: the input is a list of 4-byte
/// patches (file, offset low, offset high, value) applied to a valid log.
/// Every mode must open or fail with a typed error, and every read of an
/// opened log must return a record or a typed error.
pub fn open_dir(data: &[u8]) {
    let (fs, files) = base();
    let damaged = fs.snapshot();
    for p in data.chunks_exact(4).take(64) {
        let path = &files[p[0] as usize % files.len()];
        let len = damaged.read_file(path).unwrap().len();
        let off = u16::from_le_bytes([p[1], p[2]]) as usize % len;
        damaged.damage(path, off, &[p[3]]).unwrap();
    }
    for mode in [
        RecoveryMode::TolerateTail,
        RecoveryMode::Absolute,
        RecoveryMode::Salvage,
    ] {
        let copy = damaged.snapshot();
        let Ok(wal) = Wal::open_with(Arc::new(copy), lab(), small(mode)) else {
            continue;
        };
        for i in wal.first_index()..=wal.last_index() {
            match wal.read(i) {
                Ok(e) => assert_eq!(e.index, i),
                Err(Error::Corrupt(_)) => {}
                Err(e) => panic!("reading {i} in {mode:?}: untyped failure {e:?}"),
            }
        }
    }
}
