//! Which engine runs pipelines and where a Temporal cluster is: `[engine]` of `odp.toml`, the environment and the
//! flags, by one rule for every setting and every front end (`odp run`, `odp worker`, `odp runs`, `odp kernel`,
//! the language server): a flag, else its environment variable, else `odp.toml`, else the default. Blank counts as
//! unset.

use std::net::SocketAddr;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The default Temporal frontend (a dev server on this machine).
pub const DEFAULT_TEMPORAL_ADDRESS: &str = "127.0.0.1:7233";
/// The default namespace (the dev server's).
pub const DEFAULT_NAMESPACE: &str = "default";
/// The default task queue of odp's workers and runs.
pub const DEFAULT_TASK_QUEUE: &str = "odp";

/// The environment variables, in the order of [`EngineFlags`]' fields.
pub const ENV_ENGINE: &str = "ODP_ENGINE";
pub const ENV_TEMPORAL_ADDRESS: &str = "ODP_TEMPORAL_ADDRESS";
pub const ENV_TEMPORAL_NAMESPACE: &str = "ODP_TEMPORAL_NAMESPACE";
pub const ENV_TEMPORAL_TASK_QUEUE: &str = "ODP_TEMPORAL_TASK_QUEUE";
pub const ENV_TEMPORAL_METRICS_ADDR: &str = "ODP_TEMPORAL_METRICS_ADDR";

/// Where pipelines run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// In the process that starts the run (the default).
    #[default]
    Local,
    /// As a workflow on a Temporal cluster; `odp worker` processes run its steps.
    Temporal,
}

impl EngineKind {
    pub const ALL: [EngineKind; 2] = [EngineKind::Local, EngineKind::Temporal];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Local => "local",
            EngineKind::Temporal => "temporal",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| format!("`{s}` is not an engine (local or temporal)"))
    }
}

/// `[engine]`: where pipelines run (overridden by `ODP_ENGINE` and `--engine`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct EngineSection {
    /// `local` (in the process that starts the run, the default) or `temporal` (as a workflow on a Temporal
    /// cluster, whose `odp worker` processes run the steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<EngineKind>,
    /// Where the Temporal cluster is (used by `kind = "temporal"`, `odp worker` and `odp runs`).
    #[serde(skip_serializing_if = "TemporalSection::is_empty")]
    pub temporal: TemporalSection,
}

impl EngineSection {
    pub fn is_empty(&self) -> bool {
        self == &EngineSection::default()
    }
}

/// `[engine.temporal]`: each key is overridden by its environment variable (`ODP_TEMPORAL_ADDRESS`,
/// `ODP_TEMPORAL_NAMESPACE`, `ODP_TEMPORAL_TASK_QUEUE`, `ODP_TEMPORAL_METRICS_ADDR`) and its flag.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct TemporalSection {
    /// The Temporal frontend, `HOST:PORT` (default `127.0.0.1:7233`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The Temporal namespace (default `default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The task queue odp's workers poll and runs are sent to (default `odp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_queue: Option<String>,
    /// `odp worker` serves Prometheus metrics on `http://IP:PORT/metrics` (default: no metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub metrics_addr: Option<SocketAddr>,
}

impl TemporalSection {
    pub fn is_empty(&self) -> bool {
        self == &TemporalSection::default()
    }
}

/// Where a Temporal cluster is and which part of it odp uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemporalSettings {
    /// `HOST:PORT` of the frontend (gRPC), or a URL.
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
    /// Where a worker serves its Prometheus metrics, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// The directory of results kept out of band (`--result-store`, `ODP_RESULT_STORE`), shared by the workers
    /// and the clients.
    pub result_store: Option<std::path::PathBuf>,
}

impl TemporalSettings {
    /// The defaults, at `address`.
    pub fn new(address: impl Into<String>) -> Self {
        TemporalSettings {
            address: address.into(),
            namespace: DEFAULT_NAMESPACE.into(),
            task_queue: DEFAULT_TASK_QUEUE.into(),
            metrics_addr: None,
            result_store: None,
        }
    }
}

impl Default for TemporalSettings {
    fn default() -> Self {
        TemporalSettings::new(DEFAULT_TEMPORAL_ADDRESS)
    }
}

/// The engine a front end runs on, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineSettings {
    pub kind: EngineKind,
    /// Where the Temporal cluster is (also when `kind` is local: `odp worker` and `odp runs` use it).
    pub temporal: TemporalSettings,
}

