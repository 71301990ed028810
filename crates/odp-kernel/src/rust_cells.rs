//! `%%rust` cells: Rust code in the notebook, evaluated by evcxr (the engine behind evcxr_jupyter) in the kernel's
//! session, with state kept between cells.
//!
//! - [`exchange`]: the files a session and its Rust cells share (each result as JSON, the prelude that binds them
//!   to variables, the small `odp` crate with `step` and `publish`, and the pick-up of published values). Pure
//!   file handling, tested without rustc.
//! - `engine` (cargo feature `rust-cells`): the evcxr context, created on the first Rust cell, its outputs, its
//!   errors rendered as evcxr_jupyter renders them, and interrupts.
//!
//! Built without the feature, a `%%rust` cell answers [`not_built`]; with it and no Rust toolchain,
//! [`find_toolchain`] says what is missing.

#[cfg(feature = "rust-cells")]
pub mod engine;
pub mod exchange;

use std::path::{Path, PathBuf};

pub use exchange::{Exchange, PublishRecord, variable_name, with_prelude};

use crate::session::CellError;

/// The error of a `%%rust` cell in a kernel built without the `rust-cells` feature.
pub fn not_built() -> CellError {
    CellError::new(
        "RustCellsNotBuilt",
        "this odp was built without the `rust-cells` feature, so it cannot run %%rust cells: install it with `cargo install --path crates/odp --features rust-cells` (Rust cells also need rustc and cargo at run time), then restart the kernel",
    )
}

/// Where `rustc` and `cargo` are, as evcxr finds them: on `PATH`, else in `$CARGO_HOME/bin` or `~/.cargo/bin`
/// (where rustup installs them).
pub fn find_toolchain(
    path: Option<&std::ffi::OsStr>,
    cargo_home: Option<&Path>,
    home: Option<&Path>,
) -> Result<(PathBuf, PathBuf), CellError> {
    let mut dirs: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    if let Some(c) = cargo_home {
        dirs.push(c.join("bin"));
    }
    if let Some(h) = home {
        dirs.push(h.join(".cargo").join("bin"));
    }
    let find = |tool: &str| dirs.iter().map(|d| d.join(tool)).find(|p| p.is_file());
    match (find("rustc"), find("cargo")) {
        (Some(rustc), Some(cargo)) => Ok((rustc, cargo)),
        (rustc, cargo) => {
            let missing: Vec<&str> = [("rustc", rustc.is_none()), ("cargo", cargo.is_none())]
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(t, _)| t)
                .collect();
            Err(CellError::new(
                "RustUnavailable",
                format!(
                    "Rust cells need rustc and cargo, and {} cannot be found (not on the kernel's PATH, nor in $CARGO_HOME/bin or ~/.cargo/bin): install Rust with rustup (https://rustup.rs) and restart the kernel",
                    missing.join(" and ")
                ),
            ))
        }
    }
}

/// [`find_toolchain`] with the kernel's environment.
pub fn toolchain() -> Result<(PathBuf, PathBuf), CellError> {
    let path = std::env::var_os("PATH");
    let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    find_toolchain(path.as_deref(), cargo_home.as_deref(), home.as_deref())
}

/// Removes ANSI colour sequences (`ESC [ … m`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Appends to the tail of a stream, keeping its last 16 KiB.
pub fn keep_tail(tail: &mut String, text: &str) {
    const KEEP: usize = 16 * 1024;
    tail.push_str(text);
    if tail.len() > KEEP {
        let mut cut = tail.len() - KEEP;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail.drain(..cut);
    }
}

/// The panic in what a Rust cell wrote to stderr: the line with `panicked at` and its message (the next line).
pub fn panic_message(stderr: &str) -> Option<String> {
    let at = stderr.find("panicked at")?;
    let start = stderr[..at].rfind('\n').map_or(0, |i| i + 1);
    Some(
        stderr[start..]
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
mod tests;
