//! `odp-bench fmt PATH [--runs N] [--prettier CMD]`: `odp_fmt::format` on a file (its whole work: the template
//! quoting, blank lines, pretty_yaml's layout and the guard's two parses), and, in the same run, prettier's YAML
//! formatting of the same file (the formatter yaml-language-server users have) through its command line: the time
//! of `CMD --parser yaml < PATH`, and of `CMD --version` (Node's start-up, which the first includes).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn run(path: &str, runs: usize, prettier: Option<&str>) {
    let text = std::fs::read_to_string(path).expect("read the file");
    let options = odp_fmt::FormatOptions::default();
    let formatted = odp_fmt::format(&text, &options).expect("the file formats");
    assert_eq!(
        odp_fmt::format(&formatted, &options).as_ref(),
        Ok(&formatted),
        "formatting twice changes the file"
    );
    println!(
        "{path}: {} lines, {} bytes; formatting makes {} edits",
        text.lines().count(),
        text.len(),
        odp_fmt::minimal_edits(&text, &formatted).len()
    );
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let out = std::hint::black_box(odp_fmt::format(std::hint::black_box(&text), &options));
        samples.push(start.elapsed());
        drop(out);
    }
    println!("odp fmt (in process): {}", super::stats(samples));
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let out = std::hint::black_box(odp_fmt::format(std::hint::black_box(&formatted), &options));
        samples.push(start.elapsed());
        drop(out);
    }
    println!("odp fmt of the formatted file: {}", super::stats(samples));
    let Some(prettier) = prettier else {
        println!("prettier: not measured (pass --prettier PATH-TO-PRETTIER)");
        return;
    };
    let runs = runs.clamp(1, 5);
    let mut version = Vec::with_capacity(runs);
    let mut format = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let status = Command::new(prettier)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .expect("prettier runs");
        assert!(status.success());
        version.push(start.elapsed());
        format.push(prettier_yaml(prettier, &text));
    }
    println!(
        "prettier --parser yaml (command line): {}",
        super::stats(format)
    );
    println!(
        "prettier --version (Node start-up): {}",
        super::stats(version)
    );
}

fn prettier_yaml(prettier: &str, text: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(prettier)
        .args(["--parser", "yaml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("prettier runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("prettier ends");
    let elapsed = start.elapsed();
    writer.join().expect("writer").expect("write to prettier");
    assert!(output.status.success(), "prettier failed");
    elapsed
}
