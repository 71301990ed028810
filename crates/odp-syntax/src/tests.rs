use expect_test::{Expect, expect};

use crate::{Node, NodeKind, ScalarStyle, parse};

/// Renders a tree compactly: one node per line with its range, then the errors.
fn render(text: &str) -> String {
    let parse = parse(text);
    let mut out = String::new();
    if let Some(root) = &parse.root {
        render_node(root, text, 0, &mut out);
    } else {
        out.push_str("(empty)\n");
    }
    for e in &parse.errors {
        out.push_str(&format!(
            "error {:?} {:?} {:?}: {}\n",
            e.kind,
            e.range,
            &text[e.range.as_range()],
            e.message
        ));
    }
    out
}

fn render_node(node: &Node, text: &str, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match &node.kind {
        NodeKind::Mapping { entries, flow } => {
            out.push_str(&format!(
                "{pad}{}map {:?}\n",
                if *flow { "flow-" } else { "" },
                node.range
            ));
            for e in entries {
                out.push_str(&format!("{pad}  key {:?} {:?}\n", e.key, e.key_range));
                render_node(&e.value, text, depth + 2, out);
            }
        }
        NodeKind::Sequence { items, flow } => {
            out.push_str(&format!(
                "{pad}{}seq {:?}\n",
                if *flow { "flow-" } else { "" },
                node.range
            ));
            for item in items {
                render_node(item, text, depth + 1, out);
            }
        }
        NodeKind::Scalar(s) => {
            let style = match s.style {
                ScalarStyle::Plain if s.unquoted_template => "template",
                ScalarStyle::Plain => "plain",
                ScalarStyle::SingleQuoted => "single",
                ScalarStyle::DoubleQuoted => "double",
                ScalarStyle::Literal => "literal",
                ScalarStyle::Folded => "folded",
            };
            out.push_str(&format!("{pad}{style} {:?} {:?}\n", s.value, node.range));
        }
        NodeKind::Error => out.push_str(&format!("{pad}error {:?}\n", node.range)),
    }
}

fn check(text: &str, expect: Expect) {
    expect.assert_eq(&render(text));
}

#[test]
fn pipeline_shape() {
    check(
        r#"# odp: pipeline
name: demo
sources:
  - name: tweets
    method: social.twitter.search
    params: {query: "{{inputs.q}}", limit: 10}
transforms:
- name: s
  params:
    texts: '{{tweets.results[*].text}}'
"#,
        expect![[r#"
            map 16..205
              key "name" 16..20
                plain "demo" 22..26
              key "sources" 27..34
                seq 38..133
                  map 40..133
                    key "name" 40..44
                      plain "tweets" 46..52
                    key "method" 57..63
                      plain "social.twitter.search" 65..86
                    key "params" 91..97
                      flow-map 99..133
                        key "query" 100..105
                          double "{{inputs.q}}" 107..121
                        key "limit" 123..128
                          plain "10" 130..132
              key "transforms" 134..144
                seq 146..205
                  map 148..205
                    key "name" 148..152
                      plain "s" 154..155
                    key "params" 158..164
                      map 170..205
                        key "texts" 170..175
                          single "{{tweets.results[*].text}}" 177..205
        "#]],
    );
}

mod property;
