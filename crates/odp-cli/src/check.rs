//! `check`: find pipelines, analyse them in parallel, render the results, choose the exit code.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use odp_analysis::{Environment, Registry, Severity, analyze};
use odp_workspace::{
    LoadedConfig, PipelineMatcher, RegistrySource, WorkspaceError, find_config, load_config,
    load_registry, registry_source,
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
}

/// Configurations and registries by directory, loaded once each.
struct Workspaces {
    explicit: Option<LoadedConfig>,
    registry_flag: Option<String>,
    cwd: PathBuf,
    configs: Mutex<HashMap<PathBuf, Arc<LoadedConfig>>>,
    registries: Mutex<HashMap<RegistrySource, Arc<Registry>>>,
    warnings: Mutex<Vec<String>>,
}

impl Workspaces {
    fn config_for(&self, dir: &Path) -> Result<Arc<LoadedConfig>, WorkspaceError> {
        if let Some(c) = &self.explicit {
            return Ok(Arc::new(c.clone()));
        }
        let found = find_config(dir);
        let key = found.clone().unwrap_or_default();
        if let Some(c) = self.configs.lock().expect("lock").get(&key) {
            return Ok(c.clone());
        }
        let loaded = match &found {
            Some(path) => load_config(path)?,
            None => LoadedConfig {
                root: self.cwd.clone(),
                ..LoadedConfig::default()
            },
        };
        self.warnings
            .lock()
            .expect("lock")
            .extend(loaded.warnings.iter().cloned());
        let loaded = Arc::new(loaded);
        self.configs
            .lock()
            .expect("lock")
            .insert(key, loaded.clone());
        Ok(loaded)
    }

    fn registry_for(&self, config: &LoadedConfig) -> Result<Arc<Registry>, WorkspaceError> {
        let source = registry_source(self.registry_flag.as_deref(), config, &self.cwd);
        if let Some(r) = self.registries.lock().expect("lock").get(&source) {
            return Ok(r.clone());
        }
        let loaded = load_registry(&source)?;
        self.warnings.lock().expect("lock").extend(loaded.warnings);
        self.registries
            .lock()
            .expect("lock")
            .insert(source, loaded.registry.clone());
        Ok(loaded.registry)
    }
}

fn display_path(path: &Path, cwd: &Path) -> String {
    let shown = path.strip_prefix(cwd).unwrap_or(path);
    let s = shown.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Runs `check` and returns the process exit code. Results go to stdout, problems with the run to stderr.
pub fn run_check(args: &CheckArgs) -> u8 {
    let stdout = std::io::stdout();
    let mut err = std::io::stderr();
    match check_inner(args) {
        Ok((reports, warnings)) => {
            for w in &warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            let color = args.color.enabled(stdout.is_terminal());
            let result = match args.format {
                Format::Human => {
                    let mut out = StandardStream::stdout(if color {
                        ColorChoice::Always
                    } else {
                        ColorChoice::Never
                    });
                    render::human(&mut out, &reports).and_then(|_| {
                        let errors: usize = reports
                            .iter()
                            .flat_map(|r| &r.diagnostics)
                            .filter(|d| d.severity == Severity::Error)
                            .count();
                        let total: usize = reports.iter().map(|r| r.diagnostics.len()).sum();
                        let files_with =
                            reports.iter().filter(|r| !r.diagnostics.is_empty()).count();
                        writeln!(
                            out,
                            "Checked {} file{}: {} error{}, {} warning{} in {} file{}.",
                            reports.len(),
                            plural(reports.len()),
                            errors,
                            plural(errors),
                            total - errors,
                            plural(total - errors),
                            files_with,
                            plural(files_with),
                        )
                    })
                }
                Format::Json => render::json(&mut stdout.lock(), &reports),
            };
            if let Err(e) = result {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    let _ = writeln!(err, "error: cannot write the report: {e}");
                    return exit::USAGE;
                }
            }
            let has_errors = reports
                .iter()
                .any(|r| r.diagnostics.iter().any(|d| d.severity == Severity::Error));
            if has_errors { exit::FINDINGS } else { exit::OK }
        }
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            exit::USAGE
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn check_inner(args: &CheckArgs) -> Result<(Vec<FileReport>, Vec<String>), String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let explicit = match &args.config {
        Some(path) => Some(load_config(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let workspaces = Workspaces {
        explicit,
        registry_flag: args.registry.clone(),
        cwd: cwd.clone(),
        configs: Mutex::default(),
        registries: Mutex::default(),
        warnings: Mutex::default(),
    };
    if let Some(c) = &workspaces.explicit {
        workspaces
            .warnings
            .lock()
            .expect("lock")
            .extend(c.warnings.iter().cloned());
    }
    // Discovery follows the configuration of the current directory (or --config).
    let discovery_config = workspaces.config_for(&cwd).map_err(|e| e.to_string())?;
    let matcher = PipelineMatcher::new(&discovery_config).map_err(|e| e.to_string())?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = odp_workspace::discover(&paths, &cwd, &matcher).map_err(|e| e.to_string())?;
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no pipeline files found in {} (pipelines are *.odp.yaml, *.odp.yml, files matched by `include` in odp.toml, or YAML files with a `# odp: pipeline` comment)",
            shown.join(", ")
        ));
    }
    tracing::debug!(files = files.len(), "checking");
    let results: Vec<Result<FileReport, String>> = files
        .par_iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: {e}", display_path(path, &cwd)))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let config = workspaces.config_for(dir).map_err(|e| e.to_string())?;
            let registry = workspaces
                .registry_for(&config)
                .map_err(|e| e.to_string())?;
            let analysis = analyze(&text, &Environment::new(&registry));
            Ok(FileReport {
                path: display_path(path, &cwd),
                text,
                diagnostics: analysis.diagnostics,
            })
        })
        .collect();
    let mut reports = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(report) => reports.push(report),
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        failures.dedup();
        return Err(failures.join("\nerror: "));
    }
    let warnings = workspaces.warnings.into_inner().expect("lock");
    Ok((reports, warnings))
}
