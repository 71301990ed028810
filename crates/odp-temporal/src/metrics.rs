//! A worker's Prometheus metrics (`odp worker --metrics-addr IP:PORT`): one endpoint, `/metrics`, served by the
//! SDK's Prometheus exporter, with the SDK's own metrics (`temporal_*`: polls, task latencies, slots, ...) and
//! odp's, recorded through the same meter:
//!
//! - `odp_step_attempts_total{method, outcome}`: each attempt of a step this worker ran; `outcome` is
//!   `completed`, `failed` (the step failed for good), `retrying` (Temporal will try it again) or `cancelled`.
//! - `odp_steps_total{method, outcome}`: each step that ended on this worker (`completed`, `failed`,
//!   `cancelled`; an attempt that will be retried ends no step).
//! - `odp_step_duration_milliseconds{method, outcome}`: a histogram of the attempts' durations.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, HistogramDuration, MetricKeyValue, MetricParameters, NewAttributes,
};
use temporalio_common::telemetry::{
    HistogramBucketOverrides, PrometheusExporterOptions, start_prometheus_metric_exporter,
};

use crate::worker::TemporalError;

pub const STEP_ATTEMPTS: &str = "odp_step_attempts_total";
pub const STEPS: &str = "odp_steps_total";
pub const STEP_DURATION: &str = "odp_step_duration_milliseconds";

/// The buckets of the step-duration histogram, in milliseconds: from a fast stub's answer to a model call of
/// minutes.
const DURATION_BUCKETS_MS: [f64; 14] = [
    5., 10., 25., 50., 100., 250., 500., 1_000., 2_500., 5_000., 10_000., 30_000., 60_000.,
    300_000.,
];

/// How one attempt of a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Completed,
    /// Failed for good: no retry can fix it, or it was the last attempt.
    Failed,
    /// Failed; Temporal will try it again.
    Retrying,
    Cancelled,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Completed => "completed",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Retrying => "retrying",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }
}

/// odp's step metrics, on a meter (the worker's Prometheus exporter's).
#[derive(Clone)]
pub struct StepMetrics {
    meter: Arc<dyn CoreMeter>,
    attempts: Counter,
    steps: Counter,
    duration: HistogramDuration,
}

impl std::fmt::Debug for StepMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepMetrics")
    }
}

impl StepMetrics {
    pub fn new(meter: Arc<dyn CoreMeter>) -> StepMetrics {
        let params = |name: &'static str, description: &'static str| {
            MetricParameters::builder()
                .name(name)
                .description(description)
                .build()
        };
        StepMetrics {
            attempts: meter.counter(params(
                STEP_ATTEMPTS,
                "Attempts of steps this worker ran, by method and outcome",
            )),
            steps: meter.counter(params(
                STEPS,
                "Steps that ended on this worker, by method and outcome",
            )),
            duration: meter.histogram_duration(params(
                STEP_DURATION,
                "How long the attempts of steps took, by method and outcome",
            )),
            meter,
        }
    }

    /// Records one attempt of a step of `method`.
    pub fn record(&self, method: &str, outcome: AttemptOutcome, elapsed: Duration) {
        let labels = self.meter.new_attributes(NewAttributes::from([
            MetricKeyValue::new("method", method.to_string()),
            MetricKeyValue::new("outcome", outcome.as_str()),
        ]));
        self.attempts.add(1, &labels);
        if outcome != AttemptOutcome::Retrying {
            self.steps.add(1, &labels);
        }
        self.duration.record(elapsed, &labels);
    }
}

/// The Prometheus endpoint of a worker; it stops serving when dropped.
pub struct MetricsServer {
    pub meter: Arc<dyn CoreMeter>,
    /// Where it listens (the port the system chose, for `:0`).
    pub addr: SocketAddr,
    abort: tokio::task::AbortHandle,
}

impl MetricsServer {
    /// Starts serving `http://addr/metrics`. Must run inside a tokio runtime.
    pub fn start(addr: SocketAddr) -> Result<MetricsServer, TemporalError> {
        let buckets = HistogramBucketOverrides {
            overrides: HashMap::from([(
                "odp_step_duration".to_string(),
                DURATION_BUCKETS_MS.to_vec(),
            )]),
        };
        let options = PrometheusExporterOptions::builder()
            .socket_addr(addr)
            .histogram_bucket_overrides(buckets)
            .build();
        let started = start_prometheus_metric_exporter(options)
            .map_err(|e| TemporalError::Worker(format!("cannot serve metrics on {addr}: {e:#}")))?;
        Ok(MetricsServer {
            meter: started.meter,
            addr: started.bound_addr,
            abort: started.abort_handle,
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.abort.abort();
    }
}
