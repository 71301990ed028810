//! Benchmarks of the analysis core (not run in CI). Results and commands are in BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release -p odp-bench -- big [--bytes 1010000] [--runs 30] [--write FILE]
//! cargo run --release -p odp-bench -- file PATH [--runs 30] [--incremental-only]
//! cargo run --release -p odp-bench -- fmt PATH [--runs 30] [--prettier PATH-TO-PRETTIER]
//! cargo run --release -p odp-bench -- exec [--steps 2000] [--runs 5]
//! cargo run --release -p odp-bench -- parse [--runs 20]
//! cargo run --release -p odp-bench -- temporal [--runs 7] [--explain]
//! ```
//!
//! `big` generates a valid pipeline of about `--lines` lines (sources with flow and block params, transforms with
//! whole-value and interpolated templates) and measures a cold full check: parse, model, registry and schema
//! validation, templates and types. Each run analyses the text from scratch; the registry is loaded once, as a
//! front end does.
//!
//! Both also measure what the language server does per keystroke: the step key `timeout` nearest the middle
//! toggles with a typo, each version analysed with `analyze_incremental` and the document's cache (re-parse of the
//! edited step, reuse of every other step's body). `--incremental-only` measures only that; `ODP_BENCH_GAP_MS=100`
//! pauses between edits as an editor's keystrokes do (memory goes cold in between); `--no-default-features` builds
//! with the system allocator, as the language server is.
//!
//! `fmt` measures the formatter on a file next to prettier's YAML formatting of it (see `fmt.rs`).
//!
//! `exec` measures the executor against the stub server in the same process: the engine's overhead per step over a
//! bare reqwest call, and the throughput of a 1,000-source pipeline (see `exec.rs`).
//!
//! `temporal` (cargo feature `temporal`, on by default) runs a 1-source, a 100-source and a 20-transform pipeline
//! on the Temporal engine, the local engine and a bare Temporal workflow, against one dev server (see
//! `temporal.rs`).

mod exec;
mod fmt;
/// The Temporal test harness (dev server, stubs, an odp worker, both engines): the benchmark runs on the same
/// cluster as the tests.
#[cfg(feature = "temporal")]
#[allow(dead_code)]
#[path = "../../odp/tests/temporal/harness.rs"]
mod harness;
mod parse;
#[cfg(feature = "temporal")]
mod temporal;

// mimalloc: checking allocates many small strings and maps; it is markedly faster than the system allocator here
// (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use odp_analysis::{CheckCache, Environment, Registry, analyze, analyze_incremental};

const SOURCES: &[(&str, &str)] = &[
    ("social.twitter.search", "results"),
    ("social.reddit.search", "results"),
    ("social.mastodon.search", "results"),
    ("news.newsapi.search", "results"),
];

/// A pipeline of about `bytes` bytes (about 50 bytes a line, like the peers' benchmark file).
fn generate_bytes(bytes: usize) -> String {
    let probe = generate(1_000);
    let steps = 1_000 * bytes / probe.len();
    generate(steps)
}

/// A pipeline of `steps` steps, half sources, half transforms.
fn generate(steps: usize) -> String {
    let mut out = String::with_capacity(steps * 300);
    out.push_str("# A generated pipeline for benchmarks.\nname: generated benchmark pipeline\n");
    out.push_str("description: Many sources and transforms, every kind of template.\n");
    out.push_str("inputs:\n  query:\n    type: string\n    default: artificial intelligence\n");
    out.push_str("  limit:\n    type: integer\n    default: 50\n");
    let sources = steps / 2;
    out.push_str("sources:\n");
    for i in 0..sources {
        let (method, _) = SOURCES[i % SOURCES.len()];
        out.push_str(&format!(
            "  - name: source_{i}\n    description: Source number {i}, fetched in parallel with every other source of this generated pipeline; its posts feed the sentiment and summary transforms below.\n    method: {method}\n    params:\n      query: \"{{{{inputs.query}}}} #{i}\"\n      limit: \"{{{{inputs.limit}}}}\"\n    timeout: 30s\n    retry: {{max_attempts: 4, initial_interval: 500ms}}\n\n"
        ));
    }
    out.push_str("transforms:\n");
    for i in 0..steps - sources {
        let src = i % sources;
        if i % 2 == 0 {
            out.push_str(&format!(
                "  - name: sentiment_{i}\n    description: Sentiment of every post that source {src} returned, scored by the model service in batches of texts.\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{{{source_{src}.results[*].text}}}}\"\n      language: en\n    timeout: 2m\n\n\n"
            ));
        } else {
            out.push_str(&format!(
                "  - name: summary_{i}\n    description: A short summary in bullets of what the posts of source {src} say about the query.\n    method: nlp.summary.generate\n    params:\n      texts: \"{{{{source_{src}.results[*].text}}}}\"\n      focus: \"What is said about {{{{inputs.query}}}} in {{{{source_{src}.count}}}} posts\"\n      max_words: 120\n      style: bullets   # a comment\n    timeout: 1m\n\n"
            ));
        }
    }
    out
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = samples[samples.len() / 2];
    format!(
        "min {:.2} ms, median {:.2} ms, max {:.2} ms over {} runs",
        ms(samples[0]),
        ms(median),
        ms(*samples.last().expect("runs")),
        samples.len()
    )
}

