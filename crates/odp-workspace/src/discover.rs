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
/// duplicates. A path that is neither a file nor a directory (a named pipe, a device such as `/dev/null`, a
/// socket), a symbolic link that leads nowhere or into a loop, a path that cannot be reached, and a directory that
/// cannot be read are errors that say which of these the path is: a check that silently skipped them could pass
/// having checked nothing.
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
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => files.push(path),
            Ok(meta) if meta.is_dir() => walk(&path, arg, matcher, &mut files)?,
            Ok(meta) => {
                return Err(WorkspaceError::Unusable {
                    path: arg.clone(),
                    what: format!(
                        "is {}, not a file or a directory",
                        kind_of(&meta.file_type())
                    ),
                });
            }
            Err(e) => {
                let text = arg.to_string_lossy();
                if e.kind() != std::io::ErrorKind::NotFound || !text.contains(['*', '?', '[', '{'])
                {
                    return Err(unreachable(arg, &path, e));
                }
                let glob = Glob::new(&text)
                    .map_err(|e| WorkspaceError::Glob {
                        glob: text.to_string(),
                        message: e.to_string(),
                    })?
                    .compile_matcher();
                let mut candidates = Vec::new();
                walk_all(cwd, &mut candidates)?;
                files.extend(candidates.into_iter().filter(|p| {
                    glob.is_match(p.strip_prefix(cwd).unwrap_or(p)) && !matcher.is_excluded(p)
                }));
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// What a path that is neither a file nor a directory is, with its article.
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    let _ = kind;
    "something else"
}

/// Why `metadata` failed for `path` (given as `arg`), in words.
fn unreachable(arg: &Path, path: &Path, e: std::io::Error) -> WorkspaceError {
    let unusable = |what: String| WorkspaceError::Unusable {
        path: arg.to_path_buf(),
        what,
    };
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return unusable("leads into a loop of symbolic links".into());
    }
    match e.kind() {
        std::io::ErrorKind::NotFound => match std::fs::read_link(path) {
            Ok(target) => unusable(format!(
                "is a symbolic link to `{}`, which does not exist",
                target.display()
            )),
            Err(_) => WorkspaceError::NotFound(arg.to_path_buf()),
        },
        std::io::ErrorKind::PermissionDenied => unusable(
            "cannot be reached: a directory on its way may not be entered (permission denied)"
                .into(),
        ),
        std::io::ErrorKind::NotADirectory => {
            unusable("cannot be reached: a part of its path is a file, not a directory".into())
        }
        _ => WorkspaceError::Io {
            path: arg.to_path_buf(),
            source: e,
        },
    }
}

/// A failure of the walk of `dir` (`shown` as the user wrote it): a directory that cannot be read (the walk does
/// not follow symbolic links, so it meets no loop). The walk stops there rather than check less than it was asked
/// to.
fn walk_error(dir: &Path, shown: &Path, e: ignore::Error) -> Option<WorkspaceError> {
    fn path_of(e: &ignore::Error) -> Option<&Path> {
        match e {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            _ => None,
        }
    }
    let io = e.io_error();
    // Deleted while the walk ran: nothing to check there any more.
    if io.is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
        return None;
    }
    // Not a directory that cannot be read but a bad line in an ignore file (also one in a parent of the walk's
    // root): the walk goes on, as git does, and says so.
    if io.is_none() {
        tracing::warn!("{e}");
        return None;
    }
    let reason = match io {
        Some(io) if io.kind() == std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        Some(io) => io.to_string(),
        None => e.to_string(),
    };
    let path = path_of(&e).unwrap_or(dir);
    let inside = path.strip_prefix(dir).unwrap_or(path);
    Some(WorkspaceError::Unusable {
        path: if inside.as_os_str().is_empty() {
            shown.to_path_buf()
        } else {
            shown.join(inside)
        },
        what: format!("is a directory that cannot be read ({reason})"),
    })
}

/// Reads a pipeline file; `shown` is how an error names it.
pub fn read_pipeline(path: &Path, shown: &Path) -> Result<String, WorkspaceError> {
    std::fs::read_to_string(path).map_err(|e| {
        let what = match e.kind() {
            std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied)".into(),
            std::io::ErrorKind::InvalidData => "is not UTF-8 text".into(),
            _ => format!("cannot be read ({e})"),
        };
        WorkspaceError::Unusable {
            path: shown.to_path_buf(),
            what,
        }
    })
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

/// The files of a walk, and its failures.
fn walk_files<'a>(
    dir: &'a Path,
    shown: &'a Path,
) -> impl Iterator<Item = Result<ignore::DirEntry, WorkspaceError>> + 'a {
    walker(dir).filter_map(move |entry| match entry {
        Ok(entry) => entry
            .file_type()
            .is_some_and(|t| t.is_file())
            .then_some(Ok(entry)),
        Err(e) => walk_error(dir, shown, e).map(Err),
    })
}

fn walk(
    dir: &Path,
    shown: &Path,
    matcher: &PipelineMatcher,
    out: &mut Vec<PathBuf>,
) -> Result<(), WorkspaceError> {
    for entry in walk_files(dir, shown) {
        let entry = entry?;
        let path = entry.path();
        if matcher.is_pipeline(path, || read_head(path)) {
            out.push(path.to_path_buf());
        }
    }
    Ok(())
}

/// Every file under the current directory `dir`, for a glob.
fn walk_all(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), WorkspaceError> {
    for entry in walk_files(dir, Path::new("")) {
        out.push(entry?.into_path());
    }
    Ok(())
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

    /// A bad line in a `.gitignore` (here one in the parent of the walked folder) is warned about, as git does; the
    /// walk goes on and is no error.
    #[test]
    fn a_bad_ignore_line_does_not_stop_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".gitignore"),
            "skipped/\nbad[glob\n{unclosed\nx**y\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("sub/skipped")).unwrap();
        std::fs::write(root.join("sub/a.odp.yaml"), "name: a\n").unwrap();
        std::fs::write(root.join("sub/skipped/b.odp.yaml"), "name: b\n").unwrap();
        let config = parse_config("", &root.join("odp.toml")).unwrap();
        let matcher = PipelineMatcher::new(&config).unwrap();
        for arg in [".", "sub"] {
            let found = discover(&[PathBuf::from(arg)], root, &matcher).unwrap();
            let names: Vec<_> = found
                .iter()
                .map(|p| p.file_name().unwrap().to_owned())
                .collect();
            assert_eq!(names, ["a.odp.yaml"], "{arg}");
        }
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
