//! odp's own printer: the layout `pretty_yaml` gives (with odp's settings), printed straight from odp-syntax's
//! tree, for the shapes pipelines are written in. It exists for speed: on the 1 MB benchmark file `pretty_yaml`
//! (its parser, rowan tree and printer) takes about 90 ms, this printer a few.
//!
//! It declines ([`print`] returns `None`) whatever it is not sure to lay out exactly as `pretty_yaml` does: a
//! scalar over several lines, a comment inside a flow collection, a block scalar with an indentation
//! indicator, a block value on the line after `-`, a document marker, and so on; the caller then formats with
//! `pretty_yaml`. The differential tests (`printer_tests.rs`) hold it to `pretty_yaml`'s output on every example
//! and thousands of random edits of them, and the guard checks its output like any other.
//!
//! One place where it lays out otherwise on purpose: a flow collection over several lines or wider than the line.
//! `pretty_yaml` keeps its line breaks or wraps it with the closing bracket at the key's column, which YAML does not
//! allow (a flow collection's lines must be indented deeper than its key), so the guard refused such files. The
//! printer joins it onto one line, or, when that is too wide, writes each element on a line of its own between
//! brackets indented deeper than the key, as prettier does.
//!
//! The layout rules it follows, as `pretty_yaml` lays out YAML:
//! - two spaces of indentation per level, a block sequence under a key indented too, `key: value` and `- item`
//!   with one space, trailing spaces dropped (but inside block scalars), one line break at the end;
//! - runs of blank lines become one; blank lines at the start and end of the file, and directly before the first
//!   entry of a nested block, go;
//! - an end-of-line comment gets one space before its `#`;
//! - a comment line after the last entry of a block stays in it when it is at that block's column (the innermost
//!   such block first); every other comment line goes to the level of the entry after it (or of the file's top
//!   level at its end);
//! - a single-quoted scalar with no `'`, `"` or `\` in it becomes double-quoted; flow collections are written
//!   `[a, b]` and `{ a: 1 }`, `[]` and `{}`, on one line when it fits the line width.
//!
//! Recursion follows the tree, whose depth odp-syntax limits.

use odp_syntax::{Comment, Entry, Node, NodeKind, Parse, ScalarStyle};

/// The layout of `text` (whose parse is `parse`, free of errors), or `None` when the printer declines.
pub(crate) fn print(text: &str, parse: &Parse, width: usize, crlf: bool) -> Option<String> {
    if !parse.errors.is_empty() || text.starts_with('\u{feff}') || text.contains('\t') {
        return None;
    }
    let mut p = Printer {
        text,
        comments: &parse.comments,
        next_comment: 0,
        out: String::with_capacity(text.len() + text.len() / 16),
        newline: if crlf { "\r\n" } else { "\n" },
        width,
        pos: 0,
    };
    let Some(root) = &parse.root else {
        // Only comments and blank lines.
        let trivia = p.trivia(text.len())?;
        p.emit_trivia(&trivia, 0, true, true);
        return p.finish();
    };
    let block = matches!(
        root.kind,
        NodeKind::Mapping { flow: false, .. } | NodeKind::Sequence { flow: false, .. }
    );
    if !block || p.col(root.range.start()) != 0 {
        return None;
    }
    let leading = p.trivia(line_start(text, root.range.start()))?;
    p.emit_trivia(&leading, 0, false, true);
    p.block(root, 0, false)?;
    let trailing = p.trivia(text.len())?;
    p.emit_trivia(&trailing, 0, true, false);
    p.finish()
}

/// A line between elements: blank, or a comment alone (its text without trailing spaces).
#[derive(Clone, Copy)]
enum Trivia<'a> {
    Blank,
    Comment(&'a str),
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    /// The first comment not yet printed: comments are printed in order, each once.
    next_comment: usize,
    out: String,
    newline: &'static str,
    width: usize,
    /// How far the input is printed: the start of the next unread line, once a line is done.
    pos: usize,
}

impl<'a> Printer<'a> {
    fn finish(self) -> Option<String> {
        let done = self.next_comment == self.comments.len()
            && self.text[self.pos..]
                .bytes()
                .all(|b| b.is_ascii_whitespace());
        done.then_some(self.out)
    }

    fn col(&self, offset: usize) -> usize {
        offset - line_start(self.text, offset)
    }

