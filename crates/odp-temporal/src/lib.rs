//! The ODP engine on Temporal (issue "Distributed execution on Temporal"): the pipeline workflow
//! ([`workflow::PipelineWorkflow`], type `odp.pipeline.v2`), the step activity ([`activity::StepActivities`],
//! `odp.step.v1`), what crosses the boundary ([`wire`]), results kept out of band ([`store`]), a worker ([`worker`])
//! and the client side that implements [`odp_exec::Engine`] ([`engine::TemporalEngine`]).

pub mod activity;
pub mod engine;
pub mod metrics;
pub mod store;
pub mod wire;
pub mod worker;
pub mod workflow;

pub use activity::StepActivities;
pub use engine::{TemporalEngine, history_json, workflow_id};
pub use store::{DirStore, ResultStore};
pub use worker::{TemporalError, TemporalSettings, WorkerThread, connect};
pub use workflow::{PipelineWorkflow, PipelineWorkflowV1, WORKFLOW_TYPE, WORKFLOW_TYPE_V1};

#[cfg(test)]
mod replay_tests;
