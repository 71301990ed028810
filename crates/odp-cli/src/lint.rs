//! The linter's subcommands, `check`, `fmt` and `explain`: declared once here and flattened into both binaries
//! (`odp` and `odp-lsp`), so that the two command lines cannot drift apart.

use std::io::Write;

use clap::Subcommand;

use crate::{CheckArgs, FmtArgs, exit, explain, run_check, run_fmt};

#[derive(Clone, Debug, Subcommand)]
pub enum LintCommand {
    /// Check pipeline files: exit 0 when clean, 1 when errors are found, 2 on usage or IO errors.
    Check(CheckArgs),
    /// Format pipeline files (`[format]` in odp.toml): exit 1 with --check or --diff when a file would change, or
    /// when a file is left alone (syntax errors), 2 on usage or IO errors.
    Fmt(FmtArgs),
    /// Print the documentation of a diagnostic code (e.g. `ODP300` or `unknown-method`).
    Explain {
        /// The code's id or name.
        code: String,
    },
}

impl LintCommand {
    /// Runs the subcommand: its output on stdout, problems on stderr. Returns the process exit code.
    pub fn run(&self) -> u8 {
        match self {
            LintCommand::Check(args) => run_check(args),
            LintCommand::Fmt(args) => run_fmt(args),
            LintCommand::Explain { code } => match explain(code) {
                Ok(text) => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::USAGE
                }
            },
        }
    }
}
