//! See `odp_fuzz::parse_and_check` for what this target checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| odp_fuzz::parse_and_check::run(data));
