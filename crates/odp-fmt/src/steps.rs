//! A blank line between steps: before each step of `sources` and `transforms` but the first, above the comments
//! that belong to it (the comment lines directly above its `-`, indented no deeper than the `-`).

use odp_syntax::{Node, NodeKind};

use crate::text::{apply, attached_comments_start, is_blank, line_at, line_start, previous_line};

pub(crate) fn separate_steps(text: &str, parse: &odp_syntax::Parse) -> String {
    let Some(root) = &parse.root else {
        return text.to_string();
    };
    let newline = if crate::text::crlf(text) {
        "\r\n"
    } else {
        "\n"
    };
    let mut edits = Vec::new();
    for section in ["sources", "transforms"] {
        let Some(entry) = root.get(section) else {
            continue;
        };
        let NodeKind::Sequence { items, flow: false } = &entry.value.kind else {
            continue;
        };
        for item in items.iter().skip(1) {
            if let Some(at) = blank_line_before(text, item) {
                edits.push((at, at, newline.to_string()));
            }
        }
    }
    if edits.is_empty() {
        return text.to_string();
    }
    apply(text, edits)
}

/// Where a blank line goes before this item, if it has none.
fn blank_line_before(text: &str, item: &Node) -> Option<usize> {
    let start = line_start(text, item.range.start());
    let line = line_at(text, start);
    let dash = line.len() - line.trim_start_matches(' ').len();
    if !line[dash..].starts_with('-') {
        return None;
    }
    let start = attached_comments_start(text, start, dash);
    let prev = previous_line(text, start)?;
    (!is_blank(line_at(text, prev))).then_some(start)
}
