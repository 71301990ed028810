//! The checks behind odp's fuzz targets, one module per target. Each `run(data)` feeds one input to the code under
//! test and panics when a property is violated. The cargo-fuzz targets in `fuzz/fuzz_targets/` are one line each:
//! they call these functions, so the targets cannot drift from what CI runs. This crate's tests run every seed
//! (`fuzz/seeds/<target>/`) and every crash kept from a campaign (`fuzz/regressions/<target>/`) through the same
//! function, so a target that no longer builds or a crash that comes back fails CI (fuzz/README.md).

pub mod config;
pub mod format;
pub mod kernel;
pub mod lsp;
pub mod outbox;
pub mod parse_and_check;
pub mod template;

/// A target's check of one input.
pub type Check = fn(&[u8]);

/// Every target: its name (the folder names under `fuzz/`) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("parse_and_check", parse_and_check::run),
    ("template", template::run),
    ("config", config::run),
    ("kernel", kernel::run),
    ("lsp", lsp::run),
    ("outbox", outbox::run),
    ("format", format::run),
];

#[cfg(test)]
mod replay;
