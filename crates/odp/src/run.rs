//! `odp run`: check a pipeline, plan it, run it, report progress on stderr and the result on stdout.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use odp_analysis::{Environment, Registry, escape_control};
use odp_exec::events::EventSink;
use odp_exec::sink_spec::EventSinkSpec;
use odp_exec::wiring::{Services, ServicesRequest};
use odp_exec::{BoxFuture, Engine, Event, EventKind, RunStatus};
use odp_workspace::load_workspace;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

/// Exit codes of `odp run` (also in the README).
pub mod exit {
    pub const COMPLETED: u8 = 0;
    /// The pipeline has errors: nothing ran.
    pub const INVALID: u8 = 1;
    /// Usage, configuration or IO error.
    pub const USAGE: u8 = 2;
    /// A step failed.
    pub const FAILED: u8 = 3;
    /// The run completed, but some of its lifecycle events could be neither delivered nor kept.
    pub const EVENTS_LOST: u8 = 4;
    /// Cancelled by Ctrl-C (SIGINT).
    pub const CANCELLED: u8 = 130;
    /// Cancelled by SIGTERM.
    pub const TERMINATED: u8 = 143;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// The pipeline file.
    pub file: PathBuf,
    /// Set an input: `--set query=ai` (repeatable; converted to the input's declared type).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Read inputs from a JSON or YAML file (a mapping of input names to values).
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    /// Write the result here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub services: odp_cli::ServiceArgs,
    #[command(flatten)]
    pub engine: odp_cli::EngineArgs,
    /// The run's id (a UUID). On Temporal, starting a run with an id that already has a workflow attaches to it
    /// instead of starting it again [default: a new one].
    #[arg(long, value_name = "UUID")]
    pub run_id: Option<uuid::Uuid>,
    /// On Temporal: start the run, print its id and return (`odp runs show RUN_ID` prints its result).
    #[arg(long)]
    pub detach: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn read_inputs(
    args: &RunArgs,
    analysis: &odp_analysis::Analysis,
) -> anyhow::Result<Map<String, Value>> {
    let mut given = Map::new();
    if let Some(path) = &args.inputs {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value = match serde_json::from_str::<Value>(&text) {
            Ok(v) => v,
            Err(_) => {
                let parse = odp_syntax::parse(&text);
                if let Some(e) = parse.errors.first() {
                    bail!("{}: {}", path.display(), e.message);
                }
                parse
                    .root
                    .map(|r| odp_analysis::registry::node_to_serde(&r))
                    .unwrap_or(Value::Null)
            }
        };
        let Value::Object(map) = value else {
            bail!(
                "{}: expected a mapping of input names to values",
                path.display()
            );
        };
        given.extend(map);
    }
    for pair in &args.set {
        let Some((key, raw)) = pair.split_once('=') else {
            bail!("--set expects KEY=VALUE, got `{pair}`");
        };
        let key = key.trim();
        let type_name = analysis
            .pipeline
            .input(key)
            .and_then(|i| i.type_name.clone());
        let value = odp_exec::coerce_input(type_name.as_deref(), raw)
            .map_err(|e| anyhow!("--set {key}: {e}"))?;
        given.insert(key.to_string(), value);
    }
    Ok(given)
}

/// Progress on stderr: a line per step event; with spinners on a terminal.
struct Progress {
    bars: Option<indicatif::MultiProgress>,
    running: Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl Progress {
    fn new() -> Progress {
        let bars = std::io::stderr()
            .is_terminal()
            .then(indicatif::MultiProgress::new);
        Progress {
            bars,
            running: Mutex::default(),
        }
    }

    /// A line of progress ([`odp_exec::events::progress_line`]: control characters already escaped).
    fn line(&self, text: String) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }
}

impl EventSink for Progress {
    fn emit(&self, e: Event) {
        let step = e.step.clone().unwrap_or_default();
        // On a terminal, a spinner per running step; the lines are the ones every front end shows.
        match e.kind {
            EventKind::StepStarted => {
                if let Some(bars) = &self.bars {
                    let bar = bars.add(indicatif::ProgressBar::new_spinner());
                    bar.set_message(format!("{step} ({})", e.method.clone().unwrap_or_default()));
                    bar.enable_steady_tick(Duration::from_millis(100));
                    self.running.lock().expect("lock").insert(step, bar);
                    return;
                }
            }
            EventKind::StepRetrying => {
                if let Some(bar) = self.running.lock().expect("lock").get(&step) {
                    bar.set_message(format!(
                        "{step} ({}), attempt {}",
                        e.method.clone().unwrap_or_default(),
                        e.attempt.unwrap_or(1) + 1
                    ));
                }
            }
            EventKind::StepCompleted | EventKind::StepFailed => {
                if let Some(bar) = self.running.lock().expect("lock").remove(&step) {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
        if let Some(line) = odp_exec::events::progress_line(&e) {
            self.line(line);
        }
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

pub fn run(args: RunArgs) -> u8 {
    odp_cli::init_logging_as(None, args.log_format == LogFormat::Json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::USAGE;
        }
    };
    match runtime.block_on(run_async(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", escape_control(&format!("{e:#}")));
            exit::USAGE
        }
    }
}

async fn run_async(args: RunArgs) -> anyhow::Result<u8> {
    // From the start: a signal before the run begins still ends it as cancelled, with its result and events.
    let cancel = CancellationToken::new();
    let stop = crate::stop::Stop::on_signals(&cancel);
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The one loader (odp_workspace::workspace); a registry at a URL is fetched with a blocking client, which must
    // not run (nor be dropped) on the runtime.
    let (dir, flag) = (std::path::absolute(dir)?, args.services.registry.clone());
    let loaded = tokio::task::spawn_blocking(move || load_workspace(&dir, flag.as_deref()))
        .await
        .context("loading the configuration stopped")??;
    for w in &loaded.warnings {
        eprintln!("warning: {}", escape_control(w));
    }
    let config = &*loaded.config;
    // Checked before anything starts; the sink itself is opened just before the run.
    EventSinkSpec::resolve(args.services.events.as_deref(), &config.config.services)?;
    let registry: Arc<Registry> = loaded.registry;
    let analysis = odp_analysis::analyze(&text, &Environment::new(&registry));
    if analysis.has_errors() {
        let report = odp_cli::render::FileReport {
            path: args.file.display().to_string(),
            text: text.clone(),
            diagnostics: analysis.diagnostics.clone(),
        };
        let color = odp_cli::ColorMode::Auto.enabled(std::io::stderr().is_terminal());
        let mut err = codespan_reporting::term::termcolor::StandardStream::stderr(if color {
            codespan_reporting::term::termcolor::ColorChoice::Always
        } else {
            codespan_reporting::term::termcolor::ColorChoice::Never
        });
        odp_cli::render::human(&mut err, &[report])?;
        eprintln!(
            "error: {} has {} error{}: nothing ran",
            escape_control(&args.file.display().to_string()),
            analysis.error_count(),
            if analysis.error_count() == 1 { "" } else { "s" }
        );
        return Ok(exit::INVALID);
    }
    let given = read_inputs(&args, &analysis)?;
    let plan = odp_exec::plan(&analysis, &registry, &given)?;
    let run_id = args.run_id.unwrap_or_else(uuid::Uuid::now_v7);
    let engine = args.engine.settings(&config.config.engine)?;
    if engine.kind == odp_cli::EngineKind::Temporal {
        return run_on_temporal(&args, config, engine.temporal, &plan, run_id, cancel, &stop).await;
    }
    if args.detach {
        bail!(
            "--detach needs the Temporal engine (--engine temporal): a local run lives in this process"
        );
    }

    // Services: configured URLs, or the built-in stubs when none is configured at all. URLs and keys are checked
    // first: a URL or key that cannot work is a configuration error before anything starts.
    let settings = odp_exec::wiring::ServiceSettings::resolve(
        args.services.crawler_url.as_deref(),
        args.services.model_url.as_deref(),
        &config.config.services,
    )?;
    let services = Services::start(ServicesRequest {
        settings,
        events: args.services.events.as_deref(),
        config: &config.config.services,
        registry: registry.clone(),
        progress: Arc::new(Progress::new()),
        concurrency: args.services.concurrency,
    })
    .await?;
    if services.stubbed() {
        eprintln!("odp: {}", services.description);
    }
    services.check_plan(&plan)?;
    // Events an earlier run could not deliver go first.
    for line in services.flush_outbox().await {
        if line.starts_with("warning: ") {
            eprintln!("{line}");
        } else {
            eprintln!("odp: {line}");
        }
    }
    let engine = services.engine.clone();
    let outcome = engine.run(&plan, run_id, cancel).await;
    let stubbed = services.stubbed();
    let events = services.events.clone();
    services.shutdown().await;
    finish(&args, &outcome, Some(stubbed), events.lost(), &stop)
}

/// `odp run --engine temporal`: the run is a workflow on the cluster; `odp worker` processes run its steps with
/// their own services and keys. This process starts it, prints its progress and its result.
async fn run_on_temporal(
    args: &RunArgs,
    config: &odp_workspace::LoadedConfig,
    settings: odp_cli::TemporalSettings,
    plan: &odp_exec::Plan,
    run_id: uuid::Uuid,
    cancel: CancellationToken,
    stop: &crate::stop::Stop,
) -> anyhow::Result<u8> {
    let (events, _) =
        odp_exec::wiring::event_sink(args.services.events.as_deref(), &config.config.services)?;
    let client = odp_temporal::connect(&settings).await?;
    let engine = odp_temporal::TemporalEngine::new(
        client,
        settings,
        events.clone(),
        Arc::new(Progress::new()),
        args.services.concurrency,
    );
    let request = odp_exec::RunRequest::new(plan, run_id);
    if args.detach {
        let workflow_id = engine.start(&request).await?;
        events.flush().await;
        let json = serde_json::json!({"run_id": run_id, "workflow_id": workflow_id});
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(exit::COMPLETED);
    }
    let outcome = engine.execute(request, cancel).await;
    events.flush().await;
    finish(args, &outcome, None, events.lost(), stop)
}

/// Writes the result JSON and says how the run ended; the exit code.
fn finish(
    args: &RunArgs,
    outcome: &odp_exec::RunOutcome,
    stubbed: Option<bool>,
    lost: usize,
    stop: &crate::stop::Stop,
) -> anyhow::Result<u8> {
    let mut result = serde_json::to_value(outcome)?;
    if let Some(stubbed) = stubbed {
        result["stubbed"] = Value::Bool(stubbed);
    }
    let mut json = serde_json::to_string_pretty(&result)?;
    json.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, json)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(json.as_bytes())?;
        }
    }
    eprintln!(
        "odp: run {} {} in {} ms",
        outcome.run_id,
        match outcome.status {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "was cancelled",
        },
        outcome.duration_ms
    );
    // The engine flushed the sink at the end of the run: the count is final.
    if lost > 0 {
        eprintln!(
            "error: {lost} lifecycle event{} of the run could be neither delivered nor kept (see above)",
            if lost == 1 { "" } else { "s" }
        );
    }
    Ok(match outcome.status {
        RunStatus::Completed if lost > 0 => exit::EVENTS_LOST,
        RunStatus::Completed => exit::COMPLETED,
        RunStatus::Failed => exit::FAILED,
        RunStatus::Cancelled => match stop.signal() {
            Some(crate::stop::Signal::Terminate) => exit::TERMINATED,
            _ => exit::CANCELLED,
        },
    })
}
