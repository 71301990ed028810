//! See `odp_fuzz::template` for what this target checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| odp_fuzz::template::run(data));
