//! The command-line front end shared by `odp-lsp` and `odp`: `check`, `fmt`, `explain`, logging. It renders what the
//! analysis core returns; it decides nothing about pipelines itself.

pub mod check;
pub mod engine_args;
pub mod fmt;
pub mod lint;
pub mod render;
pub mod service_args;
mod snippet;

#[cfg(test)]
mod generated;

use std::io::IsTerminal;

use clap::ValueEnum;

pub use check::{CheckArgs, run_check};
pub use engine_args::{
    EngineArgs, EngineKind, EngineSettings, TemporalArgs, TemporalSettings, engine_settings,
};
pub use fmt::{FmtArgs, run_fmt};
pub use lint::LintCommand;
pub use service_args::ServiceArgs;

/// Process exit codes, the same for every subcommand.
pub mod exit {
    /// Clean: no errors (warnings allowed unless limited).
    pub const OK: u8 = 0;
    /// Errors were found in the checked files.
    pub const FINDINGS: u8 = 1;
    /// Usage, configuration or IO error, or no pipeline matched the paths.
    pub const USAGE: u8 = 2;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorMode {
    Auto,
    Always,
    Never,
}

impl ColorMode {
    /// Whether stderr/stdout output should be coloured: `auto` means a terminal and no `NO_COLOR`.
    pub fn enabled(self, stream_is_terminal: bool) -> bool {
        match self {
            ColorMode::Always => true,
            ColorMode::Never => false,
            ColorMode::Auto => {
                stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Logs go to stderr only; `--log-level` wins over `ODP_LOG`, which wins over `warn`.
pub fn init_logging(level: Option<&str>) {
    init_logging_as(level, false);
}

/// Like [`init_logging`], as JSON lines when `json` is set (`--log-format json`).
pub fn init_logging_as(level: Option<&str>, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = level
        .map(str::to_string)
        .or_else(|| std::env::var("ODP_LOG").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "warn".to_string());
    // The kernel's Rust cells run rust-analyzer (through evcxr) in the process: its crates and salsa trace every query
    // at `info`, thousands of lines a cell. They log at `warn` unless the filter names them.
    let quiet = ["ra_ap", "salsa"]
        .into_iter()
        .filter(|t| !filter.contains(t))
        .map(|t| format!("{t}=warn"));
    let filter = std::iter::once(filter.clone())
        .chain(quiet)
        .collect::<Vec<_>>()
        .join(",");
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("warn"));
    if json {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// `explain` was given no code odp has.
#[derive(Debug, thiserror::Error)]
#[error("unknown code `{code}`; known codes: {}", known.join(", "))]
pub struct UnknownCode {
    pub code: String,
    pub known: Vec<&'static str>,
}

/// `explain CODE`: the code's documentation.
pub fn explain(code: &str) -> Result<String, UnknownCode> {
    let Some(found) = odp_analysis::Code::parse(code) else {
        return Err(UnknownCode {
            code: code.to_string(),
            known: odp_analysis::Code::ALL.iter().map(|c| c.id()).collect(),
        });
    };
    Ok(explain_text(found))
}

/// The Markdown documentation of one code (also the section of docs/codes.md).
pub fn explain_text(code: odp_analysis::Code) -> String {
    let severity = match code.default_severity() {
        odp_analysis::Severity::Error => "error",
        odp_analysis::Severity::Warning => "warning",
    };
    format!(
        "## {} {} ({severity})\n\n{}\n\n{}\n",
        code.id(),
        code.name(),
        code.summary(),
        code.doc()
    )
}

/// `docs/codes.md`: every code's documentation, generated.
pub fn codes_markdown() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n<!-- Generated from crates/odp-analysis/src/codes.rs by a test: edit the source, then run `UPDATE_EXPECT=1 cargo test -p odp-cli`. -->\n\n| code | name | severity | summary |\n|---|---|---|---|\n",
    );
    for code in odp_analysis::Code::ALL {
        let severity = match code.default_severity() {
            odp_analysis::Severity::Error => "error",
            odp_analysis::Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {severity} | {} |\n",
            code.id(),
            code.id().to_lowercase(),
            code.name(),
            code.summary().replace('|', "\\|")
        ));
    }
    for code in odp_analysis::Code::ALL {
        out.push('\n');
        out.push_str(&explain_text(*code).replacen(
            &format!("## {} ", code.id()),
            &format!(
                "<a id=\"{}\"></a>\n## {} ",
                code.id().to_lowercase(),
                code.id()
            ),
            1,
        ));
    }
    out
}