/// What the command line says (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct EngineFlags<'a> {
    pub engine: Option<EngineKind>,
    pub temporal_address: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub task_queue: Option<&'a str>,
    pub metrics_addr: Option<SocketAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineConfigError {
    /// `origin` is the environment variable the value came from (flags and `odp.toml` are checked as they are
    /// read).
    #[error("{origin}: `{value}` is not an engine (local or temporal)")]
    Kind { origin: String, value: String },
    #[error("{origin}: `{value}` is not IP:PORT (e.g. 127.0.0.1:9464)")]
    MetricsAddr { origin: String, value: String },
}

impl EngineSettings {
    /// Resolves the settings from the flags, the process environment and `[engine]` of `odp.toml`.
    pub fn resolve(
        flags: &EngineFlags<'_>,
        section: &EngineSection,
    ) -> Result<EngineSettings, EngineConfigError> {
        EngineSettings::resolve_with(&|name| std::env::var(name).ok(), flags, section)
    }

    /// As [`EngineSettings::resolve`], with `env` looking up environment variables.
    pub fn resolve_with(
        env: &dyn Fn(&str) -> Option<String>,
        flags: &EngineFlags<'_>,
        section: &EngineSection,
    ) -> Result<EngineSettings, EngineConfigError> {
        let nonblank = |v: &str| !v.trim().is_empty();
        let var = |name: &str| env(name).filter(|v| nonblank(v));
        let text = |flag: Option<&str>, name: &str, file: Option<&String>, default: &str| {
            flag.filter(|v| nonblank(v))
                .map(str::to_string)
                .or_else(|| var(name))
                .or_else(|| file.filter(|v| nonblank(v)).cloned())
                .unwrap_or_else(|| default.to_string())
        };
        let kind = match (flags.engine, var(ENV_ENGINE)) {
            (Some(kind), _) => kind,
            (None, Some(value)) => value.parse().map_err(|_| EngineConfigError::Kind {
                origin: ENV_ENGINE.into(),
                value,
            })?,
            (None, None) => section.kind.unwrap_or_default(),
        };
        let file = &section.temporal;
        let metrics_addr = match (flags.metrics_addr, var(ENV_TEMPORAL_METRICS_ADDR)) {
            (Some(addr), _) => Some(addr),
            (None, Some(value)) => {
                Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| EngineConfigError::MetricsAddr {
                            origin: ENV_TEMPORAL_METRICS_ADDR.into(),
                            value,
                        })?,
                )
            }
            (None, None) => file.metrics_addr,
        };
        Ok(EngineSettings {
            kind,
            temporal: TemporalSettings {
                address: text(
                    flags.temporal_address,
                    ENV_TEMPORAL_ADDRESS,
                    file.address.as_ref(),
                    DEFAULT_TEMPORAL_ADDRESS,
                ),
                namespace: text(
                    flags.namespace,
                    ENV_TEMPORAL_NAMESPACE,
                    file.namespace.as_ref(),
                    DEFAULT_NAMESPACE,
                ),
                task_queue: text(
                    flags.task_queue,
                    ENV_TEMPORAL_TASK_QUEUE,
                    file.task_queue.as_ref(),
                    DEFAULT_TASK_QUEUE,
                ),
                metrics_addr,
                // Set by the front end from `--result-store` / `ODP_RESULT_STORE`.
                result_store: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;

    fn resolve(
        env: &[(&str, &str)],
        flags: &EngineFlags<'_>,
        toml: &str,
    ) -> Result<EngineSettings, EngineConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let loaded = crate::config::parse_config(toml, Path::new("odp.toml")).unwrap();
        assert_eq!(loaded.warnings, Vec::<String>::new());
        EngineSettings::resolve_with(&|name| env.get(name).cloned(), flags, &loaded.config.engine)
    }

    const TOML: &str = "[engine]\nkind = \"temporal\"\n[engine.temporal]\naddress = \"file:7233\"\nnamespace = \"file-ns\"\ntask-queue = \"file-q\"\nmetrics-addr = \"127.0.0.1:9001\"\n";

    const ENV: &[(&str, &str)] = &[
        ("ODP_ENGINE", "local"),
        ("ODP_TEMPORAL_ADDRESS", "env:7233"),
        ("ODP_TEMPORAL_NAMESPACE", "env-ns"),
        ("ODP_TEMPORAL_TASK_QUEUE", "env-q"),
        ("ODP_TEMPORAL_METRICS_ADDR", "127.0.0.1:9002"),
    ];

    #[test]
    fn defaults_without_flags_variables_or_file() {
        let settings = resolve(&[], &EngineFlags::default(), "").unwrap();
        assert_eq!(settings.kind, EngineKind::Local);
        assert_eq!(settings.temporal, TemporalSettings::new("127.0.0.1:7233"));
        assert_eq!(settings.temporal.namespace, "default");
        assert_eq!(settings.temporal.task_queue, "odp");
    }

    #[test]
    fn the_file_wins_over_the_defaults() {
        let settings = resolve(&[], &EngineFlags::default(), TOML).unwrap();
        assert_eq!(settings.kind, EngineKind::Temporal);
        assert_eq!(
            settings.temporal,
            TemporalSettings {
                address: "file:7233".into(),
                namespace: "file-ns".into(),
                task_queue: "file-q".into(),
                metrics_addr: Some("127.0.0.1:9001".parse().unwrap()),
                result_store: None,
            }
        );
    }

    #[test]
    fn variables_win_over_the_file_and_blank_ones_are_unset() {
        let settings = resolve(ENV, &EngineFlags::default(), TOML).unwrap();
        assert_eq!(settings.kind, EngineKind::Local);
        assert_eq!(
            settings.temporal,
            TemporalSettings {
                address: "env:7233".into(),
                namespace: "env-ns".into(),
                task_queue: "env-q".into(),
                metrics_addr: Some("127.0.0.1:9002".parse().unwrap()),
                result_store: None,
            }
        );
        let blank: Vec<(&str, &str)> = ENV.iter().map(|(k, _)| (*k, " ")).collect();
        let settings = resolve(&blank, &EngineFlags::default(), TOML).unwrap();
        assert_eq!(settings.kind, EngineKind::Temporal);
        assert_eq!(settings.temporal.address, "file:7233");
        assert_eq!(settings.temporal.task_queue, "file-q");
    }

    #[test]
    fn flags_win_over_everything() {
        let flags = EngineFlags {
            engine: Some(EngineKind::Temporal),
            temporal_address: Some("flag:7233"),
            namespace: Some("flag-ns"),
            task_queue: Some("flag-q"),
            metrics_addr: Some("127.0.0.1:9003".parse().unwrap()),
        };
        let settings = resolve(ENV, &flags, TOML).unwrap();
        assert_eq!(settings.kind, EngineKind::Temporal);
        assert_eq!(
            settings.temporal,
            TemporalSettings {
                address: "flag:7233".into(),
                namespace: "flag-ns".into(),
                task_queue: "flag-q".into(),
                metrics_addr: Some("127.0.0.1:9003".parse().unwrap()),
                result_store: None,
            }
        );
        // Each setting on its own: a flag for one leaves the others to the variables and the file.
        let flags = EngineFlags {
            task_queue: Some("flag-q"),
            ..EngineFlags::default()
        };
        let settings = resolve(&[("ODP_TEMPORAL_NAMESPACE", "env-ns")], &flags, TOML).unwrap();
        assert_eq!(settings.kind, EngineKind::Temporal);
        assert_eq!(settings.temporal.address, "file:7233");
        assert_eq!(settings.temporal.namespace, "env-ns");
        assert_eq!(settings.temporal.task_queue, "flag-q");
    }

    #[test]
    fn values_that_cannot_work_name_where_they_came_from() {
        let err = resolve(&[("ODP_ENGINE", "remote")], &EngineFlags::default(), "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ODP_ENGINE: `remote` is not an engine (local or temporal)"
        );
        let err = resolve(
            &[("ODP_TEMPORAL_METRICS_ADDR", "localhost")],
            &EngineFlags::default(),
            "",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ODP_TEMPORAL_METRICS_ADDR: `localhost` is not IP:PORT"),
            "{err}"
        );
        for (toml, at) in [
            ("[engine]\nkind = \"remote\"\n", "odp.toml:2:8: "),
            (
                "[engine.temporal]\nmetrics-addr = \"9464\"\n",
                "odp.toml:2:16: ",
            ),
        ] {
            let shown = crate::config::parse_config(toml, Path::new("odp.toml"))
                .unwrap_err()
                .to_string();
            assert!(shown.starts_with(at), "{toml}: {shown}");
        }
    }

    #[test]
    fn unknown_keys_of_the_section_are_warned_about() {
        let loaded = crate::config::parse_config(
            "[engine]\nkind = \"local\"\n[engine.temporal]\nhost = \"x\"\n",
            Path::new("odp.toml"),
        )
        .unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].contains("unknown key `engine.temporal.host`")
                && loaded.warnings[0].contains("engine.temporal.task-queue"),
            "{:?}",
            loaded.warnings
        );
    }
}
