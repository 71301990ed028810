//! `odp graph`: a pipeline as a picture — Mermaid, DOT or SVG ([`odp_graph`]) on stdout or in a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use odp_analysis::{Environment, escape_control};
use odp_cli::exit;
use odp_graph::{Format, Graph};
use odp_workspace::{WorkspaceError, load_workspace};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart (GitHub and GitLab draw it in Markdown).
    Mermaid,
    /// Graphviz's DOT.
    Dot,
    /// A picture laid out by odp itself (no Graphviz needed).
    Svg,
}

impl GraphFormat {
    fn format(self) -> Format {
        match self {
            GraphFormat::Mermaid => Format::Mermaid,
            GraphFormat::Dot => Format::Dot,
            GraphFormat::Svg => Format::Svg,
        }
    }

    /// The format a file name asks for: `.svg`, `.dot`/`.gv`, `.mmd`/`.mermaid`.
    fn of_path(path: &Path) -> Option<GraphFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(GraphFormat::Svg),
            "dot" | "gv" => Some(GraphFormat::Dot),
            "mmd" | "mermaid" => Some(GraphFormat::Mermaid),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct GraphArgs {
    /// The pipeline file.
    pub file: PathBuf,
    /// The output format [default: from the `-o` file's extension (.svg, .dot, .mmd), else mermaid].
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
    /// Write the picture here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The method registry: a YAML file or an http(s) URL [default: from odp.toml, else the bundled one].
    #[arg(long, value_name = "PATH|URL", env = "ODP_REGISTRY")]
    pub registry: Option<String>,
}

/// Why `odp graph` drew nothing.
#[derive(Debug, thiserror::Error)]
enum GraphError {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("cannot find the directory of {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Runs `odp graph`: 0 when the picture is written, 1 when it is written but the pipeline has errors (the failed
/// steps are marked in it), 2 on usage, configuration or IO errors.
pub fn graph(args: GraphArgs) -> u8 {
    match draw(&args) {
        Ok(errors) if errors > 0 => {
            eprintln!(
                "{}: {errors} error{} (marked in the picture; `odp check {}` shows them)",
                escape_control(&args.file.display().to_string()),
                if errors == 1 { "" } else { "s" },
                escape_control(&args.file.display().to_string()),
            );
            exit::FINDINGS
        }
        Ok(_) => exit::OK,
        Err(e) => {
            eprintln!("error: {}", escape_control(&e.to_string()));
            exit::USAGE
        }
    }
}

/// Draws the picture and returns how many errors the pipeline has.
fn draw(args: &GraphArgs) -> Result<usize, GraphError> {
    let text = odp_workspace::read_pipeline(&args.file, &args.file)?;
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::path::absolute(dir).map_err(|source| GraphError::Directory {
        path: args.file.clone(),
        source,
    })?;
    let workspace = load_workspace(&dir, args.registry.as_deref())?;
    for w in &workspace.warnings {
        eprintln!("warning: {}", escape_control(w));
    }
    let analysis = odp_analysis::analyze(&text, &Environment::new(&workspace.registry));
    let graph = Graph::from_analysis(&text, &analysis);
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(GraphFormat::of_path))
        .unwrap_or(GraphFormat::Mermaid);
    let picture = odp_graph::render(&graph, format.format());
    match &args.output {
        Some(path) => std::fs::write(path, picture).map_err(|source| GraphError::Write {
            path: path.clone(),
            source,
        })?,
        None => {
            // A closed pipe (`odp graph x | head`) is not an error of ours.
            let _ = std::io::stdout().lock().write_all(picture.as_bytes());
        }
    }
    Ok(analysis.error_count())
}
