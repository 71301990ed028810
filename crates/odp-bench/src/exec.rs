//! `odp-bench exec`: the executor's overhead per step over a bare reqwest call to the same stub, and the throughput
//! of a 1,000-source pipeline. Everything runs in one process and one tokio runtime: the stub server
//! (`odp_stubs::StubServer`, no latency, no faults) on 127.0.0.1, the bare client and the engine.
//!
//! - bare: `--steps` sequential POSTs of `{"texts": ["hello"]}` to `/v1/nlp/language/detect` with a keep-alive
//!   reqwest client built like the engine's (`tcp_nodelay`), each reading the body and parsing it to a
//!   `serde_json::Value` — what any client does with an answer.
//! - engine: a checked and planned pipeline of one source and `--steps` sequential transforms, each
//!   `nlp.language.detect` with `texts: ["{{inputs.word}}"]` (a whole-value template resolving to the same body),
//!   run by `InProcessEngine` with `HttpMethodClient`, the default circuit breaker and `MemoryEvents`. A step's time
//!   is the interval between consecutive `step.completed` events (a sink that stamps each event before handing it
//!   to `MemoryEvents`), so it counts everything the engine does between two calls: the report and the result of
//!   the previous step, events, template resolution, the breaker, the timeout wrapper and the retry loop.
//! - throughput: a generated pipeline of 1,000 `social.twitter.search` sources (`limit: 1`) run with concurrency
//!   8, 32 and 64; steps/s = 1,000 / wall time of `Engine::run`. Its check (`odp_analysis::analyze`) and plan
//!   (`odp_exec::plan`) are timed separately.
//!
//! Each of `--runs` rounds measures bare, then engine, then throughput, so a burst of load on the machine hits both
//! sides of a comparison alike; every round is printed and the best round (lowest engine median) is summarised.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use odp_analysis::{Environment, Registry, analyze};
use odp_exec::events::{Event, EventKind, EventSink, MemoryEvents};
use odp_exec::{
    BoxFuture, CircuitBreaker, Engine, HttpMethodClient, InProcessEngine, Plan, RunStatus,
    ServiceEndpoint,
};
use odp_stubs::{StubConfig, StubServer};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

const DETECT: &str = "/v1/nlp/language/detect";
const CONCURRENCY: &[usize] = &[8, 32, 64];

/// Stamps every event with the time it was emitted, then hands it to `MemoryEvents`.
#[derive(Default)]
struct StampedEvents {
    inner: MemoryEvents,
    stamps: Mutex<Vec<(EventKind, Instant)>>,
}

impl StampedEvents {
    fn take(&self) -> Vec<(EventKind, Instant)> {
        self.inner.events.lock().expect("lock").clear();
        std::mem::take(&mut *self.stamps.lock().expect("lock"))
    }
}

impl EventSink for StampedEvents {
    fn emit(&self, event: Event) {
        self.stamps
            .lock()
            .expect("lock")
            .push((event.kind, Instant::now()));
        self.inner.emit(event);
    }
    fn flush(&self) -> BoxFuture<'_, ()> {
        self.inner.flush()
    }
}

pub(crate) fn sequential_pipeline(steps: usize) -> String {
    let mut out = String::from(
        "name: exec overhead benchmark\ninputs:\n  word:\n    type: string\n    default: hello\n",
    );
    out.push_str("sources:\n  - name: seed\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.word}}\"\n      limit: 1\n");
    out.push_str("transforms:\n");
    for i in 0..steps {
        out.push_str(&format!(
            "  - name: detect_{i}\n    method: nlp.language.detect\n    params:\n      texts: [\"{{{{inputs.word}}}}\"]\n"
        ));
    }
    out
}

pub(crate) fn sources_pipeline(sources: usize) -> String {
    let mut out = String::from(
        "name: exec throughput benchmark\ninputs:\n  query:\n    type: string\n    default: rust\n",
    );
    out.push_str("sources:\n");
    for i in 0..sources {
        out.push_str(&format!(
            "  - name: source_{i}\n    method: social.twitter.search\n    params:\n      query: \"{{{{inputs.query}}}} {i}\"\n      limit: 1\n"
        ));
    }
    out
}

