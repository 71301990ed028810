//! The engine over loopback: the real stub server, and a real redis-server started here on a free port.
//! Pipelines use millisecond retry intervals so the suite stays fast.

mod redaction;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use odp_analysis::{Environment, Registry};
use odp_exec::breaker::{BreakerConfig, BreakerState};
use odp_exec::events::{EventSink, MemoryEvents};
use odp_exec::redis_sink::{Outbox, RedisEvents, STREAM_KEY};
use odp_exec::test_support::stub_client;
use odp_exec::{
    CircuitBreaker, Engine, EventKind, HttpMethodClient, InProcessEngine, RunOutcome, RunStatus,
    StepStatus,
};
use odp_stubs::test_support::start_bundled;
use odp_stubs::{Fault, StubConfig, StubServer};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

const TWITTER: &str = "/v1/social/twitter/search";
const SENTIMENT: &str = "/v1/nlp/sentiment/analyze";

async fn stubs() -> StubServer {
    start_bundled(StubConfig::default()).await
}

fn client(stubs: &StubServer) -> Arc<HttpMethodClient> {
    Arc::new(stub_client(&stubs.base_url(), Some("test-key"), 1 << 20))
}

struct Harness {
    engine: InProcessEngine,
    events: Arc<MemoryEvents>,
    breaker: Arc<CircuitBreaker>,
}

fn harness(stubs: &StubServer, breaker: BreakerConfig) -> Harness {
    let events = Arc::new(MemoryEvents::default());
    let breaker = Arc::new(CircuitBreaker::new(breaker));
    Harness {
        engine: InProcessEngine::new(client(stubs), breaker.clone(), events.clone(), 4),
        events,
        breaker,
    }
}

fn plan(text: &str) -> odp_exec::Plan {
    let registry = Registry::bundled();
    let analysis = odp_analysis::analyze(text, &Environment::new(&registry));
    assert!(!analysis.has_errors(), "{:#?}", analysis.diagnostics);
    odp_exec::plan(&analysis, &registry, &Map::new()).unwrap()
}

async fn run(h: &Harness, text: &str) -> RunOutcome {
    h.engine
        .run(&plan(text), uuid::Uuid::now_v7(), CancellationToken::new())
        .await
}

const FAST_RETRY: &str =
    "    retry: {max_attempts: 3, initial_interval: 10ms, maximum_interval: 15ms}\n";

fn pipeline(sources: &[&str], transforms: &[&str]) -> String {
    let mut text =
        String::from("name: engine test\ninputs:\n  q: {type: string, default: rust}\nsources:\n");
    for s in sources {
        text.push_str(s);
    }
    if !transforms.is_empty() {
        text.push_str("transforms:\n");
        for t in transforms {
            text.push_str(t);
        }
    }
    text
}

fn search(name: &str) -> String {
    format!(
        "  - name: {name}\n    method: social.twitter.search\n    params: {{query: \"{{{{inputs.q}}}}\", limit: 3}}\n{FAST_RETRY}"
    )
}

fn sentiment(name: &str, from: &str) -> String {
    format!(
        "  - name: {name}\n    method: nlp.sentiment.analyze\n    params: {{texts: \"{{{{{from}.results[*].text}}}}\"}}\n{FAST_RETRY}"
    )
}

#[tokio::test]
async fn sources_run_in_parallel_and_transforms_in_order() {
    let stubs = stubs().await;
    stubs
        .faults()
        .add(Fault::latency(Duration::from_millis(150)).on(TWITTER))
        .unwrap();
    let h = harness(&stubs, BreakerConfig::default());
    let text = pipeline(
        &[&search("a"), &search("b"), &search("c")],
        &[&sentiment("first", "a"), &sentiment("second", "first")],
    );
    let outcome = run(&h, &text).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    let kinds = h.events.kinds();
    let pos = |kind: EventKind, step: &str| {
        kinds
            .iter()
            .position(|(k, s)| *k == kind && s.as_deref() == Some(step))
            .unwrap_or_else(|| panic!("no {kind:?} for {step}: {kinds:?}"))
    };
    // Every source started before any finished: they overlapped.
    let first_done = ["a", "b", "c"]
        .iter()
        .map(|s| pos(EventKind::StepCompleted, s))
        .min()
        .unwrap();
    for s in ["a", "b", "c"] {
        assert!(pos(EventKind::StepStarted, s) < first_done, "{kinds:?}");
    }
    // Transforms one after the other, after the sources.
    let last_source = ["a", "b", "c"]
        .iter()
        .map(|s| pos(EventKind::StepCompleted, s))
        .max()
        .unwrap();
    assert!(last_source < pos(EventKind::StepStarted, "first"));
    assert!(pos(EventKind::StepCompleted, "first") < pos(EventKind::StepStarted, "second"));
    assert_eq!(kinds.first().unwrap().0, EventKind::RunSubmitted);
    assert_eq!(kinds[1].0, EventKind::RunStarted);
    assert_eq!(kinds.last().unwrap().0, EventKind::RunCompleted);
    assert_eq!(stubs.calls(TWITTER), 3);
    assert_eq!(
        stubs.calls_with_auth(TWITTER),
        3,
        "the API key goes as a bearer token"
    );
    stubs.shutdown().await;
}

