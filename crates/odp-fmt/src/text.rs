//! Lines of a text, and applying edits to it.

/// Applies non-overlapping edits `(start, end, new text)`, in any order.
pub(crate) fn apply(text: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|(s, e, _)| (*s, *e));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (start, end, new) in edits {
        debug_assert!(start >= at, "overlapping edits");
        out.push_str(&text[at..start]);
        out.push_str(&new);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u32, column as u32)
}

/// The start of the line `offset` is on (any byte offset: a line break is never inside a character).
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// The end of the line `offset` is on, after its line break (or the end of the text).
pub(crate) fn line_end(text: &str, offset: usize) -> usize {
    text.as_bytes()[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// The start of the line before the one starting at `start`, if any.
pub(crate) fn previous_line(text: &str, start: usize) -> Option<usize> {
    (start > 0).then(|| line_start(text, start - 1))
}

/// The line starting at `start`, without its line break.
pub(crate) fn line_at(text: &str, start: usize) -> &str {
    let end = line_end(text, start);
    text[start..end].trim_end_matches(['\n', '\r'])
}

/// The indentation of a line that is a comment alone, if it is one.
pub(crate) fn comment_indent(line: &str) -> Option<usize> {
    let body = line.trim_start_matches(' ');
    body.starts_with('#').then(|| line.len() - body.len())
}

pub(crate) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// The start of the comment lines directly above the line starting at `start` (no blank line between) whose
/// indentation is at most `max_indent`: the comments that belong to what starts on that line.
pub(crate) fn attached_comments_start(text: &str, start: usize, max_indent: usize) -> usize {
    let mut at = start;
    while let Some(prev) = previous_line(text, at) {
        match comment_indent(line_at(text, prev)) {
            Some(indent) if indent <= max_indent => at = prev,
            _ => break,
        }
    }
    at
}

/// Whether the text's line breaks are `\r\n`: as its first line break is. A file that mixes them gets the first's.
pub(crate) fn crlf(text: &str) -> bool {
    text.find('\n')
        .is_some_and(|i| i > 0 && text.as_bytes()[i - 1] == b'\r')
}