pub(crate) fn check_and_plan(text: &str, registry: &Registry, env: &Environment) -> Plan {
    let analysis = analyze(text, env);
    let errors = analysis.error_count();
    if errors > 0 {
        for d in analysis.diagnostics.iter().take(5) {
            eprintln!("  {} {}", d.code, d.message);
        }
        panic!("the generated pipeline has {errors} error(s)");
    }
    odp_exec::plan(&analysis, registry, &Map::new()).expect("the generated pipeline plans")
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[derive(Clone, Copy)]
struct Dist {
    median: f64,
    p90: f64,
    mean: f64,
}

/// Median, p90 and mean in microseconds.
fn dist(samples: &[Duration]) -> Dist {
    let mut v: Vec<f64> = samples.iter().map(|d| us(*d)).collect();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    Dist {
        median: at(0.5),
        p90: at(0.9),
        mean: v.iter().sum::<f64>() / v.len() as f64,
    }
}

struct Round {
    bare: Dist,
    engine: Dist,
    engine_wall: Duration,
    throughput: Vec<(usize, Duration)>,
}

fn engine(
    client: &Arc<HttpMethodClient>,
    events: Arc<dyn EventSink>,
    concurrency: usize,
) -> InProcessEngine {
    InProcessEngine::new(
        client.clone(),
        Arc::new(CircuitBreaker::new(Default::default())),
        events,
        concurrency,
    )
}

async fn bare_calls(http: &reqwest::Client, url: &str, params: &Value, n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let response = http
            .post(url)
            .json(params)
            .send()
            .await
            .expect("the stub answers");
        assert!(response.status().is_success(), "{}", response.status());
        let value: Value = response.json().await.expect("a JSON answer");
        samples.push(t.elapsed());
        std::hint::black_box(value);
    }
    samples
}

pub fn run(steps: usize, runs: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(measure(steps, runs));
}

