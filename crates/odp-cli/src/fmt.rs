//! `fmt`: format pipelines in place, or say which would change (`--check`) and how (`--diff`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use odp_analysis::escape_control;
use odp_workspace::{LoadOptions, Loader, PipelineMatcher, WorkspaceError};
use rayon::prelude::*;

use crate::exit;

#[derive(Clone, Debug, Args)]
pub struct FmtArgs {
    /// Files, directories or globs to format [default: the current directory].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write nothing; exit 1 when a file would change.
    #[arg(long)]
    pub check: bool,
    /// Write nothing; print what would change as a unified diff (exit 1 when a file would change).
    #[arg(long)]
    pub diff: bool,
    /// The configuration file [default: the nearest odp.toml]; its `[format]` section applies.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What happened to one file.
enum Outcome {
    Unchanged,
    /// Formatted (written, or with --check/--diff: would be), with the diff.
    Changed(String),
    /// Left alone: why.
    LeftAlone(String),
}

/// Runs `fmt` and returns the process exit code: 0 nothing (more) to do, 1 a file would change (`--check`,
/// `--diff`) or was left alone (syntax errors), 2 usage, configuration or IO error.
pub fn run_fmt(args: &FmtArgs) -> u8 {
    match fmt_inner(args) {
        Ok(code) => code,
        Err(failures) => {
            // Rendered here, the front end: one line per distinct problem.
            let mut messages: Vec<String> = failures.iter().map(ToString::to_string).collect();
            messages.dedup();
            for message in messages {
                eprintln!("error: {}", escape_control(&message));
            }
            exit::USAGE
        }
    }
}

/// Why `fmt` could not format what it was asked to.
#[derive(Debug, thiserror::Error)]
enum FmtError {
    #[error("cannot read the current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("no pipeline files found in {}", paths.join(", "))]
    NoPipelines { paths: Vec<String> },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

fn fmt_inner(args: &FmtArgs) -> Result<u8, Vec<FmtError>> {
    let cwd = std::env::current_dir().map_err(|e| vec![FmtError::CurrentDir(e)])?;
    let loader = Loader::new(LoadOptions {
        cwd: cwd.clone(),
        registry: None,
        config_file: args.config.clone(),
    });
    let one = |e: WorkspaceError| vec![FmtError::from(e)];
    let discovery_config = loader.config(&cwd).map_err(one)?;
    let matcher = PipelineMatcher::new(&discovery_config).map_err(one)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = odp_workspace::discover(&paths, &cwd, &matcher).map_err(one)?;
    if files.is_empty() {
        let paths = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(vec![FmtError::NoPipelines { paths }]);
    }
    let writing = !args.check && !args.diff;
    let results: Vec<Result<(String, Outcome), FmtError>> = files
        .par_iter()
        .map(|path| {
            let shown = crate::check::display_path(path, &cwd);
            let text = odp_workspace::read_pipeline(path, Path::new(&shown))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let config = loader.config(dir)?;
            let outcome = match odp_fmt::format(&text, &config.config.format.options()) {
                Ok(out) if out == text => Outcome::Unchanged,
                Ok(out) => {
                    if writing {
                        std::fs::write(path, &out).map_err(|source| FmtError::Write {
                            path: shown.clone(),
                            source,
                        })?;
                    }
                    Outcome::Changed(crate::check::unified_diff(&shown, &text, &out))
                }
                Err(e) => Outcome::LeftAlone(e.to_string()),
            };
            Ok((shown, outcome))
        })
        .collect();
    for warning in loader.take_warnings() {
        eprintln!("warning: {}", escape_control(&warning));
    }
    let (mut changed, mut left_alone, mut failures) = (0, 0, Vec::new());
    let mut stdout = std::io::stdout().lock();
    for r in results {
        match r {
            Ok((_, Outcome::Unchanged)) => {}
            Ok((shown, Outcome::Changed(diff))) => {
                changed += 1;
                let shown = escape_control(&shown);
                if args.diff {
                    // Like `check --diff`: the diff as is, to be applied.
                    let _ = stdout.write_all(diff.as_bytes());
                } else if args.check {
                    let _ = writeln!(stdout, "would reformat {shown}");
                } else {
                    eprintln!("formatted {shown}");
                }
            }
            Ok((shown, Outcome::LeftAlone(why))) => {
                left_alone += 1;
                eprintln!("{}: {}", escape_control(&shown), escape_control(&why));
            }
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    let total = files.len();
    let verb = if writing {
        "formatted"
    } else {
        "would reformat"
    };
    eprintln!(
        "{verb} {changed} of {total} file{}{}",
        if total == 1 { "" } else { "s" },
        if left_alone > 0 {
            format!(", {left_alone} left alone")
        } else {
            String::new()
        }
    );
    let failed = left_alone > 0 || (!writing && changed > 0);
    Ok(if failed { exit::FINDINGS } else { exit::OK })
}
