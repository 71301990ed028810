//! The analysis core end to end: `odp_syntax::parse` and then `odp_analysis::analyze_with_bundled_registry`
//! on arbitrary text. Neither may panic, loop or overflow the stack, and every range either reports must be a
//! well-formed slice of the text: in bounds, `start <= end`, on character boundaries. Fixes must apply cleanly,
//! one at a time and all together, and the fixed text must analyze again without a panic.
//!
//! Invalid UTF-8 input is skipped: the front ends read files as UTF-8 and refuse anything else before parsing.

use odp_analysis::{Analysis, LineIndex, PositionEncoding, TextEdit, apply_edits};
use odp_syntax::{Node, NodeKind, Parse, TextRange};

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parse = odp_syntax::parse(text);
    check_parse(text, &parse);

    let analysis = odp_analysis::analyze_with_bundled_registry(text);
    check_parse(text, &analysis.parse);
    let fixed = check_analysis(text, &analysis);

    // Whatever the fixes produce is text an editor will show and re-check next.
    if let Some(fixed) = fixed {
        let again = odp_analysis::analyze_with_bundled_registry(&fixed);
        check_parse(&fixed, &again.parse);
        let _ = check_analysis(&fixed, &again);
    }
}

pub(crate) fn check_range(text: &str, range: TextRange, what: &str) {
    assert!(range.start <= range.end, "{what} {range:?} is reversed");
    assert!(
        range.end() <= text.len(),
        "{what} {range:?} is past the end of the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(range.start()) && text.is_char_boundary(range.end()),
        "{what} {range:?} splits a character"
    );
}

fn check_parse(text: &str, parse: &Parse) {
    if let Some(root) = &parse.root {
        check_node(text, root);
        // The helpers built on ranges must cope with any tree.
        let _ = root.to_json();
        let _ = root.path_to(text.len() / 2);
        let _ = root.path_to(text.len());
    }
    for e in &parse.errors {
        check_range(text, e.range, "syntax error");
    }
    for c in &parse.comments {
        check_range(text, c.range, "comment");
        let body = &text[c.range.as_range()];
        assert!(
            body.starts_with('#'),
            "comment {:?} does not start with `#`: {body:?}",
            c.range
        );
        assert!(!body.contains('\n'), "comment {:?} spans lines", c.range);
    }
}

fn check_node(text: &str, node: &Node) {
    check_range(text, node.range, "node");
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for e in entries {
                check_range(text, e.key_range, "key");
                check_node(text, &e.value);
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
                    "value {:?} starts before the end of its key {:?}",
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
                check_node(text, item);
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
        NodeKind::Scalar(s) => {
            let _ = s.resolve();
        }
        NodeKind::Error => {}
    }
}

/// Checks diagnostics, fixes and references; returns the text with every fix applied, if any diagnostic has one.
fn check_analysis(text: &str, analysis: &Analysis) -> Option<String> {
    let index = LineIndex::new(text);
    let mut all_edits: Vec<TextEdit> = Vec::new();
    for pair in analysis.diagnostics.windows(2) {
        assert!(
            (pair[0].range.start, pair[0].range.end) <= (pair[1].range.start, pair[1].range.end),
            "diagnostics are not sorted by position: {:?} before {:?}",
            pair[0].range,
            pair[1].range
        );
    }
    for d in &analysis.diagnostics {
        check_range(text, d.range, "diagnostic");
        // What the language server and the terminal renderer do with every range.
        for offset in [d.range.start(), d.range.end()] {
            for encoding in [
                PositionEncoding::Utf8,
                PositionEncoding::Utf16,
                PositionEncoding::Utf32,
            ] {
                let pos = index.line_col(text, offset, encoding);
                let back = index.offset(text, pos, encoding);
                assert!(
                    back <= text.len(),
                    "line/col {pos:?} maps back past the end: {back}"
                );
                assert!(
                    text.is_char_boundary(back),
                    "line/col {pos:?} maps back inside a character: {back}"
                );
            }
        }
        for r in &d.related {
            check_range(text, r.range, "related range");
        }
        if let Some(fix) = &d.fix {
            assert!(
                !fix.edits.is_empty(),
                "fix {:?} of {:?} has no edits",
                fix.title,
                d.code
            );
            for e in &fix.edits {
                check_range(text, e.range, "fix edit");
            }
            let (fixed, applied) = apply_edits(text, &fix.edits);
            assert!(applied <= fix.edits.len());
            // A String is valid UTF-8 by construction; this guards against a future unchecked build of it.
            assert!(std::str::from_utf8(fixed.as_bytes()).is_ok());
            all_edits.extend(fix.edits.iter().cloned());
        }
    }
    for r in &analysis.references {
        check_range(text, r.range, "reference");
        check_range(text, r.root_range, "reference root");
    }
    if all_edits.is_empty() {
        return None;
    }
    // Overlapping edits of different fixes are skipped by `apply_edits`, never applied half-way.
    let (fixed, applied) = apply_edits(text, &all_edits);
    assert!(applied >= 1 && applied <= all_edits.len());
    Some(fixed)
}
