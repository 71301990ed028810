//! The recursive-descent parser. Block structure is read line by line from indentation; flow collections and
//! quoted scalars may span lines. Every node parser leaves the cursor either on the line where its node ended
//! (quoted and flow nodes) or at the start of the next unread line (plain and block scalars, collections).

use std::cell::Cell;

use crate::tree::CompactString;
use crate::tree::{Comment, Entry, Node, NodeKind, Scalar, ScalarStyle};
use crate::{Parse, SyntaxError, SyntaxErrorKind, TextRange};

/// How deeply nodes may nest. Pipelines nest a handful of levels; the limit keeps input such as `[[[[…` or
/// `- - - …` from exhausting the stack of whichever thread parses (a stack overflow aborts the process).
const MAX_DEPTH: usize = 64;

/// Parses a whole document.
pub fn parse(text: &str) -> Parse {
    // A byte-order mark is not content: the first line's columns count from after it.
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
    line_starts.push(bom as u32);
    let bytes = text.as_bytes();
    line_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i as u32 + 1));
    // YAML reads a carriage return not followed by a line feed as a line break; the parser reads lines at `\n` only,
    // so such a file is reported rather than read differently.
    let bare_cr = memchr::memchr_iter(b'\r', bytes).find(|&i| bytes.get(i + 1) != Some(&b'\n'));
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: bom,
        line_starts,
        last_line: Cell::new(0),
        depth: 0,
        flow_closers: Vec::new(),
        errors: Vec::new(),
        comments: Vec::new(),
        tab_error_line: usize::MAX,
    };
    let root = p.document();
    if let Some(cr) = bare_cr {
        p.error(
            SyntaxErrorKind::Unsupported,
            TextRange::new(cr, cr + 1),
            "a carriage return without a line feed is a line break in YAML; pipelines support only `\\n` and `\\r\\n` line endings",
        );
    }
    Parse {
        root,
        errors: p.errors,
        comments: p.comments,
    }
}

