//! `odp draft`: the command-line front end. The draft goes to stdout (or `-o FILE`); progress and the findings
//! left go to stderr. Exit 0 for a draft without errors, 1 for a draft with errors, 2 for usage, configuration
//! or model-server errors, 130 when interrupted.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use codespan_reporting::term::termcolor::Buffer;
use odp_cli::exit;
use odp_cli::render::{self, FileReport};

use crate::eval::{parse_eval, retrieval_recall, run_eval};
use crate::{DraftSettings, Drafter, Progress, load_workspace};

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

/// Where `odp draft` reads and writes: the real process, or a test's buffers.
pub struct Io<'a> {
    /// Environment lookup (model settings).
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// The directory whose `odp.toml` applies; relative `-o` paths are relative to it.
    pub cwd: PathBuf,
    pub stdout: &'a mut (dyn Write + Send),
    pub stderr: &'a Mutex<Box<dyn Write + Send>>,
    /// stderr is a terminal: live progress and colours (with `--color auto`).
    pub terminal: bool,
    /// Stop on Ctrl-C (the real process only).
    pub ctrl_c: bool,
}

/// Runs `odp draft` in this process; returns the exit code.
pub fn main(args: DraftArgs) -> u8 {
    let env = |name: &str| std::env::var(name).ok();
    let stderr: Mutex<Box<dyn Write + Send>> = Mutex::new(Box::new(std::io::stderr()));
    let mut stdout = std::io::stdout();
    run(
        args,
        Io {
            env: &env,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            stdout: &mut stdout,
            stderr: &stderr,
            terminal: std::io::stderr().is_terminal(),
            ctrl_c: true,
        },
    )
}

/// Runs `odp draft` with the given environment and streams; returns the exit code.
pub fn run(args: DraftArgs, io: Io<'_>) -> u8 {
    let err = |text: &str| {
        let mut e = io.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let _ = e.write_all(text.as_bytes());
        let _ = e.flush();
    };
    let errln = |text: &str| err(&format!("{text}\n"));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            errln(&format!("error: cannot start the async runtime: {e}"));
            return exit::USAGE;
        }
    };
    let workspace = match load_workspace(&io.cwd, args.registry.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            errln(&format!("error: {e}"));
            return exit::USAGE;
        }
    };
    // The configuration's warnings and the registry's.
    for w in &workspace.warnings {
        errln(&format!("warning: {w}"));
    }
    let (config, registry) = (&*workspace.config, workspace.registry.clone());
    if let Some(path) = &args.eval
        && args.retrieval_only
    {
        return retrieval_report(
            &io.cwd.join(path),
            &registry,
            args.methods,
            io.stdout,
            &errln,
        );
    }
    let section = &config.config.draft;
    let mut settings = match DraftSettings::resolve(io.env, section) {
        Ok(s) => s,
        Err(e) => {
            errln(&format!("error: {e}"));
            return exit::USAGE;
        }
    };
    // The flags win over the environment and odp.toml.
    if args.no_structured_output {
        settings.structured_output = false;
    }
    if let Some(r) = args.rounds {
        settings.max_rounds = r as usize;
    }
    if let Some(k) = args.methods {
        settings.methods = k as usize;
    }
    let drafter = match Drafter::from_settings(settings, registry.clone()) {
        Ok(d) => d,
        Err(e) => {
            errln(&format!("error: {e}"));
            return exit::USAGE;
        }
    };
    errln(&format!("odp draft: asking {}", drafter.describe()));
    let interrupt = async {
        if io.ctrl_c {
            let _ = tokio::signal::ctrl_c().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    if let Some(path) = &args.eval {
        return eval_report(
            &runtime,
            &drafter,
            &io.cwd.join(path),
            io.stdout,
            &errln,
            interrupt,
        );
    }
    let request = args.request.clone().unwrap_or_default();
    let terminal = io.terminal;
    let receiving_shown = Mutex::new(false);
    let progress = |p: Progress| {
        let mut shown = receiving_shown.lock().unwrap_or_else(|e| e.into_inner());
        match &p {
            Progress::Receiving { .. } if !terminal => return,
            Progress::Receiving { .. } => {
                err(&format!("\r\x1b[2K  {p}"));
                *shown = true;
                return;
            }
            _ => {}
        }
        if *shown {
            err("\n");
            *shown = false;
        }
        errln(&format!("  {p}"));
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = drafter.draft(&request, &progress) => Some(r),
            () = interrupt => None,
        }
    });
    if *receiving_shown.lock().unwrap_or_else(|e| e.into_inner()) {
        err("\n");
    }
    let outcome = match result {
        None => {
            errln("interrupted");
            return INTERRUPTED;
        }
        Some(Err(e)) => {
            errln(&format!("error: {e}"));
            return exit::USAGE;
        }
        Some(Ok(o)) => o,
    };
    let shown_path = match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(io.cwd.join(path), &outcome.yaml) {
                errln(&format!("error: cannot write {}: {e}", path.display()));
                return exit::USAGE;
            }
            path.display().to_string()
        }
        None => {
            let _ = io.stdout.write_all(outcome.yaml.as_bytes());
            let _ = io.stdout.flush();
            "<draft>".to_string()
        }
    };
    if let Some(why) = &outcome.interrupted {
        errln(&format!(
            "warning: stopped repairing after round {}: {why}",
            outcome.rounds
        ));
    }
    if !outcome.diagnostics.is_empty() {
        let mut buffer = if args.color.enabled(terminal) {
            Buffer::ansi()
        } else {
            Buffer::no_color()
        };
        let _ = render::human(
            &mut buffer,
            &[FileReport {
                path: shown_path.clone(),
                text: outcome.yaml.clone(),
                diagnostics: outcome.diagnostics.clone(),
            }],
        );
        err(&String::from_utf8_lossy(buffer.as_slice()));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    errln(&format!(
        "draft{}: {} error{}, {} warning{} after {} round{}; methods: {}",
        if args.output.is_some() {
            format!(" written to {shown_path}")
        } else {
            String::new()
        },
        outcome.errors(),
        plural(outcome.errors()),
        outcome.warnings(),
        plural(outcome.warnings()),
        outcome.rounds,
        plural(outcome.rounds),
        if outcome.methods_used.is_empty() {
            "none".to_string()
        } else {
            outcome.methods_used.join(", ")
        }
    ));
    if outcome.is_valid() {
        exit::OK
    } else {
        exit::FINDINGS
    }
}

