//! Incremental re-parsing: after an edit inside one step of a pipeline, only that step's lines are parsed again
//! and the rest of the previous tree is kept, moved by the edit's length change.
//!
//! Steps are the items of the block sequences at the top level of the document (`sources:`, `transforms:`). An
//! item's *region* runs from the start of its `-` line to the start of the first line after it that is neither
//! blank nor a comment (the next item's `-`, the next top-level key), or to the end of the text. An edit that
//! stays inside a region, after the item's `- `, is re-parsed by [`crate::parser::parse_sequence_item`] over the
//! region's new lines alone, syntax errors inside the step included; everything else — an edit across items, at
//! the top level, a syntax error that reaches the region's last line or crosses its bounds (an unclosed quote may
//! read differently up to the end of the region than up to the next step) — falls back to parsing the whole text.
//! The result is always what [`crate::parse`]
//! gives for the new text (the tests compare the two after thousands of random edits).

use crate::parser::parse_sequence_item;
use crate::tree::{Node, NodeKind};
use crate::{Parse, TextRange};

/// What changed between two texts: the bytes `start..old_end` of the old text became `start..new_end` of the new
/// one (the longest common prefix and suffix are left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl Change {
    /// Where a position of the old text at or after `old_end` is in the new text.
    pub fn moved(&self, at: usize) -> usize {
        at + self.new_end - self.old_end
    }
}

/// The change from `old` to `new`; `None` if they are equal.
pub fn diff(old: &str, new: &str) -> Option<Change> {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    if a == b {
        return None;
    }
    // Whole blocks first (a `memcmp` each), then bytes: a byte loop over half a megabyte costs a millisecond.
    const BLOCK: usize = 256;
    let shorter = a.len().min(b.len());
    let mut prefix = 0;
    while prefix + BLOCK <= shorter && a[prefix..prefix + BLOCK] == b[prefix..prefix + BLOCK] {
        prefix += BLOCK;
    }
    while prefix < shorter && a[prefix] == b[prefix] {
        prefix += 1;
    }
    let most = shorter - prefix;
    let mut suffix = 0;
    while suffix + BLOCK <= most
        && a[a.len() - suffix - BLOCK..a.len() - suffix]
            == b[b.len() - suffix - BLOCK..b.len() - suffix]
    {
        suffix += BLOCK;
    }
    while suffix < most && a[a.len() - suffix - 1] == b[b.len() - suffix - 1] {
        suffix += 1;
    }
    Some(Change {
        start: prefix,
        old_end: a.len() - suffix,
        new_end: b.len() - suffix,
    })
}

/// Parses `new_text`, reusing `old`, the parse of `old_text`, where the edit between them allows (see the module
/// docs). Returns the parse of `new_text` and whether it was made incrementally.
pub fn reparse(old: Parse, old_text: &str, new_text: &str) -> (Parse, bool) {
    let mut parse = old;
    if reparse_in_place(&mut parse, old_text, new_text) {
        (parse, true)
    } else {
        // The old tree is dropped after the new one is made; callers in a hurry use `reparse_in_place`.
        (crate::parse(new_text), false)
    }
}

/// Turns `parse`, the parse of `old_text`, into the parse of `new_text` if the edit between them stays inside one
/// step; returns false, leaving `parse` as it was, if not.
pub fn reparse_in_place(parse: &mut Parse, old_text: &str, new_text: &str) -> bool {
    match diff(old_text, new_text) {
        None => true,
        Some(change) => reparse_change(parse, old_text, new_text, change),
    }
}

