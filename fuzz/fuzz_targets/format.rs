//! See `odp_fuzz::format` for what this target checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| odp_fuzz::format::run(data));
