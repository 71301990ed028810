//! Random mutations of valid pipelines: the parser must never panic or loop, and every range it reports must be a
//! well-formed slice of the text, nested the way the tree is.

use crate::{Node, NodeKind, Parse, ScalarStyle, TextRange, parse};

/// The one generator of random cases the crates share (every run sees the same cases).
pub(super) use crate::random_edits::Rng;

const SEEDS: &[&str] = &[
    r#"# odp: pipeline
name: demo
description: >
  Searches tweets and
  scores them.
inputs:
  q: {type: string, default: "rust lang"}
sources:
  - name: tweets
    method: social.twitter.search
    params: {query: "{{inputs.q}}", limit: 10, langs: [en, fr]}
transforms:
- name: sentiment
  method: nlp.sentiment
  params:
    texts: '{{tweets.results[*].text}}'
    model: "distil\u00e9"   # trailing comment
    options:
      - fast
      - {batch: 32}
outputs:
  - name: report
    template: |
      # Report
      {{sentiment.score}}
"#,
    "name: crlf\r\nsteps:\r\n  - name: a\r\n    method: x.y\r\n    params: [1, 2,\r\n      3]\r\n  - name: b\r\n    method: \"z\"\r\n",
    "\u{feff}---\n# caf\u{e9} \u{1f600}\nnom: caf\u{e9}\n\u{6f22}\u{5b57}: [\u{1f600}, 'it''s']\nlist:\n- a\n- b: c\n  d: |+\n    keep\n\n...\n",
    "steps:\n  - name: s1\n    method: m.a\n    params: {q: \"a \\\"b\\\"\", n: 1}\n    when: >-\n      folded\n      text\n  - name: s2\n    method: m.b\n    params:\n      items: [\n        x, # comment\n        {k: v}\n        ]\n      text: plain\n        continued\n",
];

const INSERTS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    "-",
    "- ",
    "\"",
    "'",
    "#",
    " #",
    "\n",
    " ",
    "  ",
    "\t",
    "{{",
    "}}",
    "|",
    ">",
    "&a ",
    "*a",
    "!t ",
    "é",
    "😀",
    "\r",
    "\r\n",
    "? ",
    "---",
    "...",
    "%YAML 1.2\n",
    ",",
    "\\",
    "\\u00",
    "|-\n",
    ">+2\n",
];

fn char_boundary_at(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(rng: &mut Rng, text: &mut String) {
    match rng.below(5) {
        0 => {
            let a = char_boundary_at(text, rng.below(text.len() + 1));
            let b = char_boundary_at(text, a + rng.below(12));
            text.replace_range(a..b, "");
        }
        1 | 2 => {
            let at = char_boundary_at(text, rng.below(text.len() + 1));
            let piece = INSERTS[rng.below(INSERTS.len())];
            text.insert_str(at, piece);
        }
        3 => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let i = rng.below(lines.len());
            let mut out = String::with_capacity(text.len() * 2);
            for (j, line) in lines.iter().enumerate() {
                out.push_str(line);
                if j == i {
                    if !line.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(line);
                }
            }
            *text = out;
        }
        _ => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let i = rng.below(lines.len());
            let delta = rng.below(7) as isize - 3;
            let mut out = String::with_capacity(text.len() + 8);
            for (j, line) in lines.iter().enumerate() {
                if j == i {
                    if delta >= 0 {
                        out.extend(std::iter::repeat_n(' ', delta as usize));
                        out.push_str(line);
                    } else {
                        let spaces = line.bytes().take_while(|b| *b == b' ').count();
                        out.push_str(&line[spaces.min(delta.unsigned_abs())..]);
                    }
                } else {
                    out.push_str(line);
                }
            }
            *text = out;
        }
    }
}

fn check_range(text: &str, range: TextRange, what: &str) {
    assert!(range.start <= range.end, "{what} {range:?} is reversed");
    assert!(
        range.end() <= text.len(),
        "{what} {range:?} is past the end ({})",
        text.len()
    );
    assert!(
        text.is_char_boundary(range.start()) && text.is_char_boundary(range.end()),
        "{what} {range:?} splits a character"
    );
    // A range never ends between the `\r` and `\n` of a line break.
    assert!(
        !(range.end() > range.start()
            && text[range.as_range()].ends_with('\r')
            && text[range.end()..].starts_with('\n')),
        "{what} {range:?} takes the `\\r` of a line break"
    );
}

