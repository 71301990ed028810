//! Connecting to Temporal, and running a worker: the pipeline workflow and the step activities on one task queue.
//! `Worker::run` is not `Send`, so a worker gets a thread of its own with its own runtime
//! ([`WorkerThread::spawn`]).

use std::sync::Arc;

use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};
use temporalio_common::telemetry::TelemetryOptions;
use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use crate::activity::StepActivities;
use crate::metrics::{MetricsServer, StepMetrics};
use crate::store::{DirStore, ResultStore};
use crate::workflow::{PipelineWorkflow, PipelineWorkflowV1};

pub use odp_workspace::engine::{DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, TemporalSettings};

/// The frontend's URL of the settings' `HOST:PORT` (or URL).
fn url(settings: &TemporalSettings) -> Result<Url, TemporalError> {
    let text = if settings.address.contains("://") {
        settings.address.clone()
    } else {
        format!("http://{}", settings.address)
    };
    Url::parse(&text).map_err(|e| TemporalError::Address {
        address: settings.address.clone(),
        message: e.to_string(),
    })
}

/// The store of results kept out of band, when the settings name one (`--result-store`).
pub fn result_store(settings: &TemporalSettings) -> Option<Arc<dyn ResultStore>> {
    settings
        .result_store
        .as_ref()
        .map(|dir| Arc::new(DirStore::new(dir.clone())) as Arc<dyn ResultStore>)
}

#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    #[error("`{address}` is not a Temporal address (HOST:PORT): {message}")]
    Address { address: String, message: String },
    #[error("cannot connect to Temporal at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("the Temporal worker failed: {0}")]
    Worker(String),
    #[error("the workflow: {0}")]
    Workflow(String),
}

/// A client of the cluster, in the settings' namespace.
pub async fn connect(settings: &TemporalSettings) -> Result<Client, TemporalError> {
    let connect_error = |message: String| TemporalError::Connect {
        address: settings.address.clone(),
        message,
    };
    let connection = Connection::connect(
        ConnectionOptions::new(url(settings)?)
            .identity(format!("odp@{}", std::process::id()))
            .build(),
    )
    .await
    .map_err(|e| connect_error(e.to_string()))?;
    Client::new(
        connection,
        ClientOptions::new(settings.namespace.clone()).build(),
    )
    .map_err(|e| connect_error(e.to_string()))
}

/// Runs a worker until `shutdown` resolves; then it stops polling, lets running activities finish or hands them
/// back, and returns. Must run on a thread whose runtime drives it (the future is not `Send`). With
/// `settings.metrics_addr`, it serves the SDK's and the steps' metrics there ([`crate::metrics`]) while it runs.
pub async fn run_worker(
    settings: &TemporalSettings,
    mut activities: StepActivities,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), TemporalError> {
    let metrics = settings
        .metrics_addr
        .map(MetricsServer::start)
        .transpose()?;
    let telemetry = match &metrics {
        Some(server) => {
            activities.metrics = Some(StepMetrics::new(server.meter.clone()));
            TelemetryOptions::builder()
                .metrics(server.meter.clone())
                .build()
        }
        None => TelemetryOptions::default(),
    };
    let options = RuntimeOptions::builder()
        .telemetry_options(telemetry)
        .build()
        .map_err(TemporalError::Worker)?;
    let runtime =
        Runtime::from_current_tokio(options).map_err(|e| TemporalError::Worker(e.to_string()))?;
    let client = connect(settings).await?;
    let options = WorkerOptions::new(settings.task_queue.clone())
        .register_workflow::<PipelineWorkflow>()
        .map_err(|e| TemporalError::Worker(e.to_string()))?
        // Older versions stay registered: the runs that started on them finish here (README, "Versioning").
        .register_workflow::<PipelineWorkflowV1>()
        .map_err(|e| TemporalError::Worker(e.to_string()))?
        .register_activities(activities)
        .build();
    let mut worker =
        Worker::new(&runtime, client, options).map_err(|e| TemporalError::Worker(e.to_string()))?;
    let stop = worker.shutdown_handle();
    let run = worker.run();
    tokio::pin!(run);
    tokio::pin!(shutdown);
    tokio::select! {
        r = &mut run => return r.map_err(|e| TemporalError::Worker(e.to_string())),
        _ = &mut shutdown => stop(),
    }
    run.await.map_err(|e| TemporalError::Worker(e.to_string()))
}

/// A worker on a thread of its own.
pub struct WorkerThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), TemporalError>>>,
}

impl WorkerThread {
    /// Starts a worker; `activities` is built on the worker's runtime (its HTTP client and sinks live there).
    pub fn spawn(
        settings: TemporalSettings,
        activities: impl FnOnce() -> StepActivities + Send + 'static,
    ) -> std::io::Result<WorkerThread> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("odp-temporal-worker".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| TemporalError::Worker(e.to_string()))?;
                runtime.block_on(async move {
                    let activities = activities();
                    run_worker(&settings, activities, async {
                        let _ = stopped.await;
                    })
                    .await
                })
            })?;
        Ok(WorkerThread {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the worker and waits for it.
    pub fn stop(mut self) -> Result<(), TemporalError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), TemporalError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| {
                Err(TemporalError::Worker("the worker thread panicked".into()))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// The activities of a worker, from the same wiring as the local engine.
pub fn activities_from(
    services: &odp_exec::wiring::Services,
    registry: Arc<odp_analysis::Registry>,
    results: Option<Arc<dyn ResultStore>>,
) -> StepActivities {
    StepActivities {
        client: services.client.clone(),
        breaker: services.breaker.clone(),
        events: services.sink.clone(),
        registry,
        metrics: None,
        results,
    }
}
