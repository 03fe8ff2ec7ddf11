//! The CI share of fuzzing: every fuzz target runs on its seed corpus, on
//! every crasher ever kept (`fuzz/regressions/<target>/`), and on a few
//! thousand deterministic random mutations. Coverage-guided runs are
//! `npm run fuzz` (libFuzzer; see `fuzz/README.md`).

mod fuzz_targets;

use std::path::PathBuf;

fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Byte-level mutations of the seeds: flips, overwrites, cuts and splices.
fn mutants(seeds: &[Vec<u8>], n: usize, mut x: u64) -> Vec<Vec<u8>> {
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for k in 0..n {
        let mut m = if seeds.is_empty() {
            Vec::new()
        } else {
            seeds[k % seeds.len()].clone()
        };
        for _ in 0..1 + next() % 8 {
            match next() % 4 {
                0 if !m.is_empty() => {
                    let at = next() as usize % m.len();
                    m[at] ^= 1 << (next() % 8);
                }
                1 if !m.is_empty() => {
                    let at = next() as usize % m.len();
                    m[at] = next() as u8;
                }
                2 if !m.is_empty() => {
                    let len = m.len();
                    m.truncate(next() as usize % len);
                }
                _ => m.extend((0..next() % 64).map(|_| next() as u8)),
            }
        }
        out.push(m);
    }
    out
}

#[test]
fn every_fuzz_target_survives_its_corpus_crashers_and_random_mutations() {
    let quick = std::env::var_os("WALNUT_LONG").is_none_or(|v| v == "0");
    let mut total = 0;
    for (name, target) in fuzz_targets::TARGETS {
        let corpus = inputs("corpus", name);
        let crashers = inputs("regressions", name);
        for (path, data) in corpus.iter().chain(&crashers) {
            let r = std::panic::catch_unwind(|| target(data));
            assert!(r.is_ok(), "{name}: {path} fails");
        }
        let seeds: Vec<Vec<u8>> = corpus.into_iter().map(|(_, d)| d).collect();
        let n = match (name, quick) {
            ("open_dir", true) => 150,
            (_, true) => 3000,
            ("open_dir", false) => 5000,
            (_, false) => 200_000,
        };
        for m in mutants(&seeds, n, 0x5eed ^ name.len() as u64) {
            target(&m);
        }
        total += seeds.len() + crashers.len() + n;
        println!(
            "fuzz smoke {name}: {} corpus + {} crashers + {n} mutants, 0 failures",
            seeds.len(),
            crashers.len()
        );
    }
    assert!(total > 0);
}

/// Writes the seed corpus from real files (run once by hand, results kept in
/// the repository): `WALNUT_FUZZ_SEED_CORPUS=1 cargo test -p walnut-core
/// --test fuzz_smoke seed`.
#[test]
fn seed_corpus_from_real_files() {
    if std::env::var_os("WALNUT_FUZZ_SEED_CORPUS").is_none() {
        return;
    }
    use std::sync::Arc;
    use walnut_core::fs::{FileSystem, MemoryFs};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let fs = MemoryFs::new();
    let dir = PathBuf::from("/seed");
    let opts = walnut_core::Options {
        segment_size: 16 << 10,
        prefault: false,
        ..Default::default()
    };
    let wal = walnut_core::Wal::open_with(Arc::new(fs.clone()), &dir, opts).unwrap();
    while wal.stats().segments < 2 {
        wal.append_batch(&[vec![7u8; 300], vec![9u8; 17]]).unwrap();
    }
    wal.close().unwrap();
    let seg = fs
        .read_file(&dir.join(walnut_core::segment::file_name(1)))
        .unwrap();
    let meta = fs.read_file(&dir.join("meta")).unwrap();
    // The frame target reads the checksum seed from the input's first bytes.
    let mut framed = vec![0u8; 4];
    let header = walnut_core::segment::header::SegmentHeader::read_from(&seg)
        .unwrap()
        .header;
    framed[..4].copy_from_slice(&walnut_core::frame::seed(header.salt).to_le_bytes());
    framed.extend_from_slice(&seg[576..576 + 1024]);
    put("frame", "two-frames", &framed);
    put("segment_header", "real", &seg[..576]);
    let block_start = seg.len() - 64 - 512;
    put(
        "trailer",
        "real",
        &[&seg[seg.len() - 64..], &seg[block_start..seg.len() - 64]].concat(),
    );
    put("meta", "real", &meta);
    put("open_dir", "one-patch", &[0, 0x40, 0x02, 0xff]);
    put(
        "open_dir",
        "trailer-patch",
        &[0, 0xc0, 0x3f, 0x01, 1, 0x00, 0x00, 0x00],
    );
}
