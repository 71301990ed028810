//! The pipeline workflow: sources as parallel step activities (at most `concurrency` at once, a failure cancels
//! the others), then transforms in order, each reading the results before it. Workflow code is deterministic: it
//! uses the SDK's `join_all` and cancellation tokens, never tokio's, no clock, no random ids, and iterates only
//! ordered collections (steps in plan order, results in a `serde_json::Map`).

use std::time::Duration;

use odp_exec::EventKind;
use serde_json::{Map, Value};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflows::join_all;
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, LocalActivityOptions, WorkflowCancellationToken,
    WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::activity::{HEARTBEAT_TIMEOUT, MAX_PAYLOAD_BYTES, StepActivities};
use crate::wire::{
    PipelineInput, PipelineOutput, RunEventInput, StepInput, StepOutcome, WireReport,
    WireRunStatus, WireStatus, WireStep,
};

/// The workflow type name new runs start as. A change that would make an older build's histories replay
/// differently gets a new version, registered beside the older ones (README, "Versioning").
pub const WORKFLOW_TYPE: &str = "odp.pipeline.v2";
/// The first version: the run's own events through (remote) activities, two more round trips through the cluster
/// per run. Still registered, so that runs started on it finish on this build.
pub const WORKFLOW_TYPE_V1: &str = "odp.pipeline.v1";

/// Room Temporal's start-to-close timeout leaves for the step's own timeout to fire first (its error names it).
const TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

/// The pipeline workflow (`odp.pipeline.v2`): the run's own events (`run.started`, `run.completed`, ...) are
/// emitted by local activities, in the workflow's own worker (a marker in the history); the steps by activities.
#[workflow]
#[derive(Default)]
pub struct PipelineWorkflow {
    /// The steps finished so far, in the order they finished: what the progress query answers.
    finished: Vec<WireReport>,
}

#[workflow_methods]
impl PipelineWorkflow {
    #[run(name = "odp.pipeline.v2")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: PipelineInput,
    ) -> WorkflowResult<PipelineOutput> {
        pipeline(ctx, input, RunEvents::Local).await
    }

    /// The steps finished so far (what `odp run` prints as progress while it waits).
    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> Vec<WireReport> {
        self.finished.clone()
    }
}

/// The first version of the pipeline workflow (`odp.pipeline.v1`): the run's own events by activities. Kept for
/// the runs that started on it (and the replay test of its recorded history).
#[workflow]
#[derive(Default)]
pub struct PipelineWorkflowV1 {
    finished: Vec<WireReport>,
}

#[workflow_methods]
impl PipelineWorkflowV1 {
    #[run(name = "odp.pipeline.v1")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: PipelineInput,
    ) -> WorkflowResult<PipelineOutput> {
        pipeline(ctx, input, RunEvents::Activity).await
    }

    /// The steps finished so far.
    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> Vec<WireReport> {
        self.finished.clone()
    }
}

/// A workflow type's progress: the steps finished so far.
trait Finished {
    fn finished(&mut self) -> &mut Vec<WireReport>;
}

impl Finished for PipelineWorkflow {
    fn finished(&mut self) -> &mut Vec<WireReport> {
        &mut self.finished
    }
}

impl Finished for PipelineWorkflowV1 {
    fn finished(&mut self) -> &mut Vec<WireReport> {
        &mut self.finished
    }
}

/// How a version emits the run's own events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RunEvents {
    /// An activity each (`odp.pipeline.v1`).
    Activity,
    /// A local activity each (`odp.pipeline.v2`).
    Local,
}

