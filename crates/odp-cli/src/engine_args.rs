//! The flags that choose the engine (`odp run`, `odp kernel`) and say where a Temporal cluster is (also `odp
//! worker` and `odp runs`). One definition; [`engine_settings`] turns them, the environment and `[engine]` of
//! `odp.toml` into the engine's settings by the one rule of [`odp_workspace::engine`] (flag, else environment
//! variable, else `odp.toml`, else the default).

use std::net::SocketAddr;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use odp_workspace::engine::{EngineConfigError, EngineFlags, EngineSection};
pub use odp_workspace::engine::{EngineKind, EngineSettings, TemporalSettings};

#[derive(Clone, Debug, Default, Args)]
pub struct TemporalArgs {
    /// The Temporal frontend, HOST:PORT [env: ODP_TEMPORAL_ADDRESS; odp.toml engine.temporal.address; default:
    /// 127.0.0.1:7233].
    #[arg(long, value_name = "HOST:PORT")]
    pub temporal_address: Option<String>,
    /// The Temporal namespace [env: ODP_TEMPORAL_NAMESPACE; odp.toml engine.temporal.namespace; default: default].
    #[arg(long)]
    pub namespace: Option<String>,
    /// The task queue odp's workers poll and runs are sent to [env: ODP_TEMPORAL_TASK_QUEUE; odp.toml
    /// engine.temporal.task-queue; default: odp].
    #[arg(long)]
    pub task_queue: Option<String>,
    /// A directory the workers and clients share (e.g. a network mount) where step results over 256 KiB are kept
    /// out of band; the workflow's history carries references to them. Without it a result must fit in a payload.
    #[arg(long, env = "ODP_RESULT_STORE", value_name = "DIR")]
    pub result_store: Option<std::path::PathBuf>,
}

#[derive(Clone, Debug, Default, Args)]
pub struct EngineArgs {
    /// Where the pipeline runs [env: ODP_ENGINE; odp.toml engine.kind; default: local].
    #[arg(long, value_parser = engine_kind_parser())]
    pub engine: Option<EngineKind>,
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

fn engine_kind_parser() -> impl TypedValueParser<Value = EngineKind> {
    PossibleValuesParser::new(EngineKind::ALL.map(EngineKind::name))
        .try_map(|name| name.parse::<EngineKind>())
}

/// The engine's settings: the flags given (`metrics_addr` is `odp worker`'s), else the environment, else
/// `[engine]` of `odp.toml`, else the defaults. The one conversion every command uses.
pub fn engine_settings(
    engine: Option<EngineKind>,
    temporal: &TemporalArgs,
    metrics_addr: Option<SocketAddr>,
    section: &EngineSection,
) -> Result<EngineSettings, EngineConfigError> {
    let mut settings = EngineSettings::resolve(
        &EngineFlags {
            engine,
            temporal_address: temporal.temporal_address.as_deref(),
            namespace: temporal.namespace.as_deref(),
            task_queue: temporal.task_queue.as_deref(),
            metrics_addr,
        },
        section,
    )?;
    // The flag, else `ODP_RESULT_STORE` (clap reads it); not an `odp.toml` setting.
    settings.temporal.result_store = temporal.result_store.clone();
    Ok(settings)
}

impl EngineArgs {
    /// See [`engine_settings`].
    pub fn settings(&self, section: &EngineSection) -> Result<EngineSettings, EngineConfigError> {
        engine_settings(self.engine, &self.temporal, None, section)
    }
}

impl TemporalArgs {
    /// Where the cluster is (for the commands that always talk to one); see [`engine_settings`].
    pub fn settings(&self, section: &EngineSection) -> Result<TemporalSettings, EngineConfigError> {
        engine_settings(None, self, None, section).map(|s| s.temporal)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn flags_parse_and_are_unset_when_not_given() {
        let cli = Cli::parse_from(["x", "--engine", "temporal", "--task-queue", "q"]);
        assert_eq!(cli.engine.engine, Some(EngineKind::Temporal));
        assert_eq!(cli.engine.temporal.task_queue.as_deref(), Some("q"));
        assert_eq!(cli.engine.temporal.temporal_address, None);
        let cli = Cli::parse_from(["x"]);
        assert_eq!(cli.engine.engine, None);
        assert!(Cli::try_parse_from(["x", "--engine", "remote"]).is_err());
    }

    #[test]
    fn a_flag_wins_over_the_file() {
        let section = EngineSection {
            kind: Some(EngineKind::Temporal),
            temporal: odp_workspace::engine::TemporalSection {
                task_queue: Some("file-q".into()),
                namespace: Some("file-ns".into()),
                ..Default::default()
            },
        };
        let cli = Cli::parse_from(["x", "--engine", "local", "--task-queue", "flag-q"]);
        let settings = cli.engine.settings(&section).unwrap();
        assert_eq!(settings.kind, EngineKind::Local);
        assert_eq!(settings.temporal.task_queue, "flag-q");
        // Unless the test's environment sets it, the namespace comes from the file.
        if std::env::var_os("ODP_TEMPORAL_NAMESPACE").is_none() {
            assert_eq!(settings.temporal.namespace, "file-ns");
        }
    }
}
