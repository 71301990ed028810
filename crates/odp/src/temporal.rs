//! `odp worker` (runs the steps of pipelines started with `--engine temporal`) and `odp runs show` (a run's result).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use odp_analysis::escape_control;
use odp_exec::wiring::{Services, ServicesRequest};
use odp_workspace::load_workspace;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub temporal: odp_cli::TemporalArgs,
    /// Serve Prometheus metrics (the SDK's and odp's steps, attempts and durations) on http://IP:PORT/metrics [env:
    /// ODP_TEMPORAL_METRICS_ADDR; odp.toml engine.temporal.metrics-addr; default: none].
    #[arg(long, value_name = "IP:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The services the steps call, where events go, the registry (the worker checks every step's method against
    /// it): as for `odp run`. With no service configured, the built-in stubs answer.
    #[command(flatten)]
    pub services: odp_cli::ServiceArgs,
}

/// Runs a worker until SIGINT or SIGTERM; then it stops polling, lets the running steps finish (or hands them back
/// to the cluster) and exits 0.
pub fn worker(args: WorkerArgs) -> u8 {
    block_on(async { worker_async(args).await.map(|()| 0) })
}

/// Runs a command's future on a runtime of its own; an error is printed (escaped) and exits 2.
fn block_on(command: impl std::future::Future<Output = anyhow::Result<u8>>) -> u8 {
    odp_cli::init_logging_as(None, false);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return crate::run::exit::USAGE;
        }
    };
    match runtime.block_on(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", escape_control(&format!("{e:#}")));
            crate::run::exit::USAGE
        }
    }
}

async fn worker_async(args: WorkerArgs) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let _signals = crate::stop::Stop::on_signals(&stop);
    let flag = args.services.registry.clone();
    let dir = std::path::absolute(Path::new("."))?;
    let loaded = tokio::task::spawn_blocking(move || load_workspace(&dir, flag.as_deref()))
        .await
        .context("loading the configuration stopped")??;
    for w in &loaded.warnings {
        eprintln!("warning: {}", escape_control(w));
    }
    let config = &loaded.config.config;
    let temporal =
        odp_cli::engine_settings(None, &args.temporal, args.metrics_addr, &config.engine)?.temporal;
    let settings = odp_exec::wiring::ServiceSettings::resolve(
        args.services.crawler_url.as_deref(),
        args.services.model_url.as_deref(),
        &config.services,
    )?;
    let services = Services::start(ServicesRequest {
        settings,
        events: args.services.events.as_deref(),
        config: &config.services,
        registry: loaded.registry.clone(),
        progress: Arc::new(odp_exec::events::NoEvents),
        concurrency: args.services.concurrency,
    })
    .await?;
    eprintln!("odp: {}", services.description);
    let activities = odp_temporal::worker::activities_from(
        &services,
        loaded.registry.clone(),
        odp_temporal::worker::result_store(&temporal),
    );
    eprintln!(
        "odp: worker on task queue `{}` of {} (namespace `{}`)",
        temporal.task_queue, temporal.address, temporal.namespace
    );
    if let Some(addr) = temporal.metrics_addr {
        eprintln!("odp: metrics on http://{addr}/metrics");
    }
    odp_temporal::worker::run_worker(&temporal, activities, stop.cancelled()).await?;
    services.shutdown().await;
    eprintln!("odp: worker stopped");
    Ok(())
}

#[derive(Clone, Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
    #[command(flatten)]
    pub temporal: odp_cli::TemporalArgs,
}

#[derive(Clone, Debug, Subcommand)]
pub enum RunsCommand {
    /// Wait for a run on Temporal and print its result JSON (exit codes as `odp run`).
    Show {
        /// The run's id (what `odp run --detach` printed).
        run_id: uuid::Uuid,
    },
    /// Print a run's workflow history as JSON (for replay tests of a new build against old runs).
    History { run_id: uuid::Uuid },
}

pub fn runs(args: RunsArgs) -> u8 {
    block_on(runs_async(args))
}

async fn runs_async(args: RunsArgs) -> anyhow::Result<u8> {
    // `[engine.temporal]` of the `odp.toml` here (or above), through the one loader.
    let loader = odp_workspace::Loader::new(odp_workspace::LoadOptions::in_current_dir(None)?);
    let config = loader.config(Path::new("."))?;
    for w in loader.take_warnings() {
        eprintln!("warning: {}", escape_control(&w));
    }
    let settings = args.temporal.settings(&config.config.engine)?;
    let client = odp_temporal::connect(&settings).await?;
    let run_id = match args.command {
        RunsCommand::Show { run_id } => run_id,
        RunsCommand::History { run_id } => {
            let json = odp_temporal::history_json(&client, run_id).await?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &json)?;
            return Ok(crate::run::exit::COMPLETED);
        }
    };
    let engine = odp_temporal::TemporalEngine::new(
        client,
        settings,
        Arc::new(odp_exec::events::NoEvents),
        Arc::new(odp_exec::events::NoEvents),
        1,
    );
    let outcome = engine.wait(run_id, "", CancellationToken::new()).await;
    println!("{}", serde_json::to_string_pretty(&outcome)?);
    Ok(match outcome.status {
        odp_exec::RunStatus::Completed => crate::run::exit::COMPLETED,
        odp_exec::RunStatus::Failed => crate::run::exit::FAILED,
        odp_exec::RunStatus::Cancelled => crate::run::exit::CANCELLED,
    })
}
