//! The workspace layer of odp: configuration (`odp.toml`), which files are pipelines, and where the registry
//! comes from. This is where the front ends' IO lives; the analysis core below does none. Front ends load their
//! configuration and registry through [`workspace`], which states the one fallback rule.

pub mod base_url;
pub mod config;
pub mod discover;
pub mod engine;
pub mod ignores;
pub mod registry_source;
pub mod workspace;

use std::path::PathBuf;

pub use config::{
    CONFIG_FILE, Config, DraftSection, FormatSection, LoadedConfig, config_schema, find_config,
    load_config,
};
pub use discover::{
    PipelineMatcher, discover, has_modeline, has_pipeline_extension, read_pipeline,
};
pub use ignores::Ignores;
pub use registry_source::{FetchError, LoadedRegistry, RegistrySource, load_registry};
pub use workspace::{Fallback, LoadOptions, Loader, Workspace, load_workspace};

/// The most bytes odp reads of one HTTP response: a service's answer to a method call, a registry fetched from a
/// URL. A larger one is refused as it arrives, never held whole.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("bad glob `{glob}`: {message}")]
    Glob { glob: String, message: String },
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// A path that exists but is no file or directory odp can check, or cannot be reached; `what` says why,
    /// as the rest of a sentence about the path ("is a named pipe (FIFO), ...").
    #[error("{} {what}", path.display())]
    Unusable { path: PathBuf, what: String },
    #[error("registry {origin}: {message}")]
    Registry { origin: String, message: String },
    #[error("registry {url}: could not fetch it ({source}) and no cached copy exists")]
    RegistryFetch {
        url: String,
        source: registry_source::FetchError,
    },
}

/// Where odp keeps caches (fetched registries) and state (the event outbox): `ODP_STATE_DIR`, else the user's
/// cache directory (`$XDG_CACHE_HOME/odp`, `~/.cache/odp`).
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ODP_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("odp")
}

/// The registry location by precedence: flag, then `ODP_REGISTRY`, then `odp.toml`, then the bundled one.
pub fn registry_source(
    flag: Option<&str>,
    config: &LoadedConfig,
    cwd: &std::path::Path,
) -> RegistrySource {
    if let Some(spec) = flag {
        return RegistrySource::parse(spec, cwd);
    }
    if let Some(spec) = std::env::var("ODP_REGISTRY").ok().filter(|s| !s.is_empty()) {
        return RegistrySource::parse(&spec, cwd);
    }
    match &config.config.registry {
        Some(spec) => RegistrySource::parse(spec, &config.root),
        None => RegistrySource::Bundled,
    }
}
