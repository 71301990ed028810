//! Connecting to Temporal, and running a worker: the pipeline workflow and the step activities on one task queue.
//! `Worker::run` is not `Send`, so a worker gets a thread of its own with its own runtime
//! ([`WorkerThread::spawn`]).

use std::path::PathBuf;
use std::sync::Arc;

use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use crate::activity::StepActivities;
use crate::store::{DirStore, ResultStore};
use crate::workflow::{PipelineWorkflow, PipelineWorkflowV1};

/// The default task queue of odp's workers and runs.
pub const DEFAULT_TASK_QUEUE: &str = "odp";
/// The default namespace (the dev server's).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where a Temporal cluster is and which part of it odp uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemporalSettings {
    /// `HOST:PORT` of the frontend (gRPC), or a URL.
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
    /// The directory of results kept out of band (`--result-store`), shared by the workers and the clients.
    pub result_store: Option<PathBuf>,
}

impl TemporalSettings {
    pub fn new(address: impl Into<String>) -> Self {
        TemporalSettings {
            address: address.into(),
            namespace: DEFAULT_NAMESPACE.into(),
            task_queue: DEFAULT_TASK_QUEUE.into(),
            result_store: None,
        }
    }

    /// The store of results kept out of band, when one is configured.
    pub fn result_store(&self) -> Option<Arc<dyn ResultStore>> {
        self.result_store
            .as_ref()
            .map(|dir| Arc::new(DirStore::new(dir.clone())) as Arc<dyn ResultStore>)
    }

    fn url(&self) -> Result<Url, TemporalError> {
        let text = if self.address.contains("://") {
            self.address.clone()
        } else {
            format!("http://{}", self.address)
        };
        Url::parse(&text).map_err(|e| TemporalError::Address {
            address: self.address.clone(),
            message: e.to_string(),
        })
    }
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
        ConnectionOptions::new(settings.url()?)
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
/// back, and returns. Must run on a thread whose runtime drives it (the future is not `Send`).
pub async fn run_worker(
    settings: &TemporalSettings,
    activities: StepActivities,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), TemporalError> {
    let runtime = Runtime::from_current_tokio(Default::default())
        .map_err(|e| TemporalError::Worker(e.to_string()))?;
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
        results,
    }
}
