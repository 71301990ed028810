//! `odp.toml`: the workspace configuration.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::WorkspaceError;
pub use crate::engine::{EngineSection, TemporalSection};

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
    /// AI drafts (`odp draft`, the editor's draft command, the kernel's `%%draft`): which language model to ask.
    /// API keys never go here: `api-key-env` names the environment variable that holds the key.
    #[serde(skip_serializing_if = "DraftSection::is_empty")]
    pub draft: DraftSection,
    /// Where pipelines run: `kind = "local"` (the default) or `"temporal"`, and where the Temporal cluster is
    /// (`[engine.temporal]`). Environment variables (`ODP_ENGINE`, `ODP_TEMPORAL_*`) and flags override these.
    #[serde(skip_serializing_if = "EngineSection::is_empty")]
    pub engine: EngineSection,
    /// The formatter (`odp fmt`, the editor's formatting): where people disagree.
    #[serde(skip_serializing_if = "FormatSection::is_empty")]
    pub format: FormatSection,
}

/// `[format]`: how `odp fmt` and editors format pipelines. Indentation (two spaces), quoted templates and a blank
/// line between steps are not configurable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct FormatSection {
    /// The width flow lists (`[a, b]`) are wrapped at; long strings are never wrapped (default 120).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_width: Option<usize>,
    /// Put the keys of pipelines, steps, inputs and `retry` in canonical order (`name`, `description`, `method`,
    /// `params`, ...); a key's comments directly above it and its end-of-line comment move with it (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_keys: Option<bool>,
}

impl FormatSection {
    pub fn is_empty(&self) -> bool {
        self.line_width.is_none() && self.reorder_keys.is_none()
    }

    /// The formatter's options: these settings over its defaults.
    pub fn options(&self) -> odp_fmt::FormatOptions {
        let default = odp_fmt::FormatOptions::default();
        odp_fmt::FormatOptions {
            line_width: self.line_width.unwrap_or(default.line_width),
            reorder_keys: self.reorder_keys.unwrap_or(default.reorder_keys),
        }
    }
}

/// `[draft]`: the language model behind AI drafts. Environment variables (`ODP_LLM_PROVIDER`, `ODP_LLM_MODEL`,
/// `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, ...) override these; see docs/drafts.md.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct DraftSection {
    /// `openai` (any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp) or `anthropic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The model name, e.g. `gpt-4o-mini`, `qwen2.5-coder:7b` or `claude-sonnet-4-5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API base URL, e.g. `http://localhost:11434/v1` for Ollama.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::base_url::deserialize_optional"
    )]
    pub base_url: Option<String>,
    /// The name of the environment variable holding the API key (default `OPENAI_API_KEY` or
    /// `ANTHROPIC_API_KEY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The longest one model call may take, e.g. `120s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The most answers asked of the model for one draft: the first draft and its repairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// How many registry methods are offered to the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<u32>,
    /// Ask for JSON under a strict JSON Schema (`response_format`) when the server supports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_output: Option<bool>,
    /// Stream the model's answer (progress while it writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Never read: an `api-key` written here is refused (keys belong in the environment). Its value is not kept.
    #[serde(skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<KeyWrittenInline>,
}

impl DraftSection {
    pub fn is_empty(&self) -> bool {
        self == &DraftSection::default()
    }
}

/// Marks an `api-key` written in `odp.toml`; the value itself is dropped while reading, so it can never be
/// logged or shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyWrittenInline;

impl<'de> Deserialize<'de> for KeyWrittenInline {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(KeyWrittenInline)
    }
}

/// `[services]`: base URLs of the crawler and model APIs (overridden by `ODP_CRAWLER_API_URL` /
/// `ODP_MODEL_API_URL` and by flags).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case")]
pub struct ServicesConfig {
    /// The crawler API's base URL: http or https, without a query or fragment.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::base_url::deserialize_optional"
    )]
    pub crawler_url: Option<String>,
    /// The model API's base URL: http or https, without a query or fragment.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::base_url::deserialize_optional"
    )]
    pub model_url: Option<String>,
    /// Where lifecycle events go (overridden by `ODP_REDIS_URL` and `--events`): a `redis://`, `rediss://` or
    /// `unix://` URL, `none`, or a file path that contains `/` or ends in `.jsonl`.
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
                "{}: unknown key `{key}` (known keys: registry, include, exclude, lint.ignore, lint.per-path-ignores, services.crawler-url, services.model-url, services.redis-url, draft.provider, draft.model, draft.base-url, draft.api-key-env, draft.timeout, draft.rounds, draft.methods, draft.structured-output, draft.stream, engine.kind, engine.temporal.address, engine.temporal.namespace, engine.temporal.task-queue, engine.temporal.metrics-addr, format.line-width, format.reorder-keys)",
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

    #[test]
    fn format_section_sets_the_formatter_options() {
        let loaded = parse_config(
            "[format]\nline-width = 80\nreorder-keys = true\n",
            Path::new("odp.toml"),
        )
        .unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let options = loaded.config.format.options();
        assert_eq!((options.line_width, options.reorder_keys), (80, true));
        assert_eq!(
            Config::default().format.options(),
            odp_fmt::FormatOptions::default()
        );
    }

    #[test]
    fn base_urls_that_cannot_work_are_refused_where_they_are_written() {
        let loaded = parse_config(
            "[services]\ncrawler-url = \"http://crawler:8002/\"\nmodel-url = \"\"\n[draft]\nbase-url = \"http://localhost:11434/v1\"\n",
            Path::new("odp.toml"),
        )
        .unwrap();
        let services = &loaded.config.services;
        assert_eq!(services.crawler_url.as_deref(), Some("http://crawler:8002"));
        assert_eq!(services.model_url, None, "blank is unset");
        assert_eq!(
            loaded.config.draft.base_url.as_deref(),
            Some("http://localhost:11434/v1")
        );
        for (toml, at, why) in [
            (
                "[services]\ncrawler-url = \"ftp://crawler\"\n",
                "odp.toml:2:15: ",
                "`ftp://crawler` is not a usable base URL: its scheme is `ftp`",
            ),
            (
                "[services]\nmodel-url = \"http://m:99999\"\n",
                "odp.toml:2:13: ",
                "invalid port number",
            ),
            (
                "[services]\nmodel-url = \"http://m/v1?x=1\"\n",
                "odp.toml:2:13: ",
                "query",
            ),
            (
                "[draft]\nbase-url = \"not a url\"\n",
                "odp.toml:2:12: ",
                "not an absolute URL",
            ),
        ] {
            let shown = parse_config(toml, Path::new("odp.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                shown.starts_with(at) && shown.contains(why),
                "{toml}: {shown}"
            );
        }
    }
}
