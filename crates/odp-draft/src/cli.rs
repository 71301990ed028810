//! `odp draft`: the command-line front end. The draft goes to stdout (or `-o FILE`); progress and the findings
//! left go to stderr. Exit 0 for a draft without errors, 1 for a draft with errors, 2 for usage, configuration
//! or model-server errors, 130 when interrupted.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use odp_cli::exit;
use odp_cli::render::{self, FileReport};

use crate::eval::{parse_eval, retrieval_recall, run_eval};
use crate::{Drafter, LlmSettings, Progress, load_workspace};

/// Exit code when interrupted (Ctrl-C).
pub const INTERRUPTED: u8 = 130;

#[derive(clap::Args, Debug, Clone)]
pub struct DraftArgs {
    /// What the pipeline should do, in plain words.
    #[arg(required_unless_present = "eval", value_name = "REQUEST")]
    pub request: Option<String>,
    /// Write the draft to FILE instead of stdout (even when errors are left).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Most answers asked of the model: the first draft and its repairs [default: `rounds` in odp.toml, else 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub rounds: Option<u32>,
    /// How many registry methods are offered to the model [default: `methods` in odp.toml, else 8].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub methods: Option<u32>,
    /// The registry: a path or an http(s) URL [default: ODP_REGISTRY, `registry` in odp.toml, the bundled one].
    #[arg(long, value_name = "PATH")]
    pub registry: Option<String>,
    /// Ask for YAML text instead of JSON under a strict JSON Schema.
    #[arg(long)]
    pub no_structured_output: bool,
    /// Draft every request of an evaluation file (tests/drafts/eval.yaml) and report valid drafts, right
    /// methods and rounds used. Needs a configured model.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["request", "output"])]
    pub eval: Option<PathBuf>,
    /// With --eval: measure retrieval only (recall@k: are the right methods offered?), without a model.
    #[arg(long, requires = "eval")]
    pub retrieval_only: bool,
    /// Colour of the findings on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: odp_cli::ColorMode,
}

/// Runs `odp draft`; returns the exit code.
pub fn main(args: DraftArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (config, registry) = match load_workspace(&cwd, args.registry.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(path) = &args.eval
        && args.retrieval_only
    {
        return retrieval_report(path, &registry, args.methods);
    }
    let section = &config.config.draft;
    let mut settings = match LlmSettings::from_environment(section) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if args.no_structured_output {
        settings.structured_output = false;
    }
    let mut drafter = match Drafter::from_settings(&settings, registry.clone(), section) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Some(r) = args.rounds {
        drafter.config.max_rounds = r as usize;
    }
    if let Some(k) = args.methods {
        drafter.config.methods = k as usize;
    }
    eprintln!("odp draft: asking {}", drafter.describe());
    if let Some(path) = &args.eval {
        return eval_report(&runtime, &drafter, path);
    }
    let request = args.request.clone().unwrap_or_default();
    let terminal = std::io::stderr().is_terminal();
    let receiving_shown = Mutex::new(false);
    let progress = |p: Progress| {
        let mut shown = receiving_shown.lock().unwrap_or_else(|e| e.into_inner());
        match &p {
            Progress::Receiving { .. } if !terminal => return,
            Progress::Receiving { .. } => {
                eprint!("\r\x1b[2K  {p}");
                *shown = true;
                return;
            }
            _ => {}
        }
        if *shown {
            eprintln!();
            *shown = false;
        }
        eprintln!("  {p}");
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = drafter.draft(&request, &progress) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    if *receiving_shown.lock().unwrap_or_else(|e| e.into_inner()) {
        eprintln!();
    }
    let outcome = match result {
        None => {
            eprintln!("interrupted");
            return INTERRUPTED;
        }
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
        Some(Ok(o)) => o,
    };
    let shown_path = match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &outcome.yaml) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return exit::USAGE;
            }
            path.display().to_string()
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(outcome.yaml.as_bytes());
            let _ = out.flush();
            "<draft>".to_string()
        }
    };
    if let Some(why) = &outcome.interrupted {
        eprintln!("warning: stopped repairing after round {}: {why}", outcome.rounds);
    }
    if !outcome.diagnostics.is_empty() {
        let color = args.color.enabled(std::io::stderr().is_terminal());
        let mut err = StandardStream::stderr(if color {
            ColorChoice::Always
        } else {
            ColorChoice::Never
        });
        let _ = render::human(
            &mut err,
            &[FileReport {
                path: shown_path.clone(),
                text: outcome.yaml.clone(),
                diagnostics: outcome.diagnostics.clone(),
            }],
        );
    }
    eprintln!(
        "draft{}: {} error{}, {} warning{} after {} round{}; methods: {}",
        if args.output.is_some() {
            format!(" written to {shown_path}")
        } else {
            String::new()
        },
        outcome.errors(),
        if outcome.errors() == 1 { "" } else { "s" },
        outcome.warnings(),
        if outcome.warnings() == 1 { "" } else { "s" },
        outcome.rounds,
        if outcome.rounds == 1 { "" } else { "s" },
        if outcome.methods_used.is_empty() {
            "none".to_string()
        } else {
            outcome.methods_used.join(", ")
        }
    );
    if outcome.is_valid() {
        exit::OK
    } else {
        exit::FINDINGS
    }
}

fn read_cases(path: &std::path::Path) -> Result<Vec<crate::eval::EvalCase>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_eval(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn retrieval_report(
    path: &std::path::Path,
    registry: &odp_analysis::Registry,
    methods: Option<u32>,
) -> u8 {
    let cases = match read_cases(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let chosen = methods.map_or(crate::config::DEFAULT_METHODS, |k| k as usize);
    println!("retrieval recall on {} requests ({}):", cases.len(), path.display());
    for k in [3, 4, 5, 6, 8, 10] {
        let r = retrieval_recall(registry, &cases, k);
        println!(
            "  recall@{k:<2} {:.3}  ({} of {} requests with every method offered){}",
            r.recall,
            r.complete,
            r.cases,
            if k == chosen { "  <- offered by default" } else { "" }
        );
    }
    let r = retrieval_recall(registry, &cases, chosen);
    for (request, missed) in &r.misses {
        println!("  missed at k={chosen}: {} — {request}", missed.join(", "));
    }
    exit::OK
}

fn eval_report(runtime: &tokio::runtime::Runtime, drafter: &Drafter, path: &std::path::Path) -> u8 {
    let cases = match read_cases(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let progress = |i: usize, p: Progress| {
        if matches!(p, Progress::Asking { round: 1, .. }) {
            eprintln!("[{}/{}] {}", i + 1, cases.len(), cases[i].request);
        } else if matches!(p, Progress::Checked { .. } | Progress::FallbackToText { .. }) {
            eprintln!("  {p}");
        }
    };
    let report = runtime.block_on(async {
        tokio::select! {
            r = run_eval(drafter, &cases, &progress) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    match report {
        None => {
            eprintln!("interrupted");
            INTERRUPTED
        }
        Some(report) => {
            print!("{}", report.render());
            exit::OK
        }
    }
}
