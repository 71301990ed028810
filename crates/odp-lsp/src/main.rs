//! `odp-lsp`: the ODP language server, and (`odp-lsp check`) the linter run in CI.

// No mimalloc here (unlike `odp`): with transparent huge pages its eagerly committed arenas doubled the language
// server's peak RSS (BENCHMARKS.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use odp_cli::{CheckArgs, exit};

#[derive(Parser)]
#[command(
    name = "odp-lsp",
    version,
    about = "The ODP pipeline language server and linter"
)]
struct Cli {
    /// Speak LSP on stdin/stdout (the default; editors pass it).
    #[arg(long, global = false)]
    stdio: bool,
    /// Log filter for stderr, e.g. `info` or `odp=debug` [env: ODP_LOG; default: warn].
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipeline files: exit 0 when clean, 1 when errors are found, 2 on usage or IO errors.
    Check(CheckArgs),
    /// Format pipeline files (`[format]` in odp.toml): exit 1 with --check or --diff when a file would change, or
    /// when a file is left alone (syntax errors), 2 on usage or IO errors.
    Fmt(odp_cli::FmtArgs),
    /// Print the documentation of a diagnostic code (e.g. `ODP300` or `unknown-method`).
    Explain {
        /// The code's id or name.
        code: String,
    },
    /// Serve LSP on stdin/stdout.
    Serve {
        /// Accepted for editor clients, which pass it.
        #[arg(long)]
        stdio: bool,
    },
}

fn main() -> ExitCode {
    // The server hosts the built-in stubs for runs from the editor; their jq evaluator runs as a child of this
    // executable, which answers here and exits.
    odp_stubs::jq::child_main();
    let cli = Cli::parse();
    odp_cli::init_logging(cli.log_level.as_deref());
    let code = match cli.command {
        Some(Command::Check(args)) => odp_cli::run_check(&args),
        Some(Command::Fmt(args)) => odp_cli::run_fmt(&args),
        Some(Command::Explain { code }) => match odp_cli::explain(&code) {
            Ok(text) => {
                print!("{text}");
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::USAGE
            }
        },
        Some(Command::Serve { .. }) | None => {
            let _ = cli.stdio;
            match odp_server::run_stdio() {
                Ok(()) => exit::OK,
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::USAGE
                }
            }
        }
    };
    ExitCode::from(code)
}
