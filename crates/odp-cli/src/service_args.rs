//! The flags of every command that runs pipelines (`odp run`, `odp kernel`, later `odp worker`): one definition,
//! flattened into each command's arguments, so the names, defaults and help read the same everywhere.

use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct ServiceArgs {
    /// Where lifecycle events go: `redis://…`, `rediss://…`, `unix://…`, a file path (with a `/` or ending in
    /// `.jsonl`), or `none` [default: ODP_REDIS_URL, else odp.toml services.redis-url, else none].
    #[arg(long, value_name = "SINK")]
    pub events: Option<String>,
    /// The crawler API's base URL [env: ODP_CRAWLER_API_URL; odp.toml services.crawler-url].
    #[arg(long, value_name = "URL")]
    pub crawler_url: Option<String>,
    /// The model API's base URL [env: ODP_MODEL_API_URL; odp.toml services.model-url].
    #[arg(long, value_name = "URL")]
    pub model_url: Option<String>,
    /// The method registry: a YAML file or an http(s) URL [default: ODP_REGISTRY, else odp.toml, else the bundled
    /// one].
    #[arg(long, value_name = "PATH|URL")]
    pub registry: Option<String>,
    /// How many sources run at once.
    #[arg(long, default_value_t = odp_exec_default_concurrency())]
    pub concurrency: usize,
}

/// The executor's default, repeated here because this crate does not depend on the executor; a test keeps them
/// equal.
const fn odp_exec_default_concurrency() -> usize {
    8
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        services: ServiceArgs,
    }

    #[test]
    fn flags_parse_and_default() {
        let cli = Cli::parse_from(["x", "--crawler-url", "http://c", "--events", "none"]);
        assert_eq!(cli.services.crawler_url.as_deref(), Some("http://c"));
        assert_eq!(cli.services.events.as_deref(), Some("none"));
        assert_eq!(cli.services.concurrency, odp_exec_default_concurrency());
    }

    #[test]
    fn the_default_concurrency_is_the_executors() {
        assert_eq!(
            odp_exec_default_concurrency(),
            odp_exec::engine::DEFAULT_CONCURRENCY
        );
    }
}
