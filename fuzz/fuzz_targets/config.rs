//! See `odp_fuzz::config` for what this target checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| odp_fuzz::config::run(data));
