//! The edits that turn one text into another, line by line: what editors apply for formatting, so that the
//! cursor, folds and marks away from the changes stay where they are.

use std::time::{Duration, Instant};

use similar::algorithms::{Algorithm, Capture, Replace, diff_deadline};
use similar::{DiffOp, DiffTag};

/// Replace the bytes `start..end` of the old text with `new_text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub start: usize,
    pub end: usize,
    pub new_text: String,
}

/// The changes between `old` and `new` as edits of `old` (in order, not overlapping): changed runs of lines, and
/// within them the changed characters.
pub fn minimal_edits(old: &str, new: &str) -> Vec<TextEdit> {
    if old == new {
        return Vec::new();
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let old_at = offsets(&old_lines);
    let new_at = offsets(&new_lines);
    let mut edits: Vec<TextEdit> = Vec::new();
    for op in diff(&old_lines, &new_lines, None) {
        if op.tag() == DiffTag::Equal {
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        let (start, end) = (old_at[o.start], old_at[o.end]);
        let (old_part, new_part) = (&old[start..end], &new[new_at[n.start]..new_at[n.end]]);
        if op.tag() == DiffTag::Replace {
            // Within changed lines, the changed characters: re-indenting a line replaces its spaces only, and a
            // blank line added after a changed line is an edit of its own (range formatting keeps or drops it).
            let old_chars: Vec<&str> = chars(old_part);
            let new_chars: Vec<&str> = chars(new_part);
            let (old_char_at, new_char_at) = (offsets(&old_chars), offsets(&new_chars));
            let deadline = Instant::now() + Duration::from_millis(20);
            for change in diff(&old_chars, &new_chars, Some(deadline)) {
                if change.tag() == DiffTag::Equal {
                    continue;
                }
                let (co, cn) = (change.old_range(), change.new_range());
                let text = &new_part[new_char_at[cn.start]..new_char_at[cn.end]];
                push(
                    &mut edits,
                    start + old_char_at[co.start],
                    start + old_char_at[co.end],
                    text,
                );
            }
        } else {
            push(&mut edits, start, end, new_part);
        }
    }
    slide_line_breaks(old, edits)
}

/// Myers' diff of two token lists, a deletion next to an insertion as one replacement. (`TextDiff` also compacts
/// its operations, and its compaction gave ranges that do not follow each other on some inputs.)
fn diff(old: &[&str], new: &[&str], deadline: Option<Instant>) -> Vec<DiffOp> {
    let mut hook = Replace::new(Capture::new());
    let Ok(()) = diff_deadline(
        Algorithm::Myers,
        &mut hook,
        old,
        0..old.len(),
        new,
        0..new.len(),
        deadline,
    );
    hook.into_inner().into_ops()
}

fn chars(s: &str) -> Vec<&str> {
    s.char_indices()
        .map(|(i, c)| &s[i..i + c.len_utf8()])
        .collect()
}

/// Where each token starts, and the end.
fn offsets(tokens: &[&str]) -> Vec<usize> {
    let mut at = Vec::with_capacity(tokens.len() + 1);
    let mut sum = 0;
    at.push(0);
    for t in tokens {
        sum += t.len();
        at.push(sum);
    }
    at
}

/// An inserted blank line is placed after the line breaks it could equally follow (inserting `\n` before a `\n`
/// or after it gives the same text): at the start of the line it sets off, which is where a range starts. An edit
/// that ends by adding a line break before a line break is split so: `x` → `y\n` before `\n` is `x` → `y`, then
/// `\n` inserted after that `\n`.
fn slide_line_breaks(old: &str, edits: Vec<TextEdit>) -> Vec<TextEdit> {
    let mut split = Vec::with_capacity(edits.len());
    let starts: Vec<usize> = edits.iter().map(|e| e.start).skip(1).collect();
    for (i, mut e) in edits.into_iter().enumerate() {
        let next = starts.get(i).copied().unwrap_or(old.len());
        let breaks = e.new_text.len() - e.new_text.trim_end_matches(['\n', '\r']).len();
        let tail = e.new_text[e.new_text.len() - breaks..].to_string();
        if breaks > 0
            && breaks < e.new_text.len()
            && e.end + tail.len() < next
            && old[e.end..].starts_with(tail.as_str())
        {
            e.new_text.truncate(e.new_text.len() - breaks);
            let at = e.end + tail.len();
            split.push(e);
            split.push(TextEdit {
                start: at,
                end: at,
                new_text: tail,
            });
        } else {
            split.push(e);
        }
    }
    for i in 0..split.len() {
        let next = split.get(i + 1).map_or(old.len(), |n| n.start);
        let e = &mut split[i];
        if e.start != e.end
            || e.new_text.is_empty()
            || !e.new_text.chars().all(|c| c == '\n' || c == '\r')
        {
            continue;
        }
        let len = e.new_text.len();
        while e.start + len < next && old[e.start..].starts_with(e.new_text.as_str()) {
            e.start += len;
            e.end = e.start;
        }
    }
    split
}

fn push(edits: &mut Vec<TextEdit>, start: usize, end: usize, text: &str) {
    match edits.last_mut() {
        // A deletion next to an insertion is one replacement.
        Some(last) if last.end == start => {
            last.end = end;
            last.new_text.push_str(text);
        }
        _ => edits.push(TextEdit {
            start,
            end,
            new_text: text.to_string(),
        }),
    }
}

/// Applies edits made by [`minimal_edits`] (or a subset of them).
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> String {
    crate::text::apply(
        text,
        edits
            .iter()
            .map(|e| (e.start, e.end, e.new_text.clone()))
            .collect(),
    )
}