/// [`reparse_in_place`] with the change between the texts already known (from [`diff`]).
pub fn reparse_change(parse: &mut Parse, old_text: &str, new_text: &str, change: Change) -> bool {
    // A bare carriage return is looked for over the whole text: an edit that may add or remove one, or a text that
    // has one, is parsed in full.
    let near = change.start.saturating_sub(1)..(change.new_end + 1).min(new_text.len());
    if new_text.as_bytes()[near].contains(&b'\r')
        || parse
            .errors
            .iter()
            .any(|e| old_text.as_bytes().get(e.range.start()) == Some(&b'\r'))
    {
        return false;
    }
    let Some(plan) = plan(parse, old_text, change) else {
        return false;
    };
    let Some((item, comments, errors)) = parse_sequence_item(
        new_text,
        plan.region_start..plan.new_region_end(),
        plan.dash,
        plan.indent,
        // The root mapping and the sequence enclose the item.
        2,
    ) else {
        return false;
    };
    splice(parse, &plan, item, comments, errors);
    true
}

/// Where an edit lies in the old tree.
struct Plan {
    /// The root entry whose value is the sequence, and the item's index in it.
    entry: usize,
    item: usize,
    dash: usize,
    indent: usize,
    region_start: usize,
    /// The old region's end.
    region_end: usize,
    delta: isize,
}

impl Plan {
    fn new_region_end(&self) -> usize {
        (self.region_end as isize + self.delta) as usize
    }

    /// A position of the old tree outside the re-parsed item, in the new text.
    fn moved(&self, at: u32, old_item_end: u32, new_item_end: u32) -> u32 {
        if at as usize >= self.region_end {
            (at as isize + self.delta) as u32
        } else if at == old_item_end {
            // An enclosing node that ended with the item (it was the last one) ends with the new item.
            new_item_end
        } else {
            at
        }
    }
}

fn line_start(b: &[u8], at: usize) -> usize {
    b[..at]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1)
}

fn next_line_start(b: &[u8], at: usize) -> usize {
    b[at.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |i| at + i + 1)
}

/// The first line from the line start `from` on that is neither blank nor a comment: its start and its first
/// non-blank position.
fn next_content_line(b: &[u8], mut from: usize) -> Option<(usize, usize)> {
    while from < b.len() {
        let mut i = from;
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        match b.get(i) {
            None | Some(b'\n' | b'#') => {}
            Some(b'\r') if matches!(b.get(i + 1), None | Some(b'\n')) => {}
            Some(_) => return Some((from, i)),
        }
        from = next_line_start(b, i);
    }
    None
}

fn plan(parse: &Parse, old_text: &str, change: Change) -> Option<Plan> {
    let old = old_text.as_bytes();
    let (edit_start, old_edit_end) = (change.start, change.old_end);

    let root = parse.root.as_ref()?;
    let NodeKind::Mapping {
        entries,
        flow: false,
    } = &root.kind
    else {
        return None;
    };
    // The last top-level block sequence starting before the edit.
    let (entry, items) = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.value.kind {
            NodeKind::Sequence { items, flow: false }
                if !items.is_empty() && e.value.range.start() <= edit_start =>
            {
                Some((i, items))
            }
            _ => None,
        })
        .next_back()?;
    let seq_start = entries[entry].value.range.start();
    let indent = seq_start - line_start(old, seq_start);
    let item = items
        .partition_point(|it| it.range.start() <= edit_start)
        .saturating_sub(1);
    let dash = if item == 0 {
        seq_start
    } else {
        let prev: &Node = &items[item - 1];
        let after = next_line_start(
            old,
            prev.range.end().saturating_sub(1).max(prev.range.start()),
        );
        let (_, dash) = next_content_line(old, after)?;
        dash
    };
    if old.get(dash) != Some(&b'-') || dash - line_start(old, dash) != indent {
        return None;
    }
    let it = &items[item];
    let after_item = next_line_start(old, it.range.end().saturating_sub(1).max(it.range.start()));
    let region_end = match next_content_line(old, after_item) {
        Some((start, content)) if content - start <= indent => start,
        Some(_) => return None,
        None => old.len(),
    };
    let inside = edit_start >= dash + 2
        && (old_edit_end < region_end || (region_end == old.len() && old_edit_end <= region_end));
    if !inside {
        return None;
    }
    let region_start = line_start(old, dash);
    // Errors inside the region are replaced by the re-parse's. One that crosses the region's bounds, or sits on
    // the line after it, may have been shaped by what the edit changed: parse everything then.
    let watch_end = next_line_start(old, region_end);
    let last_line = line_start(old, region_end.saturating_sub(1).max(region_start));
    if parse.errors.iter().any(|e| {
        let inside = e.range.start() >= region_start && e.range.end() < last_line;
        !inside && e.range.start() <= watch_end && e.range.end() >= region_start
    }) {
        return None;
    }
    Some(Plan {
        entry,
        item,
        dash,
        indent,
        region_start,
        region_end,
        delta: change.new_end as isize - change.old_end as isize,
    })
}

