//! The step activity: one attempt of one step, on a worker that holds the keys and base URLs. It resolves the
//! step's templates, checks the method against the worker's own registry, calls the service through the same
//! method client and circuit breaker as the local engine, heartbeats while the call runs (so a cancellation
//! reaches it and a lost worker is noticed within seconds), and emits the step's events with ids derived from the
//! workflow, the step, the kind and the attempt, so that a retried or replayed activity never adds an event twice.

use std::sync::Arc;
use std::time::Duration;

use odp_analysis::Registry;
use odp_exec::client::service_name;
use odp_exec::{CallError, CircuitBreaker, Event, EventKind, EventSink, MethodCall, MethodClient};
use serde_json::Value;
use temporalio_common::error::ApplicationFailure;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use uuid::Uuid;

use crate::metrics::{AttemptOutcome, StepMetrics};
use crate::store::{ResultStore, carry, load_all};
use crate::wire::{RunEventInput, StepInput, StepOutcome, StepOutput};

/// How often a running step reports to Temporal. The heartbeat timeout is a few of these.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// A step attempt that has not heartbeated for this long is lost (its worker died): Temporal schedules it again.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest payload Temporal carries (its default blob size limit).
pub const MAX_PAYLOAD_BYTES: usize = 2 * 1024 * 1024;
/// The largest step result a step activity returns: the payload limit less room for the envelope. The one rule
/// for every payload (the workflow's input, each step's result, the workflow's result) is in the README.
pub const MAX_RESULT_BYTES: usize = crate::store::MAX_INLINE_BYTES;

/// What a worker runs steps with.
pub struct StepActivities {
    pub client: Arc<dyn MethodClient>,
    pub breaker: Arc<CircuitBreaker>,
    pub events: Arc<dyn EventSink>,
    pub registry: Arc<Registry>,
    /// The worker's step metrics, when it serves metrics (the worker sets them: [`crate::worker::run_worker`]).
    pub metrics: Option<StepMetrics>,
    /// Where results over [`crate::store::OUT_OF_BAND_BYTES`] are kept (shared with the other workers and the
    /// clients); without one, a result is carried inline as long as it fits.
    pub results: Option<Arc<dyn ResultStore>>,
}

/// The namespace of odp's event ids (a UUIDv5 namespace of its own).
const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6f64_7000_7465_6d70_6f72_616c_6576_6e74);

/// The id of an event of a run on Temporal: the same for every retry and replay of the activity that emits it.
pub fn event_id(workflow_id: &str, step: Option<&str>, kind: EventKind, attempt: u32) -> Uuid {
    let name = format!(
        "{workflow_id}/{}/{}/{attempt}",
        step.unwrap_or(""),
        kind.as_str()
    );
    Uuid::new_v5(&EVENT_NAMESPACE, name.as_bytes())
}

#[activities]
impl StepActivities {
    /// One attempt of a step. A failure Temporal should retry (a retryable error with attempts left) is returned as
    /// an activity error, with `Retry-After` as the next retry's delay; the last attempt's failure, and a failure
    /// no retry can fix (a 4xx other than 429), complete the activity with a failed outcome.
    #[activity(name = "odp.step.v1")]
    pub async fn run_step(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: StepInput,
    ) -> Result<StepOutput, ActivityError> {
        let started = std::time::Instant::now();
        let method = input.step.method.clone();
        let result = self.attempt(&ctx, input).await;
        if let Some(metrics) = &self.metrics {
            let outcome = match &result {
                Ok(StepOutput {
                    outcome: StepOutcome::Completed { .. },
                    ..
                }) => AttemptOutcome::Completed,
                Ok(StepOutput {
                    outcome: StepOutcome::Failed { .. },
                    ..
                }) => AttemptOutcome::Failed,
                Err(ActivityError::Cancelled { .. }) => AttemptOutcome::Cancelled,
                Err(_) => AttemptOutcome::Retrying,
            };
            metrics.record(&method, outcome, started.elapsed());
        }
        result
    }

    /// A run's own event (started, completed, failed, cancelled), with an id derived like a step's.
    #[activity(name = "odp.run-event.v1")]
    pub async fn run_event(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RunEventInput,
    ) -> Result<(), ActivityError> {
        let workflow_id = ctx.info().workflow_id.clone().unwrap_or_default();
        let mut event = Event::new(input.run_id, &input.pipeline, input.kind);
        event.id = event_id(&workflow_id, None, input.kind, 0);
        event.error = input.error;
        event.duration_ms = input.duration_ms;
        self.events.emit(event);
        self.events.flush().await;
        Ok(())
    }
}

