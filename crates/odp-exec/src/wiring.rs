//! How every front end that runs pipelines (`odp run`, the Jupyter kernel, the editor) turns its configuration into
//! an engine: service URLs and keys by precedence, checked before anything runs ([`ServiceSettings`]); the event
//! sink a run writes to ([`event_sink`]); and [`Services::start`], which builds the method client, the sinks and
//! the engine, and starts the built-in stubs when no service is configured, with the same notice everywhere.

use std::sync::Arc;

use odp_secret::{Secret, SecretError};
use odp_workspace::base_url::{BaseUrlError, parse_base_url, shown_url};
use odp_workspace::config::ServicesConfig;

use crate::client::ServiceEndpoint;
use crate::events::{EventSink, JsonlEvents, NoEvents};
use crate::redis_sink::{Outbox, RedisEvents};
use crate::sink_spec::{EventSinkSpec, SpecError};

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    SinkSpec(#[from] SpecError),
    #[error("events: bad Redis URL: {0}")]
    RedisUrl(#[source] redis::RedisError),
    #[error("events: cannot open {path}: {source}")]
    EventFile {
        path: String,
        source: std::io::Error,
    },
    /// `origin` says where the URL was set: a flag, an environment variable or `odp.toml`; `url` is as
    /// [`shown_url`] shows it (no credentials, query or fragment).
    #[error("{origin}: `{url}` is not a usable base URL: {reason}")]
    BaseUrl {
        origin: String,
        url: String,
        reason: BaseUrlError,
    },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("cannot start the built-in stubs: {0}")]
    Stubs(#[source] odp_stubs::StubError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A plan calls a service that has no URL (the other one has).
    #[error(
        "the pipeline calls the {service} service, but no URL is set: use {var} or --{service}-url"
    )]
    ServiceUnset {
        service: &'static str,
        var: &'static str,
    },
}

/// Where the crawler and model services are and their API keys, as configured: each URL from its flag, else its
/// environment variable, else `odp.toml` (blank counts as unset), checked by [`parse_base_url`]; keys only from
/// `ODP_CRAWLER_API_KEY` / `ODP_MODEL_API_KEY`, checked by [`Secret::from_env`] (too short a key is refused).
#[derive(Clone, Debug, Default)]
pub struct ServiceSettings {
    pub crawler_url: Option<String>,
    pub model_url: Option<String>,
    pub crawler_key: Option<Secret>,
    pub model_key: Option<Secret>,
}

impl ServiceSettings {
    /// Reads the settings from the flags, the process environment and `[services]` of `odp.toml`.
    pub fn resolve(
        crawler_flag: Option<&str>,
        model_flag: Option<&str>,
        services: &ServicesConfig,
    ) -> Result<ServiceSettings, WiringError> {
        ServiceSettings::resolve_with(
            &|name| std::env::var(name).ok(),
            crawler_flag,
            model_flag,
            services,
        )
    }

    /// As [`ServiceSettings::resolve`], with `env` looking up environment variables.
    pub fn resolve_with(
        env: &dyn Fn(&str) -> Option<String>,
        crawler_flag: Option<&str>,
        model_flag: Option<&str>,
        services: &ServicesConfig,
    ) -> Result<ServiceSettings, WiringError> {
        let url =
            |flag: Option<&str>, flag_name: &str, var: &str, file: Option<&str>, key: &str| {
                let nonblank = |v: &str| !v.trim().is_empty();
                let (value, origin) = if let Some(v) = flag.filter(|v| nonblank(v)) {
                    (v.to_string(), flag_name.to_string())
                } else if let Some(v) = env(var).filter(|v| nonblank(v)) {
                    (v, var.to_string())
                } else if let Some(v) = file.filter(|v| nonblank(v)) {
                    (v.to_string(), format!("odp.toml [services] {key}"))
                } else {
                    return Ok(None);
                };
                parse_base_url(&value)
                    .map(Some)
                    .map_err(|reason| WiringError::BaseUrl {
                        origin,
                        url: shown_url(&value),
                        reason,
                    })
            };
        let key = |var: &str| Secret::from_var(var, env(var).as_deref());
        Ok(ServiceSettings {
            crawler_url: url(
                crawler_flag,
                "--crawler-url",
                "ODP_CRAWLER_API_URL",
                services.crawler_url.as_deref(),
                "crawler-url",
            )?,
            model_url: url(
                model_flag,
                "--model-url",
                "ODP_MODEL_API_URL",
                services.model_url.as_deref(),
                "model-url",
            )?,
            crawler_key: key("ODP_CRAWLER_API_KEY")?,
            model_key: key("ODP_MODEL_API_KEY")?,
        })
    }

