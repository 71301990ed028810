//! Where the registry comes from: a flag, `ODP_REGISTRY`, `odp.toml`, or the bundled one. URLs are fetched and
//! cached under the state directory; when a fetch fails, the cached copy serves (with a warning).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use odp_analysis::{LineIndex, PositionEncoding, Registry};

use crate::{WorkspaceError, state_dir};

/// A registry location as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegistrySource {
    Bundled,
    File(PathBuf),
    Url(String),
}

impl RegistrySource {
    /// Reads a location: an http(s) URL, or a path resolved against `base`.
    pub fn parse(spec: &str, base: &Path) -> RegistrySource {
        if spec.starts_with("http://") || spec.starts_with("https://") {
            RegistrySource::Url(spec.to_string())
        } else if spec == "bundled" {
            RegistrySource::Bundled
        } else {
            RegistrySource::File(base.join(spec))
        }
    }
}

impl std::fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistrySource::Bundled => f.write_str("the bundled registry"),
            RegistrySource::File(p) => write!(f, "{}", p.display()),
            RegistrySource::Url(u) => f.write_str(u),
        }
    }
}

/// A registry with the warnings its loading produced.
pub struct LoadedRegistry {
    pub registry: Arc<Registry>,
    pub warnings: Vec<String>,
}

/// Loads a registry. A registry with errors still loads its valid methods; the errors come back as warnings
/// with positions, except when nothing at all could be loaded.
pub fn load_registry(source: &RegistrySource) -> Result<LoadedRegistry, WorkspaceError> {
    let (text, origin, mut warnings) = match source {
        RegistrySource::Bundled => {
            return Ok(LoadedRegistry {
                registry: Registry::bundled(),
                warnings: Vec::new(),
            });
        }
        RegistrySource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| WorkspaceError::Io {
                path: path.clone(),
                source,
            })?;
            (text, path.display().to_string(), Vec::new())
        }
        RegistrySource::Url(url) => {
            let (text, warnings) = fetch_cached(url)?;
            (text, url.clone(), warnings)
        }
    };
    let (registry, errors) = Registry::from_yaml(&text);
    let index = LineIndex::new(&text);
    let located: Vec<String> = errors
        .iter()
        .map(|e| {
            let lc = index.line_col(&text, e.range.start(), PositionEncoding::Utf32);
            format!("{origin}:{}:{}: {}", lc.line + 1, lc.col + 1, e.message)
        })
        .collect();
    if registry.is_empty() {
        return Err(WorkspaceError::Registry {
            origin,
            message: if located.is_empty() {
                "it defines no methods".into()
            } else {
                located.join("\n")
            },
        });
    }
    warnings.extend(located);
    Ok(LoadedRegistry {
        registry: Arc::new(registry),
        warnings,
    })
}

fn cache_path(url: &str) -> PathBuf {
    let safe: String = url
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    state_dir().join("registries").join(format!("{safe}.yaml"))
}

fn fetch_cached(url: &str) -> Result<(String, Vec<String>), WorkspaceError> {
    let cache = cache_path(url);
    match fetch(url) {
        Ok(text) => {
            if let Some(dir) = cache.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = std::fs::write(&cache, &text) {
                tracing::warn!(path = %cache.display(), error = %e, "could not cache the registry");
            }
            Ok((text, Vec::new()))
        }
        Err(message) => match std::fs::read_to_string(&cache) {
            Ok(text) => Ok((
                text,
                vec![format!(
                    "could not fetch the registry {url} ({message}); using the copy cached at {}",
                    cache.display()
                )],
            )),
            Err(_) => Err(WorkspaceError::Registry {
                origin: url.to_string(),
                message: format!("could not fetch it ({message}) and no cached copy exists"),
            }),
        },
    }
}

fn fetch(url: &str) -> Result<String, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    response.text().map_err(|e| e.to_string())
}
