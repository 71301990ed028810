//! Runs a cell's steps with the executor: sources at once (bounded), then transforms in order, each against the
//! session's earlier results and the cell's own. One run (with its `run.*` events) per cell.

use std::sync::Arc;
use std::time::Instant;

use odp_exec::{Event, EventKind, EventSink, InProcessEngine, PlannedStep, StepError};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::session::{PIPELINE, RunJob};

#[derive(Clone, Debug, PartialEq)]
pub enum StepStatus {
    Done(Value),
    Failed(String),
    Cancelled,
    /// Not run: an earlier step failed or the cell was interrupted.
    Skipped,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepRun {
    pub name: String,
    pub method: String,
    pub status: StepStatus,
    pub attempts: u32,
    pub duration_ms: u64,
}

fn skipped(step: &PlannedStep) -> StepRun {
    StepRun {
        name: step.name.clone(),
        method: step.method.clone(),
        status: StepStatus::Skipped,
        attempts: 0,
        duration_ms: 0,
    }
}

/// Runs one step in a task of its own, so that a bug in it fails the step, not the kernel.
async fn run_one(
    engine: Arc<InProcessEngine>,
    run_id: Uuid,
    step: PlannedStep,
    inputs: Arc<Value>,
    results: Arc<Map<String, Value>>,
    cancel: CancellationToken,
) -> StepRun {
    let (name, method) = (step.name.clone(), step.method.clone());
    let task = tokio::spawn(async move {
        engine
            .run_step(PIPELINE, run_id, &step, &inputs, &results, &cancel)
            .await
    });
    match task.await {
        Ok((result, attempts, duration)) => StepRun {
            name,
            method,
            status: match result {
                Ok(v) => StepStatus::Done(v),
                Err(StepError::Cancelled) => StepStatus::Cancelled,
                Err(e) => StepStatus::Failed(e.to_string()),
            },
            attempts,
            duration_ms: duration.as_millis() as u64,
        },
        Err(e) => StepRun {
            name,
            method,
            status: StepStatus::Failed(format!("internal error: {e}")),
            attempts: 0,
            duration_ms: 0,
        },
    }
}

/// Runs a cell's steps. Returns one [`StepRun`] per planned step, sources first.
pub async fn run_job(
    engine: Arc<InProcessEngine>,
    events: Arc<dyn EventSink>,
    job: &RunJob,
    cancel: CancellationToken,
    concurrency: usize,
) -> Vec<StepRun> {
    let run_id = Uuid::now_v7();
    let started = Instant::now();
    events.emit(Event::new(run_id, PIPELINE, EventKind::RunStarted));
    let inputs = Arc::new(job.inputs.clone());
    // Shared with each running step; a finished step's task has dropped its handle, so adding its result below
    // changes the map in place instead of copying every result (which made a cell of n steps cost n²).
    let mut results = Arc::new(job.results.clone());
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::new();
    for step in &job.sources {
        let (engine, inputs, cancel, semaphore) = (
            engine.clone(),
            inputs.clone(),
            cancel.clone(),
            semaphore.clone(),
        );
        let results = Arc::new(Map::new());
        let step = step.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = tokio::select! {
                p = semaphore.acquire_owned() => p.ok(),
                _ = cancel.cancelled() => return StepRun { status: StepStatus::Cancelled, ..skipped(&step) },
            };
            run_one(engine, run_id, step, inputs, results, cancel).await
        }));
    }
    let mut runs = Vec::new();
    for (task, step) in tasks.into_iter().zip(&job.sources) {
        runs.push(task.await.unwrap_or_else(|e| StepRun {
            status: StepStatus::Failed(format!("internal error: {e}")),
            ..skipped(step)
        }));
    }
    let mut all_done = true;
    for run in &runs {
        match &run.status {
            StepStatus::Done(v) => {
                Arc::make_mut(&mut results).insert(run.name.clone(), v.clone());
            }
            _ => all_done = false,
        }
    }
    for step in &job.transforms {
        if !all_done || cancel.is_cancelled() {
            runs.push(skipped(step));
            continue;
        }
        let run = run_one(
            engine.clone(),
            run_id,
            step.clone(),
            inputs.clone(),
            results.clone(),
            cancel.clone(),
        )
        .await;
        match &run.status {
            StepStatus::Done(v) => {
                Arc::make_mut(&mut results).insert(run.name.clone(), v.clone());
            }
            _ => all_done = false,
        }
        runs.push(run);
    }
    let failed = runs.iter().find_map(|r| match &r.status {
        StepStatus::Failed(e) => Some(format!("step `{}` failed: {e}", r.name)),
        _ => None,
    });
    let cancelled = cancel.is_cancelled()
        || runs
            .iter()
            .any(|r| matches!(r.status, StepStatus::Cancelled));
    let end = match (&failed, cancelled) {
        (Some(e), _) => Event::new(run_id, PIPELINE, EventKind::RunFailed).error(e.clone()),
        (None, true) => Event::new(run_id, PIPELINE, EventKind::RunCancelled).error("cancelled"),
        (None, false) => Event::new(run_id, PIPELINE, EventKind::RunCompleted),
    };
    events.emit(end.duration(started.elapsed()));
    runs
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use odp_analysis::Registry;
    use odp_exec::events::MemoryEvents;
    use odp_exec::{CircuitBreaker, HttpMethodClient, ServiceEndpoint};
    use serde_json::json;

    use super::*;
    use crate::session::{Begin, Session};

    async fn engine(latency: Duration) -> (odp_stubs::StubServer, Arc<InProcessEngine>) {
        let registry = Registry::bundled();
        let stubs = odp_stubs::StubServer::start(
            registry,
            "127.0.0.1:0".parse().unwrap(),
            odp_stubs::StubConfig {
                latency,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let endpoint = || {
            Some(ServiceEndpoint {
                base_url: stubs.base_url(),
                api_key: None,
            })
        };
        let client = HttpMethodClient::new(endpoint(), endpoint(), 1 << 20).unwrap();
        let engine = InProcessEngine::new(
            Arc::new(client),
            Arc::new(CircuitBreaker::new(Default::default())),
            Arc::new(odp_exec::events::NoEvents),
            4,
        );
        (stubs, Arc::new(engine))
    }

    fn job(session: &mut Session, code: &str) -> RunJob {
        let count = session.start_cell(true);
        match session.begin(code, count) {
            Begin::Run(job) => job,
            Begin::Done(out) => panic!("no run: {out:?}"),
            Begin::Draft(job) => panic!("a draft: {}", job.request),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cell_runs_on_the_executor_and_its_results_stay() {
        let (_stubs, engine) = engine(Duration::ZERO).await;
        let mut session = Session::new(Registry::bundled(), std::env::temp_dir());
        let events = Arc::new(MemoryEvents::default());
        let job1 = job(
            &mut session,
            "- name: tweets\n  method: social.twitter.search\n  params: {query: rust, limit: 3}\n- name: mood\n  method: nlp.sentiment.analyze\n  params: {texts: \"{{tweets.results[*].text}}\"}\n",
        );
        let runs = run_job(
            engine.clone(),
            events.clone(),
            &job1,
            CancellationToken::new(),
            4,
        )
        .await;
        assert_eq!(runs.len(), 2);
        assert!(
            runs.iter().all(|r| matches!(r.status, StepStatus::Done(_))),
            "{runs:?}"
        );
        let out = session.finish(job1, runs, 1);
        assert!(out.error.is_none());
        assert_eq!(
            session.step("tweets").unwrap().result["results"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        let kinds: Vec<EventKind> = events.kinds().into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [EventKind::RunStarted, EventKind::RunCompleted]);
        // The next cell sees the kept result.
        let job2 = job(
            &mut session,
            "name: top\nmethod: data.records.sort\nparams: {records: \"{{tweets.results}}\", field: created_at, limit: 1}\n",
        );
        let runs = run_job(engine, events.clone(), &job2, CancellationToken::new(), 4).await;
        let StepStatus::Done(v) = &runs[0].status else {
            panic!("{runs:?}")
        };
        assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(json!(runs[0].attempts), json!(1));
    }

    /// The stub refuses the key and echoes it plainly, JSON-escaped and percent-encoded: the cell's step error and
    /// the run's events hold none of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_key_stays_out_of_the_step_error_and_the_events() {
        let key = "sk-cell/\"key\"+0123456789";
        let stubs = odp_stubs::StubServer::start(
            Registry::bundled(),
            "127.0.0.1:0".parse().unwrap(),
            odp_stubs::StubConfig {
                require_token: Some("the-right-token".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let endpoint = || {
            Some(ServiceEndpoint {
                base_url: stubs.base_url(),
                api_key: Some(odp_exec::Secret::new(key)),
            })
        };
        let client = HttpMethodClient::new(endpoint(), endpoint(), 1 << 20).unwrap();
        let events = Arc::new(MemoryEvents::default());
        let engine = Arc::new(InProcessEngine::new(
            Arc::new(client),
            Arc::new(CircuitBreaker::new(Default::default())),
            events.clone(),
            4,
        ));
        let mut session = Session::new(Registry::bundled(), std::env::temp_dir());
        let job = job(
            &mut session,
            "name: tweets\nmethod: social.twitter.search\nparams: {query: rust}\n",
        );
        let runs = run_job(engine, events.clone(), &job, CancellationToken::new(), 4).await;
        let StepStatus::Failed(error) = &runs[0].status else {
            panic!("{runs:?}")
        };
        assert!(
            error.contains("HTTP 401: invalid token: Bearer [redacted]"),
            "{error}"
        );
        let shown = format!(
            "{error} {}",
            serde_json::to_string(&*events.events.lock().unwrap()).unwrap()
        );
        assert!(shown.contains("run.failed"), "{shown}");
        let json = serde_json::to_string(key).unwrap();
        let percent = "sk%2Dcell%2F%22key%22%2B0123456789";
        for form in [key, &json[1..json.len() - 1], percent, &key[..8]] {
            assert!(!shown.contains(form), "`{form}` shows in: {shown}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_interrupt_cancels_the_running_steps_at_once() {
        let (_stubs, engine) = engine(Duration::from_secs(20)).await;
        let mut session = Session::new(Registry::bundled(), std::env::temp_dir());
        let job = job(
            &mut session,
            "- name: tweets\n  method: social.twitter.search\n  params: {query: rust}\n- name: posts\n  method: social.reddit.search\n  params: {query: rust}\n- name: mood\n  method: nlp.sentiment.analyze\n  params: {texts: \"{{tweets.results[*].text}}\"}\n",
        );
        let cancel = CancellationToken::new();
        let events = Arc::new(MemoryEvents::default());
        let run = tokio::spawn({
            let (engine, events, cancel) = (engine.clone(), events.clone(), cancel.clone());
            async move { run_job(engine, events, &job, cancel, 4).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let at = Instant::now();
        cancel.cancel();
        let runs = run.await.unwrap();
        let took = at.elapsed();
        assert!(took < Duration::from_millis(100), "took {took:?}");
        let statuses: Vec<&StepStatus> = runs.iter().map(|r| &r.status).collect();
        assert_eq!(
            statuses,
            [
                &StepStatus::Cancelled,
                &StepStatus::Cancelled,
                &StepStatus::Skipped
            ]
        );
        let kinds: Vec<EventKind> = events.kinds().into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [EventKind::RunStarted, EventKind::RunCancelled]);
    }
}
