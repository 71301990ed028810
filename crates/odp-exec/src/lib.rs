//! The ODP executor. Its pieces work on their own, so the Jupyter kernel and a distributed engine reuse them:
//! [`plan`] (a checked pipeline → steps to run), [`client`] (the HTTP method client), [`breaker`] (a circuit
//! breaker per service), [`events`], [`sink_spec`], [`redis_sink`] and [`outbox`] (lifecycle events and their
//! sinks), and [`engine`] (the
//! [`engine::Engine`] trait and the in-process engine).

pub mod breaker;
pub mod client;
pub mod engine;
pub mod events;
pub mod outbox;
pub mod plan;
pub mod redis_sink;
pub mod sink_spec;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod wiring;

use std::future::Future;
use std::pin::Pin;

pub use breaker::{BreakerConfig, CircuitBreaker};
pub use client::{CallError, HttpMethodClient, MethodCall, MethodClient, ServiceEndpoint};
pub use engine::{
    Engine, InProcessEngine, RunOutcome, RunRequest, RunStatus, StepError, StepReport, StepStatus,
};
pub use events::{Event, EventKind, EventSink};
pub use odp_secret::{Redactor, Secret};
pub use plan::{Plan, PlanError, PlannedStep, coerce_input, plan, template_roots};

/// A boxed, sendable future (what the object-safe traits here return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The default limit of a method's response body: the one limit of every HTTP response odp reads.
pub use odp_workspace::MAX_RESPONSE_BYTES as DEFAULT_MAX_RESPONSE_BYTES;
