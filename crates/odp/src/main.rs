//! `odp`: the ODP command line. `odp check` is the linter (the same as `odp-lsp check`); beside it `run`, `events`,
//! `worker`, `runs`, `stubs`, `kernel`, `draft` and `graph`.

// mimalloc: checking allocates many small strings and maps; it is markedly faster than the system allocator here
// (BENCHMARKS.md).
#[cfg(not(feature = "alloc-stats"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
// With the `alloc-stats` feature, wrapped in a counter of what is allocated, which the kernel's `%stats` reports.
// Not by default: the counter updates shared atomics on every allocation, which slowed `odp check` of 10,000 files
// from about 0.4 s to 0.75 s on 2 cores.
#[cfg(feature = "alloc-stats")]
#[global_allocator]
static GLOBAL: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use odp_cli::{LintCommand, exit};

#[derive(Parser)]
#[command(
    name = "odp",
    version,
    about = "ODP data pipelines: check, run, draft, and a Jupyter kernel",
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
    // `check` and `explain`, declared once in odp-cli for both binaries.
    #[command(flatten)]
    Lint(LintCommand),
    /// Run a pipeline: sources in parallel, then transforms; the result goes to stdout as JSON. Exit 0 when it
    /// completed, 1 when the pipeline has errors, 2 on usage or configuration errors, 3 when a step failed, 4 when it
    /// completed but lost lifecycle events, 130 when cancelled by Ctrl-C, 143 by SIGTERM.
    Run(run::RunArgs),
    /// Follow lifecycle events live from Redis, or deliver the outbox (`odp events flush`).
    Events(events_cmd::EventsArgs),
    /// Run the steps of pipelines started with `--engine temporal`, on a Temporal cluster's task queue, until
    /// SIGINT or SIGTERM.
    Worker(temporal::WorkerArgs),
    /// Runs on Temporal: `odp runs show RUN_ID` waits for a run and prints its result.
    Runs(temporal::RunsArgs),
    /// Serve every registry method with made-up, deterministic answers, and scripted language-model answers
    /// (`/v1/chat/completions`, `/v1/messages`), for tests and demos.
    Stubs(StubsArgs),
    /// The Jupyter kernel: `odp kernel install` writes its kernelspec; Jupyter runs `odp kernel --connection-file F`.
    Kernel(odp_kernel::KernelArgs),
    /// Draft a pipeline from plain words with a language model, checked and repaired: the draft on stdout (or
    /// `-o FILE`), progress and remaining findings on stderr. Exit 0 for a draft without errors, 1 with errors, 2
    /// on configuration or model-server errors (docs/drafts.md).
    Draft(odp_draft::cli::DraftArgs),
    /// Draw a pipeline: its inputs, sources and transforms, with the fields each step reads from another, as
    /// Mermaid, DOT or SVG (laid out by odp; no Graphviz needed). Steps with errors and unused ones are marked.
    /// Exit 0 when drawn, 1 when drawn but the pipeline has errors, 2 on usage or IO errors.
    Graph(graph::GraphArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

mod events_cmd;
mod graph;
mod run;
mod stop;
mod temporal;

fn main() -> ExitCode {
    // With `rust-cells`, evcxr runs this binary as the process that runs Rust cells' code, and as a wrapper around
    // rustc for its build cache: in those roles it never returns from here. First, before anything starts.
    #[cfg(feature = "rust-cells")]
    evcxr::runtime_hook();
    // `odp __jq_eval`, started by the built-in stubs to evaluate one jq expression (not a user command, so not
    // in `--help`): it evaluates and exits here, before anything else starts.
    odp_stubs::jq::child_main();
    let cli = Cli::parse();
    let json_logs =
        matches!(&cli.command, Command::Run(args) if args.log_format == run::LogFormat::Json);
    odp_cli::init_logging_as(cli.log_level.as_deref(), json_logs);
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Events(args) => events_cmd::events(args),
        Command::Worker(args) => temporal::worker(args),
        Command::Runs(args) => temporal::runs(args),
        Command::Lint(command) => command.run(),
        Command::Stubs(args) => stubs(args),
        Command::Kernel(args) => {
            #[cfg(feature = "alloc-stats")]
            odp_kernel::stats::set_allocation_counter(|| odp_kernel::stats::AllocationCounts {
                total_bytes: GLOBAL.total_allocated() as u64,
                live_bytes: GLOBAL.allocated() as u64,
            });
            odp_kernel::main(args)
        }
        Command::Draft(args) => odp_draft::cli::main(args),
        Command::Graph(args) => graph::graph(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "odp", &mut std::io::stdout());
            exit::OK
        }
    };
    ExitCode::from(code)
}

#[derive(clap::Args)]
struct StubsArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8002)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Delay added to every call, such as `50ms`.
    #[arg(long, default_value = "0ms", value_parser = odp_stubs::parse_duration)]
    latency: std::time::Duration,
    /// Share of calls, 0 to 1, answered with `--error-status` (a seeded choice: the same calls fail each run).
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// The status of `--error-rate` errors.
    #[arg(long, default_value_t = 503)]
    error_status: u16,
    /// The method registry to serve: a YAML file or an http(s) URL [default: ODP_REGISTRY, else from odp.toml,
    /// else the bundled one].
    #[arg(long, value_name = "PATH|URL")]
    registry: Option<String>,
}

/// `odp stubs`: serves until Ctrl-C.
fn stubs(args: StubsArgs) -> u8 {
    // The one loader (odp_workspace::workspace), as every command: the flag, ODP_REGISTRY, odp.toml, the bundled
    // registry. Before the runtime starts: a registry at a URL is fetched with a blocking client.
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            let message = format!("cannot read the current directory: {e}");
            eprintln!("error: {}", odp_analysis::escape_control(&message));
            return exit::USAGE;
        }
    };
    let registry = match odp_workspace::load_workspace(&cwd, args.registry.as_deref()) {
        Ok(workspace) => {
            for w in &workspace.warnings {
                eprintln!("warning: {}", odp_analysis::escape_control(w));
            }
            workspace.registry
        }
        Err(e) => {
            eprintln!("error: {}", odp_analysis::escape_control(&e.to_string()));
            return exit::USAGE;
        }
    };
    let config = odp_stubs::StubConfig {
        latency: args.latency,
        error_rate: args.error_rate,
        error_status: args.error_status,
        ..odp_stubs::StubConfig::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    runtime.block_on(async {
        let methods = registry.methods().len();
        let addr = std::net::SocketAddr::new(args.host, args.port);
        let server = match odp_stubs::StubServer::start(registry, addr, config).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        };
        eprintln!(
            "odp stubs listening on {} ({methods} method{}; scripted chat at /v1/chat/completions)",
            server.base_url(),
            if methods == 1 { "" } else { "s" }
        );
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        exit::OK
    })
}
