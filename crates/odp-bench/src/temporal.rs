//! `odp-bench temporal`: the Temporal engine next to the local engine and next to a bare Temporal workflow, on
//! the same stubs, in one process (issue 15's benchmark; results in BENCHMARKS.md).
//!
//! One process holds a Temporal dev server (the test harness's `DevServer`: the `temporal` CLI of
//! `ODP_TEMPORAL_CLI` or the test command's install, in memory, on free loopback ports), the built-in stubs, an odp
//! worker (`odp_temporal::WorkerThread`, as `odp worker` runs it), the Temporal engine's client (as `odp run
//! --engine temporal` uses it: start, progress queries, result), the local engine, and a bare worker on a task
//! queue of its own.
//!
//! The bare workflow (`bench.bare.v1`) is the floor of any Temporal-based engine: the same shape as odp's
//! (sources in `concurrency` lanes, then transforms one after another, the results returned), each step one plain
//! activity (`bench.bare-call.v1`: one HTTP POST of the step's params, already resolved by the benchmark, to the
//! same stub endpoint, the answer parsed and returned; a finite retry policy of 2 attempts, a non-2xx answer is a
//! non-retryable failure). No events, no progress queries, no heartbeats, no templates, no registry.
//!
//! Pipelines: `one-source` (1 `social.twitter.search`, `limit: 1`), `100-sources` (100 of them, concurrency 8 on
//! every variant) and `20-transforms` (a seed source and 20 `nlp.language.detect` transforms in order). Each round
//! runs every pipeline on every variant, the variants' order rotating from round to round; a run's time is the
//! client's wall time from start to result. After every run the stub's call count is checked (one call per step).

use std::sync::Arc;
use std::time::{Duration, Instant};