/// Parses one item of a block sequence again, as [`parse`] would within the whole text: the item whose `-` is at
/// `dash` (column `indent`), in the lines `region` of `text` (whole lines; the line after it, if any, starts no
/// deeper than the `-`). `depth` is how many nodes enclose the item's value. Positions are positions in `text`.
///
/// `None` when the item would not end exactly with the region (a dedented line inside it), or has a syntax error
/// that reaches the region's end (an unclosed quote or bracket runs to the end of the text here, but only to the
/// next step in the whole text): only then can the result differ from a full parse, and the caller parses the
/// whole text instead.
pub(crate) fn parse_sequence_item(
    text: &str,
    region: std::ops::Range<usize>,
    dash: usize,
    indent: usize,
    depth: usize,
) -> Option<(Node, Vec<Comment>, Vec<SyntaxError>)> {
    let part = &text[..region.end];
    let mut line_starts = Vec::with_capacity((region.end - region.start) / 32 + 1);
    line_starts.push(region.start as u32);
    line_starts.extend(
        memchr::memchr_iter(b'\n', &part.as_bytes()[region.start..])
            .map(|i| (region.start + i) as u32 + 1),
    );
    let mut p = Parser {
        text: part,
        b: part.as_bytes(),
        pos: dash,
        line_starts,
        last_line: Cell::new(0),
        depth,
        flow_closers: Vec::new(),
        errors: Vec::new(),
        comments: Vec::new(),
        tab_error_line: usize::MAX,
    };
    if !p.is_seq_indicator(dash) || p.col(dash) != indent {
        return None;
    }
    p.pos = dash + 1;
    let item = p.value(indent as isize, Ctx::SeqItem);
    // The rest of the region must be blank lines and comments, as the sequence reads them after its item.
    // Where the region's last line starts: an error reaching it may have run into the end of the text.
    let lines = &text[region.start..region.end];
    let lines = lines.strip_suffix('\n').unwrap_or(lines);
    let last_line = region.start + lines.rfind('\n').map_or(0, |i| i + 1);
    if p.skip_blank_lines().is_some()
        || !p.flow_closers.is_empty()
        || p.errors.iter().any(|e| e.range.end() >= last_line)
    {
        return None;
    }
    Some((item, p.comments, p.errors))
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
    /// Where every line starts (the first after a byte-order mark), so that a position's column and line end cost
    /// no scan over a possibly very long line.
    line_starts: Vec<u32>,
    /// The line [`Self::line_of`] found last.
    last_line: Cell<usize>,
    /// How many nodes enclose the one being parsed; see [`MAX_DEPTH`].
    depth: usize,
    /// The closing brackets of the flow collections being parsed, innermost last: a bracket that closes an outer
    /// collection ends the inner ones instead of being taken as their mistyped closer.
    flow_closers: Vec<u8>,
    errors: Vec<SyntaxError>,
    comments: Vec<Comment>,
    /// The line start of the last tab-indentation error, so re-scanning a line does not report it twice.
    tab_error_line: usize,
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Characters that cannot start a plain scalar (and so cannot start a plain key).
fn is_indicator(c: u8) -> bool {
    b"[]{},#&*!|>%@`\"'".contains(&c)
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

    /// The index of the line holding `at`.
    fn line_of(&self, at: usize) -> usize {
        // The parser mostly asks about the line it is on or the next one: check those before searching.
        let start_of = |line: usize| {
            self.line_starts
                .get(line)
                .map_or(usize::MAX, |s| *s as usize)
        };
        let last = self.last_line.get();
        if start_of(last) <= at {
            if at < start_of(last + 1) {
                return last;
            }
            if at < start_of(last + 2) {
                self.last_line.set(last + 1);
                return last + 1;
            }
        }
        let line = self
            .line_starts
            .partition_point(|s| *s as usize <= at)
            .saturating_sub(1);
        self.last_line.set(line);
        line
    }

    /// The end of the line holding `at`, before its line break.
    fn line_end(&self, at: usize) -> usize {
        let at = at.min(self.b.len());
        let mut end = self.next_line_start(at);
        if end > at && self.byte(end - 1) == b'\n' {
            end -= 1;
        }
        if end > at && self.byte(end - 1) == b'\r' {
            end -= 1;
        }
        end
    }

    /// The start of the line after the one holding `at` (or the end of the text).
    fn next_line_start(&self, at: usize) -> usize {
        match self.line_starts.get(self.line_of(at) + 1) {
            Some(start) => *start as usize,
            None => self.b.len(),
        }
    }

    fn col(&self, at: usize) -> usize {
        at.saturating_sub(self.line_starts[self.line_of(at)] as usize)
    }

    fn at_line_start(&self) -> bool {
        self.pos == self.line_starts[0] as usize
            || self.byte(self.pos.wrapping_sub(1)) == b'\n'
            || self.at_eof()
    }

    /// The end of the character at `at`, for one-character error ranges that must not split a character.
    fn char_end(&self, at: usize) -> usize {
        let mut end = (at + 1).min(self.b.len());
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        end
    }

    fn skip_inline_blanks(&mut self) {
        while is_blank(self.peek()) {
            self.pos += 1;
        }
    }

    /// Whether a comment starts at `at` (a `#` at a line start or after white space).
    fn is_comment_start(&self, at: usize) -> bool {
        self.byte(at) == b'#'
            && (at == self.line_starts[0] as usize
                || matches!(self.byte(at.wrapping_sub(1)), b' ' | b'\t' | b'\n'))
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

    fn comment(&mut self, start: usize, end: usize) {
        self.comments.push(Comment {
            range: TextRange::new(start, end),
        });
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
                self.comment(self.pos, end);
            } else {
                let text_end = self.trim_comment(self.pos, end);
                self.invalid(
                    TextRange::new(self.pos, text_end),
                    "unexpected text after the value",
                );
                if let Some(c) = self.find_comment(text_end, end) {
                    self.comment(c, end);
                }
            }
        }
        self.pos = self.next_line_start(self.pos);
    }

    /// The position of a comment's `#` between `from` and `end`, if any.
    fn find_comment(&self, from: usize, end: usize) -> Option<usize> {
        let mut i = from.min(end);
        while let Some(found) = memchr(b'#', &self.b[i..end]) {
            if self.is_comment_start(i + found) {
                return Some(i + found);
            }
            i += found + 1;
        }
        None
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
            if self.is_eol(i) {
                self.pos = self.next_line_start(i);
                continue;
            }
            if self.byte(i) == b'#' {
                let end = self.line_end(i);
                self.comment(i, end);
                self.pos = self.next_line_start(end);
                continue;
            }
            // A tab before a scalar or a flow collection is separation; before a key or a `- ` item it would be
            // indentation, which YAML does not allow.
            if let Some(tab) =
                tab_at.filter(|_| self.tab_error_line != start && self.starts_block_entry(i))
            {
                self.tab_error_line = start;
                self.invalid(
                    TextRange::new(tab, tab + 1),
                    "tabs are not allowed in indentation; indent with spaces",
                );
            }
            return Some((self.col(i), i));
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

    fn is_complex_key(&self, at: usize) -> bool {
        self.byte(at) == b'?' && (is_blank(self.byte(at + 1)) || self.is_eol(at + 1))
    }

    /// A `:` indicator with no key before it (`: value`): an empty key, or the value of a `? ` complex key.
    fn is_empty_key(&self, at: usize) -> bool {
        self.byte(at) == b':' && (is_blank(self.byte(at + 1)) || self.is_eol(at + 1))
    }

    /// Whether an alias used as a key starts at `at` (`*a : value`).
    fn is_alias_key(&self, at: usize) -> bool {
        if self.byte(at) != b'*' {
            return false;
        }
        let mut i = self.token_end(at, false);
        while is_blank(self.byte(i)) {
            i += 1;
        }
        self.is_empty_key(i)
    }

    /// Whether a block collection's entry starts at `at`: a `- ` item or a key. Tabs may not indent these.
    fn starts_block_entry(&self, at: usize) -> bool {
        self.is_seq_indicator(at)
            || self.is_complex_key(at)
            || self.is_empty_key(at)
            || self.is_alias_key(at)
            || self.key_colon(at).is_some()
    }

    /// Reports a tab in the indentation of the line holding `content` when the spaces before it do not indent the
    /// line deeper than `parent_indent` (a tab never counts as indentation; after enough spaces it is separation).
    fn check_tab_indent(&mut self, content: usize, parent_indent: isize) {
        let line_start = self.line_starts[self.line_of(content)] as usize;
        let spaces = self.b[line_start..content]
            .iter()
            .take_while(|c| **c == b' ')
            .count();
        let tab = line_start + spaces;
        if tab < content
            && self.byte(tab) == b'\t'
            && (spaces as isize) <= parent_indent
            && self.tab_error_line != line_start
        {
            self.tab_error_line = line_start;
            self.invalid(
                TextRange::new(tab, tab + 1),
                "tabs are not allowed in indentation; indent with spaces",
            );
        }
    }

    fn is_doc_marker(&self, at: usize, marker: &[u8; 3]) -> bool {
        self.b[at.min(self.b.len())..].starts_with(marker)
            && (is_blank(self.byte(at + 3)) || self.is_eol(at + 3))
            && self.col(at) == 0
    }

    /// Whether a `---` or `...` line starts at `at`: it ends every node of the document.
    fn is_any_doc_marker(&self, at: usize) -> bool {
        self.is_doc_marker(at, b"---") || self.is_doc_marker(at, b"...")
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
            // `: value` has no key (an empty key, reported where it is read).
            b':' if self.is_empty_key(at) => return None,
            c if is_indicator(c) => return None,
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

    /// A key glued to its value (`key:value`, `"key":value`), which YAML reads as one plain scalar but the author
    /// meant as an entry: the colon's position. Only a key without blanks counts, so prose with a colon in it is not
    /// taken for an entry.
    fn tight_colon(&self, at: usize) -> Option<usize> {
        let end = self.line_end(at);
        let colon = match self.byte(at) {
            b'"' | b'\'' => self.find_quote_close_on_line(at, end)? + 1,
            c if is_indicator(c) || self.is_empty_key(at) => return None,
            b'-' | b'?' if is_blank(self.byte(at + 1)) || self.is_eol(at + 1) => return None,
            // A plain key may start with `:` when no blank follows it (`:x:value`).
            _ => (at + 1..end).find(|&i| matches!(self.byte(i), b':' | b' ' | b'\t'))?,
        };
        let value_start = self.byte(colon + 1);
        (self.byte(colon) == b':'
            && colon + 1 < end
            && !is_blank(value_start)
            && value_start != b':')
            .then_some(colon)
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

    /// Skips the rest of the line holding `at` and the lines indented deeper than `at`'s column, recording the first
    /// line's trailing comment and the comment lines among them.
    fn skip_block(&mut self, at: usize) {
        self.skip_lines_under(at, self.col(at));
    }

    /// Skips the rest of the line from `at` and the lines below it indented deeper than `indent`, recording the
    /// first line's trailing comment and the comment lines among them.
    fn skip_lines_under(&mut self, at: usize, indent: usize) {
        let end = self.line_end(at);
        if let Some(c) = self.find_comment(at, end) {
            self.comment(c, end);
        }
        self.pos = self.next_line_start(end);
        while let Some((_, next)) = self.peek_next_line(self.pos) {
            // Comment lines do not end a block, whatever their indentation.
            if self.col(next) <= indent && self.byte(next) != b'#' {
                break;
            }
            let next_end = self.line_end(next);
            if self.byte(next) == b'#' {
                self.comment(next, next_end);
            }
            self.pos = self.next_line_start(next_end);
        }
    }

    /// Reports the line at `at` (without its comment) as one error and skips it with the lines indented under it.
    /// Returns the reported range.
    fn skip_error_block(&mut self, at: usize, kind: SyntaxErrorKind, message: &str) -> TextRange {
        let end = self.line_end(at);
        let mut text_end = self.trim_comment(at, end);
        if text_end <= at {
            text_end = self.char_end(at).min(end);
        }
        let range = TextRange::new(at, text_end.max(at));
        self.error(kind, range, message);
        self.skip_block(at);
        range
    }

    /// A `? key` entry: reported as unsupported and skipped with its `: value` line.
    fn skip_complex_key(&mut self, at: usize) {
        self.skip_error_block(
            at,
            SyntaxErrorKind::Unsupported,
            "complex mapping keys (`? `) are not supported; write `key: value`",
        );
        let col = self.col(at);
        let value_line = self.peek_next_line(self.pos).filter(|(_, next)| {
            self.col(*next) == col
                && self.byte(*next) == b':'
                && (is_blank(self.byte(next + 1)) || self.is_eol(next + 1))
        });
        if let Some((_, next)) = value_line {
            self.skip_block(next);
        }
        self.skip_compact_items(col);
    }

    /// Skips the `- ` items at column `col` that follow (a list written at the indentation of the `?` or `:` it
    /// belongs to), recording their comments.
    fn skip_compact_items(&mut self, col: usize) {
        while let Some((_, next)) = self
            .peek_next_line(self.pos)
            .filter(|(_, next)| self.col(*next) == col && self.is_seq_indicator(*next))
        {
            self.skip_block(next);
        }
    }

    /// A line that starts with `:` and no key: reported as unsupported and skipped with what belongs to it.
    fn skip_empty_key(&mut self, at: usize) {
        self.skip_error_block(
            at,
            SyntaxErrorKind::Unsupported,
            "a `:` with no key before it (an empty key, or the value of a `? ` key) is valid YAML, not supported in pipelines; write `key: value`",
        );
        self.skip_compact_items(self.col(at));
    }

    /// The end of a token that is not a scalar (an anchor, alias or tag).
    fn token_end(&self, at: usize, in_flow: bool) -> usize {
        let mut i = at;
        loop {
            let c = self.byte(i);
            let ends = is_blank(c)
                || self.is_eol(i)
                || (in_flow && matches!(c, b',' | b'[' | b']' | b'{' | b'}'));
            if ends {
                return i;
            }
            i += 1;
        }
    }

    /// The position after the anchors and tags (and the blanks after them) starting at `at`.
    fn properties_end(&self, at: usize, in_flow: bool) -> usize {
        let mut i = at;
        while matches!(self.byte(i), b'&' | b'!') {
            i = self.token_end(i, in_flow);
            while is_blank(self.byte(i)) {
                i += 1;
            }
        }
        i
    }

    /// Reports every anchor and tag between `at` and `end` (from [`Self::properties_end`]).
    fn report_properties(&mut self, at: usize, end: usize, in_flow: bool) {
        let mut i = at;
        while i < end && matches!(self.byte(i), b'&' | b'!') {
            let token_end = self.token_end(i, in_flow);
            let what = if self.byte(i) == b'&' {
                "anchors"
            } else {
                "tags"
            };
            self.error(
                SyntaxErrorKind::Unsupported,
                TextRange::new(i, token_end),
                format!("YAML {what} are not supported in pipelines"),
            );
            i = token_end;
            while is_blank(self.byte(i)) {
                i += 1;
            }
        }
    }

    // ---- documents ----------------------------------------------------------------------------------------------

    fn document(&mut self) -> Option<Node> {
        let mut root = None;
        let mut started = false;
        let mut ended = false;
        while let Some((indent, content)) = self.skip_blank_lines() {
            self.pos = content;
            if self.is_doc_marker(content, b"...") {
                ended |= root.is_some() || started;
                self.pos = content + 3;
                self.finish_line();
                continue;
            }
            let start_marker = self.is_doc_marker(content, b"---");
            if ended || (start_marker && (root.is_some() || started)) {
                let end = self.trim_comment(content, self.line_end(content));
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(content, end.max(content)),
                    "a file holds one pipeline: several YAML documents are not supported",
                );
                self.pos = self.b.len();
                break;
            }
            if indent == 0 && self.byte(content) == b'%' {
                let end = self.trim_comment(content, self.line_end(content));
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(content, end),
                    "YAML directives are not supported in pipelines",
                );
                self.pos = end;
                self.finish_line();
                continue;
            }
            if start_marker {
                started = true;
                self.pos = content + 3;
                self.skip_inline_blanks();
                if self.is_eol(self.pos) || self.is_comment_start(self.pos) {
                    self.finish_line();
                    continue;
                }
                if self.starts_block_entry(self.pos) {
                    let end = self.trim_comment(self.pos, self.line_end(self.pos));
                    self.invalid(
                        TextRange::new(self.pos, end),
                        "a block mapping or list cannot start on the `---` line; put it on the next line",
                    );
                }
                root = Some(self.block_node_here(-1, Ctx::Root));
                continue;
            }
            if root.is_some() {
                self.skip_error_block(
                    content,
                    SyntaxErrorKind::Invalid,
                    "unexpected content after the end of the document's top-level value",
                );
                continue;
            }
            root = Some(self.block_node_here(-1, Ctx::Root));
        }
        root
    }

    // ---- block nodes --------------------------------------------------------------------------------------------

    /// Parses the value after a `key:` or `- ` indicator, inline or on the lines below.
    fn value(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let after_indicator = self.pos;
        self.skip_inline_blanks();
        if self.is_eol(self.pos) || self.is_comment_start(self.pos) {
            self.finish_line();
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
                _ => null_at(after_indicator),
            };
        }
        if ctx == Ctx::SeqItem
            && self.b[after_indicator..self.pos].contains(&b'\t')
            && self.starts_block_entry(self.pos)
        {
            self.invalid(
                TextRange::new(after_indicator, self.pos),
                "a tab cannot separate `-` from a nested list or mapping; use spaces",
            );
        }
        match ctx {
            Ctx::MapValue => self.scalar_or_flow(parent_indent, ctx),
            Ctx::SeqItem | Ctx::Root => self.block_node_here(parent_indent, ctx),
        }
    }

    /// Parses the node starting at the cursor, which is on its first character (the line start or mid-line).
    fn block_node_here(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let at = self.pos;
        if self.depth >= MAX_DEPTH {
            let range =
                self.skip_error_block(at, SyntaxErrorKind::Invalid, "nodes are nested too deeply");
            return Node {
                range,
                kind: NodeKind::Error,
            };
        }
        self.depth += 1;
        let node = self.block_node_inner(at, parent_indent, ctx);
        self.depth -= 1;
        node
    }

    fn block_node_inner(&mut self, at: usize, parent_indent: isize, ctx: Ctx) -> Node {
        let col = self.col(at);
        if self.is_seq_indicator(at) {
            return self.block_sequence(col, parent_indent);
        }
        if self.is_complex_key(at)
            || self.is_empty_key(at)
            || self.is_alias_key(at)
            || self.key_colon(at).is_some()
        {
            return self.block_mapping(col);
        }
        let key_at = self.properties_end(at, false);
        if key_at > at && (self.key_colon(key_at).is_some() || self.is_empty_key(key_at)) {
            // `&anchor key: value`: the mapping is indented where its properties start.
            return self.block_mapping(col);
        }
        // `key:value` heads a mapping when the next line is a key at the same indentation.
        if self.tight_colon(at).is_some() {
            let next = self.peek_next_line(self.next_line_start(at));
            if next.is_some_and(|(_, next)| self.col(next) == col && self.key_colon(next).is_some())
            {
                return self.block_mapping(col);
            }
        }
        self.scalar_or_flow(parent_indent, ctx)
    }

    fn block_mapping(&mut self, indent: usize) -> Node {
        let start = self.pos;
        let mut end = start;
        let mut entries = Vec::new();
        loop {
            if let Some(entry) = self.mapping_line(indent) {
                end = end.max(entry.value.range.end());
                entries.push(entry);
            }
            // Find the next line of this mapping, skipping lines that cannot belong to it.
            let next = loop {
                let Some((ind, content)) = self.skip_blank_lines() else {
                    break None;
                };
                if ind < indent || self.is_any_doc_marker(content) {
                    break None;
                }
                if ind == indent {
                    break Some(content);
                }
                if self.key_colon(content).is_some() {
                    self.invalid(
                        TextRange::new(content - (ind - indent), content),
                        format!(
                            "this key is indented by {ind} spaces, the keys before it by {indent}; align them"
                        ),
                    );
                    break Some(content);
                }
                self.skip_error_block(content, SyntaxErrorKind::Invalid, "unexpected indentation");
            };
            match next {
                Some(content) => self.pos = content,
                None => break,
            }
        }
        Node {
            range: TextRange::new(start, end.max(start)),
            kind: NodeKind::Mapping {
                entries,
                flow: false,
            },
        }
    }

    /// Parses the line at the cursor as an entry of a mapping indented by `indent`; a line that is no entry is
    /// reported and skipped. Leaves the cursor at the start of the next unread line.
    fn mapping_line(&mut self, indent: usize) -> Option<Entry> {
        let at = self.pos;
        if let Some(colon) = self.key_colon(at) {
            return Some(self.entry(at, colon, indent));
        }
        let key_at = self.properties_end(at, false);
        if let Some(colon) = self.key_colon(key_at).filter(|_| key_at > at) {
            self.report_properties(at, key_at, false);
            return Some(self.entry(key_at, colon, indent));
        }
        if self.is_empty_key(key_at) {
            self.report_properties(at, key_at, false);
            self.skip_empty_key(key_at);
            return None;
        }
        if self.is_alias_key(at) {
            self.skip_error_block(
                at,
                SyntaxErrorKind::Unsupported,
                "YAML aliases are not supported in pipelines, as keys or as values",
            );
            return None;
        }
        if self.is_seq_indicator(at) {
            self.skip_error_block(
                at,
                SyntaxErrorKind::Invalid,
                "a list item cannot stand among the keys of a mapping",
            );
            return None;
        }
        if self.is_complex_key(at) {
            self.skip_complex_key(at);
            return None;
        }
        if let Some(colon) = self.tight_colon(at) {
            self.invalid(
                TextRange::new(colon, colon + 1),
                "expected `key: value`: put a space after the `:`",
            );
            return Some(self.entry(at, colon, indent));
        }
        self.skip_error_block(at, SyntaxErrorKind::Invalid, "expected `key: value`");
        None
    }

    /// The entry whose key runs from `at` to the colon at `colon`.
    fn entry(&mut self, at: usize, colon: usize, indent: usize) -> Entry {
        let (key, key_range) = self.key_text(at, colon);
        self.pos = colon + 1;
        let value = self.value(indent as isize, Ctx::MapValue);
        Entry {
            key,
            key_range,
            value,
        }
    }

    /// The text and range of the key between `at` and its colon.
    fn key_text(&mut self, at: usize, colon: usize) -> (CompactString, TextRange) {
        match self.byte(at) {
            q @ (b'"' | b'\'') => {
                let close = self
                    .find_quote_close_on_line(at, colon)
                    .expect("the key's closing quote comes before its colon");
                let value = self.decode_quoted(at + 1, close, q);
                (value, TextRange::new(at, close + 1))
            }
            _ => {
                let mut end = colon;
                while end > at && is_blank(self.byte(end - 1)) {
                    end -= 1;
                }
                (
                    CompactString::from(&self.text[at..end]),
                    TextRange::new(at, end),
                )
            }
        }
    }

    /// A block sequence whose `-` indicators stand at column `indent`, the value of a node indented by
    /// `parent_indent`.
    fn block_sequence(&mut self, indent: usize, parent_indent: isize) -> Node {
        let start = self.pos;
        let mut end = start + 1;
        let mut items = Vec::new();
        loop {
            // The cursor is on `-`.
            self.pos += 1;
            let item = self.value(indent as isize, Ctx::SeqItem);
            end = end.max(item.range.end());
            items.push(item);
            let next = loop {
                let Some((ind, content)) = self.skip_blank_lines() else {
                    break None;
                };
                if ind < indent || self.is_any_doc_marker(content) {
                    break None;
                }
                if ind == indent {
                    if self.is_seq_indicator(content) {
                        break Some(content);
                    }
                    if indent as isize == parent_indent {
                        // A compact list (`key:` then `- item` at the key's indentation) ends at the next key.
                        break None;
                    }
                    let message = if self.key_colon(content).is_some() {
                        "a key cannot stand among the items of a list"
                    } else {
                        "expected a list item (`- `)"
                    };
                    self.skip_error_block(content, SyntaxErrorKind::Invalid, message);
                    continue;
                }
                self.skip_error_block(content, SyntaxErrorKind::Invalid, "unexpected indentation");
            };
            match next {
                Some(content) => self.pos = content,
                None => break,
            }
        }
        Node {
            range: TextRange::new(start, end),
            kind: NodeKind::Sequence { items, flow: false },
        }
    }

    // ---- scalars and flow collections in block context ----------------------------------------------------------

    fn scalar_or_flow(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        if matches!(self.peek(), b'&' | b'!') {
            let at = self.pos;
            let end = self.properties_end(at, false);
            self.report_properties(at, end, false);
            self.pos = end;
            // The node the properties belong to, here or on the lines below. No properties are left, so this
            // recursion goes one level deep however many there are.
            return self.value(parent_indent, ctx);
        }
        let at = self.pos;
        let node = match self.peek() {
            b'"' | b'\'' => self.quoted(parent_indent),
            b'|' | b'>' => return self.block_scalar(parent_indent),
            b'{' if self.byte(at + 1) == b'{' => self.unquoted_template(false),
            b'[' | b'{' => self.flow_collection(parent_indent),
            b'*' => self.alias(false),
            _ => return self.plain_block(parent_indent, ctx),
        };
        self.skip_inline_blanks();
        if matches!(
            node.kind,
            NodeKind::Mapping { .. } | NodeKind::Sequence { .. }
        ) && self.peek() == b':'
            && (is_blank(self.byte(self.pos + 1)) || self.is_eol(self.pos + 1))
        {
            // `[a, b]: value`, and its value on this line or the lines below
            self.error(
                SyntaxErrorKind::Unsupported,
                node.range,
                "only scalars can be mapping keys",
            );
            let indent = self.col(node.range.start());
            self.skip_lines_under(self.pos + 1, indent);
            return node;
        }
        self.finish_line();
        node
    }

    fn alias(&mut self, in_flow: bool) -> Node {
        let at = self.pos;
        let end = self.token_end(at, in_flow);
        self.error(
            SyntaxErrorKind::Unsupported,
            TextRange::new(at, end),
            "YAML aliases are not supported in pipelines",
        );
        self.pos = end;
        Node {
            range: TextRange::new(at, end),
            kind: NodeKind::Error,
        }
    }

    /// An unquoted value starting with `{{`: kept as the template string it was meant to be.
    fn unquoted_template(&mut self, in_flow: bool) -> Node {
        let at = self.pos;
        let line_end = self.line_end(at);
        // The closing `}}`, looked for only up to where a flow element would end, so that a line of many unclosed
        // templates is not searched to its end for each.
        let mut close = None;
        let mut i = at + 2;
        while i < line_end {
            match self.byte(i) {
                b'}' if self.byte(i + 1) == b'}' => {
                    close = Some(i + 2);
                    break;
                }
                b',' | b']' | b'}' if in_flow => break,
                _ if self.is_comment_start(i) => break,
                _ => i += 1,
            }
        }
        // The value goes on to the end of the plain scalar it heads (`{{a.b}} and more`); a template still being
        // typed (`{{a.`) ends where a plain scalar would.
        let min_end = close.unwrap_or(at + 2);
        let mut end = min_end;
        while end < line_end
            && !self.is_comment_start(end)
            && !(in_flow && matches!(self.byte(end), b',' | b']' | b'}'))
        {
            end += 1;
        }
        while end > min_end && is_blank(self.byte(end - 1)) {
            end -= 1;
        }
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
                value: CompactString::from(&self.text[at..end]),
                unquoted_template: true,
            }),
        }
    }

    /// A plain scalar in block context, possibly continued on more-indented lines.
    fn plain_block(&mut self, parent_indent: isize, ctx: Ctx) -> Node {
        let start = self.pos;
        let line_end = self.line_end(start);
        let end = self.trim_comment(start, line_end);
        if ctx == Ctx::MapValue && self.is_seq_indicator(start) {
            self.invalid(
                TextRange::new(start, start + 1),
                "a list cannot start on the line of its key; put its `- ` items on the lines below",
            );
        } else if ctx != Ctx::Root {
            let inner_colon =
                (start..end).find(|&i| self.byte(i) == b':' && is_blank(self.byte(i + 1)));
            if let Some(i) = inner_colon {
                self.invalid(
                    TextRange::new(i, i + 1),
                    "`: ` inside an unquoted value starts a nested mapping; quote the value",
                );
            } else if end > start && self.byte(end - 1) == b':' {
                self.invalid(
                    TextRange::new(end - 1, end),
                    "`:` at the end of an unquoted value starts a nested mapping; quote the value",
                );
            }
        }
        let mut value = CompactString::from(&self.text[start..end]);
        let mut last_end = end;
        let comment = self.find_comment(end, line_end);
        if let Some(c) = comment {
            self.comment(c, line_end);
        }
        self.pos = self.next_line_start(line_end);
        // A comment ends a plain scalar; otherwise it goes on over lines more indented than its parent that are
        // neither keys nor comments.
        if comment.is_none() {
            while let Some((blank_lines, next)) = self.peek_next_line(self.pos) {
                if (self.col(next) as isize) <= parent_indent
                    || self.byte(next) == b'#'
                    || self.key_colon(next).is_some()
                    || self.is_any_doc_marker(next)
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
                if let Some(c) = self.find_comment(text_end, next_end) {
                    self.comment(c, next_end);
                    break;
                }
            }
        }
        self.check_plain_start(start, last_end, false);
        Node {
            range: TextRange::new(start, last_end),
            kind: NodeKind::Scalar(Scalar {
                style: ScalarStyle::Plain,
                value,
                unquoted_template: false,
            }),
        }
    }

    /// Reports a plain scalar `at..end` that YAML does not read as one: one starting with a
    /// reserved indicator, or, in a flow collection, a lone `-`. Also an integer JSON cannot carry exactly.
    fn check_plain_start(&mut self, at: usize, end: usize, in_flow: bool) {
        let first = self.byte(at);
        let lone_dash = in_flow && first == b'-' && end == at + 1;
        if matches!(first, b'@' | b'`' | b'%') || lone_dash {
            let message = if lone_dash {
                "a lone `-` is not a value in a flow collection; quote it".to_string()
            } else {
                format!(
                    "`{}` is reserved in YAML and cannot start an unquoted value; quote the value",
                    first as char
                )
            };
            self.error(
                SyntaxErrorKind::NeedsQuotes,
                TextRange::new(at, end),
                message,
            );
        }
        if first.is_ascii_digit() || matches!(first, b'-' | b'+') {
            let text = &self.text[at..end];
            if crate::tree::is_int_out_of_range(text) {
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(at, end),
                    "this integer is beyond 64 bits, which JSON readers cannot carry exactly; quote it to keep it as a string",
                );
            }
        }
    }

    /// A single- or double-quoted scalar. One that is not closed before a line that starts a new element ends
    /// with the last line that could continue it, so the rest of the document still parses.
    fn quoted(&mut self, parent_indent: isize) -> Node {
        let open = self.pos;
        let quote = self.peek();
        let mut i = open + 1;
        let mut line_end = self.line_end(i);
        let close = loop {
            if i >= line_end {
                // The line ends inside the string: go on only if the next line can be a continuation.
                let next = self.peek_next_line(self.next_line_start(line_end));
                let continues = next.is_some_and(|(_, next)| {
                    (self.col(next) as isize) > parent_indent
                        && !self.is_any_doc_marker(next)
                        && !(self.key_colon(next).is_some()
                            && memchr(quote, &self.b[next..self.line_end(next)]).is_none())
                });
                let Some((_, next)) = next.filter(|_| continues) else {
                    break None;
                };
                // Blank lines and indentation hold no quote: go straight to the next content.
                self.check_tab_indent(next, parent_indent);
                i = next;
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
                break Some(i);
            }
            i += 1;
        };
        let (body_end, end) = match close {
            Some(close) => (close, close + 1),
            None => {
                let what = if quote == b'"' { "double" } else { "single" };
                self.invalid(
                    TextRange::new(open, open + 1),
                    format!("unterminated {what}-quoted string"),
                );
                (line_end, line_end)
            }
        };
        let value = self.decode_quoted(open + 1, body_end, quote);
        self.pos = end;
        Node {
            range: TextRange::new(open, end),
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

    /// The value of the quoted scalar body `from..to`: escapes decoded (`''` in single quotes, `\` escapes in
    /// double quotes) and line breaks folded. A bad escape is reported and kept as written.
    fn decode_quoted(&mut self, from: usize, to: usize, quote: u8) -> CompactString {
        let raw = &self.text[from..to];
        let escape = if quote == b'"' { '\\' } else { '\'' };
        if !raw.contains([escape, '\n']) {
            return CompactString::from(raw);
        }
        let b = raw.as_bytes();
        let mut out = String::with_capacity(raw.len());
        // The length of `out` without the white space written at its end: folding drops that white space, but
        // not white space written as an escape.
        let mut keep = 0;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b' ' | b'\t' => {
                    out.push(b[i] as char);
                    i += 1;
                    continue;
                }
                b'\n' | b'\r' if line_break_len(b, i) > 0 => {
                    out.truncate(keep);
                    i = fold_breaks(b, i, &mut out, false);
                }
                b'\'' if quote == b'\'' => {
                    out.push('\'');
                    i += if b.get(i + 1) == Some(&b'\'') { 2 } else { 1 };
                }
                b'\\' if quote == b'"' => i = self.escape(raw, from, i, &mut out),
                _ => {
                    let c = raw[i..].chars().next().expect("in bounds");
                    out.push(c);
                    i += c.len_utf8();
                }
            }
            keep = out.len();
        }
        out.into()
    }

    /// Decodes the escape sequence at `raw[i]` (a `\`) into `out`; returns the index after it.
    fn escape(&mut self, raw: &str, from: usize, i: usize, out: &mut String) -> usize {
        let b = raw.as_bytes();
        let Some(c) = raw[i + 1..].chars().next() else {
            // A backslash ending an unterminated string.
            out.push('\\');
            return i + 1;
        };
        let simple = match c {
            '0' => Some('\0'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            't' | '\t' => Some('\t'),
            'n' => Some('\n'),
            'v' => Some('\u{b}'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            'e' => Some('\u{1b}'),
            ' ' => Some(' '),
            '"' => Some('"'),
            '/' => Some('/'),
            '\\' => Some('\\'),
            'N' => Some('\u{85}'),
            '_' => Some('\u{a0}'),
            'L' => Some('\u{2028}'),
            'P' => Some('\u{2029}'),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.push(decoded);
            return i + 2;
        }
        if line_break_len(b, i + 1) > 0 {
            // An escaped line break joins the lines without a space.
            return fold_breaks(b, i + 1, out, true);
        }
        let digits = match c {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if digits > 0 {
            let decoded = raw
                .get(i + 2..i + 2 + digits)
                .filter(|hex| hex.bytes().all(|d| d.is_ascii_hexdigit()))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32);
            if let Some(decoded) = decoded {
                out.push(decoded);
                return i + 2 + digits;
            }
        }
        let end = i + 1 + c.len_utf8();
        let message = if digits > 0 {
            format!(
                "invalid escape `\\{c}`: expected {digits} hexadecimal digits of a Unicode character"
            )
        } else {
            format!(
                "invalid escape `\\{}`; write `\\\\` for a backslash",
                c.escape_debug()
            )
        };
        self.invalid(TextRange::new(from + i, from + end), message);
        out.push('\\');
        out.push(c);
        end
    }

    /// The content indentation of a block scalar without an indentation indicator: that of its first line holding
    /// anything but spaces. Leading lines of spaces only may not be longer (YAML reads that as an error); a scalar of
    /// empty lines only takes the longest. `None` when the scalar has no lines (the next line is not indented
    /// deeper than its parent). Reads from the cursor, a line start, without moving it.
    fn detect_block_indent(&mut self, parent_indent: isize) -> Option<usize> {
        let mut longest_empty: Option<(usize, usize)> = None;
        let mut at = self.pos;
        while at < self.b.len() {
            let line_end = self.line_end(at);
            let line = &self.b[at..line_end];
            let spaces = line.iter().take_while(|c| **c == b' ').count();
            if spaces == line.len() {
                if longest_empty.is_none_or(|(longest, _)| spaces > longest) {
                    longest_empty = Some((spaces, at));
                }
                at = self.next_line_start(line_end);
                continue;
            }
            if (spaces as isize) <= parent_indent || (spaces == 0 && self.is_any_doc_marker(at)) {
                if line[spaces] == b'\t' && self.tab_error_line != at {
                    self.tab_error_line = at;
                    self.invalid(
                        TextRange::new(at + spaces, at + spaces + 1),
                        "a tab cannot indent the text of a block scalar; indent with spaces",
                    );
                }
                break;
            }
            if let Some((longest, line_at)) = longest_empty.filter(|(longest, _)| *longest > spaces)
            {
                self.invalid(
                    TextRange::new(line_at + spaces, line_at + longest),
                    format!(
                        "this blank line of the block scalar has more spaces than its first line of text ({spaces}); YAML reads that as an error: remove them"
                    ),
                );
            }
            return Some(spaces);
        }
        let base = (parent_indent + 1).max(0) as usize;
        Some(longest_empty.map_or(base, |(longest, _)| longest.max(base)))
    }

    /// A literal (`|`) or folded (`>`) block scalar.
    fn block_scalar(&mut self, parent_indent: isize) -> Node {
        let start = self.pos;
        let folded = self.peek() == b'>';
        self.pos += 1;
        let mut chomp = None;
        let mut explicit_indent = None;
        // At most one chomping and one indentation indicator, in either order; anything else is reported by
        // `finish_line`.
        loop {
            match self.peek() {
                c @ (b'+' | b'-') if chomp.is_none() => chomp = Some(c),
                d @ b'1'..=b'9' if explicit_indent.is_none() => {
                    explicit_indent = Some(usize::from(d - b'0'));
                }
                _ => break,
            }
            self.pos += 1;
        }
        let header_end = self.pos;
        if !(is_blank(self.peek()) || self.is_eol(self.pos)) {
            let end = self.token_end(self.pos, false);
            self.invalid(
                TextRange::new(self.pos, end),
                "a block scalar header is `|` or `>`, then at most one of `-` or `+` and one indentation digit 1-9",
            );
            self.pos = end;
        }
        self.finish_line();
        let base = parent_indent.max(0) as usize;
        let content_indent = match explicit_indent {
            Some(n) => Some(base + n),
            None => self.detect_block_indent(parent_indent),
        };
        // Each line of the body: `None` for an empty line (only spaces, no more than the content indentation),
        // else its text after the indentation. Spaces or a tab beyond the indentation are content, even on a
        // line that holds nothing else.
        let mut lines: Vec<Option<&str>> = Vec::new();
        let mut end = header_end;
        if let Some(indent) = content_indent {
            while self.pos < self.b.len() {
                let line_start = self.pos;
                let line_end = self.line_end(line_start);
                let line = &self.text[line_start..line_end];
                let spaces = line.bytes().take_while(|c| *c == b' ').count();
                if spaces == line.len() && spaces <= indent {
                    // An empty line is a line break: spaces at the very end of the text, with none after them,
                    // are not one.
                    if line_end < self.b.len() {
                        lines.push(None);
                    }
                    self.pos = self.next_line_start(line_end);
                    continue;
                }
                if spaces < indent || (indent == 0 && self.is_any_doc_marker(line_start)) {
                    break;
                }
                lines.push(Some(&line[indent..]));
                end = line_end;
                self.pos = self.next_line_start(line_end);
            }
        }
        // Trailing empty lines belong to the chomping, not to the node's range or to the next node.
        let trailing_empty = lines.iter().rev().take_while(|l| l.is_none()).count();
        let body_lines = &lines[..lines.len() - trailing_empty];
        let mut value = if folded {
            fold_block(body_lines)
        } else {
            body_lines
                .iter()
                .map(|l| l.unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
        };
        if chomp != Some(b'-') && !body_lines.is_empty() {
            value.push('\n');
        }
        if chomp == Some(b'+') {
            value.extend(std::iter::repeat_n('\n', trailing_empty));
        }
        Node {
            range: TextRange::new(start, end),
            kind: NodeKind::Scalar(Scalar {
                style: if folded {
                    ScalarStyle::Folded
                } else {
                    ScalarStyle::Literal
                },
                value: value.into(),
                unquoted_template: false,
            }),
        }
    }

    // ---- flow collections ---------------------------------------------------------------------------------------

    /// Skips white space, line breaks and comments inside a flow collection. Returns false when the collection
    /// cannot go on: the text ended, or a line starts at or left of the enclosing block's indentation. The cursor
    /// then stays at the end of the last line the collection may own.
    fn flow_skip(&mut self, parent_indent: isize) -> bool {
        loop {
            self.skip_inline_blanks();
            if self.is_comment_start(self.pos) {
                let end = self.line_end(self.pos);
                self.comment(self.pos, end);
                self.pos = end;
            }
            if self.at_eof() {
                return false;
            }
            if !self.is_eol(self.pos) {
                return true;
            }
            let next = self.next_line_start(self.pos);
            match self.peek_next_line(next) {
                // Comment lines inside a collection may sit at any indentation. A `- ` list item is block syntax:
                // the collection was left open.
                Some((_, content))
                    if self.is_comment_start(content)
                        || (!self.is_any_doc_marker(content)
                            && !self.is_seq_indicator(content)
                            && ((self.col(content) as isize) > parent_indent
                                || matches!(self.byte(content), b']' | b'}'))) =>
                {
                    self.check_tab_indent(content, parent_indent);
                    let col = self.col(content) as isize;
                    if col <= parent_indent && !self.is_comment_start(content) {
                        // Read as the closer it is meant to be, but every line of a flow collection in a block
                        // must be indented deeper than that block: YAML 1.2 readers reject this line.
                        let closer = self.byte(content) as char;
                        self.invalid(
                            TextRange::new(content, content + 1),
                            format!(
                                "this `{closer}` must be indented deeper than the block it is in; indent it by {} more space{}",
                                parent_indent + 1 - col,
                                if parent_indent - col == 0 { "" } else { "s" }
                            ),
                        );
                    }
                    self.pos = content;
                }
                _ => return false,
            }
        }
    }

    fn flow_collection(&mut self, parent_indent: isize) -> Node {
        let open = self.pos;
        if self.depth >= MAX_DEPTH {
            let end = self.trim_comment(open, self.line_end(open));
            self.invalid(
                TextRange::new(open, open + 1),
                "collections are nested too deeply",
            );
            self.pos = end;
            return Node {
                range: TextRange::new(open, end),
                kind: NodeKind::Error,
            };
        }
        self.depth += 1;
        let close = if self.peek() == b'{' { b'}' } else { b']' };
        self.flow_closers.push(close);
        let node = self.flow_collection_inner(open, parent_indent);
        self.flow_closers.pop();
        self.depth -= 1;
        node
    }

    fn flow_collection_inner(&mut self, open: usize, parent_indent: isize) -> Node {
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
                let outer = self.flow_closers[..self.flow_closers.len() - 1].contains(&c);
                if outer {
                    // It closes an enclosing collection: this one was left open.
                    break;
                }
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
            // `? key` is reported, then read as the key it introduces, which may span lines.
            let explicit_key = self.is_complex_key(self.pos);
            if explicit_key {
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(self.pos, self.pos + 1),
                    "complex mapping keys (`? `) are not supported; write `key: value`",
                );
                self.pos += 1;
                if !self.flow_skip(parent_indent) {
                    break;
                }
                if matches!(self.peek(), b',' | b']' | b'}') {
                    continue;
                }
            }
            let first = if self.is_flow_empty_key(self.pos) {
                self.error(
                    SyntaxErrorKind::Unsupported,
                    TextRange::new(self.pos, self.pos + 1),
                    "a `:` with no key before it (an empty key) is valid YAML, not supported in pipelines; write `key: value`",
                );
                null_at(self.pos)
            } else {
                self.flow_node(parent_indent, is_map || explicit_key)
            };
            end = end.max(first.range.end());
            let key_line_end = self.line_end(first.range.end());
            let mut pair = None;
            if self.flow_skip(parent_indent) && self.peek() == b':' {
                let colon = self.pos;
                if !is_map && !explicit_key && colon > key_line_end {
                    self.invalid(
                        TextRange::new(colon, colon + 1),
                        "in a flow list, a key and its `:` must be on one line",
                    );
                }
                self.pos += 1;
                let value = if self.flow_skip(parent_indent)
                    && !matches!(self.peek(), b',' | b']' | b'}')
                {
                    self.flow_node(parent_indent, false)
                } else {
                    null_at(colon + 1)
                };
                end = end.max(value.range.end());
                pair = Some(value);
            }
            let element_end = self.pos;
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
                b']' | b'}' => {}
                _ => {
                    let at = self.pos;
                    if at > self.line_end(element_end) {
                        // A `,` missing at the end of a line: what follows is the next element.
                        self.invalid(
                            TextRange::new(at, self.char_end(at)),
                            "expected `,` before this element",
                        );
                        continue;
                    }
                    self.invalid(
                        TextRange::new(at, self.char_end(at)),
                        format!("expected `,` or `{}`", close as char),
                    );
                    // Skip to the next separator on this line, or to the line's end.
                    let line_end = self.line_end(at);
                    self.pos = match (at..line_end)
                        .find(|&i| matches!(self.byte(i), b',' | b']' | b'}'))
                    {
                        Some(i) if self.byte(i) == b',' => i + 1,
                        Some(i) => i,
                        None => line_end,
                    };
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

    /// A `:` that starts a flow element: an empty key.
    fn is_flow_empty_key(&self, at: usize) -> bool {
        self.byte(at) == b':'
            && (is_blank(self.byte(at + 1))
                || self.is_eol(at + 1)
                || matches!(self.byte(at + 1), b',' | b']' | b'}'))
    }

    fn flow_entry(&mut self, key: Node, value: Node) -> Entry {
        let key_text = match &key.kind {
            NodeKind::Scalar(s) => s.value.clone(),
            // Already reported.
            NodeKind::Error => CompactString::default(),
            NodeKind::Mapping { .. } | NodeKind::Sequence { .. } => {
                self.error(
                    SyntaxErrorKind::Unsupported,
                    key.range,
                    "only scalars can be mapping keys",
                );
                CompactString::default()
            }
        };
        Entry {
            key: key_text,
            key_range: key.range,
            value,
        }
    }

    /// A node inside a flow collection. A plain scalar in a flow mapping's key position may go on over lines that
    /// look like `key: value` (YAML reads `{ multi\n line: value }` as the key `multi line`); elsewhere such a line
    /// ends it, so that a missing `,` does not swallow the next entry.
    fn flow_node(&mut self, parent_indent: isize, multi_line_key: bool) -> Node {
        if matches!(self.peek(), b'&' | b'!') {
            let at = self.pos;
            let end = self.properties_end(at, true);
            self.report_properties(at, end, true);
            self.pos = end;
            // The node they belong to may be on a later line; none at all is an empty value.
            let on_later_line = self.is_eol(end) || self.is_comment_start(end);
            if (on_later_line && !self.flow_skip(parent_indent))
                || matches!(self.peek(), b',' | b']' | b'}')
                || self.is_flow_empty_key(self.pos)
            {
                return null_at(end);
            }
        }
        let at = self.pos;
        if self.peek() == b'#' {
            self.invalid(
                TextRange::new(at, at + 1),
                "`#` starts a comment only after a space; put a space before it, or quote the value",
            );
        }
        match self.peek() {
            b'"' | b'\'' => self.quoted(parent_indent),
            b'{' if self.byte(at + 1) == b'{' => self.unquoted_template(true),
            b'[' | b'{' => self.flow_collection(parent_indent),
            b'*' => self.alias(true),
            _ => self.flow_plain(parent_indent, multi_line_key),
        }
    }

    /// The end of a plain scalar's text on the line of `at` inside a flow collection: where scanning stopped, and
    /// where the text ends without trailing blanks.
    fn flow_plain_line(&self, at: usize) -> (usize, usize) {
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
        (i, end)
    }

    /// A plain scalar inside a flow collection, possibly continued on the lines below.
    fn flow_plain(&mut self, parent_indent: isize, multi_line_key: bool) -> Node {
        let at = self.pos;
        let mut line_end = self.line_end(at);
        let (stop, end) = self.flow_plain_line(at);
        self.pos = stop;
        if end == at {
            self.invalid(
                TextRange::new(at, self.char_end(at).min(line_end.max(at))),
                "expected a value",
            );
            if stop == at && stop < line_end {
                self.pos = self.char_end(at);
            }
            return Node {
                range: TextRange::empty(at),
                kind: NodeKind::Error,
            };
        }
        let mut value = CompactString::from(&self.text[at..end]);
        let mut last_end = end;
        while self.pos == line_end {
            let Some((blank_lines, next)) = self.peek_next_line(self.next_line_start(line_end))
            else {
                break;
            };
            if (self.col(next) as isize) <= parent_indent
                || self.is_any_doc_marker(next)
                || matches!(
                    self.byte(next),
                    b',' | b'[' | b']' | b'{' | b'}' | b'#' | b':'
                )
                || (!multi_line_key && self.key_colon(next).is_some())
            {
                break;
            }
            self.check_tab_indent(next, parent_indent);
            let (next_stop, next_end) = self.flow_plain_line(next);
            if blank_lines == 0 {
                value.push(' ');
            } else {
                value.extend(std::iter::repeat_n('\n', blank_lines));
            }
            value.push_str(&self.text[next..next_end]);
            last_end = next_end;
            self.pos = next_stop;
            line_end = self.line_end(next);
        }
        self.check_plain_start(at, last_end, true);
        Node {
            range: TextRange::new(at, last_end),
            kind: NodeKind::Scalar(Scalar {
                style: ScalarStyle::Plain,
                value,
                unquoted_template: false,
            }),
        }
    }
}

fn null_at(at: usize) -> Node {
    Node {
        range: TextRange::empty(at),
        kind: NodeKind::Scalar(Scalar {
            style: ScalarStyle::Plain,
            value: CompactString::default(),
            unquoted_template: false,
        }),
    }
}

/// The length of the line break (`\n` or `\r\n`) at `b[i]`, or 0.
fn line_break_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'\n') => 1,
        Some(b'\r') if b.get(i + 1) == Some(&b'\n') => 2,
        _ => 0,
    }
}

/// Line folding inside a quoted scalar, from the line break at `b[i]`: the indentation of the following lines is
/// dropped, a single break becomes a space (nothing after an escaped break) and each empty line a newline.
/// Returns the index of the next line's first character.
fn fold_breaks(b: &[u8], i: usize, out: &mut String, escaped: bool) -> usize {
    let mut i = i + line_break_len(b, i);
    let mut empty_lines = 0;
    loop {
        while i < b.len() && is_blank(b[i]) {
            i += 1;
        }
        match line_break_len(b, i) {
            0 => break,
            n => {
                empty_lines += 1;
                i += n;
            }
        }
    }
    if empty_lines > 0 {
        out.extend(std::iter::repeat_n('\n', empty_lines));
    } else if !escaped {
        out.push(' ');
    }
    i
}

/// Folding of a `>` block scalar: lines of text are joined with spaces; empty lines (`None`) and lines that start
/// with white space ("more indented") keep their breaks.
fn fold_block(lines: &[Option<&str>]) -> String {
    let mut out = String::new();
    let mut prev_normal = false;
    let mut pending_breaks = 0;
    for line in lines {
        let Some(line) = line else {
            pending_breaks += 1;
            continue;
        };
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
    memchr::memchr(needle, haystack)
}
