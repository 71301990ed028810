//! What the human format shows of a file for one diagnostic: the lines its labels touch, for codespan-reporting
//! to draw, with two differences from the file.
//!
//! - Control characters are escaped (`odp_analysis::escape`): the file must not drive the terminal, nor start a
//!   line of output that a CI log reads as a command.
//! - A long line is cut down to the stretches around the labels' ends, so that a finding prints a bounded amount
//!   however long its line is (each finding on a 28 KB line once reprinted the whole line: 169 MB of output for a
//!   line of 4,000 findings).
//!
//! Line and column numbers stay those of the file.

use std::ops::Range;

use codespan_reporting::files::{Error, Files};
use odp_analysis::escape::{escaped_in_lines, push_escaped};
use odp_analysis::{LineIndex, TextRange};

/// A line longer than this, in characters, is cut.
const LONG_LINE: usize = 160;
/// How many characters of a cut line are kept on each side of a label's start and end.
const CONTEXT: usize = 40;
/// What stands in for the text cut out.
const CUT: &str = "…";

/// The lines of a file one diagnostic shows. Implements codespan-reporting's `Files`, with offsets into its own
/// text: [`Snippet::shown`] maps the file's offsets there.
pub struct Snippet<'a> {
    name: &'a str,
    file: &'a str,
    text: String,
    /// By line, ascending.
    lines: Vec<ShownLine>,
}

struct ShownLine {
    /// Its index in the file.
    line: usize,
    /// Where it is in the snippet's text, without its line break.
    shown: Range<usize>,
    /// Where it is in the file, without its line break.
    original: Range<usize>,
    /// What it is made of, in order, together covering `original` and `shown`.
    pieces: Vec<Piece>,
}

/// A stretch of the file and what stands for it in the snippet: the same text (`copied`), or an escaped
/// character or the cut mark.
struct Piece {
    original: Range<usize>,
    shown: Range<usize>,
    copied: bool,
}

impl<'a> Snippet<'a> {
    /// The snippet of `file` for labels at `ranges`; `name` is shown as is.
    pub fn new(name: &'a str, file: &'a str, index: &LineIndex, ranges: &[TextRange]) -> Self {
        // Every line a label starts or ends on or spans, with where labels start or end on it.
        let mut ends: Vec<(usize, Option<usize>)> = Vec::new();
        for r in ranges {
            let (first, last) = (index.line_of(r.start()), index.line_of(r.end()));
            ends.push((first, Some(r.start())));
            ends.push((last, Some(r.end())));
            ends.extend((first + 1..last).map(|line| (line, None)));
        }
        ends.sort_unstable();
        // codespan-reporting shows a line between two shown lines instead of a gap mark.
        let gaps: Vec<usize> = ends
            .windows(2)
            .filter(|w| w[1].0 == w[0].0 + 2)
            .map(|w| w[0].0 + 1)
            .collect();
        ends.extend(gaps.into_iter().map(|line| (line, None)));
        ends.sort_unstable();
        let mut snippet = Snippet {
            name,
            file,
            text: String::new(),
            lines: Vec::new(),
        };
        for group in ends.chunk_by(|a, b| a.0 == b.0) {
            let line = group[0].0;
            let Some(original) = index.line_range(file, line) else {
                continue;
            };
            let at: Vec<usize> = group.iter().filter_map(|(_, at)| *at).collect();
            snippet.push_line(line, original.as_range(), &at);
        }
        snippet
    }

    /// Adds a line of the file, cut around the offsets `at` when it is long.
    fn push_line(&mut self, line: usize, original: Range<usize>, at: &[usize]) {
        let file = self.file;
        let content = &file[original.clone()];
        let mut keep: Vec<Range<usize>> = Vec::new();
        if content.chars().nth(LONG_LINE).is_none() {
            keep.push(original.clone());
        } else if at.is_empty() {
            // A line a label only passes through: its start.
            let end = forward(file, original.clone(), original.start, 2 * CONTEXT);
            keep.push(original.start..end);
        } else {
            keep.extend(at.iter().map(|&at| {
                let at = within(file, &original, at);
                back(file, original.clone(), at, CONTEXT)
                    ..forward(file, original.clone(), at, CONTEXT)
            }));
        }
        keep.sort_unstable_by_key(|r| r.start);
        let start = self.text.len();
        let mut pieces = Vec::new();
        let mut cursor = original.start;
        for stretch in merge(keep) {
            if stretch.start > cursor {
                self.push_shown(&mut pieces, cursor..stretch.start, CUT);
            }
            let mut run = stretch.start;
            for (i, c) in file[stretch.clone()].char_indices() {
                let at = stretch.start + i;
                if escaped_in_lines(c, &file[at + c.len_utf8()..original.end]) {
                    self.push_copied(&mut pieces, run..at);
                    let mut escaped = String::new();
                    push_escaped(&mut escaped, c);
                    self.push_shown(&mut pieces, at..at + c.len_utf8(), &escaped);
                    run = at + c.len_utf8();
                }
            }
            self.push_copied(&mut pieces, run..stretch.end);
            cursor = stretch.end;
        }
        if cursor < original.end {
            self.push_shown(&mut pieces, cursor..original.end, CUT);
        }
        let shown = start..self.text.len();
        self.text.push('\n');
        self.lines.push(ShownLine {
            line,
            shown,
            original,
            pieces,
        });
    }

