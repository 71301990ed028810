//! The one configuration loader: "find `odp.toml` and the registry for this directory", for every front end
//! (`check`, the language server, `run`, the kernel, drafts, `odp stubs`).
//!
//! - **`odp.toml`**: the nearest one in the directory or its parents (`--config FILE` names it instead). Without
//!   one, the defaults serve, rooted at the current directory (the language server: the workspace root).
//! - **The registry**, first of: the `--registry` flag, `ODP_REGISTRY`, `registry` in `odp.toml`, the bundled
//!   one. A path from the flag or `ODP_REGISTRY` is relative to the current directory, one from `odp.toml` to
//!   that file's directory; an http(s) URL is fetched and cached.
//! - **Warnings** (unknown keys in `odp.toml`, registry entries that could not be read, a stale cached registry)
//!   come back with the workspace, and every front end shows them.
//!
//! **The fallback rule.** A broken `odp.toml` (it cannot be read or parsed: `path:line:col: message`) or a registry
//! that cannot be loaded at all is an error: [`Loader::load`] and [`load_workspace`] return it, and `check`, `run`,
//! the kernel, drafts and `odp stubs` print it as `error: …` and exit 2. The language server, which must keep
//! serving while the user fixes the file, calls [`Loader::load_or_fallback`]: it gets the same error (as a
//! [`Fallback`], whose text is the same message) to show the user, and carries on with the defaults — no
//! `odp.toml`, and the bundled registry when the registry cannot be loaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use odp_analysis::Registry;

use crate::{
    LoadedConfig, LoadedRegistry, RegistrySource, WorkspaceError, find_config, load_config,
    load_registry,
};

/// What the user said on the command line (or in the editor's settings), and where they said it.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The directory a `--registry` path or an `ODP_REGISTRY` path is relative to, and the root of the default
    /// configuration when there is no `odp.toml`: the current directory (the language server: the workspace root).
    pub cwd: PathBuf,
    /// A `--registry` flag: a path, an http(s) URL or `bundled`.
    pub registry: Option<String>,
    /// A `--config FILE` flag: this file for every directory instead of the nearest `odp.toml`. It is read as
    /// written (relative to the process's current directory) and named so in messages.
    pub config_file: Option<PathBuf>,
}

impl LoadOptions {
    /// Options for a command run in the current directory with an optional `--registry` flag.
    pub fn in_current_dir(registry: Option<&str>) -> Result<LoadOptions, WorkspaceError> {
        let cwd = std::env::current_dir().map_err(|source| WorkspaceError::Io {
            path: PathBuf::from("."),
            source,
        })?;
        Ok(LoadOptions {
            cwd,
            registry: registry.map(str::to_string),
            config_file: None,
        })
    }
}

/// The configuration and the registry for a directory.
#[derive(Clone)]
pub struct Workspace {
    pub config: Arc<LoadedConfig>,
    /// Where the registry came from.
    pub registry_source: RegistrySource,
    pub registry: Arc<Registry>,
    /// The configuration's warnings, then the registry's: for the caller to show.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("config", &self.config.path)
            .field("registry_source", &self.registry_source)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

/// What the language server was given instead of what was configured, and why; its text is the error's message
/// (the same as every other front end prints) with what serves instead.
#[derive(Debug, thiserror::Error)]
pub enum Fallback {
    /// `odp.toml` is broken: the defaults serve.
    #[error("{0}")]
    Config(WorkspaceError),
    /// The registry cannot be loaded: the bundled one serves.
    #[error("{0}; using the bundled registry")]
    Registry(WorkspaceError),
}

/// Loads the configuration and the registry for directories, each file and each registry once (a registry at a
/// URL is fetched once however many directories name it). Blocking IO: call it outside async code or in
/// `spawn_blocking`.
#[derive(Debug, Default)]
pub struct Loader {
    options: LoadOptions,
    configs: Mutex<HashMap<PathBuf, Arc<LoadedConfig>>>,
    registries: Mutex<HashMap<RegistrySource, Arc<LoadedRegistry>>>,
    /// Every warning this loader has met, each once, in the order met.
    warnings: Mutex<Vec<String>>,
}

impl std::fmt::Debug for LoadedRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedRegistry")
            .field("methods", &self.registry.methods().len())
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The workspace for `dir` in a one-off command: the current directory for paths from `registry_flag` and
/// `ODP_REGISTRY`, no `--config`. See the module documentation for the rules.
pub fn load_workspace(
    dir: &Path,
    registry_flag: Option<&str>,
) -> Result<Workspace, WorkspaceError> {
    Loader::new(LoadOptions::in_current_dir(registry_flag)?).load(dir)
}

impl Loader {
    pub fn new(options: LoadOptions) -> Loader {
        Loader {
            options,
            ..Loader::default()
        }
    }

