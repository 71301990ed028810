//! The client side: [`TemporalEngine`] runs a plan as a pipeline workflow and waits for its result, behind the
//! same [`Engine`] trait as the local engine. The workflow id is derived from the run id, so starting the same run
//! twice attaches to the first.

use std::sync::Arc;

use std::time::Duration;

use odp_exec::{BoxFuture, Engine, Event, EventKind, EventSink, RunOutcome, RunRequest, RunStatus};
use serde_json::Map;
use temporalio_client::{
    Client, WorkflowCancelOptions, WorkflowFetchHistoryOptions, WorkflowGetResultOptions,
    WorkflowIdConflictPolicy, WorkflowQueryOptions, WorkflowStartOptions,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::activity::{MAX_PAYLOAD_BYTES, event_id};
use crate::store::{ResultStore, carry_all, load_all};
use crate::wire::PipelineInput;
use crate::worker::{TemporalError, TemporalSettings};
use crate::workflow::{PipelineWorkflow, PipelineWorkflowV1};

/// The workflow id of a run.
pub fn workflow_id(run_id: Uuid) -> String {
    format!("odp-run-{run_id}")
}

/// Runs plans on a Temporal cluster.
pub struct TemporalEngine {
    client: Client,
    settings: TemporalSettings,
    events: Arc<dyn EventSink>,
    progress: Arc<dyn EventSink>,
    concurrency: usize,
    results: Option<Arc<dyn ResultStore>>,
    version: WorkflowVersion,
}

/// The version of the pipeline workflow a run starts as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorkflowVersion {
    /// `odp.pipeline.v1`: for a cluster whose workers are not all on a build that knows v2 yet, and for
    /// comparisons (`odp-bench temporal`).
    V1,
    /// `odp.pipeline.v2`, the newest.
    #[default]
    V2,
}

/// How often a waiting client asks the workflow which steps finished (for its progress lines).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

impl TemporalEngine {
    /// `events` gets the run's `run.submitted` (the workers emit the rest to their own sinks); `progress` gets a
    /// `step.completed` / `step.failed` for each step as the workflow reports it (for display only: the workers'
    /// sinks have the real events).
    pub fn new(
        client: Client,
        settings: TemporalSettings,
        events: Arc<dyn EventSink>,
        progress: Arc<dyn EventSink>,
        concurrency: usize,
    ) -> Self {
        TemporalEngine {
            client,
            events,
            progress,
            concurrency: concurrency.max(1),
            // The workers' store of results kept out of band: large known results go there before the run, and
            // the run's result is read from it.
            results: crate::worker::result_store(&settings),
            settings,
            version: WorkflowVersion::default(),
        }
    }

    /// Which version of the workflow new runs start as (the newest unless told).
    pub fn with_version(mut self, version: WorkflowVersion) -> Self {
        self.version = version;
        self
    }

    /// Starts the run's workflow (or attaches to it, when a workflow with the run's id exists) and returns its id.
    pub async fn start(&self, request: &RunRequest<'_>) -> Result<String, TemporalError> {
        let run_id = request.run_id;
        let plan = match &request.only {
            None => request.plan.clone(),
            Some(wanted) => request
                .plan
                .subset(wanted, &request.known)
                .map_err(|e| TemporalError::Workflow(e.to_string()))?,
        };
        let id = workflow_id(run_id);
        // Known results travel in the input: by the payload rule, large ones as references.
        let known =
            carry_all((*request.known).clone(), self.results.as_deref()).map_err(|(name, e)| {
                TemporalError::Workflow(format!("the known result of `{name}` {e}"))
            })?;
        let input = PipelineInput::new(&plan, run_id, known, self.concurrency);
        let size = serde_json::to_vec(&input).map_or(0, |b| b.len());
        if size > MAX_INPUT_BYTES {
            return Err(TemporalError::Workflow(format!(
                "the run's plan and known results are {size} bytes; a run on the Temporal engine starts with at most {MAX_INPUT_BYTES} bytes"
            )));
        }
        let mut submitted = Event::new(run_id, &plan.pipeline, EventKind::RunSubmitted);
        submitted.id = event_id(&id, None, EventKind::RunSubmitted, 0);
        self.events.emit(submitted);
        let options = WorkflowStartOptions::new(self.settings.task_queue.clone(), id.clone())
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .build();
        let started = match self.version {
            WorkflowVersion::V2 => self
                .client
                .start_workflow(PipelineWorkflow::run, input, options)
                .await
                .map(drop),
            WorkflowVersion::V1 => self
                .client
                .start_workflow(PipelineWorkflowV1::run, input, options)
                .await
                .map(drop),
        };
        started.map_err(|e| TemporalError::Workflow(format!("cannot start `{id}`: {e}")))?;
        Ok(id)
    }

