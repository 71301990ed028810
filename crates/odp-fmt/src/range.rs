//! Formatting part of a file (an editor's selection, a step): the whole file is formatted, and the edits that touch
//! the part are kept, the part first widened to whole steps, input declarations and top-level keys, so that a
//! block is never half re-indented. Keys are not reordered here (moving a key in and out of a selection is not
//! an edit of the selection). The result goes through the same guard as a whole file's.

use std::ops::Range;

use odp_syntax::Node;

use crate::edits::{TextEdit, apply_edits, minimal_edits};
use crate::text::{attached_comments_start, line_end, line_start};
use crate::{FormatError, FormatOptions, guard};

/// The edits that format the part `range` (byte offsets) of `text`.
pub fn format_range(
    text: &str,
    range: Range<usize>,
    options: &FormatOptions,
) -> Result<Vec<TextEdit>, FormatError> {
    let options = FormatOptions {
        reorder_keys: false,
        ..*options
    };
    let formatted = crate::format(text, &options)?;
    let part = widen(text, range);
    let edits: Vec<TextEdit> = minimal_edits(text, &formatted)
        .into_iter()
        .filter(|e| touches(e, &part))
        .collect();
    let result = apply_edits(text, &edits);
    guard::same_meaning(text, &odp_syntax::parse(text), &result, false)?;
    Ok(edits)
}

/// Whether an edit lies inside the part (an insertion at its end belongs to what follows). An edit that reaches
/// out of it (a line-break change the diff merged with its neighbours) is left out with what is outside.
fn touches(e: &TextEdit, part: &Range<usize>) -> bool {
    if e.start == e.end {
        part.start <= e.start && (e.start < part.end || part.is_empty())
    } else {
        part.start <= e.start && e.end <= part.end
    }
}

/// The range widened to whole lines and to the blocks it touches.
fn widen(text: &str, range: Range<usize>) -> Range<usize> {
    let mut start = line_start(text, range.start.min(text.len()));
    let mut end = line_end(text, range.end.min(text.len()).max(start));
    let parse = odp_syntax::parse(text);
    let Some(root) = &parse.root else {
        return start..end;
    };
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let block = |n: &Node, key: Option<usize>| {
        let first = key.unwrap_or(n.range.start());
        let line = line_start(text, first);
        let indent = first - line;
        (
            attached_comments_start(text, line, indent),
            line_end(text, n.range.end().saturating_sub(1).max(first)),
        )
    };
    for entry in root.entries().unwrap_or_default() {
        match (entry.key.as_str(), &entry.value) {
            ("sources" | "transforms", v) if v.items().is_some() => {
                blocks.push((
                    line_start(text, entry.key_range.start()),
                    line_end(text, entry.key_range.start()),
                ));
                for item in v.items().unwrap_or_default() {
                    let line = line_start(text, item.range.start());
                    let dash = text[line..item.range.start()].len()
                        - text[line..item.range.start()].trim_start_matches(' ').len();
                    blocks.push((
                        attached_comments_start(text, line, dash),
                        line_end(
                            text,
                            item.range.end().saturating_sub(1).max(item.range.start()),
                        ),
                    ));
                }
            }
            ("inputs", v) if v.entries().is_some() => {
                blocks.push((
                    line_start(text, entry.key_range.start()),
                    line_end(text, entry.key_range.start()),
                ));
                for input in v.entries().unwrap_or_default() {
                    blocks.push(block(&input.value, Some(input.key_range.start())));
                }
            }
            (_, v) => blocks.push(block(v, Some(entry.key_range.start()))),
        }
    }
    // Widen until no block straddles an end: a block that grows the range may reach another.
    loop {
        let mut grown = false;
        for &(s, e) in &blocks {
            if s < end && e > start && (s < start || e > end) {
                start = start.min(s);
                end = end.max(e);
                grown = true;
            }
        }
        if !grown {
            return start..end;
        }
    }
}