fn read_cases(path: &std::path::Path) -> Result<Vec<crate::eval::EvalCase>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_eval(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn retrieval_report(
    path: &std::path::Path,
    registry: &odp_analysis::Registry,
    methods: Option<u32>,
    out: &mut (dyn Write + Send),
    errln: &dyn Fn(&str),
) -> u8 {
    let cases = match read_cases(path) {
        Ok(c) => c,
        Err(e) => {
            errln(&format!("error: {e}"));
            return exit::USAGE;
        }
    };
    let chosen = methods.map_or(crate::config::DEFAULT_METHODS, |k| k as usize);
    let mut text = format!(
        "retrieval recall on {} request{} ({}):\n",
        cases.len(),
        if cases.len() == 1 { "" } else { "s" },
        path.display()
    );
    let mut ks = vec![3, 4, 5, 6, 8, 10];
    if !ks.contains(&chosen) {
        ks.push(chosen);
        ks.sort_unstable();
    }
    for k in ks {
        let r = retrieval_recall(registry, &cases, k);
        text.push_str(&format!(
            "  recall@{k:<2} {:.3}  ({} of {} request{} with every method offered){}\n",
            r.recall,
            r.complete,
            r.cases,
            if r.cases == 1 { "" } else { "s" },
            if k == chosen { "  <- offered" } else { "" }
        ));
    }
    let r = retrieval_recall(registry, &cases, chosen);
    for (request, missed) in &r.misses {
        text.push_str(&format!(
            "  missed at k={chosen}: {} — {request}\n",
            missed.join(", ")
        ));
    }
    let _ = out.write_all(text.as_bytes());
    exit::OK
}

fn eval_report(
    runtime: &tokio::runtime::Runtime,
    drafter: &Drafter,
    path: &std::path::Path,
    out: &mut (dyn Write + Send),
    errln: &(dyn Fn(&str) + Sync),
    interrupt: impl std::future::Future<Output = ()>,
) -> u8 {
    let cases = match read_cases(path) {
        Ok(c) => c,
        Err(e) => {
            errln(&format!("error: {e}"));
            return exit::USAGE;
        }
    };
    let progress = |i: usize, p: Progress| {
        if matches!(p, Progress::Asking { round: 1, .. }) {
            errln(&format!("[{}/{}] {}", i + 1, cases.len(), cases[i].request));
        } else if matches!(
            p,
            Progress::Checked { .. }
                | Progress::FallbackToText { .. }
                | Progress::Unreadable { .. }
        ) {
            errln(&format!("  {p}"));
        }
    };
    let report = runtime.block_on(async {
        tokio::select! {
            r = run_eval(drafter, &cases, &progress) => Some(r),
            () = interrupt => None,
        }
    });
    match report {
        None => {
            errln("interrupted");
            INTERRUPTED
        }
        Some(report) => {
            let _ = out.write_all(report.render().as_bytes());
            exit::OK
        }
    }
}
