//! Where the kernel's steps go, wired like `odp run`: base URLs from the flags, `ODP_CRAWLER_API_URL` /
//! `ODP_MODEL_API_URL` or `odp.toml` (checked, with the API keys, before the kernel starts:
//! [`ServiceSettings::resolve`]), the built-in stubs when none is configured at all; events to Redis
//! (`ODP_REDIS_URL` or `odp.toml`) or a JSON-lines file when configured.

use std::sync::Arc;

use anyhow::anyhow;
use odp_analysis::Registry;
use odp_exec::events::{EventSink, FanOut};
use odp_exec::wiring::ServiceSettings;
use odp_exec::{CircuitBreaker, HttpMethodClient, InProcessEngine};
use odp_workspace::LoadedConfig;

/// What the command line and the environment say about services.
#[derive(Clone, Debug, Default)]
pub struct ServiceOptions {
    /// The service URLs and keys, checked.
    pub services: ServiceSettings,
    /// The `--events` flag ([`odp_exec::sink_spec::EventSinkSpec`]).
    pub events: Option<String>,
    pub concurrency: usize,
}

pub struct Services {
    pub engine: Arc<InProcessEngine>,
    /// The configured sinks (not the notebook's progress): run events go here.
    pub events: Arc<dyn EventSink>,
    pub stubs: Option<odp_stubs::StubServer>,
    /// One line: where calls go.
    pub description: String,
}

/// Connects the executor. Must run inside a tokio runtime (the stubs serve on it).
pub async fn start(
    config: &LoadedConfig,
    registry: Arc<Registry>,
    options: &ServiceOptions,
    progress: Arc<dyn EventSink>,
) -> anyhow::Result<Services> {
    let settings = &options.services;
    let mut stubs = None;
    let description = if settings.wants_stubs() {
        let server = odp_stubs::StubServer::start(
            registry.clone(),
            "127.0.0.1:0".parse().expect("an address"),
            odp_stubs::StubConfig::default(),
        )
        .await
        .map_err(|e| anyhow!("cannot start the built-in stubs: {e}"))?;
        let description = format!(
            "built-in stubs at {} (no service configured: set ODP_CRAWLER_API_URL and ODP_MODEL_API_URL for real ones)",
            server.base_url()
        );
        stubs = Some(server);
        description
    } else {
        format!(
            "crawler {}, model {}",
            settings.crawler_url.as_deref().unwrap_or("(not set)"),
            settings.model_url.as_deref().unwrap_or("(not set)")
        )
    };
    let (crawler, model) = settings.endpoints(stubs.as_ref().map(|s| s.base_url()).as_deref());
    let client = HttpMethodClient::new(crawler, model, odp_exec::DEFAULT_MAX_RESPONSE_BYTES)
        .map_err(|e| anyhow!("cannot build the HTTP client: {e}"))?;
    let (events, _) =
        odp_exec::wiring::event_sink(options.events.as_deref(), &config.config.services)?;
    let sink: Arc<dyn EventSink> = Arc::new(FanOut(vec![events.clone(), progress]));
    let engine = InProcessEngine::new(
        Arc::new(client),
        Arc::new(CircuitBreaker::new(Default::default())),
        sink,
        options.concurrency.max(1),
    );
    Ok(Services {
        engine: Arc::new(engine),
        events,
        stubs,
        description,
    })
}