fn measure(text: &str, runs: usize, incremental_only: bool) {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    if incremental_only {
        return measure_edits(text, runs, &env);
    }
    // Correctness first: a benchmark of a file with errors measures the wrong thing.
    let analysis = analyze(text, &env);
    eprintln!(
        "{} bytes, {} lines, {} steps, {} diagnostics",
        text.len(),
        text.lines().count(),
        analysis.pipeline.steps.len(),
        analysis.diagnostics.len()
    );
    for d in analysis.diagnostics.iter().take(3) {
        eprintln!("  {} {}", d.code, d.message);
    }
    let mut parse_only = Vec::with_capacity(runs);
    let mut full = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let parse = odp_syntax::parse(text);
        parse_only.push(t.elapsed());
        std::hint::black_box(parse);
        let t = Instant::now();
        let analysis = analyze(text, &env);
        full.push(t.elapsed());
        std::hint::black_box(analysis);
    }
    println!("parse only:  {}", stats(parse_only));
    println!("full check:  {}", stats(full));
    measure_edits(text, runs, &env);
}

/// What the language server does per edit: the step key `timeout` nearest the middle toggles with `timeot` (an
/// ODP200 and back), analysed with `analyze_incremental` and the document's cache, which reuses every step body
/// the edit did not touch.
fn measure_edits(text: &str, runs: usize, env: &Environment<'_>) {
    let gap_ms: u64 = std::env::var("ODP_BENCH_GAP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let Some(at) = text
        .match_indices("    timeout:")
        .map(|(i, _)| i + 4)
        .min_by_key(|&i| i.abs_diff(text.len() / 2))
    else {
        println!("incremental: no `timeout:` key to edit");
        return;
    };
    let typo = format!("{}timeot{}", &text[..at], &text[at + "timeout".len()..]);
    let mut cache = CheckCache::default();
    let t = Instant::now();
    let baseline = analyze_incremental(text, env, &mut cache).diagnostics.len();
    println!(
        "first incremental analysis (fills the cache): {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut samples = Vec::with_capacity(runs);
    let mut reused = 0;
    for run in 0..runs {
        let (version, expected) = if run % 2 == 0 {
            (&typo, baseline + 1)
        } else {
            (&text.to_string(), baseline)
        };
        let t = Instant::now();
        let analysis = analyze_incremental(version, env, &mut cache);
        samples.push(t.elapsed());
        assert_eq!(analysis.diagnostics.len(), expected, "edit {run}");
        reused += cache.last_hits();
        assert!(
            cache.last_reparsed(),
            "edit {run} was not re-parsed incrementally"
        );
        drop(analysis); // outside the timing, as the server drops the old analysis after publishing
        if gap_ms > 0 {
            // An editor's keystrokes come about this far apart; caches go cold in between.
            std::thread::sleep(Duration::from_millis(gap_ms));
        }
    }
    println!(
        "incremental (one step edited; {:.0} of {} step bodies reused on average): {}",
        reused as f64 / runs as f64,
        cache.len().max(1),
        stats(samples)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("exec") => exec::run(flag("--steps", 2_000).max(2), flag("--runs", 5).max(1)),
        Some("parse") => parse::run(flag("--runs", 20).max(1)),
        #[cfg(feature = "temporal")]
        Some("temporal") => temporal::run(
            flag("--runs", 7).max(1),
            args.iter().any(|a| a == "--explain"),
        ),
        Some("big") => {
            let runs = flag("--runs", 30);
            let text = generate_bytes(flag("--bytes", 1_010_000));
            if let Some(path) = args
                .iter()
                .position(|a| a == "--write")
                .and_then(|i| args.get(i + 1))
            {
                std::fs::write(path, &text).expect("write the generated pipeline");
            }
            measure(&text, runs, args.iter().any(|a| a == "--incremental-only"));
        }
        Some("fmt") => {
            let path = args.get(1).expect("a path");
            let prettier = args
                .iter()
                .position(|a| a == "--prettier")
                .and_then(|i| args.get(i + 1));
            fmt::run(
                path,
                flag("--runs", 30).max(1),
                prettier.map(String::as_str),
            );
        }
        Some("file") => {
            let path = args.get(1).expect("a path");
            let text = std::fs::read_to_string(path).expect("read the file");
            measure(
                &text,
                flag("--runs", 30),
                args.iter().any(|a| a == "--incremental-only"),
            );
        }
        _ => {
            eprintln!(
                "usage: odp-bench big [--bytes N] [--runs N] [--write FILE] | odp-bench file PATH [--runs N] | odp-bench fmt PATH [--runs N] [--prettier CMD] | odp-bench exec [--steps N] [--runs N] | odp-bench parse [--runs N] | odp-bench temporal [--runs N]"
            );
            std::process::exit(2);
        }
    }
}