fn splice(
    parse: &mut Parse,
    plan: &Plan,
    mut item: Node,
    comments: Vec<crate::Comment>,
    errors: Vec<crate::SyntaxError>,
) {
    let root = parse.root.as_mut().expect("planned on a root");
    let old_end = match &root.kind {
        NodeKind::Mapping { entries, .. } => match &entries[plan.entry].value.kind {
            NodeKind::Sequence { items, .. } => items[plan.item].range.end,
            _ => unreachable!("planned on a sequence"),
        },
        _ => unreachable!("planned on a mapping"),
    };
    let new_end = item.range.end;
    let moved = |r: TextRange| TextRange {
        start: plan.moved(r.start, old_end, new_end),
        end: plan.moved(r.end, old_end, new_end),
    };
    root.range = moved(root.range);
    let NodeKind::Mapping { entries, .. } = &mut root.kind else {
        unreachable!("planned on a mapping")
    };
    for (index, entry) in entries.iter_mut().enumerate() {
        if index < plan.entry {
            continue; // wholly before the region
        }
        if index > plan.entry {
            entry.key_range = moved(entry.key_range);
            shift(&mut entry.value, plan.delta);
            continue;
        }
        entry.value.range = moved(entry.value.range);
        let NodeKind::Sequence { items, .. } = &mut entry.value.kind else {
            unreachable!("planned on a sequence")
        };
        std::mem::swap(&mut items[plan.item], &mut item);
        for later in &mut items[plan.item + 1..] {
            shift(later, plan.delta);
        }
    }
    let region = plan.region_start..plan.region_end;
    let old_comments = std::mem::take(&mut parse.comments);
    let mut all = Vec::with_capacity(old_comments.len() + comments.len());
    all.extend(
        old_comments
            .iter()
            .filter(|c| c.range.start() < region.start)
            .copied(),
    );
    all.extend(comments);
    all.extend(
        old_comments
            .iter()
            .filter(|c| c.range.start() >= region.end)
            .map(|c| crate::Comment {
                range: moved(c.range),
            }),
    );
    parse.comments = all;
    // Errors in the order a full parse finds them: before the region, in it, after it.
    let old_errors = std::mem::take(&mut parse.errors);
    let (before, rest): (Vec<_>, Vec<_>) = old_errors
        .into_iter()
        .partition(|e| e.range.start() < region.start);
    parse.errors = before;
    parse.errors.extend(errors);
    parse.errors.extend(
        rest.into_iter()
            .filter(|e| e.range.start() >= region.end)
            .map(|mut e| {
                e.range = moved(e.range);
                e
            }),
    );
}

/// Moves every position of a node by `delta`.
fn shift(node: &mut Node, delta: isize) {
    if delta == 0 {
        return;
    }
    let by = |r: &mut TextRange| {
        r.start = (r.start as isize + delta) as u32;
        r.end = (r.end as isize + delta) as u32;
    };
    by(&mut node.range);
    match &mut node.kind {
        NodeKind::Mapping { entries, .. } => {
            for e in entries {
                by(&mut e.key_range);
                shift(&mut e.value, delta);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for i in items {
                shift(i, delta);
            }
        }
        NodeKind::Scalar(_) | NodeKind::Error => {}
    }
}