    /// Neither service is configured: the front end serves its built-in stubs instead.
    pub fn wants_stubs(&self) -> bool {
        self.crawler_url.is_none() && self.model_url.is_none()
    }

    /// The method client's endpoints; `stubs_url`, when given, stands in for both URLs.
    pub fn endpoints(
        &self,
        stubs_url: Option<&str>,
    ) -> (Option<ServiceEndpoint>, Option<ServiceEndpoint>) {
        let endpoint = |url: &Option<String>, key: &Option<Secret>| {
            stubs_url
                .map(str::to_string)
                .or_else(|| url.clone())
                .map(|base_url| ServiceEndpoint {
                    base_url,
                    api_key: key.clone(),
                })
        };
        (
            endpoint(&self.crawler_url, &self.crawler_key),
            endpoint(&self.model_url, &self.model_key),
        )
    }
}

/// What [`Services::start`] needs besides the configuration file's `[services]`.
pub struct ServicesRequest<'a> {
    pub settings: ServiceSettings,
    /// The `--events` flag ([`EventSinkSpec`]).
    pub events: Option<&'a str>,
    pub config: &'a ServicesConfig,
    /// The registry the built-in stubs answer for.
    pub registry: Arc<odp_analysis::Registry>,
    /// The front end's own view of the events (progress lines); the configured sinks get them too.
    pub progress: Arc<dyn EventSink>,
    pub concurrency: usize,
}

/// A front end's connection to the services: the engine to run on, the configured sinks and, when nothing is
/// configured, the built-in stubs it serves.
pub struct Services {
    pub engine: Arc<crate::InProcessEngine>,
    /// The method client, circuit breaker and sinks the engine runs with: a distributed engine's workers run steps
    /// with the same ones.
    pub client: Arc<dyn crate::MethodClient>,
    pub breaker: Arc<crate::CircuitBreaker>,
    /// The configured sinks and the progress together (what the engine emits to).
    pub sink: Arc<dyn EventSink>,
    /// The configured sinks (not the progress): their `lost()` counts events neither delivered nor kept.
    pub events: Arc<dyn EventSink>,
    /// The Redis URL, when events go to Redis.
    pub redis_url: Option<String>,
    /// The built-in stubs, when no service is configured.
    pub stubs: Option<odp_stubs::StubServer>,
    /// Where calls go, in one line: the same words in every front end.
    pub description: String,
    settings: ServiceSettings,
}