/// The workflow of every version: sources in lanes, then transforms in order, then the result.
async fn pipeline<W: Finished>(
    ctx: &mut WorkflowContext<W>,
    input: PipelineInput,
    events: RunEvents,
) -> WorkflowResult<PipelineOutput> {
    run_event(ctx, &input, events, EventKind::RunStarted, None).await;
    let mut results: Map<String, Value> = Map::new();
    let mut failure: Option<String> = None;

    // Sources: `concurrency` lanes, each running its share of the sources one after another; the first
    // failure cancels the token every source activity holds.
    let sources_token = ctx.cancellation_token().child_token();
    let lanes = input.concurrency.clamp(1, input.sources.len().max(1));
    let context: &WorkflowContext<W> = ctx;
    let lane_runs = (0..lanes).map(|lane| {
        let token = sources_token.clone();
        let input = &input;
        async move {
            let mut done = Vec::new();
            for (index, step) in input.sources.iter().enumerate().skip(lane).step_by(lanes) {
                if token.is_cancelled() {
                    done.push((index, cancelled(step), None));
                    continue;
                }
                let (report, value) =
                    execute(context, input, step, &input.known, token.clone()).await;
                if report.status == WireStatus::Failed {
                    token.cancel();
                }
                context.state_mut(|s| s.finished().push(report.clone()));
                done.push((index, report, value));
            }
            done
        }
    });
    let mut sources: Vec<_> = join_all(lane_runs).await.into_iter().flatten().collect();
    sources.sort_by_key(|(index, _, _)| *index);
    let mut steps: Vec<WireReport> =
        Vec::with_capacity(input.sources.len() + input.transforms.len());
    for (_, report, value) in sources {
        if report.status == WireStatus::Failed && failure.is_none() {
            failure = Some(format!(
                "step `{}` failed: {}",
                report.name,
                report.error.as_deref().unwrap_or("failed")
            ));
        }
        if let Some(value) = value {
            results.insert(report.name.clone(), value);
        }
        steps.push(report);
    }

    // Transforms: in order, each against the results so far.
    for step in &input.transforms {
        if failure.is_some() || ctx.cancellation_token().is_cancelled() {
            steps.push(skipped(step));
            continue;
        }
        let mut known = input.known.clone();
        for (name, value) in &results {
            known.insert(name.clone(), value.clone());
        }
        let token = ctx.cancellation_token().child_token();
        let (report, value) = execute(ctx, &input, step, &known, token).await;
        ctx.state_mut(|s| s.finished().push(report.clone()));
        if report.status == WireStatus::Failed {
            failure = Some(format!(
                "step `{}` failed: {}",
                report.name,
                report.error.as_deref().unwrap_or("failed")
            ));
        }
        if let Some(value) = value {
            results.insert(step.name.clone(), value);
        }
        steps.push(report);
    }

    let mut status = if ctx.cancellation_token().is_cancelled() {
        WireRunStatus::Cancelled
    } else if failure.is_some() {
        WireRunStatus::Failed
    } else {
        WireRunStatus::Completed
    };
    // The result travels as one payload: past the limit, the run fails and says so.
    let size = serde_json::to_vec(&results).map_or(0, |b| b.len());
    if size > MAX_PAYLOAD_BYTES - 64 * 1024 {
        status = WireRunStatus::Failed;
        failure = Some(format!(
            "the run's results are {size} bytes together; a run on the Temporal engine returns at most {} bytes",
            MAX_PAYLOAD_BYTES - 64 * 1024
        ));
        results = Map::new();
    }
    let error = match status {
        WireRunStatus::Cancelled => Some("cancelled".to_string()),
        _ => failure,
    };
    let kind = match status {
        WireRunStatus::Completed => EventKind::RunCompleted,
        WireRunStatus::Failed => EventKind::RunFailed,
        WireRunStatus::Cancelled => EventKind::RunCancelled,
    };
    run_event(ctx, &input, events, kind, error.clone()).await;
    Ok(PipelineOutput {
        status,
        error,
        steps,
        results,
    })
}

