//! Parse time of a large pipeline. Run with `cargo test -p odp-syntax --release -- --ignored --nocapture`; it
//! prints the time and asserts nothing about it (machines differ), only that the tree is complete.

use std::time::{Duration, Instant};

use crate::parse;

/// A pipeline of about 1 MB: `steps` steps, each with a flow-mapping and a block-mapping parameter line.
pub(super) fn big_pipeline(steps: usize) -> String {
    let mut text = String::from(
        "# odp: pipeline\nname: big\ninputs:\n  q: {type: string, default: rust}\ntransforms:\n",
    );
    for i in 0..steps {
        text.push_str(&format!(
            "  - name: step_{i}\n    method: nlp.sentiment.analyze\n    params: {{query: \"{{{{inputs.q}}}}\", limit: {i}, langs: [en, fr]}}\n    options:\n      texts: '{{{{step_{}.results[*].text}}}}'  # from the step before\n      model: distil-multilingual-sentiment-v2\n      batch_size: 32\n",
            i.saturating_sub(1)
        ));
    }
    text
}

#[test]
#[ignore = "timing; run in release"]
fn parses_a_megabyte_quickly() {
    let text = big_pipeline(3_700);
    let mut best = Duration::MAX;
    for _ in 0..20 {
        let start = Instant::now();
        let parse = std::hint::black_box(parse(std::hint::black_box(&text)));
        best = best.min(start.elapsed());
        assert!(parse.errors.is_empty());
        let steps = parse
            .root
            .as_ref()
            .unwrap()
            .get("transforms")
            .unwrap()
            .value
            .items()
            .unwrap()
            .len();
        assert_eq!(steps, 3_700);
    }
    println!(
        "parsed {} bytes ({} lines) in {best:?} (best of 20)",
        text.len(),
        text.lines().count()
    );
}

/// Inputs that a careless helper would parse in quadratic time (rescanning a long line or a run of blank lines per
/// element). Each is about 1 MB; the times printed should be of the order of the pipeline's above.
#[test]
#[ignore = "timing; run in release"]
fn pathological_inputs_parse_in_linear_time() {
    let mb = 1 << 20;
    let cases = [
        (
            "one long flow line",
            format!("a: [{}]\n", "x, ".repeat(mb / 3)),
        ),
        (
            "unclosed templates in a flow",
            format!("a: [{}]\n", "{{a, ".repeat(mb / 5)),
        ),
        (
            "a long plain scalar in a flow",
            format!("a: [{}]\n", "x y z ".repeat(mb / 6)),
        ),
        (
            "blank lines in a quote",
            format!("a: \"x{}y\"\n", "\n".repeat(mb)),
        ),
        (
            "blank lines in an unclosed quote",
            format!("a: \"x{}  y\nb: 1\n", "\n".repeat(mb)),
        ),
        (
            "blank lines in a flow",
            format!("a: [x,{}y]\n", "\n".repeat(mb)),
        ),
        (
            "blank lines after a plain scalar",
            format!("a:\n  b:\n    c: x{}d: 1\n", "\n".repeat(mb)),
        ),
        ("many short lines", "- x\n".repeat(mb / 4)),
        ("many errors", "a: 1\n- x\n".repeat(mb / 10)),
        ("many comments", "# c\n".repeat(mb / 4)),
        ("a long key line", format!("{}: x\n", "k".repeat(mb))),
        ("a long comment", format!("a: x #{}\n", "c".repeat(mb))),
    ];
    for (name, text) in &cases {
        let start = Instant::now();
        let parse = std::hint::black_box(parse(text));
        let elapsed = start.elapsed();
        println!(
            "{name}: {} bytes, {} errors, {elapsed:?}",
            text.len(),
            parse.errors.len()
        );
    }
}
