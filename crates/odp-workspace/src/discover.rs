//! Which files are pipelines. The same rule serves the linter's directory walk and the language server.
//!
//! - A path given explicitly is always checked.
//! - A directory walk (honouring `.gitignore` and the config's `exclude`) takes `*.odp.yaml` / `*.odp.yml`, files
//!   matched by the config's `include` globs, and YAML files with a `# odp: pipeline` modeline in their leading
//!   comments.
//! - An argument that is neither a file nor a directory is a glob, matched against the files under the current
//!   directory.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::WorkspaceError;
use crate::config::LoadedConfig;

/// Decides whether a file is a pipeline.
#[derive(Clone, Debug)]
pub struct PipelineMatcher {
    root: PathBuf,
    include: GlobSet,
    exclude: GlobSet,
}

fn build_globs(globs: &[String], what: &str) -> Result<GlobSet, WorkspaceError> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        builder.add(Glob::new(g).map_err(|e| WorkspaceError::Glob {
            glob: g.clone(),
            message: format!("{what}: {e}"),
        })?);
    }
    builder.build().map_err(|e| WorkspaceError::Glob {
        glob: globs.join(", "),
        message: e.to_string(),
    })
}

/// Whether the name alone marks a pipeline.
pub fn has_pipeline_extension(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".odp.yaml") || name.ends_with(".odp.yml")
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Whether the leading comments of a text (before its first content line) hold the `# odp: pipeline` modeline.
pub fn has_modeline(text: &str) -> bool {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else {
            return false;
        };
        let mut words = comment.trim_start().splitn(2, ':');
        if words.next().map(str::trim) == Some("odp")
            && words
                .next()
                .map(str::trim)
                .is_some_and(|rest| rest == "pipeline" || rest.starts_with("pipeline "))
        {
            return true;
        }
    }
    false
}

impl PipelineMatcher {
    pub fn new(config: &LoadedConfig) -> Result<Self, WorkspaceError> {
        Ok(Self {
            root: config.root.clone(),
            include: build_globs(&config.config.include, "include")?,
            exclude: build_globs(&config.config.exclude, "exclude")?,
        })
    }

    fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude.is_match(self.relative(path))
    }

    /// Whether a file found by a walk is a pipeline. `read_head` gives the file's beginning, read only when the
    /// name does not decide.
    pub fn is_pipeline(&self, path: &Path, read_head: impl FnOnce() -> Option<String>) -> bool {
        if self.is_excluded(path) {
            return false;
        }
        if has_pipeline_extension(path) || self.include.is_match(self.relative(path)) {
            return true;
        }
        is_yaml(path) && read_head().is_some_and(|head| has_modeline(&head))
    }
}

/// Reads the first few KiB of a file, enough for its leading comments.
pub fn read_head(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = vec![0u8; 4096];
    let mut file = std::fs::File::open(path).ok()?;
    let n = file.read(&mut buf).ok()?;
    buf.truncate(n);
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Expands the command line's paths, directories and globs into the pipeline files to check, sorted and without
/// duplicates.
pub fn discover(
    args: &[PathBuf],
    cwd: &Path,
    matcher: &PipelineMatcher,
) -> Result<Vec<PathBuf>, WorkspaceError> {
    let mut files = Vec::new();
    for arg in args {
        let path = if arg.is_absolute() {
            arg.clone()
        } else {
            cwd.join(arg)
        };
        if path.is_file() {
            files.push(path);
        } else if path.is_dir() {
            walk(&path, matcher, &mut files);
        } else {
            let text = arg.to_string_lossy();
            if !text.contains(['*', '?', '[', '{']) {
                return Err(WorkspaceError::NotFound(arg.clone()));
            }
            let glob = Glob::new(&text)
                .map_err(|e| WorkspaceError::Glob {
                    glob: text.to_string(),
                    message: e.to_string(),
                })?
                .compile_matcher();
            let mut candidates = Vec::new();
            walk_all(cwd, &mut candidates);
            files.extend(candidates.into_iter().filter(|p| {
                glob.is_match(p.strip_prefix(cwd).unwrap_or(p)) && !matcher.is_excluded(p)
            }));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walker(dir: &Path) -> ignore::Walk {
    ignore::WalkBuilder::new(dir)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .build()
}

fn walk(dir: &Path, matcher: &PipelineMatcher, out: &mut Vec<PathBuf>) {
    for entry in walker(dir).flatten() {
        let path = entry.path();
        if entry.file_type().is_some_and(|t| t.is_file())
            && matcher.is_pipeline(path, || read_head(path))
        {
            out.push(path.to_path_buf());
        }
    }
}

fn walk_all(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in walker(dir).flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            out.push(entry.path().to_path_buf());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    #[test]
    fn modeline_in_leading_comments_only() {
        assert!(has_modeline(
            "# yaml-language-server: $schema=x.json\n# odp: pipeline\nname: x\n"
        ));
        assert!(has_modeline("\n#odp:pipeline\n"));
        assert!(!has_modeline("name: x\n# odp: pipeline\n"));
        assert!(!has_modeline("# odp: pipelines\n"));
    }

    #[test]
    fn walks_directories_by_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("a.odp.yaml", "name: a\n");
        write("b.odp.yml", "name: b\n");
        write("plain.yaml", "name: plain\n");
        write("marked.yaml", "# odp: pipeline\nname: m\n");
        write("flows/x.yaml", "name: x\n");
        write("ignored/c.odp.yaml", "name: c\n");
        write("skipped/d.odp.yaml", "name: d\n");
        write(".gitignore", "ignored/\n");
        let config = parse_config(
            "include = [\"flows/*.yaml\"]\nexclude = [\"skipped/**\"]\n",
            &root.join("odp.toml"),
        )
        .unwrap();
        let matcher = PipelineMatcher::new(&config).unwrap();
        let found = discover(&[PathBuf::from(".")], root, &matcher).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|p| {
                p.strip_prefix(root.join("."))
                    .or_else(|_| p.strip_prefix(root))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            ["a.odp.yaml", "b.odp.yml", "flows/x.yaml", "marked.yaml"]
        );

        // An explicit path is always checked; a glob matches under the current directory.
        let found = discover(&[PathBuf::from("plain.yaml")], root, &matcher).unwrap();
        assert_eq!(found, [root.join("plain.yaml")]);
        let found = discover(&[PathBuf::from("*.yml")], root, &matcher).unwrap();
        assert_eq!(found, [root.join("b.odp.yml")]);
        assert!(matches!(
            discover(&[PathBuf::from("missing.yaml")], root, &matcher),
            Err(WorkspaceError::NotFound(_))
        ));
    }
}
