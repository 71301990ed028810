//! Where the kernel's steps go, wired like `odp run`: base URLs from the flags, `ODP_CRAWLER_API_URL` /
//! `ODP_MODEL_API_URL` or `odp.toml`, the built-in stubs when none is configured at all; events to Redis
//! (`ODP_REDIS_URL` or `odp.toml`) or a JSON-lines file when configured.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use odp_analysis::Registry;
use odp_exec::events::{EventSink, FanOut, JsonlEvents, NoEvents};
use odp_exec::redis_sink::{Outbox, RedisEvents};
use odp_exec::{CircuitBreaker, HttpMethodClient, InProcessEngine, Secret, ServiceEndpoint};
use odp_workspace::{LoadedConfig, state_dir};

/// What the command line says about services.
#[derive(Clone, Debug, Default)]
pub struct ServiceOptions {
    pub crawler_url: Option<String>,
    pub model_url: Option<String>,
    /// `redis://…`, a `.jsonl` path, or `none`.
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

/// A value by precedence: flag, then environment, then odp.toml.
fn setting(flag: &Option<String>, env: &str, file: &Option<String>) -> Option<String> {
    flag.clone()
        .or_else(|| std::env::var(env).ok())
        .or_else(|| file.clone())
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim_end_matches('/').to_string())
}

fn api_key(env: &str) -> Option<Secret> {
    std::env::var(env)
        .ok()
        .filter(|k| !k.is_empty())
        .map(Secret::new)
}

fn event_sink(spec: Option<&str>, config: &LoadedConfig) -> anyhow::Result<Arc<dyn EventSink>> {
    let spec = spec
        .map(str::to_string)
        .or_else(|| {
            std::env::var("ODP_REDIS_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| config.config.services.redis_url.clone());
    Ok(match spec.as_deref() {
        None | Some("none") => Arc::new(NoEvents),
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Arc::new(
            RedisEvents::start(url, Outbox::new(&state_dir()))
                .map_err(|e| anyhow!("events: bad Redis URL: {e}"))?,
        ),
        Some(path) => Arc::new(
            JsonlEvents::create(Path::new(path))
                .with_context(|| format!("events: cannot open {path}"))?,
        ),
    })
}

/// Connects the executor. Must run inside a tokio runtime (the stubs serve on it).
pub async fn start(
    config: &LoadedConfig,
    registry: Arc<Registry>,
    options: &ServiceOptions,
    progress: Arc<dyn EventSink>,
) -> anyhow::Result<Services> {
    let services = &config.config.services;
    let crawler = setting(
        &options.crawler_url,
        "ODP_CRAWLER_API_URL",
        &services.crawler_url,
    );
    let model = setting(&options.model_url, "ODP_MODEL_API_URL", &services.model_url);
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
            api_key: api_key("ODP_CRAWLER_API_KEY"),
        }),
        model.map(|base_url| ServiceEndpoint {
            base_url,
            api_key: api_key("ODP_MODEL_API_KEY"),
        }),
        odp_exec::DEFAULT_MAX_RESPONSE_BYTES,
    )
    .map_err(|e| anyhow!("cannot build the HTTP client: {e}"))?;
    let events = event_sink(options.events.as_deref(), config)?;
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