/// The stubs' jq evaluator (`data.custom.transform`) when this binary is started as `<binary> __jq_eval`; a no-op
/// test otherwise.
#[test]
fn __jq_eval() {
    odp_stubs::jq::child_main();
}

#[tokio::test]
async fn whole_templates_keep_their_type_and_interpolation_renders() {
    let stubs = stubs().await;
    let h = harness(&stubs, BreakerConfig::default());
    let text = pipeline(
        &[&search("tweets")],
        &[
            "  - name: count\n    method: data.custom.transform\n    params: {input: \"{{tweets.count}}\", expression: \"{output: .}\"}\n",
            "  - name: texts\n    method: data.custom.transform\n    params: {input: \"{{tweets.results[*].text}}\", expression: \"{output: .}\"}\n",
            "  - name: line\n    method: data.custom.transform\n    params: {input: \"n={{tweets.count}} q={{inputs.q}}\", expression: \"{output: .}\"}\n",
        ],
    );
    let outcome = run(&h, &text).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    let tweets = &outcome.results["tweets"];
    assert_eq!(outcome.results["count"]["output"], tweets["count"]);
    assert!(outcome.results["count"]["output"].is_i64());
    let texts: Vec<Value> = tweets["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].clone())
        .collect();
    assert_eq!(outcome.results["texts"]["output"], Value::Array(texts));
    assert_eq!(
        outcome.results["line"]["output"],
        json!(format!("n={} q=rust", tweets["count"]))
    );
    stubs.shutdown().await;
}

#[tokio::test]
async fn retries_5xx_and_429_with_backoff_but_never_other_4xx() {
    let stubs = stubs().await;
    let h = harness(&stubs, BreakerConfig::default());
    stubs
        .faults()
        .add(Fault::status(503).on(TWITTER).times(2))
        .unwrap();
    let outcome = run(&h, &pipeline(&[&search("tweets")], &[])).await;
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(outcome.steps[0].attempts, 3);
    assert_eq!(stubs.calls(TWITTER), 3);
    let delays: Vec<u64> = h
        .events
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::StepRetrying)
        .map(|e| e.delay_ms.unwrap())
        .collect();
    assert_eq!(
        delays,
        [10, 15],
        "exponential backoff from 10ms, capped at 15ms"
    );

    // 429 honours the server's Retry-After.
    stubs.reset_calls();
    let h = harness(&stubs, BreakerConfig::default());
    stubs
        .faults()
        .add(
            Fault::status(429)
                .on(TWITTER)
                .times(1)
                .retry_after(Duration::from_millis(40)),
        )
        .unwrap();
    let outcome = run(&h, &pipeline(&[&search("tweets")], &[])).await;
    assert_eq!(outcome.status, RunStatus::Completed);
    let retry = h
        .events
        .events
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.kind == EventKind::StepRetrying)
        .cloned()
        .unwrap();
    assert_eq!(retry.delay_ms, Some(40));

    // A 404 is not retried, and fails the run.
    stubs.reset_calls();
    let h = harness(&stubs, BreakerConfig::default());
    stubs.faults().add(Fault::status(404).on(TWITTER)).unwrap();
    let outcome = run(
        &h,
        &pipeline(&[&search("tweets")], &[&sentiment("mood", "tweets")]),
    )
    .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.steps[0].attempts, 1);
    assert_eq!(stubs.calls(TWITTER), 1);
    assert_eq!(outcome.steps[1].status, StepStatus::Skipped);
    assert!(outcome.error.unwrap().contains("HTTP 404"));
    stubs.shutdown().await;
}

