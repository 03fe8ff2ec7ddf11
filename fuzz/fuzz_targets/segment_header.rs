//! libFuzzer entry point for the `segment_header` target (the logic is shared with the
//! `fuzz_smoke` test of walnut-core).
#![no_main]

#[path = "../../crates/walnut-core/tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::segment_header(data));