use odp_analysis::{Environment, Registry};
use odp_exec::events::NoEvents;
use odp_exec::{Engine, Plan, RunRequest, RunStatus};
use odp_temporal::TemporalEngine;
use odp_temporal::engine::WorkflowVersion;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::RetryPolicy;
use temporalio_common::error::ApplicationFailure;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::workflows::join_all;
use temporalio_sdk::{
    ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowResult,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::Cluster;

/// One step of the bare workflow: where to POST and what.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BareCall {
    pub name: String,
    pub path: String,
    pub body: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BareInput {
    pub sources: Vec<BareCall>,
    pub transforms: Vec<BareCall>,
    pub concurrency: usize,
}

pub struct BareActivities {
    http: reqwest::Client,
    base_url: String,
}

#[activities]
impl BareActivities {
    /// One HTTP call to the stub; its parsed answer is the activity's result.
    #[activity(name = "bench.bare-call.v1")]
    pub async fn call(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: BareCall,
    ) -> Result<Value, ActivityError> {
        let url = format!("{}{}", self.base_url, input.path);
        let failed = |message: String| {
            ActivityError::application(ApplicationFailure::non_retryable(message))
        };
        let response = self
            .http
            .post(&url)
            .json(&input.body)
            .send()
            .await
            .map_err(|e| failed(format!("{url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(failed(format!("{url} answered {status}: {text}")));
        }
        response
            .json::<Value>()
            .await
            .map_err(|e| failed(format!("{url}: {e}")))
    }
}

#[workflow]
#[derive(Default)]
pub struct BareWorkflow;

#[workflow_methods]
impl BareWorkflow {
    #[run(name = "bench.bare.v1")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: BareInput,
    ) -> WorkflowResult<Map<String, Value>> {
        let options = || {
            ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
                .retry_policy(RetryPolicy::builder().maximum_attempts(2).build())
                .build()
        };
        let lanes = input.concurrency.clamp(1, input.sources.len().max(1));
        let context: &WorkflowContext<Self> = ctx;
        let lane_runs = (0..lanes).map(|lane| {
            let input = &input;
            async move {
                let mut done = Vec::new();
                for (index, call) in input.sources.iter().enumerate().skip(lane).step_by(lanes) {
                    let value = context
                        .execute_activity(BareActivities::call, call.clone(), options())
                        .await;
                    done.push((index, value));
                }
                done
            }
        });
        let mut sources: Vec<_> = join_all(lane_runs).await.into_iter().flatten().collect();
        sources.sort_by_key(|(index, _)| *index);
        let mut results = Map::new();
        for (index, value) in sources {
            let value = value?;
            results.insert(input.sources[index].name.clone(), value);
        }
        for call in &input.transforms {
            let value = ctx
                .execute_activity(BareActivities::call, call.clone(), options())
                .await?;
            results.insert(call.name.clone(), value);
        }
        Ok(results)
    }
}

/// The bare worker, on a thread of its own (`Worker::run` is not `Send`), until dropped.
struct BareWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BareWorker {
    fn spawn(settings: odp_temporal::TemporalSettings, base_url: String) -> BareWorker {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-bare-worker".into())
            .spawn(move || {
                // The same runtime as an odp worker's (`odp_temporal::WorkerThread`).
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    let sdk =
                        Runtime::from_current_tokio(Default::default()).expect("the SDK runtime");
                    let client = odp_temporal::connect(&settings).await.expect("connect");
                    let http = reqwest::Client::builder()
                        .tcp_nodelay(true)
                        .build()
                        .expect("a reqwest client");
                    let options = WorkerOptions::new(settings.task_queue.clone())
                        .register_workflow::<BareWorkflow>()
                        .expect("register the bare workflow")
                        .register_activities(BareActivities { http, base_url })
                        .build();
                    let mut worker = Worker::new(&sdk, client, options).expect("the bare worker");
                    let shutdown = worker.shutdown_handle();
                    let run = worker.run();
                    tokio::pin!(run);
                    tokio::select! {
                        r = &mut run => r.expect("the bare worker runs"),
                        _ = stopped => {
                            shutdown();
                            run.await.expect("the bare worker stops");
                        }
                    }
                })
            })
            .expect("a thread");
        BareWorker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for BareWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The bare workflow's input for a plan: each step's params resolved against the pipeline's inputs (the bodies
/// the engine sends), POSTed to the step's endpoint.
fn bare_input(plan: &Plan, concurrency: usize) -> BareInput {
    let inputs = Value::Object(plan.inputs.clone());
    let calls = |steps: &[odp_exec::PlannedStep]| -> Vec<BareCall> {
        steps
            .iter()
            .map(|step| {
                let body = odp_exec::plan::resolve_params(&step.params, &|root| {
                    (root == "inputs").then_some(&inputs)
                })
                .expect("the benchmark's params read only inputs");
                BareCall {
                    name: step.name.clone(),
                    path: step.endpoint.clone(),
                    body,
                }
            })
            .collect()
    };
    BareInput {
        sources: calls(&plan.sources),
        transforms: calls(&plan.transforms),
        concurrency,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Local,
    /// The Temporal engine starting `odp.pipeline.v1` (before: the run's events by activities).
    TemporalV1,
    /// The Temporal engine as `odp run --engine temporal` runs it (`odp.pipeline.v2`).
    Temporal,
    Bare,
}

const VARIANTS: [Variant; 4] = [
    Variant::Local,
    Variant::TemporalV1,
    Variant::Temporal,
    Variant::Bare,
];
const LOCAL: usize = 0;
const TEMPORAL: usize = 2;
const BARE: usize = 3;

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Local => "local engine",
            Variant::TemporalV1 => "Temporal engine, odp.pipeline.v1",
            Variant::Temporal => "Temporal engine",
            Variant::Bare => "bare workflow",
        }
    }
}

struct Shape {
    name: &'static str,
    plan: Plan,
    bare: BareInput,
    steps: usize,
}

/// The concurrency of every variant (the engines' default in `odp run`).
const CONCURRENCY: usize = 8;

struct Bench {
    cluster: Cluster,
    /// The Temporal engine starting the first version of the workflow.
    temporal_v1: TemporalEngine,
    bare_client: Client,
    bare_queue: String,
}

impl Bench {
    /// Runs one pipeline on one variant; its wall time. Panics (the benchmark is void) unless the run completed
    /// with one stub call per step.
    async fn run(&self, variant: Variant, shape: &Shape) -> Duration {
        self.run_as(variant, shape, Uuid::now_v7()).await
    }

    /// The id of the workflow of a run.
    fn workflow_id(variant: Variant, run_id: Uuid) -> String {
        match variant {
            Variant::Bare => format!("bench-bare-{run_id}"),
            _ => odp_temporal::workflow_id(run_id),
        }
    }