async fn measure(steps: usize, runs: usize) {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let stubs = StubServer::start(
        registry.clone(),
        "127.0.0.1:0".parse().expect("an address"),
        StubConfig::default(),
    )
    .await
    .expect("the stub server starts");
    let base = stubs.base_url();
    println!(
        "stub server {base}; {} worker threads; {steps} steps per run, {runs} rounds",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // (a) bare
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .build()
        .expect("a reqwest client");
    let url = format!("{base}{DETECT}");
    let params = json!({"texts": ["hello"]});

    // (b) engine
    let endpoint = ServiceEndpoint {
        base_url: base.clone(),
        api_key: None,
    };
    let client = Arc::new(
        HttpMethodClient::new(
            Some(endpoint.clone()),
            Some(endpoint),
            odp_exec::DEFAULT_MAX_RESPONSE_BYTES,
        )
        .expect("the method client"),
    );
    let sequential = check_and_plan(&sequential_pipeline(steps), &registry, &env);
    assert_eq!(sequential.transforms.len(), steps);
    assert_eq!(
        sequential.transforms[0].endpoint, DETECT,
        "the engine calls the same endpoint as the bare client"
    );
    let stamped = Arc::new(StampedEvents::default());
    let seq_engine = engine(&client, stamped.clone(), 8);

    // (c) throughput: check and plan, then runs at each concurrency.
    let text = sources_pipeline(1_000);
    let mut check_times = Vec::new();
    let mut plan_times = Vec::new();
    let mut big = None;
    for _ in 0..10 {
        let t = Instant::now();
        let analysis = analyze(&text, &env);
        check_times.push(t.elapsed());
        assert_eq!(
            analysis.error_count(),
            0,
            "{:?}",
            analysis.diagnostics.first()
        );
        let t = Instant::now();
        let plan = odp_exec::plan(&analysis, &registry, &Map::new()).expect("plan");
        plan_times.push(t.elapsed());
        big = Some(plan);
    }
    let big = big.expect("planned");
    assert_eq!(big.sources.len(), 1_000);
    let (check, plan) = (dist(&check_times), dist(&plan_times));
    println!(
        "1,000-source pipeline ({} bytes, {} lines): check median {:.2} ms, plan median {:.3} ms (10 runs)",
        text.len(),
        text.lines().count(),
        check.median / 1000.0,
        plan.median / 1000.0
    );

    // Warm-up: connections, allocator, the stub's lazily built state.
    bare_calls(&http, &url, &params, 200).await;
    let warm = engine(&client, Arc::new(MemoryEvents::default()), 64);
    for _ in 0..2 {
        let o = warm
            .run(&sequential, uuid::Uuid::now_v7(), CancellationToken::new())
            .await;
        assert_eq!(o.status, RunStatus::Completed, "{:?}", o.error);
        let o = warm
            .run(&big, uuid::Uuid::now_v7(), CancellationToken::new())
            .await;
        assert_eq!(o.status, RunStatus::Completed, "{:?}", o.error);
    }

    let mut rounds = Vec::new();
    for round in 1..=runs {
        let bare = dist(&bare_calls(&http, &url, &params, steps).await);

        stamped.take();
        stubs.reset_calls();
        let t = Instant::now();
        let outcome = seq_engine
            .run(&sequential, uuid::Uuid::now_v7(), CancellationToken::new())
            .await;
        let engine_wall = t.elapsed();
        assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
        assert_eq!(stubs.calls(DETECT), steps, "one HTTP call per transform");
        let completed: Vec<Instant> = stamped
            .take()
            .into_iter()
            .filter(|(k, _)| *k == EventKind::StepCompleted)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(completed.len(), steps + 1, "the source and every transform");
        let per_step: Vec<Duration> = completed.windows(2).map(|w| w[1] - w[0]).collect();
        let engine_dist = dist(&per_step);

        let mut throughput = Vec::new();
        for &c in CONCURRENCY {
            let e = engine(&client, Arc::new(MemoryEvents::default()), c);
            stubs.reset_calls();
            let t = Instant::now();
            let outcome = e
                .run(&big, uuid::Uuid::now_v7(), CancellationToken::new())
                .await;
            let wall = t.elapsed();
            assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
            assert_eq!(outcome.results.len(), 1_000);
            assert_eq!(
                stubs.calls("social.twitter.search"),
                1_000,
                "one HTTP call per source"
            );
            throughput.push((c, wall));
        }

        println!(
            "round {round}: bare median {:.1} µs p90 {:.1} µs mean {:.1} µs | engine/step median {:.1} µs p90 {:.1} µs mean {:.1} µs (run {:.1} ms) | overhead median {:+.1} µs p90 {:+.1} µs | {}",
            bare.median,
            bare.p90,
            bare.mean,
            engine_dist.median,
            engine_dist.p90,
            engine_dist.mean,
            engine_wall.as_secs_f64() * 1000.0,
            engine_dist.median - bare.median,
            engine_dist.p90 - bare.p90,
            throughput
                .iter()
                .map(|(c, w)| format!("c={c}: {:.0} steps/s", 1000.0 / w.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        rounds.push(Round {
            bare,
            engine: engine_dist,
            engine_wall,
            throughput,
        });
    }

    let best = rounds
        .iter()
        .min_by(|a, b| a.engine.median.total_cmp(&b.engine.median))
        .expect("at least one round");
    println!("best round (lowest engine median):");
    println!(
        "  bare call:        median {:.1} µs, p90 {:.1} µs, mean {:.1} µs",
        best.bare.median, best.bare.p90, best.bare.mean
    );
    println!(
        "  engine per step:  median {:.1} µs, p90 {:.1} µs, mean {:.1} µs ({} steps in {:.1} ms)",
        best.engine.median,
        best.engine.p90,
        best.engine.mean,
        steps,
        best.engine_wall.as_secs_f64() * 1000.0
    );
    println!(
        "  overhead/step:    median {:+.1} µs, p90 {:+.1} µs (target ≤ 500 µs)",
        best.engine.median - best.bare.median,
        best.engine.p90 - best.bare.p90
    );
    for &c in CONCURRENCY {
        let max = rounds
            .iter()
            .filter_map(|r| r.throughput.iter().find(|(k, _)| *k == c))
            .map(|(_, w)| 1000.0 / w.as_secs_f64())
            .fold(0.0, f64::max);
        let med = {
            let mut v: Vec<f64> = rounds
                .iter()
                .filter_map(|r| r.throughput.iter().find(|(k, _)| *k == c))
                .map(|(_, w)| 1000.0 / w.as_secs_f64())
                .collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "  1,000 sources, concurrency {c}: best {max:.0} steps/s, median {med:.0} steps/s over {} rounds (target ≥ 5,000)",
            rounds.len()
        );
    }
    println!(
        "  check + plan of the 1,000-source pipeline: {:.2} ms + {:.3} ms (median)",
        check.median / 1000.0,
        plan.median / 1000.0
    );
    stubs.shutdown().await;
}
