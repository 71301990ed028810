//! The in-process engine: sources concurrently (bounded), then transforms in order; per step, retries with
//! exponential backoff (honouring Retry-After), a start-to-close timeout per attempt, and the circuit breaker.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::BoxFuture;
use crate::breaker::CircuitBreaker;
use crate::client::{CallError, MethodCall, MethodClient, service_name};
use crate::events::{Event, EventKind, EventSink};
use crate::plan::{Plan, PlannedStep, resolve_params};

/// The longest wait a `Retry-After` can ask for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The default number of sources that run at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Completed,
    Failed,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Completed,
    Failed,
    Cancelled,
    /// Not run because the run had already failed or been cancelled.
    Skipped,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub name: String,
    pub method: String,
    pub status: StepStatus,
    pub attempts: u32,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct RunOutcome {
    pub run_id: Uuid,
    pub pipeline: String,
    pub status: RunStatus,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub steps: Vec<StepReport>,
    /// Every completed step's result, by step name.
    pub results: Map<String, Value>,
}

/// Why a step failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error("cannot resolve the params: {0}")]
    Params(String),
    #[error("{error} (after {attempts} attempt{})", if *.attempts == 1 { "" } else { "s" })]
    Call { error: CallError, attempts: u32 },
    #[error("cancelled")]
    Cancelled,
    /// A bug in odp, caught where the step ran.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What one run is asked to do: a plan, the results already known, and which of its steps to run.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    pub plan: &'a Plan,
    pub run_id: Uuid,
    /// Results already known, by step name (a notebook's earlier cells, an editor's cached results): steps read
    /// them as they read this run's results.
    pub known: Arc<Map<String, Value>>,
    /// Run only these steps and the steps they read from that have no known result; `None` runs the whole plan.
    pub only: Option<Vec<String>>,
}

impl<'a> RunRequest<'a> {
    /// The whole plan, nothing known.
    pub fn new(plan: &'a Plan, run_id: Uuid) -> Self {
        Self {
            plan,
            run_id,
            known: Arc::default(),
            only: None,
        }
    }

    pub fn known(mut self, known: Arc<Map<String, Value>>) -> Self {
        self.known = known;
        self
    }

    pub fn only(mut self, steps: Vec<String>) -> Self {
        self.only = Some(steps);
        self
    }
}

/// Runs plans: the one scheduler of every front end (`odp run`, the kernel, the editor). The in-process engine is
/// the default; a distributed engine implements the same trait.
pub trait Engine: Send + Sync {
    fn execute<'a>(
        &'a self,
        request: RunRequest<'a>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, RunOutcome>;

    /// Runs the whole plan with nothing known.
    fn run<'a>(
        &'a self,
        plan: &'a Plan,
        run_id: Uuid,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, RunOutcome> {
        self.execute(RunRequest::new(plan, run_id), cancel)
    }
}

struct Shared {
    client: Arc<dyn MethodClient>,
    breaker: Arc<CircuitBreaker>,
    events: Arc<dyn EventSink>,
}

/// Runs steps in this process.
pub struct InProcessEngine {
    shared: Arc<Shared>,
    concurrency: usize,
}

impl InProcessEngine {
    pub fn new(
        client: Arc<dyn MethodClient>,
        breaker: Arc<CircuitBreaker>,
        events: Arc<dyn EventSink>,
        concurrency: usize,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                breaker,
                events,
            }),
            concurrency: concurrency.max(1),
        }
    }
}

/// The wait before attempt `attempt + 1` (attempts count from 1).
pub fn backoff(retry: &odp_analysis::RetryPolicy, attempt: u32) -> Duration {
    let initial = retry.initial_interval_ms as f64;
    let factor = retry
        .backoff_coefficient
        .max(1.0)
        .powi(attempt.saturating_sub(1) as i32);
    let ms = (initial * factor).min(retry.maximum_interval_ms as f64);
    Duration::from_millis(ms as u64)
}

/// What a step's templates read: the inputs, this run's results, then the results known before it.
struct Scope<'a> {
    inputs: &'a Value,
    results: &'a Map<String, Value>,
    known: &'a Map<String, Value>,
}

impl Scope<'_> {
    fn lookup(&self, root: &str) -> Option<&Value> {
        if root == "inputs" {
            Some(self.inputs)
        } else {
            self.results.get(root).or_else(|| self.known.get(root))
        }
    }
}

type StepResult = (Result<Value, StepError>, u32, Duration);

