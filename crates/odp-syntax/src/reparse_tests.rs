//! `reparse` must give exactly what `parse` gives for the new text, whatever the edit, and must actually work
//! incrementally for edits inside a step.

use crate::random_edits::{Rng, edit, examples};
use crate::{parse, reparse};

/// Random edits per file: 400, or `ODP_REPARSE_ROUNDS` for a longer local run.
fn rounds() -> usize {
    std::env::var("ODP_REPARSE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Many steps, with block and flow params, comments, block scalars and a compact list, in both sections.
fn many_steps() -> String {
    let mut text = String::from("name: many\ninputs:\n  q: {type: string}\nsources:\n");
    for i in 0..30 {
        text.push_str(&format!(
            "  - name: s{i}\n    method: social.twitter.search\n    params:\n      query: \"{{{{inputs.q}}}}\"  # why\n      tags: [a, b]\n\n    # between steps\n"
        ));
    }
    text.push_str("transforms:\n");
    for i in 0..30 {
        text.push_str(&format!(
            "- name: t{i}\n  method: nlp.summary.generate\n  description: |\n    two\n    lines\n  params: {{texts: \"{{{{s{i}.results[*].text}}}}\"}}\n"
        ));
    }
    text
}

#[test]
fn reparse_equals_a_full_parse_after_random_edits() {
    let mut files = examples();
    files.push(("many steps".into(), many_steps()));
    files.push((
        "many steps, CRLF".into(),
        many_steps().replace('\n', "\r\n"),
    ));
    let (mut incremental, mut total) = (0, 0);
    for (seed, (path, original)) in files.into_iter().enumerate() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (seed as u64 + 7));
        let mut text = original.clone();
        let mut tree = parse(&text);
        for round in 0..rounds() {
            let next = if round % 40 == 39 {
                original.clone()
            } else {
                edit(&mut rng, &text)
            };
            let (reparsed, was_incremental) = reparse(tree, &text, &next);
            let fresh = parse(&next);
            assert_eq!(
                reparsed, fresh,
                "{path}, round {round} (incremental: {was_incremental})\n--- before:\n{text}\n--- after:\n{next}"
            );
            if path.starts_with("many") {
                incremental += usize::from(was_incremental);
                total += 1;
            }
            tree = reparsed;
            text = next;
        }
    }
    // Most random edits land inside a step of the larger files; many of them break the YAML, which a full
    // parse reports.
    assert!(
        incremental * 4 > total,
        "{incremental} of {total} edits re-parsed incrementally"
    );
}

#[test]
fn edits_inside_a_step_are_incremental_and_others_are_not() {
    let text = many_steps();
    let cases = [
        // (what, from, to, incremental)
        (
            "a param value",
            "query: \"{{inputs.q}}\"  # why\n      tags: [a, b]\n\n    # between steps\n  - name: s7",
            "query: \"{{inputs.qq}}\"  # why\n      tags: [a, b]\n\n    # between steps\n  - name: s7",
            true,
        ),
        (
            "a step key",
            "  - name: s3\n    method",
            "  - name: s3\n    methd",
            true,
        ),
        (
            "a comment between steps",
            "# between steps\n  - name: s9",
            "# between the steps\n  - name: s9",
            true,
        ),
        (
            "a line added to a step",
            "  - name: s4\n",
            "  - name: s4\n    timeout: 30s\n",
            true,
        ),
        (
            "a block scalar",
            "    two\n    lines\n  params: {texts: \"{{s5",
            "    two\n    more lines\n  params: {texts: \"{{s5",
            true,
        ),
        (
            "a new step typed in a step",
            "  - name: s12\n",
            "  - name: s12\n  - name: new\n",
            false,
        ),
        ("a top-level key", "name: many", "name: many steps", false),
        // A syntax error that ends inside the step is re-parsed with it.
        (
            "an unclosed flow list",
            "tags: [a, b]\n\n    # between steps\n  - name: s2\n",
            "tags: [a, b\n\n    # between steps\n  - name: s2\n",
            true,
        ),
        (
            "an unquoted template",
            "  - name: s11\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.q}}\"",
            "  - name: s11\n    method: social.twitter.search\n    params:\n      query: {{inputs.q}}",
            true,
        ),
        ("the dash of a step", "  - name: s6", "  -name: s6", false),
    ];
    for (what, from, to, expected) in cases {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{what}: the fixture must match once"
        );
        let next = text.replacen(from, to, 1);
        let (reparsed, incremental) = reparse(parse(&text), &text, &next);
        assert_eq!(reparsed, parse(&next), "{what}");
        assert_eq!(incremental, expected, "{what}");
    }
}

#[test]
fn an_unchanged_text_keeps_its_tree() {
    let text = many_steps();
    let (reparsed, incremental) = reparse(parse(&text), &text, &text);
    assert!(incremental);
    assert_eq!(reparsed, parse(&text));
}

#[test]
fn diff_finds_the_longest_common_prefix_and_suffix() {
    use crate::{Change, diff};
    // Around the 256-byte blocks the comparison starts with, and at both ends.
    let base: String = (0..1000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for at in [0, 1, 255, 256, 257, 511, 512, 700, 999, 1000] {
        for removed in [0, 1, 300] {
            let end = (at + removed).min(base.len());
            let new = format!("{}XY{}", &base[..at], &base[end..]);
            let change = diff(&base, &new).expect("different");
            let naive_prefix = base
                .bytes()
                .zip(new.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let most = base.len().min(new.len()) - naive_prefix;
            let naive_suffix = base
                .bytes()
                .rev()
                .zip(new.bytes().rev())
                .take(most)
                .take_while(|(a, b)| a == b)
                .count();
            assert_eq!(
                change,
                Change {
                    start: naive_prefix,
                    old_end: base.len() - naive_suffix,
                    new_end: new.len() - naive_suffix,
                },
                "at {at}, removed {removed}"
            );
            assert_eq!(
                format!(
                    "{}{}{}",
                    &base[..change.start],
                    &new[change.start..change.new_end],
                    &base[change.old_end..]
                ),
                new
            );
        }
    }
    assert_eq!(diff(&base, &base), None);
}
