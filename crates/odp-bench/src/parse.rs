//! `odp-bench parse`: the parser on a 1 MB pipeline and on inputs a careless parser would read in quadratic time
//! (rescanning a long line or a run of blank lines per element). Each input is about 1 MB; their times should be
//! of the order of the pipeline's. (The parser's linear work is also checked by work-count tests in odp-syntax;
//! this prints wall times, which only a benchmark may.)

use std::time::{Duration, Instant};

/// A pipeline of about 1 MB: `steps` steps, each with a flow-mapping and a block-mapping parameter line.
fn big_pipeline(steps: usize) -> String {
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

pub fn run(runs: usize) {
    let text = big_pipeline(3_700);
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let parse = std::hint::black_box(odp_syntax::parse(std::hint::black_box(&text)));
        best = best.min(start.elapsed());
        assert!(parse.errors.is_empty(), "{:?}", parse.errors.first());
    }
    println!(
        "pipeline: {} bytes ({} lines) in {best:?} (best of {runs})",
        text.len(),
        text.lines().count()
    );
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
        let parse = std::hint::black_box(odp_syntax::parse(text));
        let elapsed = start.elapsed();
        println!(
            "{name}: {} bytes, {} errors, {elapsed:?}",
            text.len(),
            parse.errors.len()
        );
    }
}