/// Runs one step as an activity and reports it; the value when it completed.
async fn execute<W>(
    ctx: &WorkflowContext<W>,
    input: &PipelineInput,
    step: &WireStep,
    results: &Map<String, Value>,
    token: WorkflowCancellationToken,
) -> (WireReport, Option<Value>) {
    let mut reads = Map::new();
    for name in step.dependencies() {
        if let Some(value) = results.get(&name) {
            reads.insert(name, value.clone());
        }
    }
    let retry = RetryPolicy::builder()
        .initial_interval(Duration::from_millis(step.initial_interval_ms))
        .backoff_coefficient(step.backoff_coefficient.max(1.0))
        .maximum_interval(Duration::from_millis(
            step.maximum_interval_ms.max(step.initial_interval_ms),
        ))
        .maximum_attempts(step.max_attempts.max(1))
        .build();
    let options = ActivityOptions::with_start_to_close_timeout(
        Duration::from_millis(step.timeout_ms) + TIMEOUT_MARGIN,
    )
    .heartbeat_timeout(HEARTBEAT_TIMEOUT)
    .retry_policy(retry)
    // A clone: the token must outlive the call (a child token is held by its parent only weakly).
    .cancellation_token(token.clone())
    .summary(format!("{} ({})", step.name, step.method))
    .build();
    let activity_input = StepInput {
        run_id: input.run_id,
        pipeline: input.pipeline.clone(),
        step: step.clone(),
        inputs: input.inputs.clone(),
        reads,
    };
    let report =
        |status: WireStatus, attempts: u32, duration_ms: u64, error: Option<String>| WireReport {
            name: step.name.clone(),
            method: step.method.clone(),
            status,
            attempts,
            duration_ms,
            error,
        };
    let outcome = ctx
        .execute_activity(StepActivities::run_step, activity_input, options)
        .await;
    drop(token);
    match outcome {
        Ok(out) => match out.outcome {
            StepOutcome::Completed { value } => (
                report(WireStatus::Completed, out.attempt, out.duration_ms, None),
                Some(value),
            ),
            StepOutcome::Failed { error } => (
                report(
                    WireStatus::Failed,
                    out.attempt,
                    out.duration_ms,
                    Some(error),
                ),
                None,
            ),
        },
        Err(ActivityExecutionError::Cancelled(_)) => (
            report(WireStatus::Cancelled, 1, 0, Some("cancelled".into())),
            None,
        ),
        Err(e) => {
            // Temporal gave up (the worker was lost on every attempt, a timeout): the innermost message says why.
            let mut message = e.to_string();
            let mut failure = e.failure();
            while let Some(f) = failure {
                if !f.message.is_empty() {
                    message = f.message.clone();
                }
                failure = f.cause.as_deref();
            }
            (
                report(
                    WireStatus::Failed,
                    step.max_attempts.max(1),
                    0,
                    Some(message),
                ),
                None,
            )
        }
    }
}

fn cancelled(step: &WireStep) -> WireReport {
    WireReport {
        name: step.name.clone(),
        method: step.method.clone(),
        status: WireStatus::Cancelled,
        attempts: 0,
        duration_ms: 0,
        error: Some("cancelled".into()),
    }
}

fn skipped(step: &WireStep) -> WireReport {
    WireReport {
        name: step.name.clone(),
        method: step.method.clone(),
        status: WireStatus::Skipped,
        attempts: 0,
        duration_ms: 0,
        error: None,
    }
}

/// Emits a run event through an activity that the run's cancellation does not cancel (a cancelled run still says
/// so).
async fn run_event<W>(
    ctx: &WorkflowContext<W>,
    input: &PipelineInput,
    events: RunEvents,
    kind: EventKind,
    error: Option<String>,
) {
    let event = RunEventInput {
        run_id: input.run_id,
        pipeline: input.pipeline.clone(),
        kind,
        error,
        duration_ms: None,
    };
    // An event that cannot be delivered is kept by the worker's sinks (the outbox); the run goes on.
    match events {
        RunEvents::Activity => {
            let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
                .cancellation_token(WorkflowCancellationToken::new())
                .build();
            let _ = ctx
                .execute_activity(StepActivities::run_event, event, options)
                .await;
        }
        RunEvents::Local => {
            // In this worker, without a round trip through the cluster; its ids make a repeated one harmless.
            let options = LocalActivityOptions::builder()
                .start_to_close_timeout(Duration::from_secs(30))
                .cancellation_token(WorkflowCancellationToken::new())
                .build();
            let _ = ctx
                .execute_local_activity(StepActivities::run_event, event, options)
                .await;
        }
    }
}
