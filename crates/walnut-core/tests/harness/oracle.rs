//! The oracle every crash variant must satisfy:
//!
//! (a) every acknowledged record is present and byte-identical;
//! (b) nothing appears that was never written (every payload decodes to the
//!     index it sits at and a generation written there before the snapshot);
//! (c) the log is a gap-free run of indexes that ends at a batch boundary;
//! (d) open succeeds: a power loss only touches unsynced bytes, so nothing
//!     acknowledged is damaged and no typed error is acceptable;
//!
//! and, for a sample of variants, recovery leaves a log that can go on:
//! a record appended and synced after recovery survives the next power loss
//! along with everything recovered (the cqlite#1390 failure: an untrimmed
//! torn tail swallowing later acknowledged appends).

use super::{open_at, variants, Effort, Frozen, Rng, Snapshot, Tally};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use walnut_core::fs::{MemoryFs, PageFate};
use walnut_core::{Options, Wal};

/// Checks every crash variant of one snapshot and adds to the tally.
pub fn check_snapshot(
    snap: &Snapshot,
    opts: &Options,
    effort: Effort,
    rng: &mut Rng,
    tally: &Tally,
) {
    tally.states.fetch_add(1, Ordering::Relaxed);
    let pending = snap.fs.pending_dir_ops();
    for kept in 0..=pending {
        let dirty = snap.fs.dirty_pages_with_dir_ops(kept);
        for fates in variants::fates(dirty.len(), effort, rng) {
            let n = tally.variants.fetch_add(1, Ordering::Relaxed) + 1;
            let map: HashMap<(PathBuf, usize), PageFate> =
                dirty.iter().cloned().zip(fates.iter().copied()).collect();
            let crashed = snap.fs.crash_with_dir_ops(kept, |p, page| {
                map.get(&(p.to_path_buf(), page))
                    .copied()
                    .unwrap_or(PageFate::Lost)
            });
            let go_on = n.is_multiple_of(effort.continue_every);
            if let Err(why) = verify(&crashed, opts, &snap.model, go_on) {
                tally.violations.lock().unwrap().push(format!(
                    "after op {} ({}), {kept}/{pending} dir ops kept, fates {:?}: {why}",
                    snap.seq, snap.what, fates
                ));
            }
        }
    }
}

/// What a successful recovery looked like.
pub struct Recovered {
    pub first: u64,
    pub last: u64,
}

/// Opens `fs` and checks (a)-(d); with `go_on`, also appends after recovery
/// and crashes again.
pub fn verify(fs: &MemoryFs, opts: &Options, m: &Frozen, go_on: bool) -> Result<Recovered, String> {
    let wal = open_at(fs, opts).map_err(|e| format!("(d) open failed: {e}"))?;
    let r = check_log(&wal, m)?;
    if go_on {
        let next = r.last + 1;
        let data = super::model::payload(next, u32::MAX, 40);
        let i = wal
            .append(&data)
            .map_err(|e| format!("append after recovery failed: {e}"))?;
        if i != next {
            return Err(format!(
                "append after recovery got index {i}, expected {next}"
            ));
        }
        wal.sync()
            .map_err(|e| format!("sync after recovery failed: {e}"))?;
        let again = fs.crash();
        drop(wal);
        let wal = open_at(&again, opts)
            .map_err(|e| format!("reopen after recovery + append + power loss failed: {e}"))?;
        if wal.last_index() != next {
            return Err(format!(
                "after recovery, append {next} and power loss the log ends at {}",
                wal.last_index()
            ));
        }
        let got = wal.read(next).map_err(|e| format!("reading {next}: {e}"))?;
        if got.data != data {
            return Err(format!("record {next} appended after recovery changed"));
        }
        // Retention may have dropped old segments at the append's rotation.
        for i in r.first.max(wal.first_index())..=r.last {
            check_record(&wal, m, i).map_err(|e| format!("after a second power loss: {e}"))?;
        }
    }
    Ok(r)
}

fn check_record(wal: &Wal, m: &Frozen, i: u64) -> Result<(), String> {
    let e = wal.read(i).map_err(|e| format!("(c) reading {i}: {e}"))?;
    if e.index != i {
        return Err(format!("(c) read({i}) returned index {}", e.index));
    }
    let Some((claimed, gen)) = super::model::decode(&e.data) else {
        return Err(format!("(b) record {i} holds bytes nobody wrote"));
    };
    if claimed != i || !m.was_written(i, gen) {
        return Err(format!(
            "(b) record {i} holds record {claimed} of generation {gen}, never written there"
        ));
    }
    if i <= m.acked && m.acked_gen(i) != Some(gen) {
        return Err(format!(
            "(a) acknowledged record {i} has generation {gen}, expected {:?}",
            m.acked_gen(i)
        ));
    }
    Ok(())
}

/// Checks the log a handle sees against the frozen model.
pub fn check_log(wal: &Wal, m: &Frozen) -> Result<Recovered, String> {
    let first = wal.first_index();
    let last = wal.last_index();
    if first < m.first_lo || first > m.first_hi {
        return Err(format!(
            "(a) first index {first} outside the allowed {}..={}",
            m.first_lo, m.first_hi
        ));
    }
    if m.acked >= first && last < m.acked {
        return Err(format!(
            "(a) the log ends at {last} but {} was acknowledged",
            m.acked
        ));
    }
    if last >= first && !m.is_boundary(last) {
        return Err(format!(
            "(c) the log ends at {last}, inside an atomic batch"
        ));
    }
    for i in first..=last {
        check_record(wal, m, i)?;
    }
    Ok(Recovered { first, last })
}

/// A process crash (the page cache and every directory change survive):
/// every record whose append returned must be there.
pub fn check_process_crash(snap: &Snapshot, opts: &Options, tally: &Tally) {
    let m = &snap.model;
    let crashed = snap
        .fs
        .crash_with_dir_ops(snap.fs.pending_dir_ops(), |_, _| PageFate::Kept);
    let why = match open_at(&crashed, opts) {
        Err(e) => format!("open failed: {e}"),
        Ok(wal) if m.appended >= wal.first_index() && wal.last_index() < m.appended => format!(
            "the log ends at {} but {} had been appended",
            wal.last_index(),
            m.appended
        ),
        Ok(_) => return,
    };
    tally.violations.lock().unwrap().push(format!(
        "process crash after op {} ({}): {why}",
        snap.seq, snap.what
    ));
}
