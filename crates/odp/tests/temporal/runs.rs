//! Runs on the Temporal engine: the same results as the local engine, Temporal's retries, cancellation and the
//! payload rule.

use std::time::{Duration, Instant};

use odp_exec::{Engine, EventKind, RunOutcome, RunRequest, RunStatus, StepStatus};
use odp_stubs::Fault;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::{Cluster, plan_of, repo};

/// Steps as `name status attempts`, in report order.
fn steps(outcome: &RunOutcome) -> Vec<String> {
    outcome
        .steps
        .iter()
        .map(|s| format!("{} {:?} {}", s.name, s.status, s.attempts))
        .collect()
}

/// The events of one run as sorted `(kind, step)` pairs.
fn kinds(
    events: &[&odp_exec::events::MemoryEvents],
    run_id: Uuid,
) -> Vec<(EventKind, Option<String>)> {
    let mut kinds: Vec<(EventKind, Option<String>)> = events
        .iter()
        .flat_map(|e| e.events.lock().unwrap().clone())
        .filter(|e| e.run_id == run_id)
        .map(|e| (e.kind, e.step))
        .collect();
    kinds.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_gives_the_same_result_on_both_engines() {
    let cluster = Cluster::start().await;
    let mut paths: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".odp.yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 5, "{paths:?}");
    for path in &paths {
        let plan = plan_of(&std::fs::read_to_string(path).unwrap());
        let local = cluster.run_local(&plan).await;
        let run_id = Uuid::now_v7();
        let temporal = cluster.run_temporal(&plan, run_id).await;
        let name = path.display();
        assert_eq!(
            local.status,
            RunStatus::Completed,
            "{name}: {:?}",
            local.error
        );
        assert_eq!(
            temporal.status, local.status,
            "{name}: {:?}",
            temporal.error
        );
        assert_eq!(steps(&temporal), steps(&local), "{name}");
        assert_eq!(temporal.results, local.results, "{name}");
        assert_eq!(
            kinds(&[&cluster.worker_events, &cluster.client_events], run_id),
            kinds(&[&cluster.local_events], local.run_id),
            "{name}: event kinds"
        );
    }
}

const RETRIES: &str = r#"name: retries
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
    retry:
      max_attempts: 4
      initial_interval: 100ms
  - name: posts
    method: social.reddit.search
    params:
      query: rust
    retry:
      max_attempts: 4
      initial_interval: 100ms
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_twice_completes_on_attempt_3_and_a_400_is_not_retried() {
    let cluster = Cluster::start().await;
    cluster
        .stubs
        .faults()
        .add(Fault::status(503).on("social.twitter.search").times(2))
        .unwrap();
    let plan = plan_of(&RETRIES.replace("  - name: posts", "  - name: unused").replace(
        "  - name: unused\n    method: social.reddit.search\n    params:\n      query: rust\n    retry:\n      max_attempts: 4\n      initial_interval: 100ms\n",
        "",
    ));
    let run_id = Uuid::now_v7();
    let outcome = cluster.run_temporal(&plan, run_id).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    assert_eq!(steps(&outcome), ["tweets Completed 3"]);
    // Temporal retried: the history's last ActivityTaskStarted of the step is attempt 3.
    let history = cluster.server.history(&odp_temporal::workflow_id(run_id));
    let attempts: Vec<u64> = history
        .iter()
        .filter_map(|e| e.get("activityTaskStartedEventAttributes"))
        .filter_map(|a| a["attempt"].as_u64())
        .collect();
    assert_eq!(attempts.iter().max(), Some(&3), "{attempts:?}");
    let events = cluster.worker_events.events.lock().unwrap().clone();
    let retrying: Vec<u32> = events
        .iter()
        .filter(|e| e.run_id == run_id && e.kind == EventKind::StepRetrying)
        .filter_map(|e| e.attempt)
        .collect();
    assert_eq!(retrying, [1, 2]);
    let completed: Vec<u32> = events
        .iter()
        .filter(|e| e.run_id == run_id && e.kind == EventKind::StepCompleted)
        .filter_map(|e| e.attempt)
        .collect();
    assert_eq!(completed, [3]);

    // A 400 fails the step on its first attempt.
    cluster
        .stubs
        .faults()
        .add(Fault::status(400).on("social.twitter.search").times(1))
        .unwrap();
    let calls_before = cluster.stubs.calls("social.twitter.search");
    let outcome = cluster.run_temporal(&plan, Uuid::now_v7()).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(steps(&outcome), ["tweets Failed 1"]);
    assert!(
        outcome.steps[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("400"),
        "{:?}",
        outcome.steps[0].error
    );
    assert_eq!(
        cluster.stubs.calls("social.twitter.search"),
        calls_before + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_cancels_its_siblings() {
    let cluster = Cluster::start().await;
    cluster
        .stubs
        .faults()
        .add(Fault::latency(Duration::from_secs(30)).on("social.reddit.search"))
        .unwrap();
    cluster
        .stubs
        .faults()
        .add(Fault::status(401).on("social.twitter.search"))
        .unwrap();
    let plan = plan_of(RETRIES);
    let started = Instant::now();
    let outcome = cluster.run_temporal(&plan, Uuid::now_v7()).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.status, RunStatus::Failed);
    let statuses: Vec<StepStatus> = outcome.steps.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [StepStatus::Failed, StepStatus::Cancelled]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_run_reaches_the_running_activity() {
    let cluster = Cluster::start().await;
    cluster
        .stubs
        .faults()
        .add(Fault::latency(Duration::from_secs(60)).on("social.twitter.search"))
        .unwrap();
    let plan = plan_of(
        "name: slow\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: rust\n    timeout: 5m\n",
    );
    let cancel = CancellationToken::new();
    let run_id = Uuid::now_v7();
    let run = cluster
        .temporal
        .execute(RunRequest::new(&plan, run_id), cancel.clone());
    let (outcome, cancelled_at) = tokio::join!(run, cancel_once_called(&cluster, &cancel));
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(10),
        "cancelling took {:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(outcome.status, RunStatus::Cancelled, "{:?}", outcome.error);
    assert_eq!(outcome.steps[0].status, StepStatus::Cancelled);
    // The activity saw the cancellation (through its heartbeat) and said so.
    activity_saw_the_cancellation(&cluster, Some(run_id)).await;
}

/// Cancels `cancel` once the slow search step's call is under way; returns when it did.
async fn cancel_once_called(cluster: &Cluster, cancel: &CancellationToken) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.stubs.calls("social.twitter.search") == 0 {
        assert!(Instant::now() < deadline, "the step never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    Instant::now()
}

/// Waits (10 s at most) for the worker's `step.failed` event with the error `cancelled` (of run `run_id`, if
/// given): the running activity saw the cancellation through its heartbeat.
async fn activity_saw_the_cancellation(cluster: &Cluster, run_id: Option<Uuid>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster
        .worker_events
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| {
            run_id.is_none_or(|id| e.run_id == id)
                && e.kind == EventKind::StepFailed
                && e.error.as_deref() == Some("cancelled")
        })
    {
        assert!(
            Instant::now() < deadline,
            "the activity never saw the cancellation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_over_the_payload_limit_fails_its_step_by_name() {
    let cluster = Cluster::start().await;
    // About 3 MB of JSON from a transform that repeats a string.
    let plan = plan_of(
        "name: big\nsources:\n  - name: blob\n    method: data.custom.transform\n    params:\n      input: {}\n      expression: '{blob: [range(30000)] | map(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")}'\n",
    );
    let outcome = cluster.run_temporal(&plan, Uuid::now_v7()).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.steps[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("bytes")
            && error.contains(&odp_temporal::activity::MAX_RESULT_BYTES.to_string()),
        "{error}"
    );
    assert!(outcome.error.unwrap_or_default().contains("`blob`"));
}

/// The notebook on Temporal (`odp kernel --engine temporal`): a cell's steps run as a workflow, and the next cell
/// reads the kept results as known ones (they travel in the workflow's input) without running them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notebook_cells_run_on_temporal_and_read_earlier_cells() {
    use odp_kernel::session::{Begin, RunJob, Session};
    fn job(session: &mut Session, code: &str) -> RunJob {
        let count = session.start_cell(true);
        match session.begin(code, count) {
            Begin::Run(job) => job,
            _ => panic!("not a run: {code}"),
        }
    }
    let cluster = Cluster::start().await;
    let mut session = Session::new(odp_analysis::Registry::bundled(), std::env::temp_dir());
    let mut first = job(
        &mut session,
        "- name: tweets\n  method: social.twitter.search\n  params: {query: rust, limit: 3}\n",
    );
    let outcome = first.run(&cluster.temporal, CancellationToken::new()).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{outcome:?}");
    let out = session.finish(first, &outcome, 1);
    assert!(out.error.is_none());
    let calls = cluster.stubs.calls("social.twitter.search");
    let mut second = job(
        &mut session,
        "name: mood\nmethod: nlp.sentiment.analyze\nparams: {texts: \"{{tweets.results[*].text}}\"}\n",
    );
    let outcome = second
        .run(&cluster.temporal, CancellationToken::new())
        .await;
    assert_eq!(outcome.status, RunStatus::Completed, "{outcome:?}");
    assert_eq!(steps(&outcome), ["mood Completed 1"]);
    assert_eq!(
        cluster.stubs.calls("social.twitter.search"),
        calls,
        "tweets ran again"
    );
    assert_eq!(
        outcome.results["mood"]["results"].as_array().map(Vec::len),
        Some(3),
        "{:?}",
        outcome.results
    );
}

/// The kernel's interrupt on Temporal: it cancels the cell's run (the token the kernel hands it), which cancels the
/// workflow, and the running step's activity sees it through its heartbeat within seconds; the session keeps going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notebook_interrupt_reaches_the_running_activity() {
    use odp_kernel::session::{Begin, Session};
    let cluster = Cluster::start().await;
    cluster
        .stubs
        .faults()
        .add(Fault::latency(Duration::from_secs(60)).on("social.twitter.search"))
        .unwrap();
    let mut session = Session::new(odp_analysis::Registry::bundled(), std::env::temp_dir());
    let count = session.start_cell(true);
    let Begin::Run(mut job) = session.begin(
        "- name: tweets\n  method: social.twitter.search\n  params: {query: rust}\n  timeout: 5m\n",
        count,
    ) else {
        panic!("not a run");
    };
    let interrupt = CancellationToken::new();
    let run = job.run(&cluster.temporal, interrupt.clone());
    let (outcome, interrupted_at) = tokio::join!(run, cancel_once_called(&cluster, &interrupt));
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(10),
        "the interrupt took {:?}",
        interrupted_at.elapsed()
    );
    assert_eq!(outcome.status, RunStatus::Cancelled, "{:?}", outcome.error);
    activity_saw_the_cancellation(&cluster, None).await;
    let out = session.finish(job, &outcome, count);
    assert!(out.error.is_some(), "an interrupted cell says so");
}

/// A known result over the payload limit (a notebook's earlier cell, an editor's cached result) travels in the
/// workflow's input as a reference to the result store, and the step that reads it gets the whole value. Without a
/// store, the run cannot start and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_result_over_the_payload_limit_travels_by_reference() {
    let store = tempfile::tempdir().unwrap();
    let cluster = Cluster::start_with_store(Some(store.path().to_path_buf())).await;
    let plan = plan_of(
        "name: big known\nsources:\n  - name: blob\n    method: data.custom.transform\n    params:\n      input: {}\n      expression: '{blob: []}'\ntransforms:\n  - name: count\n    method: data.custom.transform\n    params:\n      input: \"{{blob}}\"\n      expression: '{n: (.blob | length), last: .blob[-1]}'\n",
    );
    let items: Vec<serde_json::Value> = (0..30_000).map(|i| format!("{i:0>100}").into()).collect();
    let known =
        serde_json::Map::from_iter([("blob".to_string(), serde_json::json!({ "blob": items }))]);
    let known = std::sync::Arc::new(known);
    let request = RunRequest::new(&plan, Uuid::now_v7())
        .known(known.clone())
        .only(vec!["count".into()]);
    let outcome = cluster
        .temporal
        .execute(request, CancellationToken::new())
        .await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    assert_eq!(steps(&outcome), ["count Completed 1"]);
    assert_eq!(outcome.results["count"]["n"], 30_000);
    assert_eq!(outcome.results["count"]["last"], items_last());
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 1);

    // The same run on a client without a store cannot start: its input would not fit.
    let bare = Cluster::start().await;
    let request = RunRequest::new(&plan, Uuid::now_v7())
        .known(known)
        .only(vec!["count".into()]);
    let outcome = bare
        .temporal
        .execute(request, CancellationToken::new())
        .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap_or_default();
    assert!(
        error.contains("`blob`") && error.contains("--result-store"),
        "{error}"
    );
}

fn items_last() -> String {
    format!("{:0>100}", 29_999)
}