    pub fn options(&self) -> &LoadOptions {
        &self.options
    }

    /// The configuration for `dir` (relative to the options' `cwd`): `--config`, else the nearest `odp.toml`, else
    /// the defaults rooted at `cwd`.
    pub fn config(&self, dir: &Path) -> Result<Arc<LoadedConfig>, WorkspaceError> {
        let found = match &self.options.config_file {
            Some(file) => Some(file.clone()),
            None => find_config(&self.options.cwd.join(dir)),
        };
        let key = found.clone().unwrap_or_default();
        if let Some(c) = self.configs.lock().expect("lock").get(&key) {
            return Ok(c.clone());
        }
        let loaded = match &found {
            Some(path) => load_config(path)?,
            None => LoadedConfig {
                root: self.options.cwd.clone(),
                ..LoadedConfig::default()
            },
        };
        let loaded = Arc::new(loaded);
        let mut configs = self.configs.lock().expect("lock");
        if let Some(c) = configs.get(&key) {
            // Another thread loaded it meanwhile: its warnings are already noted.
            return Ok(c.clone());
        }
        configs.insert(key, loaded.clone());
        drop(configs);
        self.note(&loaded.warnings);
        Ok(loaded)
    }

    /// Where the registry comes from for a configuration: the flag, `ODP_REGISTRY`, `odp.toml`, the bundled one.
    pub fn registry_source(&self, config: &LoadedConfig) -> RegistrySource {
        crate::registry_source(self.options.registry.as_deref(), config, &self.options.cwd)
    }

    /// The registry for a configuration.
    pub fn registry(
        &self,
        config: &LoadedConfig,
    ) -> Result<(RegistrySource, Arc<LoadedRegistry>), WorkspaceError> {
        let source = self.registry_source(config);
        if let Some(r) = self.registries.lock().expect("lock").get(&source) {
            return Ok((source, r.clone()));
        }
        let loaded = Arc::new(load_registry(&source)?);
        let mut registries = self.registries.lock().expect("lock");
        if let Some(r) = registries.get(&source) {
            return Ok((source, r.clone()));
        }
        registries.insert(source.clone(), loaded.clone());
        drop(registries);
        self.note(&loaded.warnings);
        Ok((source, loaded))
    }

    /// The configuration and the registry for `dir`; a broken `odp.toml` or a registry that cannot be loaded is
    /// an error.
    pub fn load(&self, dir: &Path) -> Result<Workspace, WorkspaceError> {
        let config = self.config(dir)?;
        let (registry_source, registry) = self.registry(&config)?;
        Ok(workspace(config, registry_source, &registry))
    }

    /// [`Loader::load`] for the language server: a broken `odp.toml` gives the defaults, a registry that cannot
    /// be loaded the bundled one, each with the error that caused it.
    pub fn load_or_fallback(&self, dir: &Path) -> (Workspace, Vec<Fallback>) {
        let mut fallbacks = Vec::new();
        let config = self.config(dir).unwrap_or_else(|e| {
            fallbacks.push(Fallback::Config(e));
            Arc::new(LoadedConfig {
                root: self.options.cwd.clone(),
                ..LoadedConfig::default()
            })
        });
        let workspace = match self.registry(&config) {
            Ok((source, registry)) => workspace(config, source, &registry),
            Err(e) => {
                fallbacks.push(Fallback::Registry(e));
                Workspace {
                    warnings: config.warnings.clone(),
                    config,
                    registry_source: RegistrySource::Bundled,
                    registry: Registry::bundled(),
                }
            }
        };
        (workspace, fallbacks)
    }

