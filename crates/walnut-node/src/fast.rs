//! The hot path as plain functions over an `External` handle.
//!
//! napi-rs 3 spends about 3,000 instructions on every `&self` method call
//! (`napi_unwrap`, the type-tag check and a per-call borrow registry that
//! allocates), against about 200 for a plain function taking an `External`
//! (callgrind, Node 20; see `benchmark/RESULTS.md`). That is more than an
//! append of 1 KiB, so the calls made once per batch or per record (batches,
//! the durable and last index) go through these functions, and the two
//! hottest, append and read, go through raw N-API callbacks (raw.rs).
//! Everything else stays on the `NativeWal` class. The handle holds the same
//! `Arc<Wal>` as the class, so closing through either closes both (later
//! calls fail with `Closed`).

use crate::convert::js_index;
use crate::error::IntoNapi;
use crate::wal::NativeWal;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;
use walnut_core::Wal;

/// The handle the fast functions take.
type Handle = External<Arc<Wal>>;

/// The fast-path handle of a log (taken once, when the log is opened).
#[napi(ts_return_type = "ExternalObject<'WalHandle'>")]
pub fn wal_handle(wal: &NativeWal) -> Handle {
    External::new(wal.core().clone())
}

/// Appends records packed back to back in `data`, with their `lengths`, as
/// one atomic batch; returns the first index.
#[napi(
    catch_unwind,
    ts_args_type = "handle: ExternalObject<'WalHandle'>, data: Uint8Array, lengths: Uint32Array"
)]
pub fn wal_append_packed(handle: &Handle, data: &[u8], lengths: &[u32]) -> Result<f64> {
    handle.append_packed(data, lengths).napi().map(js_index)
}

/// `NativeWal.durableIndex`, without the getter overhead (every `write()`
/// looks at it).
#[napi(ts_args_type = "handle: ExternalObject<'WalHandle'>")]
pub fn wal_durable_index(handle: &Handle) -> f64 {
    js_index(handle.durable_index())
}

/// `NativeWal.lastIndex`, without the getter overhead (tailing looks at it
/// once per step).
#[napi(ts_args_type = "handle: ExternalObject<'WalHandle'>")]
pub fn wal_last_index(handle: &Handle) -> f64 {
    js_index(handle.last_index())
}

/// Appends `items` as one atomic batch, reading each record where it lies in
/// JavaScript memory. For large records this saves the copy that packing
/// them into one buffer costs; for small ones, packing is cheaper than the
/// per-element cost of an array (the TypeScript layer chooses).
#[napi(
    catch_unwind,
    ts_args_type = "handle: ExternalObject<'WalHandle'>, items: Uint8Array[]"
)]
pub fn wal_append_many(handle: &Handle, items: Vec<Uint8ArraySlice>) -> Result<f64> {
    let records: Vec<&[u8]> = items.iter().map(|s| s.as_ref()).collect();
    handle.append_batch(&records).napi().map(js_index)
}
