//! `check`: find pipelines, analyse them in parallel, render the results, choose the exit code.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use odp_analysis::{Applicability, Environment, Severity, analyze, escape_control};
use odp_workspace::{
    Ignores, LoadOptions, LoadedConfig, Loader, PipelineMatcher, Workspace, WorkspaceError,
};
use rayon::prelude::*;

use crate::render::{self, FileReport};
use crate::{ColorMode, exit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Source snippets with carets, coloured on a terminal.
    Human,
    /// One JSON document with every file's diagnostics.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Clone, Debug, Args)]
pub struct CheckArgs {
    /// Files, directories or globs to check [default: the current directory].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The method registry: a YAML file or an http(s) URL [default: from odp.toml, else the bundled one].
    #[arg(long, value_name = "PATH|URL", env = "ODP_REGISTRY")]
    pub registry: Option<String>,
    /// The configuration file [default: the nearest odp.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// When to colour the output (`auto` honours NO_COLOR and colours only terminals).
    #[arg(long, value_enum, default_value_t = ColorMode::Auto)]
    pub color: ColorMode,
    /// Exit 1 when more than N warnings are found (errors always fail).
    #[arg(long, value_name = "N")]
    pub max_warnings: Option<usize>,
    /// Apply the safe fixes (such as quoting a template) and report what changed.
    #[arg(long)]
    pub fix: bool,
    /// With --fix or --diff, also apply unsafe fixes (did-you-mean guesses, placeholders to fill in).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Show the fixes as a unified diff instead of writing them.
    #[arg(long, conflicts_with = "fix")]
    pub diff: bool,
}

/// Configurations and registries by directory (the one loader, which loads each once), and ignores by
/// configuration.
struct Workspaces {
    loader: Loader,
    ignores: Mutex<HashMap<PathBuf, Arc<Ignores>>>,
    warnings: Mutex<Vec<String>>,
}

impl Workspaces {
    /// Keeps the warnings the loader met so far, in the order met.
    fn collect_warnings(&self) {
        let new = self.loader.take_warnings();
        self.warnings.lock().expect("lock").extend(new);
    }

    fn config_for(&self, dir: &Path) -> Result<Arc<LoadedConfig>, WorkspaceError> {
        let config = self.loader.config(dir);
        self.collect_warnings();
        config
    }

    fn workspace_for(&self, dir: &Path) -> Result<Workspace, WorkspaceError> {
        let workspace = self.loader.load(dir);
        self.collect_warnings();
        workspace
    }

    fn ignores_for(&self, config: &LoadedConfig) -> Result<Arc<Ignores>, WorkspaceError> {
        let key = config.path.clone().unwrap_or_default();
        if let Some(i) = self.ignores.lock().expect("lock").get(&key) {
            return Ok(i.clone());
        }
        let (ignores, warnings) = Ignores::new(config)?;
        self.warnings.lock().expect("lock").extend(warnings);
        let ignores = Arc::new(ignores);
        self.ignores
            .lock()
            .expect("lock")
            .insert(key, ignores.clone());
        Ok(ignores)
    }
}

pub(crate) fn display_path(path: &Path, cwd: &Path) -> String {
    let shown = path.strip_prefix(cwd).unwrap_or(path);
    let s = shown.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// What a run found, for the summary and the exit code.
struct Outcome {
    reports: Vec<FileReport>,
    warnings: Vec<String>,
    /// Per fixed file: (path, fixes applied, diff).
    fixed: Vec<(String, usize, String)>,
}

/// Runs `check` and returns the process exit code. Results go to stdout, problems with the run to stderr.
pub fn run_check(args: &CheckArgs) -> u8 {
    let stdout = std::io::stdout();
    let mut err = std::io::stderr();
    // Messages name paths and quote configuration: their control characters are escaped like the report's.
    let outcome = match check_inner(args) {
        Ok(outcome) => outcome,
        Err(Failures(failures)) => {
            for failure in failures {
                let _ = writeln!(err, "error: {}", escape_control(&failure.to_string()));
            }
            return exit::USAGE;
        }
    };
    for w in &outcome.warnings {
        let _ = writeln!(err, "warning: {}", escape_control(w));
    }
    let reports = &outcome.reports;
    let errors: usize = reports
        .iter()
        .flat_map(|r| &r.diagnostics)
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings: usize = reports.iter().map(|r| r.diagnostics.len()).sum::<usize>() - errors;
    let color = args.color.enabled(stdout.is_terminal());
    let result = if args.diff {
        let mut out = stdout.lock();
        outcome
            .fixed
            .iter()
            .try_for_each(|(_, _, diff)| out.write_all(diff.as_bytes()))
    } else {
        match args.format {
            Format::Human => {
                let mut out = StandardStream::stdout(if color {
                    ColorChoice::Always
                } else {
                    ColorChoice::Never
                });
                render::human(&mut out, reports).and_then(|_| {
                    // The files with findings; on a clean run, the files checked ("0 errors, 0 warnings in 1
                    // file", not "in 0 files").
                    let files_with =
                        match reports.iter().filter(|r| !r.diagnostics.is_empty()).count() {
                            0 => reports.len(),
                            n => n,
                        };
                    writeln!(
                        out,
                        "Checked {} file{}: {} error{}, {} warning{} in {} file{}.",
                        reports.len(),
                        plural(reports.len()),
                        errors,
                        plural(errors),
                        warnings,
                        plural(warnings),
                        files_with,
                        plural(files_with),
                    )
                })
            }
            Format::Json => render::json(&mut stdout.lock(), reports),
            Format::Sarif => {
                let root = std::env::current_dir().unwrap_or_default();
                render::sarif(&mut stdout.lock(), reports, &root)
            }
            Format::Github => render::github(&mut stdout.lock(), reports),
        }
    };
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(err, "error: cannot write the report: {e}");
        return exit::USAGE;
    }
    if args.fix || args.diff {
        let total: usize = outcome.fixed.iter().map(|(_, n, _)| n).sum();
        for (path, n, _) in &outcome.fixed {
            if args.fix {
                let _ = writeln!(
                    err,
                    "fixed {}: {n} fix{}",
                    escape_control(path),
                    if *n == 1 { "" } else { "es" }
                );
            }
        }
        let verb = if args.fix { "Fixed" } else { "Would fix" };
        let _ = writeln!(
            err,
            "{verb} {total} problem{} in {} file{}; {errors} error{} and {warnings} warning{} remain.",
            plural(total),
            outcome.fixed.len(),
            plural(outcome.fixed.len()),
            plural(errors),
            plural(warnings),
        );
    }
    let too_many_warnings = args.max_warnings.is_some_and(|max| warnings > max);
    if too_many_warnings {
        let _ = writeln!(
            err,
            "error: {warnings} {} --max-warnings {}",
            if warnings == 1 {
                "warning exceeds"
            } else {
                "warnings exceed"
            },
            args.max_warnings.unwrap_or(0)
        );
    }
    if errors > 0 || too_many_warnings {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Applies fixes until none applies (a fix can make room for another), at most a few rounds. Returns the final
/// text, its diagnostics and how many fixes were applied.
fn fix_until_stable(
    mut text: String,
    env: &Environment<'_>,
    filter: &dyn Fn(&mut Vec<odp_analysis::Diagnostic>),
    allow_unsafe: bool,
) -> (String, Vec<odp_analysis::Diagnostic>, usize) {
    let mut applied_total = 0;
    for _ in 0..8 {
        let mut diagnostics = analyze(&text, env).diagnostics;
        filter(&mut diagnostics);
        let edits: Vec<Vec<odp_analysis::TextEdit>> = diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| allow_unsafe || f.applicability == Applicability::Safe)
            .map(|f| f.edits.clone())
            .collect();
        let (next, applied) = apply_fixes(&text, &edits);
        if applied == 0 {
            return (text, diagnostics, applied_total);
        }
        applied_total += applied;
        text = next;
    }
    let mut diagnostics = analyze(&text, env).diagnostics;
    filter(&mut diagnostics);
    (text, diagnostics, applied_total)
}

/// Applies whole fixes (all of a fix's edits, or none) that do not overlap an earlier one.
fn apply_fixes(text: &str, fixes: &[Vec<odp_analysis::TextEdit>]) -> (String, usize) {
    let mut taken: Vec<odp_analysis::TextEdit> = Vec::new();
    let mut count = 0;
    'fixes: for edits in fixes {
        for e in edits {
            let overlaps = taken.iter().any(|t| {
                (e.range.start < t.range.end && t.range.start < e.range.end)
                    || (e.range.is_empty() && t.range.is_empty() && e.range.start == t.range.start)
                    || (e.range.is_empty()
                        && t.range.start < e.range.start
                        && e.range.start < t.range.end)
                    || (t.range.is_empty()
                        && e.range.start < t.range.start
                        && t.range.start < e.range.end)
            });
            if overlaps {
                continue 'fixes;
            }
        }
        taken.extend(edits.iter().cloned());
        count += 1;
    }
    let (out, _) = odp_analysis::apply_edits(text, &taken);
    (out, count)
}

pub(crate) fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Why a run could not check what it was asked to.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error("cannot read the current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(
        "no pipeline files found in {} (pipelines are *.odp.yaml, *.odp.yml, files matched by `include` in odp.toml, or YAML files with a `# odp: pipeline` comment)",
        paths.join(", ")
    )]
    NoPipelines { paths: Vec<String> },
    #[error("{path}: cannot write the fixes: {source}")]
    WriteFixes {
        path: String,
        source: std::io::Error,
    },
}