impl Services {
    /// Builds the method client, the sinks and the engine from the configuration. Must run inside a tokio runtime
    /// (the stubs serve on it).
    pub async fn start(request: ServicesRequest<'_>) -> Result<Services, WiringError> {
        let settings = request.settings;
        let (events, redis_url) = event_sink(request.events, request.config)?;
        let mut stubs = None;
        let description = if settings.wants_stubs() {
            let server = odp_stubs::StubServer::start(
                request.registry.clone(),
                "127.0.0.1:0".parse().expect("an address"),
                odp_stubs::StubConfig::default(),
            )
            .await
            .map_err(WiringError::Stubs)?;
            let description = stubs_notice(&server.base_url());
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
        let client =
            crate::HttpMethodClient::new(crawler, model, crate::DEFAULT_MAX_RESPONSE_BYTES)
                .map_err(WiringError::Client)?;
        let sink: Arc<dyn EventSink> = Arc::new(crate::events::FanOut(vec![
            events.clone(),
            request.progress,
        ]));
        let client: Arc<dyn crate::MethodClient> = Arc::new(client);
        let breaker = Arc::new(crate::CircuitBreaker::new(Default::default()));
        let engine = crate::InProcessEngine::new(
            client.clone(),
            breaker.clone(),
            sink.clone(),
            request.concurrency.max(1),
        );
        Ok(Services {
            engine: Arc::new(engine),
            client,
            breaker,
            sink,
            events,
            redis_url,
            stubs,
            description,
            settings,
        })
    }

    /// Whether the built-in stubs answer the calls.
    pub fn stubbed(&self) -> bool {
        self.stubs.is_some()
    }

    /// A service the plan calls that has no URL (only possible when the other one is configured).
    pub fn check_plan(&self, plan: &crate::Plan) -> Result<(), WiringError> {
        self.check_steps(plan.sources.iter().chain(&plan.transforms))
    }

    /// [`Services::check_plan`] for the steps about to run.
    pub fn check_steps<'s>(
        &self,
        steps: impl Iterator<Item = &'s crate::PlannedStep> + Clone,
    ) -> Result<(), WiringError> {
        if self.stubs.is_some() {
            return Ok(());
        }
        let needs = |service: odp_analysis::Service| steps.clone().any(|s| s.service == service);
        if needs(odp_analysis::Service::Crawler) && self.settings.crawler_url.is_none() {
            return Err(WiringError::ServiceUnset {
                service: "crawler",
                var: "ODP_CRAWLER_API_URL",
            });
        }
        if needs(odp_analysis::Service::Model) && self.settings.model_url.is_none() {
            return Err(WiringError::ServiceUnset {
                service: "model",
                var: "ODP_MODEL_API_URL",
            });
        }
        Ok(())
    }

    /// Delivers the events an earlier run could not (events to Redis only). Returns the lines to tell the user.
    pub async fn flush_outbox(&self) -> Vec<String> {
        let Some(mut conn) = self
            .redis_url
            .as_ref()
            .and_then(|url| crate::redis_sink::connection(url).ok())
        else {
            return Vec::new();
        };
        let outbox = Outbox::new(&odp_workspace::state_dir());
        if outbox.is_empty() {
            return Vec::new();
        }
        let report = crate::redis_sink::flush_outbox(&mut conn, &outbox).await;
        let mut lines = report.set_aside_lines(&outbox);
        lines.push(match report.error {
            None => format!(
                "delivered {} event{} kept from an earlier run",
                report.delivered,
                if report.delivered == 1 { "" } else { "s" }
            ),
            Some(e) => format!("warning: {e}"),
        });
        lines
    }

    /// Stops the built-in stubs, if they were started.
    pub async fn shutdown(self) {
        if let Some(server) = self.stubs {
            server.shutdown().await;
        }
    }
}

