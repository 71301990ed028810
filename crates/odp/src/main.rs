//! `odp`: the ODP command line. `odp check` is the linter (the same as `odp-lsp check`); run, stubs, kernel and
//! draft join it as they are built.

// mimalloc: checking allocates many small strings and maps; it is markedly faster than the system allocator here
// (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use odp_cli::{CheckArgs, exit};

#[derive(Parser)]
#[command(
    name = "odp",
    version,
    about = "ODP data pipelines: check, and soon run",
    arg_required_else_help = true
)]
struct Cli {
    /// Log filter for stderr, e.g. `info` or `odp=debug` [env: ODP_LOG; default: warn].
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipeline files: exit 0 when clean, 1 when errors are found, 2 on usage or IO errors.
    Check(CheckArgs),
    /// Print the documentation of a diagnostic code (e.g. `ODP300` or `unknown-method`).
    Explain {
        /// The code's id or name.
        code: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    odp_cli::init_logging(cli.log_level.as_deref());
    let code = match cli.command {
        Command::Check(args) => odp_cli::run_check(&args),
        Command::Explain { code } => match odp_cli::explain(&code) {
            Ok(text) => {
                print!("{text}");
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::USAGE
            }
        },
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "odp", &mut std::io::stdout());
            exit::OK
        }
    };
    ExitCode::from(code)
}
