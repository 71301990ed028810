//! Random mutations of valid pipelines: the parser must never panic or loop, and every range it reports must be a
//! well-formed slice of the text, nested the way the tree is.

use crate::{Node, NodeKind, Parse, TextRange, parse};

/// A tiny xorshift generator, so the test needs no dependency and every run sees the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

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
    "---\n# caf\u{e9} \u{1f600}\nnom: caf\u{e9}\n\u{6f22}\u{5b57}: [\u{1f600}, 'it''s']\nlist:\n- a\n- b: c\n  d: |+\n    keep\n\n...\n",
    "steps:\n  - name: s1\n    method: m.a\n    params: {q: \"a \\\"b\\\"\", n: 1}\n    when: >-\n      folded\n      text\n  - name: s2\n    method: m.b\n    params:\n      items: [\n        x, # comment\n        {k: v}\n      ]\n      text: plain\n        continued\n",
];

const INSERTS: &[&str] = &[
    "[", "]", "{", "}", ":", ": ", "-", "- ", "\"", "'", "#", " #", "\n", " ", "  ", "\t", "{{", "}}", "|", ">", "&a ",
    "*a", "!t ", "é", "😀", "\r", "\r\n", "? ", "---", "...", "%YAML 1.2\n", ",", "\\", "\\u00", "|-\n", ">+2\n",
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
    assert!(range.end() <= text.len(), "{what} {range:?} is past the end ({})", text.len());
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

fn check_node(text: &str, node: &Node) {
    check_range(text, node.range, "node");
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for e in entries {
                check_range(text, e.key_range, "key");
                check_node(text, &e.value);
                assert!(
                    node.range.contains_range(e.key_range) && node.range.contains_range(e.value.range),
                    "entry {:?} {:?} outside its mapping {:?}",
                    e.key_range,
                    e.value.range,
                    node.range
                );
                assert!(e.key_range.start <= e.value.range.start, "value before its key");
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                check_node(text, item);
                assert!(
                    node.range.contains_range(item.range),
                    "item {:?} outside its list {:?}",
                    item.range,
                    node.range
                );
            }
        }
        NodeKind::Scalar(_) | NodeKind::Error => {}
    }
}

pub(super) fn check_invariants(text: &str, parse: &Parse) {
    if let Some(root) = &parse.root {
        check_node(text, root);
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
        assert!(text[c.as_range()].starts_with('#'), "comment {c:?} does not start with `#`");
        assert!(!text[c.as_range()].contains('\n'), "comment {c:?} spans lines");
    }
    comments.sort();
    for pair in comments.windows(2) {
        assert!(pair[0].end <= pair[1].start, "comments {:?} and {:?} overlap", pair[0], pair[1]);
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
    let rounds = if cfg!(debug_assertions) { 3_000 } else { 30_000 };
    for (s, seed) in SEEDS.iter().enumerate() {
        for round in 0..rounds {
            let mut text = seed.to_string();
            let count = 1 + rng.below(4);
            for _ in 0..count {
                mutate(&mut rng, &mut text);
            }
            let result = std::panic::catch_unwind(|| {
                let parse = parse(&text);
                check_invariants(&text, &parse);
            });
            if result.is_err() {
                panic!("seed {s} round {round} failed on {text:?}");
            }
        }
    }
}
