//! `odp.toml`: the workspace configuration.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::WorkspaceError;

pub const CONFIG_FILE: &str = "odp.toml";

/// The contents of `odp.toml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(title = "odp.toml")]
pub struct Config {
    /// The method registry: a path (relative to this file) or an http(s) URL, fetched and cached. Without it the
    /// bundled registry serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Globs (relative to this file) of further files that are pipelines, besides `*.odp.yaml` / `*.odp.yml` and
    /// files with a `# odp: pipeline` modeline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Globs (relative to this file) of files a directory walk skips.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Linter settings.
    #[serde(skip_serializing_if = "LintConfig::is_empty")]
    pub lint: LintConfig,
    /// Where `odp run` calls the methods. API keys never go here: they come from the environment
    /// (`ODP_CRAWLER_API_KEY`, `ODP_MODEL_API_KEY`).
    #[serde(skip_serializing_if = "ServicesConfig::is_empty")]
    pub services: ServicesConfig,
}

/// `[services]`: base URLs of the crawler and model APIs (overridden by `ODP_CRAWLER_API_URL` /
/// `ODP_MODEL_API_URL` and by flags).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct ServicesConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crawler_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_url: Option<String>,
    /// A `redis://` URL for lifecycle events (overridden by `ODP_REDIS_URL` and `--events`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
}

impl ServicesConfig {
    pub fn is_empty(&self) -> bool {
        self.crawler_url.is_none() && self.model_url.is_none() && self.redis_url.is_none()
    }
}

/// `[lint]`: which diagnostics to leave out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct LintConfig {
    /// Codes (`ODP500`) or names (`unused-source`) never reported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Codes never reported in the files a glob (relative to this file) matches, e.g.
    /// `"legacy/**" = ["unused-input"]`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub per_path_ignores: std::collections::BTreeMap<String, Vec<String>>,
}

impl LintConfig {
    pub fn is_empty(&self) -> bool {
        self.ignore.is_empty() && self.per_path_ignores.is_empty()
    }
}

/// A configuration with where it came from.
#[derive(Clone, Debug, Default)]
pub struct LoadedConfig {
    pub config: Config,
    /// The `odp.toml` read, if any.
    pub path: Option<PathBuf>,
    /// The directory relative paths and globs are resolved against.
    pub root: PathBuf,
    /// Unknown keys and similar problems that do not stop the run.
    pub warnings: Vec<String>,
}

/// The nearest `odp.toml` in `dir` or its parents.
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| p.is_file())
}

/// Reads and parses an `odp.toml`.
pub fn load_config(path: &Path) -> Result<LoadedConfig, WorkspaceError> {
    let text = std::fs::read_to_string(path).map_err(|source| WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_config(&text, path)
}

/// Parses the text of an `odp.toml` read from `path`.
pub fn parse_config(text: &str, path: &Path) -> Result<LoadedConfig, WorkspaceError> {
    let mut unknown = Vec::new();
    let deserializer = toml::Deserializer::parse(text).map_err(|e| config_error(path, text, &e))?;
    let config: Config = serde_ignored::deserialize(deserializer, |key| {
        unknown.push(key.to_string());
    })
    .map_err(|e| config_error(path, text, &e))?;
    let warnings = unknown
        .into_iter()
        .map(|key| {
            format!(
                "{}: unknown key `{key}` (known keys: registry, include, exclude, lint.ignore, lint.per-path-ignores, services.crawler-url, services.model-url, services.redis-url)",
                path.display()
            )
        })
        .collect();
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(LoadedConfig {
        config,
        path: Some(path.to_path_buf()),
        root,
        warnings,
    })
}

fn config_error(path: &Path, text: &str, e: &toml::de::Error) -> WorkspaceError {
    let (line, col) = e
        .span()
        .map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        })
        .unwrap_or((1, 1));
    WorkspaceError::Config {
        path: path.to_path_buf(),
        line,
        col,
        message: e.message().to_string(),
    }
}

/// `schemas/config.schema.json`.
pub fn config_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<Config>()).expect("schema serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_about_unknown_keys_and_locates_errors() {
        let loaded = parse_config(
            "registry = \"r.yaml\"\ninclude = [\"p/*.yaml\"]\ncolour = 1\n",
            Path::new("/w/odp.toml"),
        )
        .unwrap();
        assert_eq!(loaded.config.registry.as_deref(), Some("r.yaml"));
        assert_eq!(loaded.root, Path::new("/w"));
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("unknown key `colour`"));

        let err = parse_config("include = 3\n", Path::new("odp.toml")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("odp.toml:1:11: "), "{shown}");
    }
}