#[tokio::test]
async fn timeouts_and_connection_resets_are_retried_then_fail() {
    let stubs = stubs().await;
    let h = harness(&stubs, BreakerConfig::default());
    stubs.faults().add(Fault::timeout().on(TWITTER)).unwrap();
    let text = pipeline(
        &[&search("tweets").replace(FAST_RETRY, &format!("    timeout: 50ms\n{FAST_RETRY}"))],
        &[],
    );
    let outcome = run(&h, &text).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.steps[0].attempts, 3);
    assert!(
        outcome.steps[0]
            .error
            .as_ref()
            .unwrap()
            .contains("no answer within 50ms"),
        "{:?}",
        outcome.steps[0]
    );

    stubs.faults().clear();
    stubs
        .faults()
        .add(Fault::reset().on(TWITTER).times(1))
        .unwrap();
    let outcome = run(&h, &pipeline(&[&search("tweets")], &[])).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    assert_eq!(outcome.steps[0].attempts, 2);
    stubs.shutdown().await;
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_closes_after_a_probe() {
    let stubs = stubs().await;
    let h = harness(
        &stubs,
        BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_millis(200),
        },
    );
    stubs
        .faults()
        .add(Fault::status(500).on(SENTIMENT))
        .unwrap();
    let text = pipeline(&[&search("tweets")], &[&sentiment("mood", "tweets")]);
    let outcome = run(&h, &text).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(stubs.calls(SENTIMENT), 3);
    assert!(matches!(
        h.breaker.state("model"),
        BreakerState::Open { .. }
    ));
    // While open, the model service is not called at all.
    let outcome = run(&h, &text).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(stubs.calls(SENTIMENT), 3, "failed fast");
    assert!(outcome.error.unwrap().contains("circuit breaker is open"));
    // The crawler's breaker is separate and closed.
    assert_eq!(
        h.breaker.state("crawler"),
        BreakerState::Closed { failures: 0 }
    );
    // The service recovers; after the wait one probe goes through and closes the breaker.
    stubs.faults().clear();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let outcome = run(&h, &text).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    assert_eq!(
        h.breaker.state("model"),
        BreakerState::Closed { failures: 0 }
    );
    stubs.shutdown().await;
}

#[tokio::test]
async fn cancellation_stops_in_flight_calls() {
    let stubs = stubs().await;
    let h = harness(&stubs, BreakerConfig::default());
    stubs.faults().add(Fault::timeout().on(TWITTER)).unwrap();
    let cancel = CancellationToken::new();
    let plan = plan(&pipeline(
        &[&search("a"), &search("b")],
        &[&sentiment("mood", "a")],
    ));
    let trigger = cancel.clone();
    let events = h.events.clone();
    tokio::spawn(async move {
        // Cancel once both calls are in flight.
        while events
            .kinds()
            .iter()
            .filter(|(k, _)| *k == EventKind::StepStarted)
            .count()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        trigger.cancel();
    });
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        h.engine.run(&plan, uuid::Uuid::now_v7(), cancel),
    )
    .await
    .expect("cancellation ends the run");
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert!(
        outcome.steps[..2]
            .iter()
            .all(|s| s.status == StepStatus::Cancelled)
    );
    assert_eq!(outcome.steps[2].status, StepStatus::Skipped);
    assert_eq!(h.events.kinds().last().unwrap().0, EventKind::RunCancelled);
    stubs.shutdown().await;
}

/// A redis-server of our own on a free loopback port.
struct Redis {
    port: u16,
    child: Child,
    /// Where it keeps its append-only file, so a restart keeps what it had.
    dir: std::path::PathBuf,
}

impl Redis {
    fn start_in(port: u16, dir: &std::path::Path) -> Redis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (the test command installs it)");
        let redis = Redis {
            port,
            child,
            dir: dir.to_path_buf(),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start on port {port}");
    }

