//! Benchmarking baselines: functions that do the least work a walnut call
//! could possibly do, so the harness (`benchmark/run.js`) can report how far
//! each walnut operation is from the cost of merely crossing N-API.
//!
//! They are exported with a `bench` prefix and are not part of the public
//! TypeScript API; nothing in `src/` uses them.

use napi_derive::napi;

/// Takes a Buffer the way napi-rs functions do (a borrowed `&[u8]`) and
/// returns its length: the cost of one N-API call with a Buffer argument and
/// a number result, and nothing else.
#[napi]
pub fn bench_noop(data: &[u8]) -> u32 {
    data.len() as u32
}

/// CRC32C (Castagnoli) of `data`, with the same code, and therefore the same
/// hardware instructions, that walnut's frames use.
/// The scan baseline reads a file from the page cache and runs this over it.
#[napi(js_name = "benchCrc32c")]
pub fn bench_crc32c(data: &[u8]) -> u32 {
    walnut_core::crc::crc32c(data)
}

/// `"release"` or `"debug"`: the harness refuses to present figures of a debug
/// build as if they were walnut's.
#[napi]
pub fn bench_build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}