    /// Every warning met so far (each once), leaving none.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().expect("lock"))
    }

    fn note(&self, warnings: &[String]) {
        self.warnings
            .lock()
            .expect("lock")
            .extend(warnings.iter().cloned());
    }
}

fn workspace(
    config: Arc<LoadedConfig>,
    registry_source: RegistrySource,
    registry: &LoadedRegistry,
) -> Workspace {
    let mut warnings = config.warnings.clone();
    warnings.extend(registry.warnings.iter().cloned());
    Workspace {
        config,
        registry_source,
        registry: registry.registry.clone(),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(cwd: &Path, registry: Option<&str>) -> LoadOptions {
        LoadOptions {
            cwd: cwd.to_path_buf(),
            registry: registry.map(str::to_string),
            config_file: None,
        }
    }

    const REGISTRY: &str = "version: 1\nmethods:\n  - id: my.own.source\n    kind: source\n    service: crawler\n    summary: s\n    endpoint: /s\n    params: {type: object}\n    output: dynamic\n  - id: 7\n";

    #[test]
    fn finds_the_nearest_config_and_its_registry_with_their_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("odp.toml"),
            "registry = \"reg.yaml\"\ncolour = 1\n",
        )
        .unwrap();
        std::fs::write(root.join("reg.yaml"), REGISTRY).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        let loader = Loader::new(options(Path::new("/elsewhere"), None));
        let ws = loader.load(&root.join("sub")).unwrap();
        assert_eq!(ws.config.path.as_deref(), Some(&*root.join("odp.toml")));
        assert_eq!(
            ws.registry_source,
            RegistrySource::File(root.join("reg.yaml"))
        );
        assert!(ws.registry.get("my.own.source").is_some());
        assert_eq!(ws.warnings.len(), 2, "{:?}", ws.warnings);
        assert!(ws.warnings[0].contains("unknown key `colour`"));
        assert!(ws.warnings[1].contains("reg.yaml:"), "{:?}", ws.warnings);
        // Loaded once: the second directory reuses both, and the warnings are noted once.
        let again = loader.load(root).unwrap();
        assert!(Arc::ptr_eq(&again.registry, &ws.registry));
        assert_eq!(loader.take_warnings(), ws.warnings);
        // The flag wins, relative to the current directory.
        let loader = Loader::new(options(root, Some("bundled")));
        assert_eq!(
            loader.load(&root.join("sub")).unwrap().registry_source,
            RegistrySource::Bundled
        );
    }

    #[test]
    fn without_odp_toml_the_defaults_are_rooted_at_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Loader::new(options(Path::new("/cwd"), Some("bundled")))
            .load(dir.path())
            .unwrap();
        assert_eq!(ws.config.path, None);
        assert_eq!(ws.config.root, Path::new("/cwd"));
    }

    #[test]
    fn a_broken_config_is_an_error_or_for_the_server_the_same_message_and_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("odp.toml"), "registry = [\n").unwrap();
        let loader = Loader::new(options(root, None));
        let error = loader.load(root).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{}:1:13: ", root.join("odp.toml").display())),
            "{error}"
        );
        let (ws, fallbacks) = loader.load_or_fallback(root);
        assert_eq!(ws.config.path, None);
        assert_eq!(ws.registry_source, RegistrySource::Bundled);
        assert_eq!(fallbacks.len(), 1);
        assert_eq!(fallbacks[0].to_string(), error);
    }

    #[test]
    fn a_registry_that_cannot_load_is_an_error_or_for_the_server_the_bundled_one() {
        let dir = tempfile::tempdir().unwrap();
        let loader = Loader::new(options(dir.path(), Some("nope.yaml")));
        let error = loader.load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("nope.yaml"), "{error}");
        let (ws, fallbacks) = loader.load_or_fallback(dir.path());
        assert_eq!(ws.registry_source, RegistrySource::Bundled);
        assert_eq!(
            fallbacks[0].to_string(),
            format!("{error}; using the bundled registry")
        );
    }
}
