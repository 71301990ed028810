//! `odp kernel`: run the kernel on a connection file, or install its kernelspec.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use jupyter_zmq_client::ConnectionInfo;
use odp_analysis::escape_control;
use odp_exec::wiring::ServiceSettings;
use odp_workspace::load_workspace;

use crate::install::{self, Location};
use crate::services::ServiceOptions;
use crate::session::Session;

/// Exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
}

#[derive(Clone, Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct KernelArgs {
    #[command(subcommand)]
    pub command: Option<KernelCommand>,
    /// The connection file Jupyter wrote (ports, key); Jupyter passes it through the kernelspec.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub connection_file: Option<PathBuf>,
    #[command(flatten)]
    pub services: odp_cli::ServiceArgs,
    /// Where cells' steps run (also ODP_ENGINE in the kernelspec's environment).
    #[command(flatten)]
    pub engine: odp_cli::EngineArgs,
}

#[derive(Clone, Debug, Subcommand)]
pub enum KernelCommand {
    /// Install the kernelspec, so that Jupyter offers the "ODP pipelines" kernel.
    Install(InstallArgs),
}

#[derive(Clone, Debug, Args)]
#[command(group(clap::ArgGroup::new("where").args(["user", "sys_prefix", "prefix"])))]
pub struct InstallArgs {
    /// In the user's Jupyter data directory (the default).
    #[arg(long)]
    pub user: bool,
    /// In the active Python environment (VIRTUAL_ENV or CONDA_PREFIX).
    #[arg(long)]
    pub sys_prefix: bool,
    /// Under DIR/share/jupyter/kernels.
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// The kernel's name (its directory).
    #[arg(long, default_value = install::KERNEL_NAME)]
    pub name: String,
    /// The name Jupyter shows.
    #[arg(long, default_value = install::DISPLAY_NAME)]
    pub display_name: String,
}

pub fn main(args: KernelArgs) -> u8 {
    match &args.command {
        Some(KernelCommand::Install(install)) => install_cmd(install),
        None => match &args.connection_file {
            Some(file) => run(&args, file.clone()),
            None => {
                eprintln!(
                    "error: `odp kernel` needs --connection-file FILE (Jupyter starts it so), or `odp kernel install`"
                );
                exit::USAGE
            }
        },
    }
}

fn install_cmd(args: &InstallArgs) -> u8 {
    let location = if let Some(dir) = &args.prefix {
        Location::Prefix(dir.clone())
    } else if args.sys_prefix {
        Location::SysPrefix
    } else {
        Location::User
    };
    let exe = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find the odp executable: {e}");
            return exit::FAILED;
        }
    };
    match install::install(&location, &args.name, &args.display_name, &exe) {
        Ok(dir) => {
            println!(
                "installed the kernelspec `{}` in {}",
                args.name,
                dir.display()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}

/// Why the connection file Jupyter gave cannot be used.
#[derive(Debug, thiserror::Error)]
enum ConnectionFileError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

fn read_connection_file(file: &std::path::Path) -> Result<ConnectionInfo, ConnectionFileError> {
    Ok(serde_json::from_str(&std::fs::read_to_string(file)?)?)
}

fn run(args: &KernelArgs, file: PathBuf) -> u8 {
    let info: ConnectionInfo = match read_connection_file(&file) {
        Ok(info) => info,
        Err(e) => {
            eprintln!(
                "error: cannot read the connection file {}: {e}",
                file.display()
            );
            return exit::USAGE;
        }
    };
    if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
        eprintln!(
            "error: signature scheme `{}` is not supported (hmac-sha256 is)",
            info.signature_scheme
        );
        return exit::USAGE;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // The one loader (odp_workspace::workspace), before the runtime starts: a remote registry is fetched with a
    // blocking client.
    let loaded = match load_workspace(&cwd, args.services.registry.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}", escape_control(&e.to_string()));
            return exit::USAGE;
        }
    };
    for w in &loaded.warnings {
        eprintln!("warning: {}", escape_control(w));
    }
    let config = Arc::unwrap_or_clone(loaded.config);
    // The same rule as `odp run`'s, before the kernel starts serving.
    if let Err(e) = odp_exec::sink_spec::EventSinkSpec::resolve(
        args.services.events.as_deref(),
        &config.config.services,
    ) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    // Checked before anything starts: a service URL or API key that cannot work is a configuration error.
    let services = match ServiceSettings::resolve(
        args.services.crawler_url.as_deref(),
        args.services.model_url.as_deref(),
        &config.config.services,
    ) {
        Ok(services) => services,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let engine = match args.engine.settings(&config.config.engine) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let mut session = Session::new(Arc::clone(&loaded.registry), cwd);
    session.color = true;
    let setup = crate::server::Setup {
        session,
        config,
        options: ServiceOptions {
            services,
            events: args.services.events.clone(),
            concurrency: args.services.concurrency,
            temporal: (engine.kind == odp_cli::EngineKind::Temporal).then_some(engine.temporal),
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::FAILED;
        }
    };
    let code = match runtime.block_on(crate::server::serve(info, setup)) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::FAILED
        }
    };
    // Tasks still waiting on sockets are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}
