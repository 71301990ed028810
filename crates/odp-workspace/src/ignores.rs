//! Codes a configuration turns off, for all files or per path (`[lint]` in odp.toml).

use std::path::Path;

use globset::{Glob, GlobMatcher};
use odp_analysis::{Code, Diagnostic};

use crate::WorkspaceError;
use crate::config::LoadedConfig;

/// The compiled `[lint]` ignores of one configuration.
#[derive(Clone, Debug, Default)]
pub struct Ignores {
    root: std::path::PathBuf,
    everywhere: Vec<Code>,
    per_path: Vec<(GlobMatcher, Vec<Code>)>,
}

impl Ignores {
    /// Compiles the ignores; unknown codes come back as warnings.
    pub fn new(config: &LoadedConfig) -> Result<(Ignores, Vec<String>), WorkspaceError> {
        let mut warnings = Vec::new();
        let origin = config
            .path
            .as_ref()
            .map_or_else(|| "odp.toml".to_string(), |p| p.display().to_string());
        let mut codes = |list: &[String], at: &str| -> Vec<Code> {
            list.iter()
                .filter_map(|c| {
                    let code = Code::parse(c);
                    if code.is_none() {
                        warnings.push(format!("{origin}: unknown code `{c}` in {at}"));
                    }
                    code
                })
                .collect()
        };
        let everywhere = codes(&config.config.lint.ignore, "lint.ignore");
        let mut per_path = Vec::new();
        for (glob, list) in &config.config.lint.per_path_ignores {
            let matcher = Glob::new(glob)
                .map_err(|e| WorkspaceError::Glob {
                    glob: glob.clone(),
                    message: format!("lint.per-path-ignores: {e}"),
                })?
                .compile_matcher();
            per_path.push((matcher, codes(list, "lint.per-path-ignores")));
        }
        Ok((
            Ignores {
                root: config.root.clone(),
                everywhere,
                per_path,
            },
            warnings,
        ))
    }

    /// Whether `code` is turned off for `path`.
    pub fn ignores(&self, path: &Path, code: Code) -> bool {
        if self.everywhere.contains(&code) {
            return true;
        }
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.per_path
            .iter()
            .any(|(glob, codes)| codes.contains(&code) && glob.is_match(relative))
    }

    /// Removes the diagnostics the configuration turns off for `path`.
    pub fn filter(&self, path: &Path, diagnostics: &mut Vec<Diagnostic>) {
        if self.everywhere.is_empty() && self.per_path.is_empty() {
            return;
        }
        diagnostics.retain(|d| !self.ignores(path, d.code));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    #[test]
    fn ignores_per_path_and_everywhere() {
        let config = parse_config(
            "[lint]\nignore = [\"unused-input\"]\n[lint.per-path-ignores]\n\"legacy/**\" = [\"ODP500\", \"ODP999\"]\n",
            Path::new("/w/odp.toml"),
        )
        .unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let (ignores, warnings) = Ignores::new(&config).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("unknown code `ODP999`"));
        assert!(ignores.ignores(Path::new("/w/a.odp.yaml"), Code::UnusedInput));
        assert!(ignores.ignores(Path::new("/w/legacy/x/a.odp.yaml"), Code::UnusedSource));
        assert!(!ignores.ignores(Path::new("/w/new/a.odp.yaml"), Code::UnusedSource));
    }
}
