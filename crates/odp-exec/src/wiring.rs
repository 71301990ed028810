//! Settings shared by the front ends that run pipelines (`odp run`, the Jupyter kernel): service URLs and keys by
//! precedence, and the event sink a run writes to.

use std::sync::Arc;

use odp_workspace::config::ServicesConfig;

use crate::client::Secret;
use crate::events::{EventSink, JsonlEvents, NoEvents};
use crate::redis_sink::{Outbox, RedisEvents};
use crate::sink_spec::{EventSinkSpec, SpecError};

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    SinkSpec(#[from] SpecError),
    #[error("events: bad Redis URL: {0}")]
    RedisUrl(String),
    #[error("events: cannot open {path}: {source}")]
    EventFile {
        path: String,
        source: std::io::Error,
    },
}

/// A value by precedence: flag, then environment variable, then `odp.toml`. Blank values count as unset; a
/// trailing `/` is dropped (endpoints start with `/`).
pub fn setting(flag: Option<&str>, env: &str, file: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| std::env::var(env).ok())
        .or_else(|| file.map(str::to_string))
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim_end_matches('/').to_string())
}

/// An API key from the environment (never from files or flags).
pub fn api_key(env: &str) -> Option<Secret> {
    std::env::var(env)
        .ok()
        .filter(|k| !k.is_empty())
        .map(Secret::new)
}

/// The sink events go to: `spec` (the `--events` flag), else `ODP_REDIS_URL`, else `[services] redis-url`, else
/// none ([`EventSinkSpec::resolve`]). Returns the Redis URL too, when events go to Redis.
pub fn event_sink(
    spec: Option<&str>,
    services: &ServicesConfig,
) -> Result<(Arc<dyn EventSink>, Option<String>), WiringError> {
    Ok(match EventSinkSpec::resolve(spec, services)? {
        EventSinkSpec::None => (Arc::new(NoEvents), None),
        EventSinkSpec::Redis(url) => {
            let sink = RedisEvents::start(&url, Outbox::new(&odp_workspace::state_dir()))
                .map_err(|e| WiringError::RedisUrl(e.to_string()))?;
            (Arc::new(sink), Some(url))
        }
        EventSinkSpec::File(path) => {
            let sink = JsonlEvents::create(&path).map_err(|source| WiringError::EventFile {
                path: path.display().to_string(),
                source,
            })?;
            (Arc::new(sink), None)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment variable no test and no machine sets, so precedence tests do not depend on the process
    /// environment (changing it is unsafe in a multi-threaded test binary).
    const UNSET: &str = "ODP_TEST_WIRING_NEVER_SET_3F1A";

    #[test]
    fn settings_go_flag_then_environment_then_file() {
        assert_eq!(
            setting(Some("http://flag/"), UNSET, Some("http://file")),
            Some("http://flag".into())
        );
        assert_eq!(
            setting(None, UNSET, Some("http://file//")),
            Some("http://file".into())
        );
        // Blank counts as unset, whatever its source.
        assert_eq!(setting(Some("  "), UNSET, Some("http://file")), None);
        assert_eq!(setting(None, UNSET, None), None);
        // The environment, when the variable is set: PATH is, everywhere the tests run.
        let path = std::env::var("PATH").expect("PATH is set");
        assert_eq!(
            setting(None, "PATH", Some("http://file")),
            Some(path.trim_end_matches('/').to_string())
        );
    }

    #[test]
    fn api_keys_come_only_from_the_environment() {
        assert!(api_key(UNSET).is_none());
        let key = api_key("PATH").expect("PATH is set");
        assert!(
            !format!("{key:?}").contains(&std::env::var("PATH").unwrap()),
            "a key never shows in debug output"
        );
    }

    #[test]
    fn event_sinks_by_spec() {
        let services = ServicesConfig::default();
        let (_, redis) = event_sink(Some("none"), &services).expect("none");
        assert_eq!(redis, None);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.jsonl");
        let (_, redis) = event_sink(file.to_str(), &services).expect("a jsonl file");
        assert_eq!(redis, None);
        assert!(file.exists(), "the events file is created");

        let missing = dir.path().join("no/such/dir/events.jsonl");
        let err = event_sink(missing.to_str(), &services)
            .err()
            .expect("an error");
        assert!(
            matches!(err, WiringError::EventFile { .. }),
            "unexpected error: {err}"
        );
        assert!(err.to_string().contains("no/such/dir"), "{err}");

        let err = event_sink(Some("127.0.0.1:6379"), &services)
            .err()
            .expect("not a sink");
        assert!(
            matches!(err, WiringError::SinkSpec(_)),
            "unexpected error: {err}"
        );

        let err = event_sink(Some("redis://localhost:notaport"), &services)
            .err()
            .expect("a bad Redis URL");
        assert!(
            matches!(err, WiringError::RedisUrl(_)),
            "unexpected error: {err}"
        );
    }
}
