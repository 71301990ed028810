//! The flags that choose the engine (`odp run`, `odp kernel`) and say where a Temporal cluster is (also `odp
//! worker` and `odp runs`). One definition; the binaries turn them into the engine's settings.

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// In this process (the default).
    #[default]
    Local,
    /// As a workflow on a Temporal cluster; `odp worker` processes run its steps.
    Temporal,
}

#[derive(Clone, Debug, Args)]
pub struct TemporalArgs {
    /// The Temporal frontend, HOST:PORT.
    #[arg(
        long,
        env = "ODP_TEMPORAL_ADDRESS",
        default_value = "127.0.0.1:7233",
        value_name = "HOST:PORT"
    )]
    pub temporal_address: String,
    /// The Temporal namespace.
    #[arg(long, env = "ODP_TEMPORAL_NAMESPACE", default_value = "default")]
    pub namespace: String,
    /// The task queue odp's workers poll and runs are sent to.
    #[arg(long, env = "ODP_TEMPORAL_TASK_QUEUE", default_value = "odp")]
    pub task_queue: String,
    /// A directory the workers and clients share (e.g. a network mount) where step results over 256 KiB are kept
    /// out of band; the workflow's history carries references to them. Without it a result must fit in a payload.
    #[arg(long, env = "ODP_RESULT_STORE", value_name = "DIR")]
    pub result_store: Option<std::path::PathBuf>,
}

#[derive(Clone, Debug, Args)]
pub struct EngineArgs {
    /// Where the pipeline runs.
    #[arg(long, env = "ODP_ENGINE", value_enum, default_value_t = EngineKind::Local)]
    pub engine: EngineKind,
    #[command(flatten)]
    pub temporal: TemporalArgs,
}