    fn start(dir: &std::path::Path) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Redis::start_in(port, dir)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal (`STOP` freezes it: connections stay open, nothing answers; `CONT` thaws it).
    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn stream_events(url: &str) -> Vec<Value> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(STREAM_KEY)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| {
            let json = fields.into_iter().find(|(k, _)| k == "event").unwrap().1;
            serde_json::from_str(&json).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_redis_stream_in_order() {
    let data = tempfile::tempdir().unwrap();
    let redis = Redis::start(data.path());
    let state = tempfile::tempdir().unwrap();
    let stubs = stubs().await;
    let sink = Arc::new(RedisEvents::start(&redis.url(), Outbox::new(state.path())).unwrap());
    let engine = InProcessEngine::new(
        client(&stubs),
        Arc::new(CircuitBreaker::new(Default::default())),
        sink,
        4,
    );
    let run_id = uuid::Uuid::now_v7();
    stubs
        .faults()
        .add(Fault::status(503).on(TWITTER).times(1))
        .unwrap();
    let outcome = engine
        .run(
            &plan(&pipeline(
                &[&search("tweets")],
                &[&sentiment("mood", "tweets")],
            )),
            run_id,
            CancellationToken::new(),
        )
        .await;
    assert_eq!(outcome.status, RunStatus::Completed);
    let events = stream_events(&redis.url()).await;
    let kinds: Vec<(String, Option<String>, Option<u64>)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["step"].as_str().map(str::to_string),
                e["attempt"].as_u64(),
            )
        })
        .collect();
    let expected: Vec<(String, Option<String>, Option<u64>)> = [
        ("run.submitted", None, None),
        ("run.started", None, None),
        ("step.started", Some("tweets"), Some(1)),
        ("step.retrying", Some("tweets"), Some(1)),
        ("step.completed", Some("tweets"), Some(2)),
        ("step.started", Some("mood"), Some(1)),
        ("step.completed", Some("mood"), Some(1)),
        ("run.completed", None, None),
    ]
    .into_iter()
    .map(|(k, s, a)| (k.to_string(), s.map(str::to_string), a))
    .collect();
    assert_eq!(kinds, expected);
    for e in &events {
        assert_eq!(e["run_id"], run_id.to_string());
        assert_eq!(e["pipeline"], "engine test");
    }
    assert!(events[3]["error"].as_str().unwrap().contains("HTTP 503"));
    assert!(events[4]["duration_ms"].is_u64());
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every event has its own id");
    stubs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_mid_run_loses_no_event() {
    let data = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(data.path());
    let port = redis.port;
    let state = tempfile::tempdir().unwrap();
    let stubs = stubs().await;
    let sink = Arc::new(RedisEvents::start(&redis.url(), Outbox::new(state.path())).unwrap());
    let memory = Arc::new(MemoryEvents::default());
    let fan: Arc<dyn EventSink> =
        Arc::new(odp_exec::events::FanOut(vec![sink.clone(), memory.clone()]));
    let engine = InProcessEngine::new(
        client(&stubs),
        Arc::new(CircuitBreaker::new(Default::default())),
        fan,
        4,
    );
    stubs
        .faults()
        .add(Fault::latency(Duration::from_millis(300)).on(SENTIMENT))
        .unwrap();
    let text = pipeline(
        &[&search("tweets")],
        &[&sentiment("mood", "tweets"), &sentiment("again", "tweets")],
    );
    let plan = plan(&text);
    let run = tokio::spawn(async move {
        engine
            .run(&plan, uuid::Uuid::now_v7(), CancellationToken::new())
            .await
    });
    // Stop Redis while the first transform is in flight.
    while !memory
        .kinds()
        .iter()
        .any(|(k, s)| *k == EventKind::StepStarted && s.as_deref() == Some("mood"))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    redis.stop();
    let outcome = run.await.unwrap();
    assert_eq!(
        outcome.status,
        RunStatus::Completed,
        "the run goes on without Redis"
    );
    let outbox = Outbox::new(state.path());
    assert!(!outbox.is_empty(), "events wait in the outbox");
    // Redis comes back on the same port: the sink delivers the outbox.
    let redis = Redis::start_in(port, &redis.dir.clone());
    sink.flush().await;
    let mut delivered = stream_events(&redis.url()).await;
    for _ in 0..50 {
        if delivered
            .last()
            .is_some_and(|e| e["kind"] == "run.completed")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        sink.flush().await;
        delivered = stream_events(&redis.url()).await;
    }
    // Every event of the run is in the stream once, in order: those before the outage (kept in Redis's append-only
    // file across the restart, with the ids it has seen) and those that waited in the outbox.
    let all: Vec<String> = memory
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    let got: Vec<String> = delivered
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, all);
    assert!(outbox.is_empty(), "the outbox is empty once delivered");
    assert_eq!(delivered.last().unwrap()["kind"], "run.completed");
    stubs.shutdown().await;
}

