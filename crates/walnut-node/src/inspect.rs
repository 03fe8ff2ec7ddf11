//! Read-only views of a log directory for the `walnut` CLI: nothing here
//! takes a lock or changes a file.

use crate::convert::{index, js_index, NativeDamage};
use crate::error::IntoNapi;
use crate::raft::{NativeConfState, NativeHardState};
use crate::wal::NativeWal;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use walnut_core::fs::OsFs;

/// The stored snapshot a Raft record names.
#[napi(object)]
pub struct NativePeekSnapshot {
    pub index: f64,
    pub term: f64,
    /// Name of the image file (`raft-snap-<20 digits>`).
    pub file: String,
    pub bytes: f64,
}

/// The committed Raft state of a directory.
#[napi(object)]
pub struct NativeRaftPeek {
    pub hard_state: NativeHardState,
    pub conf_state: NativeConfState,
    /// Last index (and its term) compacted away; 0 for a new log.
    pub prev_index: f64,
    pub prev_term: f64,
    /// End of the committed log, and its term.
    pub last_index: f64,
    pub last_term: f64,
    pub snapshot: Option<NativePeekSnapshot>,
    pub meta: HashMap<String, f64>,
}

fn ids(v: &[u64]) -> Vec<f64> {
    v.iter().map(|&x| js_index(x)).collect()
}

/// The committed Raft state in `dir` (`null` for a plain log), read without
/// opening the storage: no lock, no change.
#[napi(catch_unwind)]
pub fn peek_raft(dir: String) -> Result<Option<NativeRaftPeek>> {
    let Some(r) = walnut_core::raft::peek(&OsFs, dir.as_ref()).napi()? else {
        return Ok(None);
    };
    let c = &r.conf_state;
    Ok(Some(NativeRaftPeek {
        hard_state: NativeHardState {
            term: js_index(r.hard_state.term),
            vote: js_index(r.hard_state.vote),
            commit: js_index(r.hard_state.commit),
        },
        conf_state: NativeConfState {
            voters: ids(&c.voters),
            learners: ids(&c.learners),
            voters_outgoing: ids(&c.voters_outgoing),
            learners_next: ids(&c.learners_next),
            auto_leave: c.auto_leave,
        },
        prev_index: js_index(r.prev_index),
        prev_term: js_index(r.prev_term),
        last_index: js_index(r.last_index),
        last_term: js_index(r.last_term),
        snapshot: r.snapshot.as_ref().map(|s| NativePeekSnapshot {
            index: js_index(s.meta.index),
            term: js_index(s.meta.term),
            file: walnut_core::raft::snapfile::file_name(s.file_id),
            bytes: s.len as f64,
        }),
        meta: r.meta.iter().map(|(k, &v)| (k.clone(), v as f64)).collect(),
    }))
}

/// What `checkRange` found.
#[napi(object)]
pub struct NativeCheck {
    /// Records that validated.
    pub entries: f64,
    /// Their payload bytes.
    pub bytes: f64,
    /// Records that did not.
    pub damaged: Vec<NativeDamage>,
}

/// Validates the records in `[lo, hi)` of an open log as reads do, without
/// copying them to JavaScript, and collects every damaged one
/// (`Wal::check_range`). One call per chunk keeps the CLI's progress bar
/// moving while costing one N-API crossing per chunk, not per record.
#[napi(catch_unwind)]
pub fn check_range(wal: &NativeWal, lo: f64, hi: f64) -> Result<NativeCheck> {
    let c = wal
        .core()
        .check_range(index(lo, "lo")?, index(hi, "hi")?)
        .napi()?;
    Ok(NativeCheck {
        entries: c.entries as f64,
        bytes: c.bytes as f64,
        damaged: c
            .damaged
            .into_iter()
            .map(|d| NativeDamage {
                file: d.file,
                offset: d.offset as f64,
                index: js_index(d.index),
                reason: d.reason,
            })
            .collect(),
    })
}