async fn run_step(
    shared: &Shared,
    pipeline: &str,
    run_id: Uuid,
    step: &PlannedStep,
    scope: Scope<'_>,
    cancel: &CancellationToken,
) -> StepResult {
    let started = Instant::now();
    let event = |kind: EventKind, attempt: u32| {
        Event::new(run_id, pipeline, kind).step(&step.name, &step.method, attempt)
    };
    shared.events.emit(event(EventKind::StepStarted, 1));
    let params = match resolve_params(&step.params, &|root| scope.lookup(root)) {
        Ok(p) => p,
        Err(e) => {
            let err = StepError::Params(e.to_string());
            shared.events.emit(
                event(EventKind::StepFailed, 1)
                    .duration(started.elapsed())
                    .error(err.to_string()),
            );
            return (Err(err), 1, started.elapsed());
        }
    };
    let call = MethodCall {
        method: step.method.clone(),
        service: step.service,
        endpoint: step.endpoint.clone(),
        params,
    };
    let service = service_name(step.service);
    let max_attempts = step.retry.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let outcome = if !shared.breaker.allow(service) {
            Err(CallError::BreakerOpen(service.into()))
        } else {
            tokio::select! {
                _ = cancel.cancelled() => {
                    shared.breaker.record_neutral(service);
                    shared.events.emit(event(EventKind::StepFailed, attempt).duration(started.elapsed()).error("cancelled"));
                    return (Err(StepError::Cancelled), attempt, started.elapsed());
                }
                r = tokio::time::timeout(step.timeout, shared.client.call(&call)) => {
                    let r = r.unwrap_or(Err(CallError::Timeout(step.timeout)));
                    match &r {
                        Ok(_) => shared.breaker.record_success(service),
                        Err(e) if e.is_service_failure() => shared.breaker.record_failure(service),
                        Err(_) => shared.breaker.record_neutral(service),
                    }
                    r
                }
            }
        };
        match outcome {
            Ok(value) => {
                shared
                    .events
                    .emit(event(EventKind::StepCompleted, attempt).duration(started.elapsed()));
                return (Ok(value), attempt, started.elapsed());
            }
            Err(error) if error.is_retryable() && attempt < max_attempts => {
                let delay = error
                    .retry_after()
                    .map(|d| d.min(MAX_RETRY_AFTER))
                    .unwrap_or_else(|| backoff(&step.retry, attempt));
                let mut e = event(EventKind::StepRetrying, attempt).error(error.to_string());
                e.delay_ms = Some(delay.as_millis() as u64);
                shared.events.emit(e);
                tracing::debug!(step = step.name, attempt, ?delay, %error, "retrying");
                tokio::select! {
                    _ = cancel.cancelled() => {
                        shared.events.emit(event(EventKind::StepFailed, attempt).duration(started.elapsed()).error("cancelled"));
                        return (Err(StepError::Cancelled), attempt, started.elapsed());
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
                attempt += 1;
            }
            Err(error) => {
                let err = StepError::Call {
                    error,
                    attempts: attempt,
                };
                shared.events.emit(
                    event(EventKind::StepFailed, attempt)
                        .duration(started.elapsed())
                        .error(err.to_string()),
                );
                return (Err(err), attempt, started.elapsed());
            }
        }
    }
}

fn report(
    step: &PlannedStep,
    result: &Result<Value, StepError>,
    attempts: u32,
    d: Duration,
) -> StepReport {
    StepReport {
        name: step.name.clone(),
        method: step.method.clone(),
        status: match result {
            Ok(_) => StepStatus::Completed,
            Err(StepError::Cancelled) => StepStatus::Cancelled,
            Err(_) => StepStatus::Failed,
        },
        attempts,
        duration_ms: d.as_millis() as u64,
        error: result.as_ref().err().map(ToString::to_string),
    }
}

fn skipped(step: &PlannedStep) -> StepReport {
    StepReport {
        name: step.name.clone(),
        method: step.method.clone(),
        status: StepStatus::Skipped,
        attempts: 0,
        duration_ms: 0,
        error: None,
    }
}

/// Runs one step in a task of its own, so that a bug in it (a panic) fails the step, not the run or its host.
// Each argument is moved into the task (it must be 'static): a struct for them would only be unpacked again.
#[allow(clippy::too_many_arguments)]
async fn spawn_step(
    shared: Arc<Shared>,
    pipeline: Arc<str>,
    run_id: Uuid,
    step: PlannedStep,
    inputs: Arc<Value>,
    results: Arc<Map<String, Value>>,
    known: Arc<Map<String, Value>>,
    cancel: CancellationToken,
) -> StepResult {
    let task = tokio::spawn(async move {
        let scope = Scope {
            inputs: &inputs,
            results: &results,
            known: &known,
        };
        run_step(&shared, &pipeline, run_id, &step, scope, &cancel).await
    });
    task.await
        .unwrap_or_else(|e| (Err(StepError::Internal(e.to_string())), 0, Duration::ZERO))
}

impl Engine for InProcessEngine {
    fn execute<'a>(
        &'a self,
        request: RunRequest<'a>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, RunOutcome> {
        Box::pin(async move {
            let shared = self.shared.clone();
            let started = Instant::now();
            let run_id = request.run_id;
            let pipeline: Arc<str> = Arc::from(request.plan.pipeline.as_str());
            let known = request.known.clone();
            shared
                .events
                .emit(Event::new(run_id, &pipeline, EventKind::RunSubmitted));
            let subset;
            let plan = match &request.only {
                None => request.plan,
                Some(wanted) => match request.plan.subset(wanted, &known) {
                    Ok(p) => {
                        subset = p;
                        &subset
                    }
                    Err(e) => {
                        let error = e.to_string();
                        shared.events.emit(
                            Event::new(run_id, &pipeline, EventKind::RunFailed)
                                .error(error.clone())
                                .duration(started.elapsed()),
                        );
                        shared.events.flush().await;
                        return RunOutcome {
                            run_id,
                            pipeline: pipeline.to_string(),
                            status: RunStatus::Failed,
                            duration_ms: started.elapsed().as_millis() as u64,
                            error: Some(error),
                            steps: Vec::new(),
                            results: Map::new(),
                        };
                    }
                },
            };
            shared
                .events
                .emit(Event::new(run_id, &pipeline, EventKind::RunStarted));
            let inputs = Arc::new(Value::Object(plan.inputs.clone()));
            // Shared with each running step; a finished step's task has dropped its handle, so adding its result
            // changes the map in place instead of copying every result (which would make n steps cost n²).
            let mut results = Arc::new(Map::new());
            let mut reports: Vec<Option<StepReport>> = vec![None; plan.sources.len()];
            let mut failure: Option<String> = None;

            // Sources: concurrently, at most `concurrency` at once. The first failure cancels the others.
            let sources_cancel = cancel.child_token();
            let semaphore = Arc::new(Semaphore::new(self.concurrency));
            let no_results = Arc::new(Map::new());
            let mut set = tokio::task::JoinSet::new();
            for (i, step) in plan.sources.iter().enumerate() {
                let (shared, step, inputs, no_results, known, cancel, semaphore, pipeline) = (
                    shared.clone(),
                    step.clone(),
                    inputs.clone(),
                    no_results.clone(),
                    known.clone(),
                    sources_cancel.clone(),
                    semaphore.clone(),
                    pipeline.clone(),
                );
                set.spawn(async move {
                    let _permit = tokio::select! {
                        p = semaphore.acquire_owned() => p.expect("the semaphore is never closed"),
                        _ = cancel.cancelled() => return (i, step, Err(StepError::Cancelled), 0, Duration::ZERO),
                    };
                    let scope = Scope { inputs: &inputs, results: &no_results, known: &known };
                    let (r, attempts, d) = run_step(&shared, &pipeline, run_id, &step, scope, &cancel).await;
                    (i, step, r, attempts, d)
                });
            }
            while let Some(joined) = set.join_next().await {
                let Ok((i, step, result, attempts, d)) = joined else {
                    failure.get_or_insert_with(|| "a source task panicked".into());
                    sources_cancel.cancel();
                    continue;
                };
                reports[i] = Some(report(&step, &result, attempts, d));
                match result {
                    Ok(v) => {
                        Arc::make_mut(&mut results).insert(step.name.clone(), v);
                    }
                    Err(StepError::Cancelled) => {}
                    Err(e) => {
                        if failure.is_none() {
                            failure = Some(format!("step `{}` failed: {e}", step.name));
                        }
                        sources_cancel.cancel();
                    }
                }
            }
            let mut steps: Vec<StepReport> = reports
                .into_iter()
                .zip(&plan.sources)
                .map(|(r, s)| r.unwrap_or_else(|| skipped(s)))
                .collect();

            // Transforms: in order, each against the results so far.
            for step in &plan.transforms {
                if failure.is_some() || cancel.is_cancelled() {
                    steps.push(skipped(step));
                    continue;
                }
                let (result, attempts, d) = spawn_step(
                    shared.clone(),
                    pipeline.clone(),
                    run_id,
                    step.clone(),
                    inputs.clone(),
                    results.clone(),
                    known.clone(),
                    cancel.clone(),
                )
                .await;
                steps.push(report(step, &result, attempts, d));
                match result {
                    Ok(v) => {
                        Arc::make_mut(&mut results).insert(step.name.clone(), v);
                    }
                    Err(StepError::Cancelled) => {}
                    Err(e) => failure = Some(format!("step `{}` failed: {e}", step.name)),
                }
            }
            let status = if cancel.is_cancelled() {
                RunStatus::Cancelled
            } else if failure.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Completed
            };
            let elapsed = started.elapsed();
            let final_event = match status {
                RunStatus::Completed => Event::new(run_id, &pipeline, EventKind::RunCompleted),
                RunStatus::Failed => Event::new(run_id, &pipeline, EventKind::RunFailed)
                    .error(failure.clone().unwrap_or_default()),
                RunStatus::Cancelled => {
                    Event::new(run_id, &pipeline, EventKind::RunCancelled).error("cancelled")
                }
            };
            shared.events.emit(final_event.duration(elapsed));
            shared.events.flush().await;
            RunOutcome {
                run_id,
                pipeline: pipeline.to_string(),
                status,
                duration_ms: elapsed.as_millis() as u64,
                error: if status == RunStatus::Cancelled {
                    Some("cancelled".into())
                } else {
                    failure
                },
                steps,
                results: Arc::unwrap_or_clone(results),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odp_analysis::RetryPolicy;

    #[test]
    fn backoff_grows_and_is_capped() {
        let retry = RetryPolicy {
            max_attempts: 5,
            backoff_coefficient: 2.0,
            initial_interval_ms: 100,
            maximum_interval_ms: 350,
        };
        let waits: Vec<u64> = (1..=4)
            .map(|a| backoff(&retry, a).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 350, 350]);
    }
}
