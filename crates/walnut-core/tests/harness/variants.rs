//! Page fates for one crash state: every combination when there are few dirty
//! pages, a fixed set of structured cases plus random samples when there are
//! many.

use super::{Effort, Rng};
use walnut_core::fs::PageFate;

const ALL: usize = 4;

fn fate(k: u64, seed: u64) -> PageFate {
    match k % ALL as u64 {
        0 => PageFate::Lost,
        1 => PageFate::Kept,
        2 => PageFate::Zeroed,
        _ => PageFate::Garbage(seed),
    }
}

/// Fate vectors (one fate per dirty page, in `dirty_pages` order).
pub fn fates(pages: usize, effort: Effort, rng: &mut Rng) -> Vec<Vec<PageFate>> {
    if pages == 0 {
        return vec![Vec::new()];
    }
    if pages <= effort.exhaustive_pages {
        let total = ALL.pow(pages as u32) as u64;
        return (0..total)
            .map(|mut c| {
                (0..pages)
                    .map(|_| {
                        let f = fate(c, rng.next());
                        c /= ALL as u64;
                        f
                    })
                    .collect()
            })
            .collect();
    }
    let mut out = vec![
        vec![PageFate::Lost; pages],
        vec![PageFate::Kept; pages],
        // Written back in order up to a point (the common real outcome).
        (0..pages)
            .map(|p| {
                if p < pages / 2 {
                    PageFate::Kept
                } else {
                    PageFate::Lost
                }
            })
            .collect(),
        // Written back out of order: a hole before kept pages.
        (0..pages)
            .map(|p| {
                if p == 0 {
                    PageFate::Lost
                } else {
                    PageFate::Kept
                }
            })
            .collect(),
    ];
    for _ in 0..effort.samples {
        out.push((0..pages).map(|_| fate(rng.next(), rng.next())).collect());
    }
    out
}