/// What every front end says when it serves the built-in stubs.
pub fn stubs_notice(base_url: &str) -> String {
    format!(
        "no services configured (ODP_CRAWLER_API_URL, ODP_MODEL_API_URL): using the built-in stubs at {base_url}; their data is made up"
    )
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
                .map_err(WiringError::RedisUrl)?;
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

    use std::collections::HashMap;

    fn resolve(
        vars: &[(&str, &str)],
        crawler_flag: Option<&str>,
        file: &ServicesConfig,
    ) -> Result<ServiceSettings, WiringError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServiceSettings::resolve_with(&|name| vars.get(name).cloned(), crawler_flag, None, file)
    }

    #[test]
    fn service_urls_go_flag_then_environment_then_file() {
        let file = ServicesConfig {
            crawler_url: Some("http://file".into()),
            model_url: Some("http://model-file".into()),
            ..ServicesConfig::default()
        };
        let env = [("ODP_CRAWLER_API_URL", "http://env/")];
        let s = resolve(&env, Some("http://flag/"), &file).unwrap();
        assert_eq!(s.crawler_url.as_deref(), Some("http://flag"));
        assert_eq!(s.model_url.as_deref(), Some("http://model-file"));
        let s = resolve(&env, None, &file).unwrap();
        assert_eq!(s.crawler_url.as_deref(), Some("http://env"));
        // Blank counts as unset, whatever its source.
        let s = resolve(&[("ODP_CRAWLER_API_URL", " ")], Some(""), &file).unwrap();
        assert_eq!(s.crawler_url.as_deref(), Some("http://file"));
        let s = resolve(&[], None, &ServicesConfig::default()).unwrap();
        assert!(s.wants_stubs());
        assert!(
            !resolve(&[], Some("http://flag"), &ServicesConfig::default())
                .unwrap()
                .wants_stubs()
        );
    }

    #[test]
    fn a_base_url_that_cannot_work_is_refused_naming_where_it_was_set() {
        let none = ServicesConfig::default();
        for (vars, flag, origin, why) in [
            (
                vec![],
                Some("ftp://crawler"),
                "--crawler-url",
                "its scheme is `ftp`",
            ),
            (
                vec![("ODP_CRAWLER_API_URL", "file:///srv")],
                None,
                "ODP_CRAWLER_API_URL",
                "its scheme is `file`",
            ),
            (
                vec![("ODP_CRAWLER_API_URL", "not a url")],
                None,
                "ODP_CRAWLER_API_URL",
                "not an absolute URL",
            ),
            (
                vec![("ODP_MODEL_API_URL", "http://m:99999")],
                None,
                "ODP_MODEL_API_URL",
                "invalid port number",
            ),
            (
                vec![("ODP_MODEL_API_URL", "http://m/v1?key=1")],
                None,
                "ODP_MODEL_API_URL",
                "query",
            ),
            (
                vec![("ODP_MODEL_API_URL", "http://m/v1#x")],
                None,
                "ODP_MODEL_API_URL",
                "fragment",
            ),
        ] {
            let err = resolve(&vars, flag, &none).unwrap_err();
            let shown = err.to_string();
            assert!(matches!(err, WiringError::BaseUrl { .. }), "{shown}");
            assert!(shown.starts_with(&format!("{origin}: `")), "{shown}");
            assert!(shown.contains(why), "{shown}");
        }
        // A value from odp.toml names it (odp.toml itself refuses such a value when it is read, with its line).
        let file = ServicesConfig {
            model_url: Some("ftp://m".into()),
            ..ServicesConfig::default()
        };
        let shown = resolve(&[], None, &file).unwrap_err().to_string();
        assert!(
            shown.starts_with("odp.toml [services] model-url: `ftp://m`"),
            "{shown}"
        );
    }

    #[test]
    fn api_keys_come_only_from_the_environment_and_short_ones_are_refused() {
        let none = ServicesConfig::default();
        let s = resolve(
            &[
                ("ODP_CRAWLER_API_KEY", "crawler-key-0123"),
                ("ODP_MODEL_API_KEY", ""),
            ],
            None,
            &none,
        )
        .unwrap();
        assert_eq!(
            s.crawler_key.as_ref().map(Secret::expose),
            Some("crawler-key-0123")
        );
        assert!(s.model_key.is_none());
        assert!(
            !format!("{s:?}").contains("crawler-key-0123"),
            "a key never shows in debug output"
        );
        let (crawler, model) = s.endpoints(Some("http://127.0.0.1:1"));
        assert_eq!(crawler.unwrap().api_key, s.crawler_key);
        assert_eq!(model.unwrap().base_url, "http://127.0.0.1:1");

        let err = resolve(&[("ODP_MODEL_API_KEY", "k3y-x9z")], None, &none).unwrap_err();
        let shown = err.to_string();
        assert!(
            matches!(err, WiringError::Secret(SecretError::TooShort { .. })),
            "{shown}"
        );
        assert!(
            shown.starts_with("ODP_MODEL_API_KEY is shorter than 8 characters"),
            "{shown}"
        );
        assert!(!shown.contains("k3y-x9z"), "{shown}");
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
