//! Where the kernel's steps go, wired like `odp run`: base URLs from the flags, `ODP_CRAWLER_API_URL` /
//! `ODP_MODEL_API_URL` or `odp.toml`, the built-in stubs when none is configured at all; events to Redis
//! (`ODP_REDIS_URL` or `odp.toml`) or a JSON-lines file when configured.

use std::sync::Arc;

use anyhow::anyhow;
use odp_analysis::Registry;
use odp_exec::events::{EventSink, FanOut};
use odp_exec::{CircuitBreaker, HttpMethodClient, InProcessEngine, ServiceEndpoint};
use odp_workspace::LoadedConfig;

/// What the command line says about services.
#[derive(Clone, Debug, Default)]
pub struct ServiceOptions {
    pub crawler_url: Option<String>,
    pub model_url: Option<String>,
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
    let services = &config.config.services;
    let crawler = odp_exec::wiring::setting(
        options.crawler_url.as_deref(),
        "ODP_CRAWLER_API_URL",
        services.crawler_url.as_deref(),
    );
    let model = odp_exec::wiring::setting(
        options.model_url.as_deref(),
        "ODP_MODEL_API_URL",
        services.model_url.as_deref(),
    );
    let mut stubs = None;
    let (crawler, model, description) = if crawler.is_none() && model.is_none() {
        let server = odp_stubs::StubServer::start(
            registry.clone(),
            "127.0.0.1:0".parse().expect("an address"),
            odp_stubs::StubConfig::default(),
        )
        .await
        .map_err(|e| anyhow!("cannot start the built-in stubs: {e}"))?;
        let url = server.base_url();
        let description = format!(
            "built-in stubs at {url} (no service configured: set ODP_CRAWLER_API_URL and ODP_MODEL_API_URL for real ones)"
        );
        stubs = Some(server);
        (Some(url.clone()), Some(url), description)
    } else {
        let description = format!(
            "crawler {}, model {}",
            crawler.as_deref().unwrap_or("(not set)"),
            model.as_deref().unwrap_or("(not set)")
        );
        (crawler, model, description)
    };
    let client = HttpMethodClient::new(
        crawler.map(|base_url| ServiceEndpoint {
            base_url,
            api_key: odp_exec::wiring::api_key("ODP_CRAWLER_API_KEY"),
        }),
        model.map(|base_url| ServiceEndpoint {
            base_url,
            api_key: odp_exec::wiring::api_key("ODP_MODEL_API_KEY"),
        }),
        odp_exec::DEFAULT_MAX_RESPONSE_BYTES,
    )
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