    /// Waits for a run's result, reporting its steps to the progress sink as they finish; `cancel` cancels the
    /// workflow (its running activities hear it through their heartbeats) and waits for what it returns.
    pub async fn wait(
        &self,
        run_id: Uuid,
        pipeline: &str,
        cancel: CancellationToken,
    ) -> RunOutcome {
        let started = std::time::Instant::now();
        let id = workflow_id(run_id);
        let handle = self
            .client
            // Every version has the same result and the same `progress` query.
            .get_workflow_handle::<PipelineWorkflow>(id.clone());
        let result = handle.get_result(WorkflowGetResultOptions::default());
        tokio::pin!(result);
        let mut shown = 0;
        let mut cancelled = false;
        let output = loop {
            tokio::select! {
                r = &mut result => break r,
                _ = cancel.cancelled(), if !cancelled => {
                    cancelled = true;
                    if let Err(e) = handle.cancel(WorkflowCancelOptions::default()).await {
                        tracing::warn!("cannot cancel the workflow `{id}`: {e}");
                    }
                }
                _ = tokio::time::sleep(PROGRESS_EVERY) => {
                    if let Ok(finished) = handle
                        .query(PipelineWorkflow::progress, (), WorkflowQueryOptions::default())
                        .await
                    {
                        for report in finished.iter().skip(shown) {
                            self.progress.emit(progress_event(run_id, pipeline, report));
                        }
                        shown = shown.max(finished.len());
                    }
                }
            }
        };
        self.events.flush().await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match output {
            Ok(mut output) => {
                for report in output
                    .steps
                    .iter()
                    .filter(|r| r.status != crate::wire::WireStatus::Skipped)
                    .skip(shown)
                {
                    self.progress.emit(progress_event(run_id, pipeline, report));
                }
                // Results kept out of band are read from the store.
                match load_all(std::mem::take(&mut output.results), self.results.as_deref()) {
                    Ok(results) => output.results = results,
                    Err((name, e)) => {
                        output.status = crate::wire::WireRunStatus::Failed;
                        output.error = Some(format!("cannot read the result of `{name}`: {e}"));
                    }
                }
                output.into_outcome(run_id, pipeline.to_string(), duration_ms)
            }
            Err(e) => failed_outcome(
                run_id,
                pipeline,
                duration_ms,
                format!("the workflow `{id}` did not complete: {e}"),
            ),
        }
    }
}

/// A run's workflow history as JSON (what the replay tests read: `odp runs history RUN_ID > FILE`).
pub async fn history_json(client: &Client, run_id: Uuid) -> Result<Vec<u8>, TemporalError> {
    client
        .get_workflow_handle::<PipelineWorkflow>(workflow_id(run_id))
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .map_err(|e| TemporalError::Workflow(e.to_string()))
}

/// The largest workflow input (the payload limit less room for the envelope).
pub const MAX_INPUT_BYTES: usize = MAX_PAYLOAD_BYTES - 64 * 1024;

fn progress_event(run_id: Uuid, pipeline: &str, report: &crate::wire::WireReport) -> Event {
    let kind = match report.status {
        crate::wire::WireStatus::Completed => EventKind::StepCompleted,
        _ => EventKind::StepFailed,
    };
    let mut event = Event::new(run_id, pipeline, kind)
        .step(&report.name, &report.method, report.attempts.max(1))
        .duration(Duration::from_millis(report.duration_ms));
    event.error = report.error.clone();
    event
}

fn failed_outcome(run_id: Uuid, pipeline: &str, duration_ms: u64, error: String) -> RunOutcome {
    RunOutcome {
        run_id,
        pipeline: pipeline.to_string(),
        status: RunStatus::Failed,
        duration_ms,
        error: Some(error),
        steps: Vec::new(),
        results: Map::new(),
    }
}

impl Engine for TemporalEngine {
    fn execute<'a>(
        &'a self,
        request: RunRequest<'a>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, RunOutcome> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            match self.start(&request).await {
                Ok(_) => {
                    self.wait(request.run_id, &request.plan.pipeline, cancel)
                        .await
                }
                Err(e) => failed_outcome(
                    request.run_id,
                    &request.plan.pipeline,
                    started.elapsed().as_millis() as u64,
                    e.to_string(),
                ),
            }
        })
    }
}
