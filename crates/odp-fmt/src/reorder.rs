//! Canonical key order (`reorder-keys = true`): the keys of the pipeline, of each step, input declaration and
//! `retry` in the keys table's order; keys the table does not know keep their order, after the known ones.
//!
//! What moves with a key: the comment lines directly above it (no blank line between, indented no deeper than
//! the key), the key's lines with its value and end-of-line comments, and the comment lines right after them that
//! are indented deeper than the key (they belong to its value). Blank lines and other comments stay where they
//! are, and so do the comments above a file's first key (its header). A mapping that is not laid out one key per line (a flow mapping, two keys on a line) is left as it is.

use odp_analysis::keys::Place;
use odp_syntax::{Entry, Node, NodeKind};

use crate::text::{
    apply, attached_comments_start, comment_indent, is_blank, line_at, line_end, line_start,
};

pub(crate) fn reorder_keys(input: &str) -> String {
    let mut text = if input.ends_with('\n') || input.is_empty() {
        input.to_string()
    } else {
        format!("{input}\n")
    };
    // Innermost first, one level per pass, so that the edits of a pass never overlap.
    for level in [Level::Retry, Level::StepsAndInputs, Level::Pipeline] {
        let parse = odp_syntax::parse(&text);
        let Some(root) = &parse.root else {
            break;
        };
        let mut edits = Vec::new();
        for (place, mapping) in mappings(root, level) {
            if let Some(edit) = reorder(&text, place, mapping) {
                edits.push(edit);
            }
        }
        if !edits.is_empty() {
            text = apply(&text, edits);
        }
    }
    if !input.ends_with('\n') {
        text.pop();
    }
    text
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Retry,
    StepsAndInputs,
    Pipeline,
}

fn mappings(root: &Node, level: Level) -> Vec<(Place, &Node)> {
    let steps = || {
        ["sources", "transforms"]
            .into_iter()
            .filter_map(|s| root.get(s))
            .filter_map(|e| e.value.items())
            .flatten()
    };
    match level {
        Level::Pipeline => vec![(Place::Pipeline, root)],
        Level::StepsAndInputs => {
            let mut out: Vec<(Place, &Node)> = steps().map(|s| (Place::Step, s)).collect();
            if let Some(inputs) = root.get("inputs").and_then(|e| e.value.entries()) {
                out.extend(inputs.iter().map(|e| (Place::Input, &e.value)));
            }
            out
        }
        Level::Retry => steps()
            .filter_map(|s| s.get("retry"))
            .map(|e| (Place::Retry, &e.value))
            .collect(),
    }
}

/// One key with what moves with it: `[start, key)` its comments, `[key, end)` its lines.
struct Chunk {
    start: usize,
    key: usize,
    end: usize,
    rank: usize,
}

/// The edit that puts a block mapping's keys in canonical order, unless they are in it already or the mapping's
/// layout is not one this can move safely.
fn reorder(text: &str, place: Place, mapping: &Node) -> Option<(usize, usize, String)> {
    let NodeKind::Mapping {
        entries,
        flow: false,
    } = &mapping.kind
    else {
        return None;
    };
    if entries.len() < 2 {
        return None;
    }
    let rank = |e: &Entry| place.names().position(|n| n == e.key).unwrap_or(usize::MAX);
    if entries.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])) {
        return None;
    }
    let first_line = line_start(text, entries[0].key_range.start());
    let column = entries[0].key_range.start() - first_line;
    // The first key may follow a `- ` on its line; its comments then stay above the `-`.
    let lead = &text[first_line..entries[0].key_range.start()];
    let inline = !lead.trim().is_empty();
    let mut chunks: Vec<Chunk> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let key = e.key_range.start();
        let line = line_start(text, key);
        if key - line != column && !(i == 0 && inline) {
            return None;
        }
        if i > 0 && !text[line..key].trim().is_empty() {
            return None;
        }
        // The comments above a file's first key are the file's header: they stay at the top.
        let start = if i == 0 && (inline || place == Place::Pipeline) {
            line
        } else {
            attached_comments_start(text, line, column)
        };
        let mut end = value_end(text, &e.value);
        while end < text.len() {
            match comment_indent(line_at(text, end)) {
                Some(indent) if indent > column => end = line_end(text, end),
                _ => break,
            }
        }
        if let Some(prev) = chunks.last() {
            // What lies between two keys must be blank lines and comments, which stay in place.
            if prev.end > start
                || !text[prev.end..start]
                    .lines()
                    .all(|l| is_blank(l) || comment_indent(l).is_some())
            {
                return None;
            }
        }
        chunks.push(Chunk {
            start,
            key,
            end,
            rank: rank(e),
        });
    }
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.sort_by_key(|&i| chunks[i].rank);
    // Slot by slot: the chunk that goes there, then the blank lines and comments that were after that slot.
    let mut above = String::new();
    let mut out = String::new();
    for (slot, &i) in order.iter().enumerate() {
        let c = &chunks[i];
        let comments = &text[c.start..line_start(text, c.key).max(c.start)];
        if slot == 0 && inline {
            // Comments cannot sit between `- ` and the key: they go above the `-`, at the key's indentation.
            above.push_str(comments);
            out.push_str(lead);
        } else {
            out.push_str(comments);
            out.push_str(&" ".repeat(column));
        }
        out.push_str(&text[c.key..c.end]);
        if slot + 1 < chunks.len() {
            out.push_str(&text[chunks[slot].end..chunks[slot + 1].start]);
        }
    }
    let region_start = if inline { first_line } else { chunks[0].start };
    Some((region_start, chunks[chunks.len() - 1].end, above + &out))
}

/// Where an entry's lines end: after the line break of the line its value ends on.
fn value_end(text: &str, value: &Node) -> usize {
    let end = value.range.end();
    if end > 0 && text.as_bytes()[end - 1] == b'\n' {
        end
    } else {
        line_end(text, end)
    }
}