fn check_node(text: &str, node: &Node, scalars: &mut Vec<TextRange>) {
    check_range(text, node.range, "node");
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for e in entries {
                check_range(text, e.key_range, "key");
                check_node(text, &e.value, scalars);
                // A flow collection taken for a key (an unsupported complex key) may hold comments.
                let key_text = &text[e.key_range.as_range()];
                if !key_text.starts_with(['[', '{']) || key_text.starts_with("{{") {
                    scalars.push(e.key_range);
                }
                assert!(
                    node.range.contains_range(e.key_range)
                        && node.range.contains_range(e.value.range),
                    "entry {:?} {:?} outside its mapping {:?}",
                    e.key_range,
                    e.value.range,
                    node.range
                );
                assert!(
                    e.key_range.end <= e.value.range.start,
                    "value {:?} before the end of its key {:?}",
                    e.value.range,
                    e.key_range
                );
            }
            for pair in entries.windows(2) {
                assert!(
                    pair[0].range().end <= pair[1].key_range.start,
                    "entries {:?} and {:?} overlap or are out of order",
                    pair[0].range(),
                    pair[1].range()
                );
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                check_node(text, item, scalars);
                assert!(
                    node.range.contains_range(item.range),
                    "item {:?} outside its list {:?}",
                    item.range,
                    node.range
                );
            }
            for pair in items.windows(2) {
                assert!(
                    pair[0].range.end <= pair[1].range.start,
                    "items {:?} and {:?} overlap or are out of order",
                    pair[0].range,
                    pair[1].range
                );
            }
        }
        // A block scalar's header line may end with a comment; its content lines hold none.
        NodeKind::Scalar(s) if matches!(s.style, ScalarStyle::Literal | ScalarStyle::Folded) => {
            let body = text[node.range.as_range()]
                .find('\n')
                .map_or(node.range.end(), |i| node.range.start() + i);
            scalars.push(TextRange::new(body, node.range.end()));
        }
        NodeKind::Scalar(_) => scalars.push(node.range),
        NodeKind::Error => {}
    }
}

pub(super) fn check_invariants(text: &str, parse: &Parse) {
    let mut scalars = Vec::new();
    if let Some(root) = &parse.root {
        check_node(text, root, &mut scalars);
        // The helpers built on ranges must cope with any tree.
        let _ = root.to_json();
        let _ = root.path_to(text.len() / 2);
    }
    for e in &parse.errors {
        check_range(text, e.range, "error");
    }
    let mut comments: Vec<TextRange> = parse.comments.iter().map(|c| c.range).collect();
    for c in &comments {
        check_range(text, *c, "comment");
        assert!(
            text[c.as_range()].starts_with('#'),
            "comment {c:?} does not start with `#`"
        );
        assert!(
            !text[c.as_range()].contains('\n'),
            "comment {c:?} spans lines"
        );
    }
    comments.sort();
    for pair in comments.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "comments {:?} and {:?} overlap",
            pair[0],
            pair[1]
        );
    }
    // A comment is never part of a scalar or key: each `#` is read as one or the other.
    for s in scalars {
        let i = comments.partition_point(|c| c.end <= s.start);
        if let Some(c) = comments.get(i) {
            assert!(c.start >= s.end, "comment {c:?} overlaps the scalar {s:?}");
        }
    }
}

#[test]
fn seeds_are_valid() {
    for seed in SEEDS {
        let parse = parse(seed);
        assert!(parse.errors.is_empty(), "{seed}\n{:?}", parse.errors);
        check_invariants(seed, &parse);
    }
}

#[test]
fn random_mutations_keep_ranges_well_formed() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let rounds = if cfg!(debug_assertions) {
        5_000
    } else {
        50_000
    };
    for (s, seed) in SEEDS.iter().enumerate() {
        for round in 0..rounds {
            let mut text = seed.to_string();
            let count = 1 + rng.below(6);
            for _ in 0..count {
                mutate(&mut rng, &mut text);
            }
            let result = std::panic::catch_unwind(|| {
                let parse = parse(&text);
                check_invariants(&text, &parse);
            });
            if result.is_err() {
                // Left for `debug_render` (an ignored test) to show the tree.
                let _ = std::fs::write(std::env::temp_dir().join("odp_debug.yaml"), &text);
                panic!("seed {s} round {round} failed on {text:?}");
            }
        }
    }
}

