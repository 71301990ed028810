//! The recursive-descent parser. Block structure is read line by line from indentation; flow collections and
//! quoted scalars may span lines. Every node parser leaves the cursor either on the line where its node ended
//! (quoted and flow nodes) or at the start of the next unread line (plain and block scalars, collections).

use crate::tree::{Comment, Entry, Node, NodeKind, Scalar, ScalarStyle};
use crate::{Parse, SyntaxError, SyntaxErrorKind, TextRange};

/// Parses a whole document.
pub fn parse(text: &str) -> Parse {
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: 0,
        errors: Vec::new(),
        comments: Vec::new(),
        tab_error_line: usize::MAX,
    };
    // A byte-order mark is not content.
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    let root = p.document();
    Parse {
        root,
        errors: p.errors,
        comments: p.comments,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    MapValue,
    SeqItem,
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    errors: Vec<SyntaxError>,
    comments: Vec<Comment>,
    /// The line start of the last tab-indentation error, so re-scanning a line does not report it twice.
    tab_error_line: usize,
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl<'a> Parser<'a> {
    // ---- low-level cursor helpers -------------------------------------------------------------------------------

    fn byte(&self, at: usize) -> u8 {
        self.b.get(at).copied().unwrap_or(0)
    }

    fn peek(&self) -> u8 {
        self.byte(self.pos)
    }

    fn at_eof(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Whether `at` is a line break (`\n`, `\r\n`) or the end of the text.
    fn is_eol(&self, at: usize) -> bool {
        match self.byte(at) {
            0 => at >= self.b.len(),
            b'\n' => true,
            b'\r' => self.byte(at + 1) == b'\n' || at + 1 >= self.b.len(),
            _ => false,
        }
    }

    /// The end of the line holding `at`, before its line break.
    fn line_end(&self, at: usize) -> usize {
        let mut end = match memchr(b'\n', &self.b[at.min(self.b.len())..]) {
            Some(i) => at + i,
            None => self.b.len(),
        };
        if end > at && self.byte(end - 1) == b'\r' {
            end -= 1;
        }
        end
    }

    /// The start of the line after the one holding `at` (or the end of the text).
    fn next_line_start(&self, at: usize) -> usize {
        match memchr(b'\n', &self.b[at.min(self.b.len())..]) {
            Some(i) => at + i + 1,
            None => self.b.len(),
        }
    }

    fn line_start(&self, at: usize) -> usize {
        match self.b[..at.min(self.b.len())]
            .iter()
            .rposition(|c| *c == b'\n')
        {
            Some(i) => i + 1,
            None => 0,
        }
    }

    fn col(&self, at: usize) -> usize {
        at - self.line_start(at)
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.byte(self.pos - 1) == b'\n' || self.at_eof()
    }

    fn skip_inline_blanks(&mut self) {
        while is_blank(self.peek()) {
            self.pos += 1;
        }
    }

    /// Whether a comment starts at `at` (a `#` at a line start or after white space).
    fn is_comment_start(&self, at: usize) -> bool {
        self.byte(at) == b'#' && (at == 0 || matches!(self.byte(at - 1), b' ' | b'\t' | b'\n'))
    }

    fn error(&mut self, kind: SyntaxErrorKind, range: TextRange, message: impl Into<String>) {
        self.errors.push(SyntaxError {
            kind,
            range,
            message: message.into(),
        });
    }

    fn invalid(&mut self, range: TextRange, message: impl Into<String>) {
        self.error(SyntaxErrorKind::Invalid, range, message);
    }

    /// Ends the current line: a trailing comment is recorded, anything else is an error. Leaves the cursor at the
    /// next line's start. Does nothing when already at a line start.
    fn finish_line(&mut self) {
        if self.at_line_start() {
            return;
        }
        self.skip_inline_blanks();
        let end = self.line_end(self.pos);
        if self.pos < end {
            if self.is_comment_start(self.pos) {
                self.comments.push(Comment {
                    range: TextRange::new(self.pos, end),
                });
            } else {
                let text_end = self.trim_comment(self.pos, end);
                self.invalid(
                    TextRange::new(self.pos, text_end),
                    "unexpected text after the value",
                );
                if text_end < end {
                    self.comments.push(Comment {
                        range: TextRange::new(self.find_comment(self.pos, end).unwrap_or(end), end),
                    });
                }
            }
        }
        self.pos = self.next_line_start(self.pos);
    }

    /// The position of a comment's `#` between `from` and `end`, if any.
    fn find_comment(&self, from: usize, end: usize) -> Option<usize> {
        (from..end).find(|&i| self.is_comment_start(i))
    }

    /// `end`, or the start of a comment before it, with trailing blanks removed.
    fn trim_comment(&self, from: usize, end: usize) -> usize {
        let mut e = self.find_comment(from, end).unwrap_or(end);
        while e > from && is_blank(self.byte(e - 1)) {
            e -= 1;
        }
        e
    }

    /// Skips blank and comment-only lines from a line start, recording comments. Returns the indentation and the
    /// position of the first character of the next content line, leaving the cursor at that line's start.
    fn skip_blank_lines(&mut self) -> Option<(usize, usize)> {
        loop {
            if self.at_eof() {
                return None;
            }
            let start = self.pos;
            let mut i = start;
            let mut tab_at = None;
            while is_blank(self.byte(i)) {
                if self.byte(i) == b'\t' && tab_at.is_none() {
                    tab_at = Some(i);
                }
                i += 1;
            }
            let end = self.line_end(i);
            if i == end {
                self.pos = self.next_line_start(end);
                continue;
            }
            if self.byte(i) == b'#' {
                self.comments.push(Comment {
                    range: TextRange::new(i, end),
                });
                self.pos = self.next_line_start(end);
                continue;
            }
            if let Some(tab) = tab_at {
                if self.tab_error_line != start {
                    self.tab_error_line = start;
                    self.invalid(
                        TextRange::new(tab, tab + 1),
                        "tabs are not allowed in indentation; indent with spaces",
                    );
                }
            }
            return Some((i - start, i));
        }
    }

    /// Peeks past blank (not comment) lines from `from`, a line start: the number of blank lines and the next line's
    /// first non-blank position.
    fn peek_next_line(&self, from: usize) -> Option<(usize, usize)> {
        let mut line = from;
        let mut blank_lines = 0;
        while line < self.b.len() {
            let mut i = line;
            while is_blank(self.byte(i)) {
                i += 1;
            }
            if self.is_eol(i) {
                blank_lines += 1;
                line = self.next_line_start(i);
                continue;
            }
            return Some((blank_lines, i));
        }
        None
    }

    fn is_seq_indicator(&self, at: usize) -> bool {
        self.byte(at) == b'-' && (is_blank(self.byte(at + 1)) || self.is_eol(at + 1))
    }

    fn is_doc_marker(&self, at: usize, marker: &[u8; 3]) -> bool {
        self.col(at) == 0
            && self.b[at.min(self.b.len())..].starts_with(marker)
            && (is_blank(self.byte(at + 3)) || self.is_eol(at + 3))
    }

    /// If a simple key starts at `at` and is followed by the `:` indicator on the same line, the colon's position.
    fn key_colon(&self, at: usize) -> Option<usize> {
        let end = self.line_end(at);
        let after_key = match self.byte(at) {
            b'"' | b'\'' => {
                let close = self.find_quote_close_on_line(at, end)?;
                let mut i = close + 1;
                while i < end && is_blank(self.byte(i)) {
                    i += 1;
                }
                i
            }
            b'[' | b'{' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' => {
                return None;
            }
            b'-' | b'?' if is_blank(self.byte(at + 1)) || self.is_eol(at + 1) => return None,
            _ => {
                let mut i = at;
                while i < end {
                    let c = self.byte(i);
                    if c == b':' && (i + 1 == end || is_blank(self.byte(i + 1))) {
                        return Some(i);
                    }
                    if c == b'#' && i > at && is_blank(self.byte(i - 1)) {
                        return None;
                    }
                    i += 1;
                }
                return None;
            }
        };
        (self.byte(after_key) == b':'
            && (after_key + 1 >= end || is_blank(self.byte(after_key + 1))))
        .then_some(after_key)
    }

    /// The closing quote of a quoted scalar starting at `at`, on the same line.
    fn find_quote_close_on_line(&self, at: usize, end: usize) -> Option<usize> {
        let quote = self.byte(at);
        let mut i = at + 1;
        while i < end {
            let c = self.byte(i);
            if quote == b'"' && c == b'\\' {
                i += 2;
                continue;
            }
            if c == quote {
                if quote == b'\'' && self.byte(i + 1) == b'\'' {
                    i += 2;
                    continue;
                }
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Skips a line that could not be parsed, and the lines indented under it, as one error.
    fn skip_error_block(&mut self, content: usize, message: &str) {
        let indent = self.col(content);
        let end = self.line_end(content);
        let text_end = self.trim_comment(content, end);
        self.invalid(
            TextRange::new(content, text_end.max(content + 1).min(end.max(content + 1))),
            message,
        );
        self.pos = self.next_line_start(end);
        while let Some((_, next)) = self.peek_next_line(self.pos) {
            if self.col(next) <= indent {
                break;
            }
            self.pos = self.next_line_start(next);
        }
    }

    // ---- documents ----------------------------------------------------------------------------------------------

    fn document(&mut self) -> Option<Node> {
        let mut root = None;
        let mut seen_start_marker = false;
        while let Some((indent, content)) = self.skip_blank_lines() {
            if indent == 0 && self.byte(content) == b'%' {
                self.pos = content;
                let end = self.line_end(content);
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(content, end),
                    "YAML directives are not supported in pipelines",
                );
                self.pos = self.next_line_start(end);
                continue;
            }
            if self.is_doc_marker(content, b"---") {
                if root.is_some() || seen_start_marker {
                    self.error(
                        SyntaxErrorKind::Unsupported,
                        TextRange::new(content, self.b.len()),
                        "a file holds one pipeline: several YAML documents are not supported",
                    );
                    self.pos = self.b.len();
                    break;
                }
                seen_start_marker = true;
                self.pos = content + 3;
                self.skip_inline_blanks();
                if self.is_eol(self.pos) || self.is_comment_start(self.pos) {
                    self.finish_line();
                    continue;
                }
                root = Some(self.value(-1, Ctx::Root));
                continue;
            }
            if self.is_doc_marker(content, b"...") {
                self.pos = content + 3;
                self.finish_line();
                continue;
            }
            if root.is_some() {
                self.pos = content;
                self.skip_error_block(
                    content,
                    "unexpected content after the end of the document's top-level value",
                );
                continue;
            }
            self.pos = content;
            root = Some(self.block_node_here(-1, Ctx::Root));
        }
        root
    }

    // ---- block nodes --------------------------------------------------------------------------------------------

    /// Parses the value after a `key:` or `- ` indicator (or at the document's start), inline or on the lines below.
    fn value(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let after_indicator = self.pos;
        self.skip_inline_blanks();
        if self.is_eol(self.pos) || self.is_comment_start(self.pos) {
            self.finish_line();
            let empty = Node {
                range: TextRange::empty(after_indicator),
                kind: NodeKind::Scalar(Scalar {
                    style: ScalarStyle::Plain,
                    value: String::new(),
                    unquoted_template: false,
                }),
            };
            return match self.skip_blank_lines() {
                Some((indent, content))
                    if indent as isize > parent_indent
                        || (ctx == Ctx::MapValue
                            && indent as isize == parent_indent
                            && self.is_seq_indicator(content)) =>
                {
                    self.pos = content;
                    self.block_node_here(parent_indent, ctx)
                }
                _ => empty,
            };
        }
        match ctx {
            Ctx::MapValue => self.scalar_or_flow(parent_indent, ctx),
            Ctx::SeqItem | Ctx::Root => self.block_node_here(parent_indent, ctx),
        }
    }

    /// Parses the node starting at the cursor, which is on its first character (the line start or mid-line).
    fn block_node_here(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let at = self.pos;
        let col = self.col(at);
        if self.is_seq_indicator(at) {
            return self.block_sequence(col);
        }
        if self.byte(at) == b'?' && (is_blank(self.byte(at + 1)) || self.is_eol(at + 1)) {
            let end = self.line_end(at);
            self.error(
                SyntaxErrorKind::Unsupported,
                TextRange::new(at, end),
                "complex mapping keys (`? `) are not supported; write `key: value`",
            );
            self.pos = at;
            self.skip_error_block_silently(at);
            return Node {
                range: TextRange::new(at, end),
                kind: NodeKind::Error,
            };
        }
        if self.key_colon(at).is_some() {
            return self.block_mapping(col);
        }
        self.scalar_or_flow(parent_indent, ctx)
    }

    fn skip_error_block_silently(&mut self, content: usize) {
        let indent = self.col(content);
        self.pos = self.next_line_start(content);
        while let Some((_, next)) = self.peek_next_line(self.pos) {
            if self.col(next) <= indent {
                break;
            }
            self.pos = self.next_line_start(next);
        }
    }

    fn block_mapping(&mut self, indent: usize) -> Node {
        let start = self.pos;
        let mut end = start;
        let mut entries = Vec::new();
        loop {
            let at = self.pos;
            if let Some(colon) = self.key_colon(at) {
                let (key, key_range) = self.key_text(at, colon);
                self.pos = colon + 1;
                let value = self.value(indent as isize, Ctx::MapValue);
                end = end.max(value.range.end()).max(colon + 1);
                entries.push(Entry {
                    key,
                    key_range,
                    value,
                });
            } else {
                let line_end = self.line_end(at);
                let line = &self.text[at..line_end];
                let message = if self.is_seq_indicator(at) {
                    "a list item cannot stand among the keys of a mapping".to_string()
                } else if line.contains(':') && !line.contains(": ") {
                    "expected `key: value`: put a space after the `:`".to_string()
                } else {
                    "expected `key: value`".to_string()
                };
                self.skip_error_block(at, &message);
            }
            let Some((ind, content)) = self.skip_blank_lines() else {
                break;
            };
            if ind < indent {
                break;
            }
            if ind == indent {
                if self.is_seq_indicator(content) {
                    // A compact list under the parent key, or a stray item: the parent decides.
                    break;
                }
                self.pos = content;
                continue;
            }
            // Indented more than the keys before it.
            if self.key_colon(content).is_some() {
                self.invalid(
                    TextRange::new(content - (ind - indent), content),
                    format!(
                        "this key is indented by {ind} spaces, the keys before it by {indent}; align them"
                    ),
                );
                self.pos = content;
                continue;
            }
            self.pos = content;
            self.skip_error_block(content, "unexpected indentation");
            match self.skip_blank_lines() {
                Some((ind, content)) if ind == indent && !self.is_seq_indicator(content) => {
                    self.pos = content;
                }
                _ => break,
            }
        }
        Node {
            range: TextRange::new(start, end),
            kind: NodeKind::Mapping {
                entries,
                flow: false,
            },
        }
    }

    /// The text and range of the key between `at` and its colon.
    fn key_text(&mut self, at: usize, colon: usize) -> (String, TextRange) {
        match self.byte(at) {
            q @ (b'"' | b'\'') => {
                let close = self
                    .find_quote_close_on_line(at, colon)
                    .expect("key_colon found the closing quote");
                let raw = &self.text[at + 1..close];
                let value = if q == b'"' {
                    self.unescape_double(raw, at + 1)
                } else {
                    raw.replace("''", "'")
                };
                (value, TextRange::new(at, close + 1))
            }
            _ => {
                let mut end = colon;
                while end > at && is_blank(self.byte(end - 1)) {
                    end -= 1;
                }
                (self.text[at..end].to_string(), TextRange::new(at, end))
            }
        }
    }

    fn block_sequence(&mut self, indent: usize) -> Node {
        let start = self.pos;
        let mut end = start;
        let mut items = Vec::new();
        loop {
            // The cursor is on `-`.
            self.pos += 1;
            let item = self.value(indent as isize, Ctx::SeqItem);
            end = end.max(item.range.end()).max(start + 1);
            items.push(item);
            let Some((ind, content)) = self.skip_blank_lines() else {
                break;
            };
            if ind < indent {
                break;
            }
            if ind == indent {
                if self.is_seq_indicator(content) {
                    self.pos = content;
                    continue;
                }
                break;
            }
            self.pos = content;
            self.skip_error_block(content, "unexpected indentation");
            match self.skip_blank_lines() {
                Some((ind, content)) if ind == indent && self.is_seq_indicator(content) => {
                    self.pos = content;
                }
                _ => break,
            }
        }
        Node {
            range: TextRange::new(start, end),
            kind: NodeKind::Sequence { items, flow: false },
        }
    }

    // ---- scalars and flow collections in block context ----------------------------------------------------------

    fn scalar_or_flow(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let at = self.pos;
        let node = match self.peek() {
            b'"' | b'\'' => self.quoted(parent_indent),
            b'|' | b'>' => return self.block_scalar(parent_indent),
            b'{' if self.byte(at + 1) == b'{' => self.unquoted_template(false),
            b'[' | b'{' => self.flow_collection(parent_indent),
            b'&' | b'!' => {
                let token_end = self.token_end(at);
                let what = if self.peek() == b'&' {
                    "anchors"
                } else {
                    "tags"
                };
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(at, token_end),
                    format!("YAML {what} are not supported in pipelines"),
                );
                self.pos = token_end;
                return self.value(parent_indent, ctx);
            }
            b'*' => {
                let token_end = self.token_end(at);
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(at, token_end),
                    "YAML aliases are not supported in pipelines",
                );
                self.pos = token_end;
                Node {
                    range: TextRange::new(at, token_end),
                    kind: NodeKind::Error,
                }
            }
            _ => return self.plain_block(parent_indent, ctx),
        };
        self.finish_line();
        node
    }

    fn token_end(&self, at: usize) -> usize {
        let mut i = at;
        while i < self.b.len() && !is_blank(self.byte(i)) && !self.is_eol(i) {
            i += 1;
        }
        i
    }

    /// An unquoted value starting with `{{`: kept as the template string it was meant to be.
    fn unquoted_template(&mut self, in_flow: bool) -> Node {
        let at = self.pos;
        let line_end = self.line_end(at);
        let mut end = match self.text[at..line_end].find("}}") {
            Some(i) => at + i + 2,
            None => line_end,
        };
        // The value goes on to the end of the plain scalar it heads (`{{a.b}} and more`).
        let mut i = end;
        while i < line_end {
            let c = self.byte(i);
            if self.is_comment_start(i) || (in_flow && matches!(c, b',' | b']' | b'}')) {
                break;
            }
            i += 1;
        }
        while i > end && is_blank(self.byte(i - 1)) {
            i -= 1;
        }
        end = end.max(i);
        let raw = &self.text[at..end];
        self.error(
            SyntaxErrorKind::UnquotedTemplate,
            TextRange::new(at, end),
            "an unquoted value starting with `{{` is a nested mapping in YAML; quote the template",
        );
        self.pos = end;
        Node {
            range: TextRange::new(at, end),
            kind: NodeKind::Scalar(Scalar {
                style: ScalarStyle::Plain,
                value: raw.to_string(),
                unquoted_template: true,
            }),
        }
    }

    /// A plain scalar in block context, possibly continued on more-indented lines.
    fn plain_block(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let start = self.pos;
        let line_end = self.line_end(start);
        let end = self.trim_comment(start, line_end);
        if ctx != Ctx::Root {
            if let Some(i) = self.text[start..end].find(": ") {
                self.invalid(
                    TextRange::new(start + i, start + i + 1),
                    "`: ` inside an unquoted value starts a nested mapping; quote the value",
                );
            } else if self.text[start..end].ends_with(':') {
                self.invalid(
                    TextRange::new(end - 1, end),
                    "`:` at the end of an unquoted value starts a nested mapping; quote the value",
                );
            }
        }
        let mut value = self.text[start..end].to_string();
        let mut last_end = end;
        let has_comment = end < line_end && self.find_comment(start, line_end).is_some();
        if has_comment {
            let c = self.find_comment(start, line_end).expect("checked");
            self.comments.push(Comment {
                range: TextRange::new(c, line_end),
            });
        }
        self.pos = self.next_line_start(line_end);
        if !has_comment {
            // Continuation lines: more indented than the parent, not a key, not a comment.
            while let Some((blank_lines, next)) = self.peek_next_line(self.pos) {
                if (self.col(next) as isize) <= parent_indent
                    || self.byte(next) == b'#'
                    || self.key_colon(next).is_some()
                    || self.is_doc_marker(next, b"---")
                    || self.is_doc_marker(next, b"...")
                {
                    break;
                }
                let next_end = self.line_end(next);
                let text_end = self.trim_comment(next, next_end);
                if blank_lines == 0 {
                    value.push(' ');
                } else {
                    value.extend(std::iter::repeat_n('\n', blank_lines));
                }
                value.push_str(&self.text[next..text_end]);
                last_end = text_end;
                self.pos = self.next_line_start(next_end);
                if text_end < next_end {
                    let c = self
                        .find_comment(next, next_end)
                        .expect("trimmed a comment");
                    self.comments.push(Comment {
                        range: TextRange::new(c, next_end),
                    });
                    break;
                }
            }
        }
        Node {
            range: TextRange::new(start, last_end),
            kind: NodeKind::Scalar(Scalar {
                style: ScalarStyle::Plain,
                value,
                unquoted_template: false,
            }),
        }
    }

    /// A single- or double-quoted scalar. One that is not closed before a line that starts a new element ends
    /// with its first line, so the rest of the document still parses.
    fn quoted(&mut self, parent_indent: isize) -> Node {
        let open = self.pos;
        let quote = self.peek();
        let mut i = open + 1;
        let mut line_end = self.line_end(i);
        loop {
            if i >= line_end {
                // The line ends inside the string: go on only if the next line can be a continuation.
                let next_start = self.next_line_start(line_end);
                let continues = next_start < self.b.len()
                    && match self.peek_next_line(next_start) {
                        Some((_, next)) => {
                            (self.col(next) as isize) > parent_indent
                                && !(self.key_colon(next).is_some()
                                    && self.find_quote_in_line(next, quote).is_none())
                        }
                        None => false,
                    };
                if !continues {
                    let what = if quote == b'"' { "double" } else { "single" };
                    self.invalid(
                        TextRange::new(open, open + 1),
                        format!("unterminated {what}-quoted string"),
                    );
                    let raw = &self.text[open + 1..line_end];
                    let value = if quote == b'"' {
                        self.unescape_double(raw, open + 1)
                    } else {
                        raw.replace("''", "'")
                    };
                    self.pos = line_end;
                    return Node {
                        range: TextRange::new(open, line_end),
                        kind: NodeKind::Scalar(Scalar {
                            style: if quote == b'"' {
                                ScalarStyle::DoubleQuoted
                            } else {
                                ScalarStyle::SingleQuoted
                            },
                            value,
                            unquoted_template: false,
                        }),
                    };
                }
                i = next_start;
                line_end = self.line_end(i);
                continue;
            }
            let c = self.byte(i);
            if quote == b'"' && c == b'\\' {
                i += 2;
                continue;
            }
            if c == quote {
                if quote == b'\'' && self.byte(i + 1) == b'\'' {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        let close = i;
        let raw = &self.text[open + 1..close];
        let value = if raw.contains('\n') {
            fold_quoted(raw, quote, |s| self.unescape_double(s, open + 1))
        } else if quote == b'"' {
            self.unescape_double(raw, open + 1)
        } else {
            raw.replace("''", "'")
        };
        self.pos = close + 1;
        Node {
            range: TextRange::new(open, close + 1),
            kind: NodeKind::Scalar(Scalar {
                style: if quote == b'"' {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::SingleQuoted
                },
                value,
                unquoted_template: false,
            }),
        }
    }

    fn find_quote_in_line(&self, at: usize, quote: u8) -> Option<usize> {
        let end = self.line_end(at);
        (at..end).find(|&i| self.byte(i) == quote)
    }

    /// Decodes the escapes of a double-quoted scalar; a bad escape is reported and kept as written.
    fn unescape_double(&self, raw: &str, _at: usize) -> String {
        if !raw.contains('\\') {
            return raw.to_string();
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') | Some('\t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('a') => out.push('\u{7}'),
                Some('b') => out.push('\u{8}'),
                Some('e') => out.push('\u{1b}'),
                Some('f') => out.push('\u{c}'),
                Some('v') => out.push('\u{b}'),
                Some(' ') => out.push(' '),
                Some('"') => out.push('"'),
                Some('/') => out.push('/'),
                Some('\\') => out.push('\\'),
                Some('N') => out.push('\u{85}'),
                Some('_') => out.push('\u{a0}'),
                Some('L') => out.push('\u{2028}'),
                Some('P') => out.push('\u{2029}'),
                Some(k @ ('x' | 'u' | 'U')) => {
                    let n = match k {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.clone().take(n).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if hex.len() == n => {
                            out.push(ch);
                            for _ in 0..n {
                                chars.next();
                            }
                        }
                        _ => {
                            out.push('\\');
                            out.push(k);
                        }
                    }
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        out
    }

    /// A literal (`|`) or folded (`>`) block scalar.
    fn block_scalar(&mut self, parent_indent: isize) -> Node {
        let start = self.pos;
        let folded = self.peek() == b'>';
        self.pos += 1;
        let mut chomp = b' ';
        let mut explicit_indent = None;
        while matches!(self.peek(), b'+' | b'-' | b'1'..=b'9') {
            match self.peek() {
                c @ (b'+' | b'-') => chomp = c,
                d => explicit_indent = Some((d - b'0') as usize),
            }
            self.pos += 1;
        }
        let header_end = self.pos;
        self.finish_line();
        let base = parent_indent.max(0) as usize;
        let content_indent = match explicit_indent {
            Some(n) => Some(base + n),
            None => self.peek_next_line(self.pos).and_then(|(_, next)| {
                let col = self.col(next);
                ((col as isize) > parent_indent).then_some(col)
            }),
        };
        let mut lines: Vec<&str> = Vec::new();
        let mut end = header_end;
        if let Some(indent) = content_indent {
            while self.pos < self.b.len() {
                let line_start = self.pos;
                let line_end = self.line_end(line_start);
                let line = &self.text[line_start..line_end];
                let blank = line.bytes().all(is_blank);
                if blank {
                    lines.push(line.get(indent..).unwrap_or(""));
                    self.pos = self.next_line_start(line_end);
                    continue;
                }
                let col = line.bytes().take_while(|c| *c == b' ').count();
                if col < indent {
                    break;
                }
                lines.push(&line[indent..]);
                end = line_end;
                self.pos = self.next_line_start(line_end);
            }
        }
        // Trailing blank lines belong to the chomping, not to the node's range or to the next node.
        let trailing_blank = lines
            .iter()
            .rev()
            .take_while(|l| l.trim().is_empty())
            .count();
        let body_lines = &lines[..lines.len() - trailing_blank];
        let mut value = if folded {
            fold_block(body_lines)
        } else {
            body_lines.join("\n")
        };
        match chomp {
            b'-' => {}
            b'+' => {
                if !body_lines.is_empty() {
                    value.push('\n');
                }
                value.extend(std::iter::repeat_n('\n', trailing_blank));
            }
            _ => {
                if !body_lines.is_empty() {
                    value.push('\n');
                }
            }
        }
        Node {
            range: TextRange::new(start, end),
            kind: NodeKind::Scalar(Scalar {
                style: if folded {
                    ScalarStyle::Folded
                } else {
                    ScalarStyle::Literal
                },
                value,
                unquoted_template: false,
            }),
        }
    }

    // ---- flow collections ---------------------------------------------------------------------------------------

    /// Skips white space, line breaks and comments inside a flow collection. Returns false when the collection
    /// cannot go on: the text ended, or a line starts at or left of the enclosing block's indentation.
    fn flow_skip(&mut self, parent_indent: isize) -> bool {
        loop {
            self.skip_inline_blanks();
            if self.is_comment_start(self.pos) {
                let end = self.line_end(self.pos);
                self.comments.push(Comment {
                    range: TextRange::new(self.pos, end),
                });
                self.pos = end;
            }
            if self.at_eof() {
                return false;
            }
            if self.is_eol(self.pos) {
                let next = self.next_line_start(self.pos);
                match self.peek_next_line(next) {
                    Some((_, content))
                        if (self.col(content) as isize) > parent_indent
                            || matches!(self.byte(content), b']' | b'}') =>
                    {
                        self.pos = content;
                        continue;
                    }
                    _ => {
                        return false;
                    }
                }
            }
            return true;
        }
    }

    fn flow_collection(&mut self, parent_indent: isize) -> Node {
        let open = self.pos;
        let is_map = self.peek() == b'{';
        let close = if is_map { b'}' } else { b']' };
        self.pos += 1;
        let mut end = open + 1;
        let mut items = Vec::new();
        let mut entries = Vec::new();
        let mut closed = false;
        loop {
            if !self.flow_skip(parent_indent) {
                break;
            }
            let c = self.peek();
            if c == close {
                self.pos += 1;
                end = self.pos;
                closed = true;
                break;
            }
            if matches!(c, b']' | b'}') {
                self.invalid(
                    TextRange::new(self.pos, self.pos + 1),
                    format!("expected `{}`, found `{}`", close as char, c as char),
                );
                self.pos += 1;
                end = self.pos;
                closed = true;
                break;
            }
            if c == b',' {
                self.invalid(
                    TextRange::new(self.pos, self.pos + 1),
                    "expected a value before `,`",
                );
                self.pos += 1;
                continue;
            }
            let first = self.flow_node(parent_indent);
            end = end.max(first.range.end());
            let mut pair = None;
            if self.flow_skip(parent_indent) && self.peek() == b':' {
                self.pos += 1;
                let value = if self.flow_skip(parent_indent)
                    && !matches!(self.peek(), b',' | b']' | b'}')
                {
                    self.flow_node(parent_indent)
                } else {
                    null_at(self.pos)
                };
                end = end.max(value.range.end());
                pair = Some(value);
            }
            if is_map {
                let value = pair.unwrap_or_else(|| null_at(first.range.end()));
                entries.push(self.flow_entry(first, value));
            } else if let Some(value) = pair {
                let entry = self.flow_entry(first, value);
                let range = entry.range();
                items.push(Node {
                    range,
                    kind: NodeKind::Mapping {
                        entries: vec![entry],
                        flow: true,
                    },
                });
            } else {
                items.push(first);
            }
            if !self.flow_skip(parent_indent) {
                break;
            }
            match self.peek() {
                b',' => self.pos += 1,
                c if c == close => {}
                b']' | b'}' => {}
                _ => {
                    let at = self.pos;
                    self.invalid(
                        TextRange::new(at, at + 1),
                        format!("expected `,` or `{}`", close as char),
                    );
                    // Skip to the next separator on this line, or give up on the collection.
                    let line_end = self.line_end(at);
                    match (at..line_end).find(|&i| matches!(self.byte(i), b',' | b']' | b'}')) {
                        Some(i) => self.pos = i,
                        None => {
                            self.pos = line_end;
                        }
                    }
                }
            }
        }
        if !closed {
            self.invalid(
                TextRange::new(open, open + 1),
                format!(
                    "`{}` is never closed: expected `{}`",
                    self.byte(open) as char,
                    close as char
                ),
            );
            // Resume at the line where the collection was cut off.
            if !self.at_eof() {
                self.pos = self.next_line_start(self.pos);
            }
        }
        Node {
            range: TextRange::new(open, end),
            kind: if is_map {
                NodeKind::Mapping {
                    entries,
                    flow: true,
                }
            } else {
                NodeKind::Sequence { items, flow: true }
            },
        }
    }

    fn flow_entry(&mut self, key: Node, value: Node) -> Entry {
        let key_text = match &key.kind {
            NodeKind::Scalar(s) => s.value.clone(),
            _ => {
                self.error(
                    SyntaxErrorKind::Unsupported,
                    key.range,
                    "only scalars can be mapping keys",
                );
                String::new()
            }
        };
        Entry {
            key: key_text,
            key_range: key.range,
            value,
        }
    }

    fn flow_node(&mut self, parent_indent: isize) -> Node {
        let at = self.pos;
        match self.peek() {
            b'"' | b'\'' => self.quoted(parent_indent),
            b'{' if self.byte(at + 1) == b'{' => self.unquoted_template(true),
            b'[' | b'{' => self.flow_collection(parent_indent),
            b'&' | b'!' | b'*' => {
                let mut end = at;
                while end < self.b.len()
                    && !is_blank(self.byte(end))
                    && !self.is_eol(end)
                    && !matches!(self.byte(end), b',' | b']' | b'}')
                {
                    end += 1;
                }
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(at, end),
                    "YAML anchors, aliases and tags are not supported in pipelines",
                );
                self.pos = end;
                Node {
                    range: TextRange::new(at, end),
                    kind: NodeKind::Error,
                }
            }
            _ => {
                let line_end = self.line_end(at);
                let mut i = at;
                while i < line_end {
                    let c = self.byte(i);
                    if matches!(c, b',' | b'[' | b']' | b'{' | b'}') || self.is_comment_start(i) {
                        break;
                    }
                    if c == b':'
                        && (i + 1 >= line_end
                            || matches!(self.byte(i + 1), b' ' | b'\t' | b',' | b']' | b'}'))
                    {
                        break;
                    }
                    i += 1;
                }
                let mut end = i;
                while end > at && is_blank(self.byte(end - 1)) {
                    end -= 1;
                }
                self.pos = i;
                if end == at {
                    self.invalid(
                        TextRange::new(at, (at + 1).min(line_end.max(at))),
                        "expected a value",
                    );
                    if i == at && i < line_end {
                        self.pos = i + 1;
                    }
                    return Node {
                        range: TextRange::empty(at),
                        kind: NodeKind::Error,
                    };
                }
                Node {
                    range: TextRange::new(at, end),
                    kind: NodeKind::Scalar(Scalar {
                        style: ScalarStyle::Plain,
                        value: self.text[at..end].to_string(),
                        unquoted_template: false,
                    }),
                }
            }
        }
    }
}

fn null_at(at: usize) -> Node {
    Node {
        range: TextRange::empty(at),
        kind: NodeKind::Scalar(Scalar {
            style: ScalarStyle::Plain,
            value: String::new(),
            unquoted_template: false,
        }),
    }
}

/// Line folding of a multi-line quoted scalar: a single line break becomes a space, each further empty line a
/// newline; white space around breaks is dropped.
fn fold_quoted(raw: &str, quote: u8, unescape: impl Fn(&str) -> String) -> String {
    let lines: Vec<&str> = raw.split('\n').collect();
    let mut out = String::new();
    let mut pending_breaks = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut piece = if i == 0 {
            line
        } else {
            line.trim_start_matches([' ', '\t'])
        };
        if i + 1 < lines.len() {
            piece = piece.trim_end_matches([' ', '\t']);
        }
        if i > 0 && piece.is_empty() && i + 1 < lines.len() {
            pending_breaks += 1;
            continue;
        }
        if i > 0 {
            let escaped_break = quote == b'"' && out.ends_with('\\') && !out.ends_with("\\\\");
            if escaped_break {
                out.pop();
            } else if pending_breaks > 0 {
                out.extend(std::iter::repeat_n('\n', pending_breaks));
            } else {
                out.push(' ');
            }
        }
        pending_breaks = 0;
        out.push_str(piece);
    }
    if quote == b'"' {
        unescape(&out)
    } else {
        out.replace("''", "'")
    }
}

/// Folding of a `>` block scalar: lines of text are joined with spaces; empty lines and more-indented lines keep
/// their breaks.
fn fold_block(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut prev_normal = false;
    let mut pending_breaks = 0;
    for line in lines {
        if line.trim().is_empty() {
            pending_breaks += 1;
            continue;
        }
        let normal = !line.starts_with([' ', '\t']);
        if !out.is_empty() {
            if pending_breaks > 0 {
                out.extend(std::iter::repeat_n(
                    '\n',
                    pending_breaks + usize::from(!(prev_normal && normal)),
                ));
            } else if prev_normal && normal {
                out.push(' ');
            } else {
                out.push('\n');
            }
        } else {
            out.extend(std::iter::repeat_n('\n', pending_breaks));
        }
        pending_breaks = 0;
        out.push_str(line);
        prev_normal = normal;
    }
    out
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}