/// Redis frozen (SIGSTOP) mid-run: the sink's command times out and the event goes to the outbox, yet Redis runs the
/// command when it thaws; the outbox then delivers it again. Each id is in the stream exactly once all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_mid_run_adds_each_event_once() {
    let data = tempfile::tempdir().unwrap();
    let redis = Redis::start(data.path());
    let state = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(state.path());
    let stubs = stubs().await;
    let sink = Arc::new(RedisEvents::start(&redis.url(), outbox.clone()).unwrap());
    let memory = Arc::new(MemoryEvents::default());
    let fan: Arc<dyn EventSink> =
        Arc::new(odp_exec::events::FanOut(vec![sink.clone(), memory.clone()]));
    let engine = InProcessEngine::new(
        client(&stubs),
        Arc::new(CircuitBreaker::new(Default::default())),
        fan,
        4,
    );
    stubs
        .faults()
        .add(Fault::latency(Duration::from_millis(200)).on(SENTIMENT))
        .unwrap();
    let plan = plan(&pipeline(
        &[&search("tweets")],
        &[&sentiment("mood", "tweets"), &sentiment("again", "tweets")],
    ));
    let run = tokio::spawn(async move {
        engine
            .run(&plan, uuid::Uuid::now_v7(), CancellationToken::new())
            .await
    });
    // Deadlines, so that a sink that blocks instead of timing out fails the test rather than hanging it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !memory
        .kinds()
        .iter()
        .any(|(k, s)| *k == EventKind::StepStarted && s.as_deref() == Some("mood"))
    {
        assert!(std::time::Instant::now() < deadline, "`mood` never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    redis.signal("STOP");
    // Thaw only once a command has timed out and its event waits in the outbox: then the same event is both in
    // Redis's input and in the outbox.
    while outbox.is_empty() {
        if std::time::Instant::now() > deadline {
            redis.signal("CONT");
            panic!("no event reached the outbox while Redis was frozen");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.signal("CONT");
    let outcome = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run ends once Redis thaws")
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let all: Vec<String> = memory
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    for _ in 0..50 {
        sink.flush().await;
        if outbox.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(outbox.is_empty(), "the outbox is delivered");
    let delivered = stream_events(&redis.url()).await;
    let mut counts = std::collections::HashMap::new();
    for e in &delivered {
        *counts
            .entry(e["id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    for id in &all {
        assert_eq!(counts.get(id), Some(&1), "{id} in the stream: {counts:?}");
    }
    assert_eq!(delivered.len(), all.len());
    stubs.shutdown().await;
}

/// A delivery that fails half-way (the stream key holds a string: XADD fails inside the script) marks nothing as
/// delivered: the event stays in the outbox and a later flush adds it, instead of dropping it as seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_fails_half_way_is_delivered_by_the_next_flush() {
    let data = tempfile::tempdir().unwrap();
    let redis = Redis::start(data.path());
    let state = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(state.path());
    let event = odp_exec::Event::new(uuid::Uuid::now_v7(), "engine test", EventKind::RunStarted);
    outbox.append(&event).unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut plain = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(STREAM_KEY)
        .arg("not a stream")
        .query_async(&mut plain)
        .await
        .unwrap();
    let mut conn = odp_exec::redis_sink::connection(&redis.url()).unwrap();
    let first = odp_exec::redis_sink::flush_outbox(&mut conn, &outbox).await;
    assert!(first.error.is_some(), "XADD on a string fails");
    assert_eq!(first.delivered, 0);
    assert!(!outbox.is_empty(), "the event still waits");
    let _: () = redis::cmd("DEL")
        .arg(STREAM_KEY)
        .query_async(&mut plain)
        .await
        .unwrap();
    let second = odp_exec::redis_sink::flush_outbox(&mut conn, &outbox).await;
    assert!(second.is_complete(), "{:?}", second.error);
    assert_eq!((second.delivered, second.already_there), (1, 0));
    let delivered = stream_events(&redis.url()).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["id"], event.id.to_string());
}

/// A response larger than the client's limit is refused, whether or not the server says its length up front
/// (the stubs answer a search of 50 results with a body of several kilobytes).
#[tokio::test]
async fn responses_over_the_size_limit_are_refused() {
    use odp_exec::client::{CallError, MethodCall, MethodClient};
    let stubs = stubs().await;
    let call = MethodCall {
        method: "social.twitter.search".into(),
        service: odp_analysis::Service::Crawler,
        endpoint: TWITTER.into(),
        params: json!({"query": "rust", "limit": 50}),
    };
    let roomy = stub_client(&stubs.base_url(), None, 1 << 20);
    let body = roomy.call(&call).await.expect("within 1 MiB");
    let size = serde_json::to_vec(&body).unwrap().len();
    assert!(size > 1024, "the stub's answer is {size} bytes");

    let tight = stub_client(&stubs.base_url(), None, 1024);
    let err = tight.call(&call).await.unwrap_err();
    assert!(matches!(err, CallError::TooLarge { limit: 1024 }), "{err}");
    assert!(!err.is_retryable(), "a too-large answer stays too large");
}