    async fn run_as(&self, variant: Variant, shape: &Shape, run_id: Uuid) -> Duration {
        self.cluster.stubs.reset_calls();
        let started = Instant::now();
        match variant {
            Variant::Local => {
                let outcome = self.cluster.run_local(&shape.plan).await;
                assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
                assert_eq!(outcome.results.len(), shape.steps);
            }
            Variant::Temporal => {
                let outcome = self.cluster.run_temporal(&shape.plan, run_id).await;
                assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
                assert_eq!(outcome.results.len(), shape.steps);
            }
            Variant::TemporalV1 => {
                let request = RunRequest::new(&shape.plan, run_id);
                let outcome = self
                    .temporal_v1
                    .execute(request, CancellationToken::new())
                    .await;
                assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
                assert_eq!(outcome.results.len(), shape.steps);
            }
            Variant::Bare => {
                let options = WorkflowStartOptions::new(
                    self.bare_queue.clone(),
                    Bench::workflow_id(variant, run_id),
                )
                .build();
                let handle = self
                    .bare_client
                    .start_workflow(BareWorkflow::run, shape.bare.clone(), options)
                    .await
                    .expect("the bare workflow starts");
                let results = handle
                    .get_result(WorkflowGetResultOptions::default())
                    .await
                    .expect("the bare workflow completes");
                assert_eq!(results.len(), shape.steps);
            }
        }
        let wall = started.elapsed();
        assert_eq!(
            self.cluster.stubs.total_calls(),
            shape.steps,
            "{}: one stub call per step",
            variant.label()
        );
        wall
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Where the time of one run goes, from its history: the time between consecutive events, summed by the pair of
/// event types (the dev server stamps each event as it writes it).
fn explain(history: &[Value]) -> Vec<(String, f64, usize)> {
    let time = |e: &Value| -> Option<f64> {
        let t = e["eventTime"].as_str()?;
        // RFC 3339 with nanoseconds: seconds within the day are enough for gaps within a run.
        let clock = t.split('T').nth(1)?.trim_end_matches('Z');
        let mut parts = clock.split(':');
        let h: f64 = parts.next()?.parse().ok()?;
        let m: f64 = parts.next()?.parse().ok()?;
        let s: f64 = parts.next()?.parse().ok()?;
        Some((h * 60.0 + m) * 60.0 + s)
    };
    let kind = |e: &Value| {
        e["eventType"]
            .as_str()
            .unwrap_or("?")
            .trim_start_matches("EVENT_TYPE_")
            .to_lowercase()
    };
    let mut sums: Vec<(String, f64, usize)> = Vec::new();
    for pair in history.windows(2) {
        let (Some(a), Some(b)) = (time(&pair[0]), time(&pair[1])) else {
            continue;
        };
        let key = format!("{} → {}", kind(&pair[0]), kind(&pair[1]));
        match sums.iter_mut().find(|(k, _, _)| *k == key) {
            Some(entry) => {
                entry.1 += (b - a) * 1000.0;
                entry.2 += 1;
            }
            None => sums.push((key, (b - a) * 1000.0, 1)),
        }
    }
    sums.sort_by(|a, b| b.1.total_cmp(&a.1));
    sums
}

pub fn run(runs: usize, explain_runs: bool) {
    // The dev server starts before any runtime (its readiness check blocks).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(measure(runs, explain_runs));
}

async fn measure(runs: usize, explain_runs: bool) {
    println!("load average at start: {}", load());
    let cluster = Cluster::start().await;
    let bare_queue = format!("bench-bare-{}", Uuid::new_v4());
    let bare_settings = cluster.server.settings(&bare_queue);
    let bare_worker = BareWorker::spawn(bare_settings.clone(), cluster.stubs.base_url());
    let bare_client = odp_temporal::connect(&bare_settings)
        .await
        .expect("connect");
    let temporal_v1 = TemporalEngine::new(
        odp_temporal::connect(&cluster.settings)
            .await
            .expect("connect"),
        cluster.settings.clone(),
        Arc::new(NoEvents),
        Arc::new(NoEvents),
        CONCURRENCY,
    )
    .with_version(WorkflowVersion::V1);
    let bench = Bench {
        cluster,
        temporal_v1,
        bare_client,
        bare_queue,
    };

    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let shape = |name: &'static str, text: String| {
        let plan = crate::exec::check_and_plan(&text, &registry, &env);
        let steps = plan.sources.len() + plan.transforms.len();
        let bare = bare_input(&plan, CONCURRENCY);
        Shape {
            name,
            plan,
            bare,
            steps,
        }
    };
    let shapes = [
        shape("one-source", crate::exec::sources_pipeline(1)),
        shape("100-sources", crate::exec::sources_pipeline(100)),
        shape("20-transforms", crate::exec::sequential_pipeline(20)),
    ];
    println!(
        "dev server {}, stubs {}, concurrency {CONCURRENCY}, {runs} rounds; {} worker threads",
        bench.cluster.server.address,
        bench.cluster.stubs.base_url(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Warm-up: connections, workflow caches, the stubs' lazily built state.
    for shape in &shapes {
        for variant in VARIANTS {
            bench.run(variant, shape).await;
        }
    }

    // samples[shape][variant]
    let mut samples = vec![vec![Vec::<Duration>::new(); VARIANTS.len()]; shapes.len()];
    for round in 0..runs {
        let mut line = format!("round {}:", round + 1);
        for (s, shape) in shapes.iter().enumerate() {
            line.push_str(&format!(" {}", shape.name));
            for k in 0..VARIANTS.len() {
                let v = (k + round) % VARIANTS.len();
                let wall = bench.run(VARIANTS[v], shape).await;
                samples[s][v].push(wall);
            }
            for (v, variant) in VARIANTS.iter().enumerate() {
                let wall = samples[s][v].last().expect("a sample");
                line.push_str(&format!(" {:?} {:.1} ms", variant, ms(*wall)));
            }
            line.push(';');
        }
        println!("{line}");
    }
    println!("load average at end: {}", load());

    println!();
    println!(
        "| pipeline | variant | run, median (min–max) | per step | steps/s | vs bare | vs local |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (s, shape) in shapes.iter().enumerate() {
        let median = |v: usize| {
            let mut d = samples[s][v].clone();
            d.sort();
            (d[d.len() / 2], d[0], d[d.len() - 1])
        };
        let (bare, _, _) = median(BARE);
        let (local, _, _) = median(LOCAL);
        for (v, variant) in VARIANTS.iter().enumerate() {
            let (med, min, max) = median(v);
            println!(
                "| {} ({} steps) | {} | {:.1} ms ({:.1}–{:.1}) | {:.2} ms | {:.0} | {:.2}× | {:.2}× |",
                shape.name,
                shape.steps,
                variant.label(),
                ms(med),
                ms(min),
                ms(max),
                ms(med) / shape.steps as f64,
                shape.steps as f64 / med.as_secs_f64(),
                ms(med) / ms(bare),
                ms(med) / ms(local),
            );
        }
        let (temporal, _, _) = median(TEMPORAL);
        println!(
            "|   | overhead per step of the Temporal engine | over local {:+.2} ms, over bare {:+.2} ms | | | | |",
            (ms(temporal) - ms(local)) / shape.steps as f64,
            (ms(temporal) - ms(bare)) / shape.steps as f64,
        );
    }

    if explain_runs {
        // One more 20-transforms run on each Temporal variant, and where its time went.
        let shape = &shapes[2];
        for variant in [Variant::Temporal, Variant::Bare] {
            let run_id = Uuid::now_v7();
            let wall = bench.run_as(variant, shape, run_id).await;
            let server = &bench.cluster.server;
            let id = Bench::workflow_id(variant, run_id);
            let history = tokio::task::block_in_place(|| server.history(&id));
            println!(
                "\n{} on {}: {:.1} ms, {} history events; time between events by pair of types:",
                shape.name,
                variant.label(),
                ms(wall),
                history.len()
            );
            for (pair, total, n) in explain(&history) {
                println!("  {total:8.1} ms  {n:3}×  {pair}");
            }
        }
    }

    // The workers stop while the dev server still answers (their pollers end cleanly), then the server.
    drop(bare_worker);
    let Bench { cluster, .. } = bench;
    let Cluster {
        server,
        stubs,
        _worker,
        ..
    } = cluster;
    if let Err(e) = _worker.stop() {
        eprintln!("the odp worker did not stop cleanly: {e}");
    }
    drop(server);
    stubs.shutdown().await;
}
