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
}

/// Runs plans. The in-process engine is the default; a distributed engine implements the same trait.
pub trait Engine: Send + Sync {
    fn run<'a>(
        &'a self,
        plan: &'a Plan,
        run_id: Uuid,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, RunOutcome>;
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

    /// Runs one step against the given results (the kernel runs cells this way). Emits the step's events.
    pub async fn run_step(
        &self,
        pipeline: &str,
        run_id: Uuid,
        step: &PlannedStep,
        inputs: &Value,
        results: &Map<String, Value>,
        cancel: &CancellationToken,
    ) -> (Result<Value, StepError>, u32, Duration) {
        run_step(
            &self.shared,
            pipeline,
            run_id,
            step,
            inputs,
            results,
            cancel,
        )
        .await
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

async fn run_step(
    shared: &Shared,
    pipeline: &str,
    run_id: Uuid,
    step: &PlannedStep,
    inputs: &Value,
    results: &Map<String, Value>,
    cancel: &CancellationToken,
) -> (Result<Value, StepError>, u32, Duration) {
    let started = Instant::now();
    let event = |kind: EventKind, attempt: u32| {
        Event::new(run_id, pipeline, kind).step(&step.name, &step.method, attempt)
    };
    shared.events.emit(event(EventKind::StepStarted, 1));
    let lookup = |root: &str| -> Option<&Value> {
        if root == "inputs" {
            Some(inputs)
        } else {
            results.get(root)
        }
    };
    let params = match resolve_params(&step.params, &lookup) {
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

impl Engine for InProcessEngine {
    fn run<'a>(
        &'a self,
        plan: &'a Plan,
        run_id: Uuid,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, RunOutcome> {
        Box::pin(async move {
            let shared = self.shared.clone();
            let started = Instant::now();
            let pipeline = plan.pipeline.clone();
            shared
                .events
                .emit(Event::new(run_id, &pipeline, EventKind::RunSubmitted));
            shared
                .events
                .emit(Event::new(run_id, &pipeline, EventKind::RunStarted));
            let inputs = Arc::new(Value::Object(plan.inputs.clone()));
            let mut results = Map::new();
            let mut reports: Vec<Option<StepReport>> = vec![None; plan.sources.len()];
            let mut failure: Option<String> = None;

            // Sources: concurrently, at most `concurrency` at once. The first failure cancels the others.
            let sources_cancel = cancel.child_token();
            let semaphore = Arc::new(Semaphore::new(self.concurrency));
            let empty = Arc::new(Map::new());
            let mut set = tokio::task::JoinSet::new();
            for (i, step) in plan.sources.iter().enumerate() {
                let (shared, step, inputs, empty, cancel, semaphore, pipeline) = (
                    shared.clone(),
                    step.clone(),
                    inputs.clone(),
                    empty.clone(),
                    sources_cancel.clone(),
                    semaphore.clone(),
                    pipeline.clone(),
                );
                set.spawn(async move {
                    let _permit = tokio::select! {
                        p = semaphore.acquire_owned() => p.expect("the semaphore is never closed"),
                        _ = cancel.cancelled() => return (i, step, Err(StepError::Cancelled), 0, Duration::ZERO),
                    };
                    let (r, attempts, d) = run_step(&shared, &pipeline, run_id, &step, &inputs, &empty, &cancel).await;
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
                        results.insert(step.name.clone(), v);
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
                let (result, attempts, d) =
                    run_step(&shared, &pipeline, run_id, step, &inputs, &results, &cancel).await;
                steps.push(report(step, &result, attempts, d));
                match result {
                    Ok(v) => {
                        results.insert(step.name.clone(), v);
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
                RunStatus::Cancelled => Event::new(run_id, &pipeline, EventKind::RunCancelled),
            };
            shared.events.emit(final_event.duration(elapsed));
            shared.events.flush().await;
            RunOutcome {
                run_id,
                pipeline,
                status,
                duration_ms: elapsed.as_millis() as u64,
                error: if status == RunStatus::Cancelled {
                    Some("cancelled".into())
                } else {
                    failure
                },
                steps,
                results,
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
