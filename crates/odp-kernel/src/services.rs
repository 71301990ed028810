//! Where the kernel's steps go, wired as `odp run` wires them ([`odp_exec::wiring::Services`]): base URLs from the
//! flags, `ODP_CRAWLER_API_URL` / `ODP_MODEL_API_URL` or `odp.toml` (checked, with the API keys, before the kernel
//! starts: [`ServiceSettings::resolve`]), the built-in stubs when none is configured at all; events to Redis
//! (`ODP_REDIS_URL` or `odp.toml`) or a JSON-lines file when configured.

use std::sync::Arc;

use odp_analysis::Registry;
use odp_exec::events::EventSink;
use odp_exec::wiring::{ServiceSettings, Services, ServicesRequest};
use odp_workspace::LoadedConfig;

/// What the command line and the environment say about services.
#[derive(Clone, Debug, Default)]
pub struct ServiceOptions {
    /// The service URLs and keys, checked.
    pub services: ServiceSettings,
    /// The `--events` flag ([`odp_exec::sink_spec::EventSinkSpec`]).
    pub events: Option<String>,
    pub concurrency: usize,
    /// Run cells' steps on this Temporal cluster (`--engine temporal`) instead of in the kernel.
    pub temporal: Option<odp_temporal::TemporalSettings>,
}

/// Connects the executor, and delivers the events an earlier run left in the outbox. Must run inside a tokio
/// runtime (the stubs serve on it).
pub async fn start(
    config: &LoadedConfig,
    registry: Arc<Registry>,
    options: &ServiceOptions,
    progress: Arc<dyn EventSink>,
) -> anyhow::Result<Services> {
    let services = Services::start(ServicesRequest {
        settings: options.services.clone(),
        events: options.events.as_deref(),
        config: &config.config.services,
        registry,
        progress,
        concurrency: options.concurrency,
    })
    .await?;
    for line in services.flush_outbox().await {
        tracing::warn!("{line}");
    }
    Ok(services)
}