    fn push_copied(&mut self, pieces: &mut Vec<Piece>, original: Range<usize>) {
        if !original.is_empty() {
            let file = self.file;
            self.push_piece(pieces, original.clone(), &file[original], true);
        }
    }

    fn push_shown(&mut self, pieces: &mut Vec<Piece>, original: Range<usize>, shown: &str) {
        self.push_piece(pieces, original, shown, false);
    }

    fn push_piece(
        &mut self,
        pieces: &mut Vec<Piece>,
        original: Range<usize>,
        text: &str,
        copied: bool,
    ) {
        let start = self.text.len();
        self.text.push_str(text);
        pieces.push(Piece {
            original,
            shown: start..self.text.len(),
            copied,
        });
    }

    fn shown_line(&self, line: usize) -> Option<&ShownLine> {
        self.lines
            .binary_search_by_key(&line, |l| l.line)
            .ok()
            .map(|i| &self.lines[i])
    }

    /// Where a range of the file (one of the labels the snippet was made for) is in the snippet.
    pub fn shown(&self, index: &LineIndex, range: TextRange) -> Range<usize> {
        let offset = |at: usize| {
            let Some(line) = self.shown_line(index.line_of(at)) else {
                return 0;
            };
            let at = within(self.file, &line.original, at);
            match line.pieces.iter().find(|p| p.original.end > at) {
                Some(p) if p.copied => p.shown.start + (at - p.original.start),
                Some(p) => p.shown.start,
                None => line.shown.end,
            }
        };
        offset(range.start())..offset(range.end())
    }

    /// Where an offset of the snippet is in the file.
    fn original(&self, line: &ShownLine, at: usize) -> usize {
        match line.pieces.iter().find(|p| p.shown.end > at) {
            Some(p) if p.copied => p.original.start + (at.max(p.shown.start) - p.shown.start),
            Some(p) => p.original.start,
            None => line.original.end,
        }
    }
}

/// `at` moved into a line's range, onto a character's start.
fn within(file: &str, line: &Range<usize>, at: usize) -> usize {
    let mut at = at.clamp(line.start, line.end);
    while !file.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The offset `count` characters before `at`, not before the line's start.
fn back(file: &str, line: Range<usize>, at: usize, count: usize) -> usize {
    file[line.start..at]
        .char_indices()
        .rev()
        .nth(count - 1)
        .map_or(line.start, |(i, _)| line.start + i)
}

/// The offset `count` characters after `at`, not after the line's end.
fn forward(file: &str, line: Range<usize>, at: usize, count: usize) -> usize {
    file[at..line.end]
        .char_indices()
        .nth(count)
        .map_or(line.end, |(i, _)| at + i)
}

/// Sorted ranges merged where they overlap or touch.
fn merge(sorted: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

impl<'a> Files<'a> for Snippet<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, Error> {
        let after = self.lines.partition_point(|l| l.shown.start <= byte_index);
        self.lines
            .get(after.saturating_sub(1))
            .map(|l| l.line)
            .ok_or(Error::IndexTooLarge {
                given: byte_index,
                max: self.text.len(),
            })
    }

    fn line_range(&'a self, (): (), line_index: usize) -> Result<Range<usize>, Error> {
        let line = self.shown_line(line_index).ok_or(Error::LineTooLarge {
            given: line_index,
            max: self.lines.last().map_or(0, |l| l.line),
        })?;
        Ok(line.shown.start..line.shown.end + 1)
    }

    /// The column in the file, counted in characters.
    fn column_number(
        &'a self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, Error> {
        let line = self.shown_line(line_index).ok_or(Error::LineTooLarge {
            given: line_index,
            max: self.lines.last().map_or(0, |l| l.line),
        })?;
        let at = self.original(line, byte_index);
        Ok(self.file[line.original.start..at].chars().count() + 1)
    }
}