/// Why a run could not check what it was asked to: one error per problem.
struct Failures(Vec<CheckError>);

impl<E: Into<CheckError>> From<E> for Failures {
    fn from(e: E) -> Self {
        Failures(vec![e.into()])
    }
}

fn check_inner(args: &CheckArgs) -> Result<Outcome, Failures> {
    let cwd = std::env::current_dir().map_err(CheckError::CurrentDir)?;
    let workspaces = Workspaces {
        loader: Loader::new(LoadOptions {
            cwd: cwd.clone(),
            registry: args.registry.clone(),
            config_file: args.config.clone(),
        }),
        ignores: Mutex::default(),
        warnings: Mutex::default(),
    };
    // Discovery follows the configuration of the current directory (or --config).
    let discovery_config = workspaces.config_for(&cwd)?;
    let matcher = PipelineMatcher::new(&discovery_config)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = odp_workspace::discover(&paths, &cwd, &matcher)?;
    if files.is_empty() {
        return Err(Failures::from(CheckError::NoPipelines {
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
        }));
    }
    tracing::debug!(files = files.len(), "checking");
    let fixing = args.fix || args.diff;
    type FileResult = Result<(FileReport, Option<(String, usize, String)>), CheckError>;
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|path| {
            let shown = display_path(path, &cwd);
            let text = odp_workspace::read_pipeline(path, Path::new(&shown))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let workspace = workspaces.workspace_for(dir)?;
            let ignores = workspaces.ignores_for(&workspace.config)?;
            let env = Environment::new(&workspace.registry);
            let filter = |d: &mut Vec<odp_analysis::Diagnostic>| ignores.filter(path, d);
            if !fixing {
                let mut diagnostics = analyze(&text, &env).diagnostics;
                filter(&mut diagnostics);
                return Ok((
                    FileReport {
                        path: shown,
                        text,
                        diagnostics,
                    },
                    None,
                ));
            }
            let (fixed, diagnostics, applied) =
                fix_until_stable(text.clone(), &env, &filter, args.unsafe_fixes);
            let mut change = None;
            if applied > 0 && fixed != text {
                if args.fix {
                    std::fs::write(path, &fixed).map_err(|source| CheckError::WriteFixes {
                        path: shown.clone(),
                        source,
                    })?;
                }
                change = Some((shown.clone(), applied, unified_diff(&shown, &text, &fixed)));
            }
            Ok((
                FileReport {
                    path: shown,
                    text: fixed,
                    diagnostics,
                },
                change,
            ))
        })
        .collect();
    let mut reports = Vec::with_capacity(results.len());
    let mut fixed = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok((report, change)) => {
                reports.push(report);
                fixed.extend(change);
            }
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        // Files of one workspace meet the same broken configuration: say it once.
        failures.dedup_by(|a, b| a.to_string() == b.to_string());
        return Err(Failures(failures));
    }
    let warnings = workspaces.warnings.into_inner().expect("lock");
    Ok(Outcome {
        reports,
        warnings,
        fixed,
    })
}