/// Deeply nested input is cut off with an error instead of overflowing the stack (1 MiB is less than any thread
/// the parser runs on is given).
#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let mut indented = String::new();
    for depth in 0..2_000 {
        indented.push_str(&" ".repeat(depth));
        indented.push_str("a:\n");
    }
    let cases = [
        "[".repeat(100_000),
        "{a: ".repeat(50_000),
        format!("{}x", "- ".repeat(100_000)),
        format!("key: {}x", "& ".repeat(100_000)),
        format!("key: {}x", "!t ".repeat(100_000)),
        format!("[{}x]", "!t ".repeat(100_000)),
        format!("{}x", "[{".repeat(50_000)),
        indented,
    ];
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            for text in &cases {
                let parse = parse(text);
                assert!(!parse.errors.is_empty());
                check_invariants(text, &parse);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Every key of a document, at any depth, with the line it stands on and whether it is in a flow mapping, in
/// document order.
fn all_keys(text: &str) -> Vec<(String, usize, bool)> {
    fn walk(node: &Node, index: &crate::LineIndex, out: &mut Vec<(String, usize, bool)>) {
        match &node.kind {
            NodeKind::Mapping { entries, flow } => {
                for e in entries {
                    out.push((e.key.to_string(), index.line_of(e.key_range.start()), *flow));
                    walk(&e.value, index, out);
                }
            }
            NodeKind::Sequence { items, .. } => {
                items.iter().for_each(|item| walk(item, index, out))
            }
            NodeKind::Scalar(_) | NodeKind::Error => {}
        }
    }
    let index = crate::LineIndex::new(text);
    let mut out = Vec::new();
    if let Some(root) = &parse(text).root {
        walk(root, &index, &mut out);
    }
    out
}

/// Breaking one line (without adding line breaks or removing its indentation) loses no key before it and no key
/// after it that is indented less: the damage stays inside the node the line belongs to.
#[test]
fn damage_stays_inside_its_node() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let inserts: Vec<&str> = INSERTS
        .iter()
        .copied()
        .filter(|s| !s.contains(['\n', '\r']))
        .collect();
    let rounds = if cfg!(debug_assertions) {
        3_000
    } else {
        30_000
    };
    for seed in SEEDS {
        let keys = all_keys(seed);
        // (line index, indentation, first content byte, line end) of every indented line.
        let mut lines = Vec::new();
        let mut indents = Vec::new();
        let mut start = 0;
        for (i, line) in seed.split_inclusive('\n').enumerate() {
            let content = line.trim_end_matches(['\n', '\r']);
            let indent = content.len() - content.trim_start_matches(' ').len();
            indents.push(indent);
            if indent > 0 && indent < content.len() {
                lines.push((i, indent, start + indent, start + content.len()));
            }
            start += line.len();
        }
        for round in 0..rounds {
            let (line, indent, from, to) = lines[rng.below(lines.len())];
            let mut text = seed.to_string();
            for _ in 0..1 + rng.below(3) {
                let end = to + text.len() - seed.len();
                let at = char_boundary_at(&text, from + rng.below(end - from + 1));
                if rng.below(3) == 0 {
                    let until = char_boundary_at(&text, (at + 1 + rng.below(6)).min(end));
                    text.replace_range(at..until.max(at), "");
                } else {
                    text.insert_str(at, inserts[rng.below(inserts.len())]);
                }
            }
            // A flow collection before the line may turn into a (complex) key by a `:` after it, so only block keys
            // count there.
            let expected = keys
                .iter()
                .filter(|(_, l, flow)| (*l < line && !flow) || (*l > line && indents[*l] < indent));
            // Recovery may add keys, never lose one.
            let actual = all_keys(&text);
            let mut rest = actual.iter();
            for key in expected {
                assert!(
                    rest.any(|k| k == key),
                    "round {round}: lost {key:?} in {text:?}\nfound {actual:?}"
                );
            }
        }
    }
}
