//! What crosses the Temporal boundary: the workflow's input and result, and each step activity's input and
//! result. Everything here is visible in the Temporal UI and kept in the history, so it never holds keys or base
//! URLs: a step names its method, and the worker that runs it finds the service and endpoint in its own registry.

use odp_analysis::RetryPolicy;
use odp_exec::{Plan, PlannedStep, RunOutcome, RunStatus, StepReport, StepStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A step as the workflow sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireStep {
    pub name: String,
    pub method: String,
    /// The params with their templates, resolved by the activity just before the call.
    pub params: Map<String, Value>,
    pub max_attempts: u32,
    pub initial_interval_ms: u64,
    pub backoff_coefficient: f64,
    pub maximum_interval_ms: u64,
    pub timeout_ms: u64,
}

impl WireStep {
    pub fn from_planned(step: &PlannedStep) -> WireStep {
        WireStep {
            name: step.name.clone(),
            method: step.method.clone(),
            params: step.params.clone(),
            max_attempts: step.retry.max_attempts,
            initial_interval_ms: step.retry.initial_interval_ms,
            backoff_coefficient: step.retry.backoff_coefficient,
            maximum_interval_ms: step.retry.maximum_interval_ms,
            timeout_ms: step.timeout.as_millis() as u64,
        }
    }

    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            backoff_coefficient: self.backoff_coefficient,
            initial_interval_ms: self.initial_interval_ms,
            maximum_interval_ms: self.maximum_interval_ms,
        }
    }

    /// The names its templates read from (other steps' results).
    pub fn dependencies(&self) -> Vec<String> {
        odp_exec::template_roots(&self.params)
    }
}

/// The workflow's input: the checked plan, the results already known, and how many sources may run at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineInput {
    pub run_id: Uuid,
    pub pipeline: String,
    pub inputs: Map<String, Value>,
    pub sources: Vec<WireStep>,
    pub transforms: Vec<WireStep>,
    /// Results known before the run (a notebook's earlier cells): steps read them as this run's results.
    #[serde(default)]
    pub known: Map<String, Value>,
    pub concurrency: usize,
}

impl PipelineInput {
    pub fn new(plan: &Plan, run_id: Uuid, known: Map<String, Value>, concurrency: usize) -> Self {
        PipelineInput {
            run_id,
            pipeline: plan.pipeline.clone(),
            inputs: plan.inputs.clone(),
            sources: plan.sources.iter().map(WireStep::from_planned).collect(),
            transforms: plan.transforms.iter().map(WireStep::from_planned).collect(),
            known,
            concurrency: concurrency.max(1),
        }
    }
}

/// One step activity's input: the step, the pipeline's inputs and the results its templates read (only those:
/// the history keeps every activity's input).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepInput {
    pub run_id: Uuid,
    pub pipeline: String,
    pub step: WireStep,
    pub inputs: Map<String, Value>,
    pub reads: Map<String, Value>,
}

/// A step's outcome in the workflow's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireReport {
    pub name: String,
    pub method: String,
    pub status: WireStatus,
    pub attempts: u32,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireStatus {
    Completed,
    Failed,
    Cancelled,
    Skipped,
}

/// The workflow's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineOutput {
    pub status: WireRunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub steps: Vec<WireReport>,
    pub results: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireRunStatus {
    Completed,
    Failed,
    Cancelled,
}

/// A step activity's result: how the step ended, on which attempt (Temporal's count). A failure that a retry
/// cannot fix, or the last attempt's, is a completed activity with a failed outcome: the workflow reports it
/// with its attempt, as the local engine does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepOutput {
    pub outcome: StepOutcome,
    pub attempt: u32,
    /// How long the step took, from its first attempt's start (as the worker measured it).
    pub duration_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum StepOutcome {
    Completed { value: Value },
    Failed { error: String },
}

/// A run's own lifecycle event, emitted by an activity (workflow code does no IO).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEventInput {
    pub run_id: Uuid,
    pub pipeline: String,
    pub kind: odp_exec::EventKind,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

impl PipelineOutput {
    /// The local engine's shape of the same outcome (what `odp run` prints).
    pub fn into_outcome(self, run_id: Uuid, pipeline: String, duration_ms: u64) -> RunOutcome {
        RunOutcome {
            run_id,
            pipeline,
            status: match self.status {
                WireRunStatus::Completed => RunStatus::Completed,
                WireRunStatus::Failed => RunStatus::Failed,
                WireRunStatus::Cancelled => RunStatus::Cancelled,
            },
            duration_ms,
            error: self.error,
            steps: self
                .steps
                .into_iter()
                .map(|r| StepReport {
                    name: r.name,
                    method: r.method,
                    status: match r.status {
                        WireStatus::Completed => StepStatus::Completed,
                        WireStatus::Failed => StepStatus::Failed,
                        WireStatus::Cancelled => StepStatus::Cancelled,
                        WireStatus::Skipped => StepStatus::Skipped,
                    },
                    attempts: r.attempts,
                    duration_ms: r.duration_ms,
                    error: r.error,
                })
                .collect(),
            results: self.results,
        }
    }
}