impl StepActivities {
    /// One attempt of a step (see [`StepActivities::run_step`]).
    async fn attempt(
        &self,
        ctx: &ActivityContext,
        input: StepInput,
    ) -> Result<StepOutput, ActivityError> {
        let info = ctx.info();
        let attempt = info.attempt.max(1);
        let workflow_id = info.workflow_id.clone().unwrap_or_default();
        let step = &input.step;
        let started = std::time::Instant::now();
        let emit = |kind: EventKind, f: &dyn Fn(Event) -> Event| {
            let mut event = Event::new(input.run_id, &input.pipeline, kind).step(
                &step.name,
                &step.method,
                attempt,
            );
            event.id = event_id(&workflow_id, Some(&step.name), kind, attempt);
            self.events.emit(f(event));
        };
        if attempt == 1 {
            emit(EventKind::StepStarted, &|e| e);
        }
        let failed = |error: String| -> Result<StepOutput, ActivityError> {
            emit(EventKind::StepFailed, &|e| {
                e.duration(started.elapsed()).error(error.clone())
            });
            Ok(StepOutput {
                outcome: StepOutcome::Failed { error },
                attempt,
                duration_ms: started.elapsed().as_millis() as u64,
            })
        };

        // The worker's own registry says where a method lives: nothing in the history names a URL.
        let Some(method) = self.registry.get(&step.method) else {
            return failed(format!(
                "the worker's registry has no method `{}`",
                step.method
            ));
        };
        // Results kept out of band come from the store; the others are in the input.
        let store = self.results.as_deref();
        let reads = match load_all(input.reads.clone(), store) {
            Ok(reads) => reads,
            Err((name, e)) => return failed(format!("cannot read the result of `{name}`: {e}")),
        };
        let lookup = |root: &str| -> Option<&Value> {
            if root == "inputs" {
                None
            } else {
                reads.get(root)
            }
        };
        let inputs = Value::Object(input.inputs.clone());
        let params = match odp_exec::plan::resolve_params(&step.params, &|root| {
            if root == "inputs" {
                Some(&inputs)
            } else {
                lookup(root)
            }
        }) {
            Ok(p) => p,
            Err(e) => return failed(format!("cannot resolve the params: {e}")),
        };
        let call = MethodCall {
            method: step.method.clone(),
            service: method.spec.service,
            endpoint: method.spec.endpoint.clone(),
            params,
        };
        let service = service_name(call.service);
        let timeout = Duration::from_millis(step.timeout_ms);
        let outcome = if !self.breaker.allow(service) {
            Err(CallError::BreakerOpen(service.into()))
        } else {
            let call_future = tokio::time::timeout(timeout, self.client.call(&call));
            tokio::pin!(call_future);
            // The first beat after HEARTBEAT_EVERY (an interval's first tick is immediate: one more request to the
            // cluster for every call, however short).
            let mut beat = tokio::time::interval_at(
                tokio::time::Instant::now() + HEARTBEAT_EVERY,
                HEARTBEAT_EVERY,
            );
            let result = loop {
                tokio::select! {
                    r = &mut call_future => break r.unwrap_or(Err(CallError::Timeout(timeout))),
                    _ = ctx.cancelled() => {
                        self.breaker.record_neutral(service);
                        emit(EventKind::StepFailed, &|e| e.duration(started.elapsed()).error("cancelled"));
                        return Err(ActivityError::cancelled());
                    }
                    _ = beat.tick() => {
                        // A failed heartbeat is Temporal's to report (the activity times out); the call goes on.
                        let _ = ctx.record_heartbeat(()).await;
                    }
                }
            };
            match &result {
                Ok(_) => self.breaker.record_success(service),
                Err(e) if e.is_service_failure() => self.breaker.record_failure(service),
                Err(_) => self.breaker.record_neutral(service),
            }
            result
        };
        match outcome {
            Ok(value) => {
                // The one payload rule (`crate::store`): large results go out of band, or fail by size.
                let value = match carry(value, store) {
                    Ok(value) => value,
                    Err(e) => return failed(format!("its result {e}")),
                };
                emit(EventKind::StepCompleted, &|e| e.duration(started.elapsed()));
                Ok(StepOutput {
                    outcome: StepOutcome::Completed { value },
                    attempt,
                    duration_ms: started.elapsed().as_millis() as u64,
                })
            }
            Err(error) if error.is_retryable() && attempt < step.max_attempts.max(1) => {
                let delay = error
                    .retry_after()
                    .map(|d| d.min(odp_exec::engine::MAX_RETRY_AFTER))
                    .unwrap_or_else(|| odp_exec::engine::backoff(&step.retry(), attempt));
                let message = error.to_string();
                emit(EventKind::StepRetrying, &|e| {
                    let mut e = e.error(message.clone());
                    e.delay_ms = Some(delay.as_millis() as u64);
                    e
                });
                Err(ActivityError::application(
                    ApplicationFailure::builder(message)
                        .next_retry_delay(delay)
                        .build(),
                ))
            }
            Err(error) => {
                let error = odp_exec::StepError::Call {
                    error,
                    attempts: attempt,
                };
                failed(error.to_string())
            }
        }
    }
}