    fn indent(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    fn newline(&mut self) {
        self.out.push_str(self.newline);
    }

    /// Reads the lines from `self.pos` up to `until` (a line start): each must be blank or a comment alone.
    fn trivia(&mut self, until: usize) -> Option<Vec<Trivia<'a>>> {
        let mut lines = Vec::new();
        while self.pos < until {
            let end = line_end(self.text, self.pos);
            let line = self.text[self.pos..end].trim_end_matches(['\n', '\r']);
            let body = line.trim_start_matches(' ');
            if body.is_empty() {
                lines.push(Trivia::Blank);
            } else {
                let start = self.pos + (line.len() - body.len());
                let comment = self.comments.get(self.next_comment)?;
                if comment.range.start() != start || !body.starts_with('#') {
                    return None;
                }
                self.next_comment += 1;
                lines.push(Trivia::Comment(body.trim_end()));
            }
            self.pos = end;
        }
        Some(lines)
    }

    /// Prints comment lines at `indent`, a run of blank lines as one. `drop_trailing` drops blank lines after the
    /// last comment (before the next element: `drop_leading` at the start of a block, where they go too).
    fn emit_trivia(
        &mut self,
        trivia: &[Trivia<'a>],
        indent: usize,
        drop_trailing: bool,
        drop_leading: bool,
    ) {
        let mut blank = false;
        let mut any = false;
        for t in trivia {
            match *t {
                Trivia::Blank => blank = true,
                Trivia::Comment(text) => {
                    if blank && (any || !drop_leading) {
                        self.newline();
                    }
                    blank = false;
                    any = true;
                    self.indent(indent);
                    self.out.push_str(text);
                    self.newline();
                }
            }
        }
        if blank && !drop_trailing && (any || !drop_leading) {
            self.newline();
        }
    }

    /// After the content ending at `after` on its line: nothing, or spaces and a comment, which is printed after
    /// one space. Ends the output line and moves to the next input line.
    fn end_line(&mut self, after: usize) -> Option<()> {
        let end = line_end(self.text, after);
        let rest = self.text[after..end].trim_end_matches(['\n', '\r']);
        let body = rest.trim_start_matches(' ');
        if !body.is_empty() {
            let start = after + (rest.len() - body.len());
            let comment = self.comments.get(self.next_comment)?;
            if comment.range.start() != start || !body.starts_with('#') {
                return None;
            }
            self.next_comment += 1;
            self.out.push(' ');
            self.out.push_str(body.trim_end());
        }
        self.newline();
        self.pos = end;
        Some(())
    }

    /// A block mapping or sequence at `indent`; with `inline`, its first element goes on the current output line
    /// (after `- `). Comment lines after its last element at its column stay in it.
    fn block(&mut self, node: &Node, indent: usize, inline: bool) -> Option<()> {
        let col = self.col(node.range.start());
        match &node.kind {
            NodeKind::Mapping {
                entries,
                flow: false,
            } => {
                for (i, entry) in entries.iter().enumerate() {
                    if i > 0 || !inline {
                        if i > 0 {
                            let start = entry.key_range.start();
                            self.gap(start, col, indent)?;
                        }
                        self.indent(indent);
                    }
                    self.entry(entry, indent)?;
                }
            }
            NodeKind::Sequence { items, flow: false } => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 || !inline {
                        if i > 0 {
                            self.gap(self.dash_before(item)?, col, indent)?;
                        }
                        self.indent(indent);
                    }
                    self.item(item, indent)?;
                }
            }
            _ => return None,
        }
        self.trailing_comments(col, indent)
    }

    /// The lines before the element starting at `start` (its key or `-`), which must start its line at `col`.
    fn gap(&mut self, start: usize, col: usize, indent: usize) -> Option<()> {
        if self.col(start) != col {
            return None;
        }
        let trivia = self.trivia(line_start(self.text, start))?;
        self.emit_trivia(&trivia, indent, false, false);
        Some(())
    }

    /// Comment lines right after a block's last element at the block's column (blank lines between them kept as
    /// one): they stay in the block. Anything else is left to the enclosing block.
    fn trailing_comments(&mut self, col: usize, indent: usize) -> Option<()> {
        let mut at = self.pos;
        let mut taken = self.pos;
        let mut comments = 0;
        while at < self.text.len() {
            let end = line_end(self.text, at);
            let line = self.text[at..end].trim_end_matches(['\n', '\r']);
            let body = line.trim_start_matches(' ');
            if body.is_empty() {
                at = end;
                continue;
            }
            if body.starts_with('#') && line.len() - body.len() == col {
                comments += 1;
                at = end;
                taken = end;
                continue;
            }
            break;
        }
        if comments > 0 {
            let trivia = self.trivia(taken)?;
            self.emit_trivia(&trivia, indent, true, false);
        }
        Some(())
    }

    /// The `-` of a block sequence's item: the last one before the item on its line, with only spaces between.
    fn dash_before(&self, item: &Node) -> Option<usize> {
        let start = item.range.start();
        let line = line_start(self.text, start);
        let before = &self.text[line..start];
        let dash = before.rfind('-')?;
        before[dash + 1..]
            .bytes()
            .all(|b| b == b' ')
            .then_some(line + dash)
    }

    /// `key: value` on the current output line, its key at `indent`.
    fn entry(&mut self, entry: &Entry, indent: usize) -> Option<()> {
        let key = &self.text[entry.key_range.as_range()];
        if key.contains('\n') || self.text.as_bytes().get(entry.key_range.end()) != Some(&b':') {
            return None;
        }
        push_scalar_text(&mut self.out, key);
        self.out.push(':');
        let colon_end = entry.key_range.end() + 1;
        self.value(&entry.value, colon_end, indent + 2)
    }

    /// A sequence item after its `-`, the `-` at `indent`.
    fn item(&mut self, item: &Node, indent: usize) -> Option<()> {
        let dash = self.dash_before(item)?;
        self.out.push('-');
        self.value(item, dash + 1, indent + 2)
    }

    /// The value after a key's `:` or an item's `-` (ending at `after`), whose nested lines go at `indent`.
    fn value(&mut self, value: &Node, after: usize, indent: usize) -> Option<()> {
        if value.range.start() < after {
            return None;
        }
        let same_line = !self.text[after..value.range.start()].contains('\n');
        match &value.kind {
            NodeKind::Scalar(scalar) if value.range.is_empty() => {
                if !scalar.value.is_empty() {
                    return None;
                }
                self.end_line(after)
            }
            NodeKind::Scalar(scalar)
                if matches!(scalar.style, ScalarStyle::Literal | ScalarStyle::Folded) =>
            {
                if !same_line {
                    return None;
                }
                self.block_scalar(value, indent)
            }
            NodeKind::Scalar(_) => {
                if !same_line || self.text[value.range.as_range()].contains('\n') {
                    return None;
                }
                self.out.push(' ');
                self.flow(value)?;
                self.end_line(value.range.end())
            }
            NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. } => {
                if !same_line {
                    return None;
                }
                let line_begin = self.out.rfind('\n').map_or(0, |i| i + 1);
                let one_line = self.out.len();
                self.out.push(' ');
                self.flow(value)?;
                if self.out[line_begin..].chars().count() > self.width {
                    self.out.truncate(one_line);
                    self.wrapped_flow(value, indent)?;
                }
                self.end_line(value.range.end())
            }
            NodeKind::Mapping { flow: false, .. } | NodeKind::Sequence { flow: false, .. } => {
                if same_line {
                    // `- key: value` or `- - item`: the block starts on the dash's line.
                    if !self.text[after..value.range.start()].starts_with(' ') {
                        return None;
                    }
                    self.out.push(' ');
                    return self.block(value, indent, true);
                }
                if self.text[..after].ends_with('-') {
                    // A block on the line after `-`: rare, and laid out differently.
                    return None;
                }
                self.end_line(after)?;
                let leading = self.trivia(line_start(self.text, value.range.start()))?;
                self.emit_trivia(&leading, indent, true, false);
                self.block(value, indent, false)
            }
            _ => None,
        }
    }

    /// A flow collection too wide for its line: each element on a line of its own, the brackets on lines of
    /// their own at `indent` (deeper than the key or `-`, as YAML wants of a flow collection's lines; a key's
    /// collection moves to the next line), as prettier writes them.
    fn wrapped_flow(&mut self, value: &Node, indent: usize) -> Option<()> {
        let after_dash = self.out.ends_with('-');
        if after_dash {
            self.out.push(' ');
        } else {
            self.newline();
            self.indent(indent);
        }
        let (open, close) = match value.kind {
            NodeKind::Sequence { .. } => ('[', ']'),
            _ => ('{', '}'),
        };
        let elements: Vec<(Option<&Entry>, &Node)> = match &value.kind {
            NodeKind::Sequence { items, .. } => items.iter().map(|i| (None, i)).collect(),
            NodeKind::Mapping { entries, .. } => {
                entries.iter().map(|e| (Some(e), &e.value)).collect()
            }
            _ => return None,
        };
        self.out.push(open);
        self.newline();
        for (i, (entry, node)) in elements.iter().enumerate() {
            self.indent(indent + 2);
            if let Some(entry) = entry {
                self.flow_key(entry)?;
                if !node.range.is_empty() {
                    self.out.push(' ');
                    self.flow(node)?;
                }
            } else {
                self.flow(node)?;
            }
            if i + 1 < elements.len() {
                self.out.push(',');
            }
            self.newline();
        }
        self.indent(indent);
        self.out.push(close);
        Some(())
    }

    /// A flow mapping's key and its `:`.
    fn flow_key(&mut self, entry: &Entry) -> Option<()> {
        let key = &self.text[entry.key_range.as_range()];
        if key.contains('\n') || self.text.as_bytes().get(entry.key_range.end()) != Some(&b':') {
            return None;
        }
        push_scalar_text(&mut self.out, key);
        self.out.push(':');
        Some(())
    }

    /// A scalar or a flow collection, on one line.
    fn flow(&mut self, node: &Node) -> Option<()> {
        let raw = &self.text[node.range.as_range()];
        // A comment inside a flow collection.
        if self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.range.start() < node.range.end())
        {
            return None;
        }
        match &node.kind {
            NodeKind::Scalar(scalar) => {
                if raw.contains('\n')
                    || matches!(scalar.style, ScalarStyle::Literal | ScalarStyle::Folded)
                {
                    return None;
                }
                push_scalar_text(&mut self.out, raw);
            }
            NodeKind::Sequence { items, flow: true } => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    // `[a: 1]` is a mapping in a sequence without braces.
                    if matches!(item.kind, NodeKind::Mapping { .. })
                        && !self.text[item.range.start()..].starts_with('{')
                    {
                        return None;
                    }
                    if item.range.is_empty() {
                        return None;
                    }
                    self.flow(item)?;
                }
                self.out.push(']');
            }
            NodeKind::Mapping {
                entries,
                flow: true,
            } => {
                if entries.is_empty() {
                    self.out.push_str("{}");
                    return Some(());
                }
                self.out.push_str("{ ");
                for (i, entry) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.flow_key(entry)?;
                    if !entry.value.range.is_empty() {
                        self.out.push(' ');
                        self.flow(&entry.value)?;
                    }
                }
                self.out.push_str(" }");
            }
            _ => return None,
        }
        Some(())
    }

    /// `|` or `>` (with `-` at most) and its lines, re-indented to `indent`.
    fn block_scalar(&mut self, value: &Node, indent: usize) -> Option<()> {
        let start = value.range.start();
        let header_end = start
            + self.text[start..]
                .find(|c: char| !matches!(c, '|' | '>' | '-' | '+' | '0'..='9'))
                .unwrap_or(self.text.len() - start);
        let header = &self.text[start..header_end];
        if header.len() > 2 || header.len() == 2 && !header.ends_with(['-', '+']) {
            return None;
        }
        self.out.push(' ');
        self.out.push_str(header);
        self.end_line(header_end)?;
        let end = value.range.end();
        if end <= self.pos {
            // No content lines: leave it to pretty_yaml.
            return None;
        }
        let body = &self.text[self.pos..end];
        let content_indent = body
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .find(|l| !l.trim_start_matches(' ').is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())?;
        for line in body.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if spaces == line.len() {
                if spaces > content_indent {
                    return None;
                }
            } else {
                if spaces < content_indent {
                    return None;
                }
                self.indent(indent);
                self.out.push_str(&line[content_indent..]);
            }
            self.newline();
        }
        self.pos = line_end(self.text, end);
        if header.ends_with('+') {
            // Kept: the empty lines after the body are part of the value.
            while self.pos < self.text.len() {
                let next = line_end(self.text, self.pos);
                if !self.text[self.pos..next]
                    .trim_end_matches(['\n', '\r'])
                    .bytes()
                    .all(|b| b == b' ')
                {
                    break;
                }
                self.newline();
                self.pos = next;
            }
        }
        Some(())
    }
}

/// A scalar as written, a single-quoted one with nothing to escape in double quotes.
fn push_scalar_text(out: &mut String, raw: &str) {
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\''))
        && !inner.contains(['\'', '"', '\\'])
    {
        out.push('"');
        out.push_str(inner);
        out.push('"');
    } else {
        out.push_str(raw);
    }
}

fn line_start(text: &str, offset: usize) -> usize {
    crate::text::line_start(text, offset)
}

fn line_end(text: &str, offset: usize) -> usize {
    crate::text::line_end(text, offset)
}
