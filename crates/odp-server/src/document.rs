//! Open documents: a rope per document, edited incrementally, and conversions between byte offsets and LSP
//! positions in the negotiated encoding (odp-syntax's [`PositionEncoding`], the one enum of how columns count).
//! Lines break at `\n`, `\r\n` and `\r`, as LSP defines them (ropey is built with exactly these line breaks).

use lsp_types::{Position, Range};
use std::sync::{Arc, Mutex};

use odp_analysis::{CheckCache, TextRange};
use odp_syntax::PositionEncoding;
use ropey::Rope;

pub struct Document {
    pub rope: Rope,
    pub version: i32,
    pub language_id: String,
    /// The step bodies checked in earlier versions, so that an edit re-checks only the steps it touched.
    pub checks: Arc<Mutex<CheckCache>>,
    /// Why the text may no longer be the client's: a change could not be applied. Range changes are skipped from
    /// then on, since they would land in the wrong place, until a change sends the whole text.
    pub out_of_sync: Option<ChangeError>,
}

/// Why a range change cannot be applied to the text the server has.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error(
        "a change at line {line} of a document of {lines} line{}",
        if *lines == 1 { "" } else { "s" }
    )]
    PastTheEnd { line: u32, lines: usize },
    #[error(
        "a change whose range ends ({}:{}) before it starts ({}:{})",
        .end.line, .end.character, .start.line, .start.character
    )]
    Reversed { start: Position, end: Position },
    #[error("a change that could not be read: {0}")]
    Unreadable(String),
}

impl Document {
    pub fn new(text: &str, version: i32, language_id: String) -> Self {
        Self {
            rope: Rope::from_str(text),
            version,
            language_id,
            checks: Arc::default(),
            out_of_sync: None,
        }
    }

    /// Applies one change: a range replacement, or the whole text when `range` is `None`, which also brings an
    /// out-of-sync document back in sync. A range that is not in the text (a line past the end, an end before the
    /// start) marks the document out of sync; a character past a line's end is that line's end, as LSP says.
    pub fn apply(&mut self, range: Option<Range>, text: &str, enc: PositionEncoding) {
        let Some(range) = range else {
            self.rope = Rope::from_str(text);
            self.out_of_sync = None;
            return;
        };
        if self.out_of_sync.is_some() {
            return;
        }
        let lines = self.rope.len_lines();
        // The start of the line after the last is the end of the text: Neovim's incremental sync addresses it
        // when the last line of a buffer without a final line break is deleted.
        let in_text = |p: Position| {
            (p.line as usize) < lines || (p.line as usize == lines && p.character == 0)
        };
        if let Some(outside) = [range.start, range.end].into_iter().find(|p| !in_text(*p)) {
            self.out_of_sync = Some(ChangeError::PastTheEnd {
                line: outside.line,
                lines,
            });
            return;
        }
        if range.end < range.start {
            self.out_of_sync = Some(ChangeError::Reversed {
                start: range.start,
                end: range.end,
            });
            return;
        }
        let start = position_to_char(&self.rope, range.start, enc);
        let end = position_to_char(&self.rope, range.end, enc);
        self.rope.remove(start..end);
        self.rope.insert(start, text);
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }
}

/// The char index of an LSP position; positions past a line's end clamp to it, lines past the end to the end.
pub fn position_to_char(rope: &Rope, pos: Position, enc: PositionEncoding) -> usize {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let line_start = rope.line_to_char(line);
    let line_slice = rope.line(line);
    // The line without its line break.
    let mut line_len = line_slice.len_chars();
    while line_len > 0 {
        let c = line_slice.char(line_len - 1);
        if c == '\n' || c == '\r' {
            line_len -= 1;
        } else {
            break;
        }
    }
    let wanted = pos.character as usize;
    let mut counted = 0usize;
    for (i, c) in line_slice.chars().take(line_len).enumerate() {
        let width = match enc {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if counted + width > wanted {
            return line_start + i;
        }
        counted += width;
    }
    line_start + line_len
}

/// The LSP position of a byte offset of the text.
pub fn offset_to_position(rope: &Rope, offset: usize, enc: PositionEncoding) -> Position {
    let offset = offset.min(rope.len_bytes());
    let char_idx = rope.byte_to_char(offset);
    let line = rope.char_to_line(char_idx);
    let line_start = rope.line_to_char(line);
    let col = match enc {
        PositionEncoding::Utf8 => offset - rope.char_to_byte(line_start),
        PositionEncoding::Utf16 => {
            rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start)
        }
        PositionEncoding::Utf32 => char_idx - line_start,
    };
    Position::new(line as u32, col as u32)
}

pub fn position_to_offset(rope: &Rope, pos: Position, enc: PositionEncoding) -> usize {
    rope.char_to_byte(position_to_char(rope, pos, enc))
}

pub fn range_to_lsp(rope: &Rope, r: TextRange, enc: PositionEncoding) -> Range {
    Range::new(
        offset_to_position(rope, r.start(), enc),
        offset_to_position(rope, r.end(), enc),
    )
}

pub fn range_from_lsp(rope: &Rope, r: Range, enc: PositionEncoding) -> TextRange {
    let start = position_to_offset(rope, r.start, enc);
    let end = position_to_offset(rope, r.end, enc).max(start);
    TextRange::new(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_with_surrogates_and_crlf() {
        let text = "a: é😀x\r\nb: 1\rc: 2\n";
        let rope = Rope::from_str(text);
        for enc in [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ] {
            for (offset, ch) in text.char_indices() {
                let pos = offset_to_position(&rope, offset, enc);
                if ch == '\n' && text[..offset].ends_with('\r') {
                    continue; // inside a CRLF: no position of its own
                }
                assert_eq!(
                    position_to_offset(&rope, pos, enc),
                    offset,
                    "{offset} {pos:?} {enc:?}"
                );
            }
        }
        let x = text.find('x').unwrap();
        assert_eq!(
            offset_to_position(&rope, x, PositionEncoding::Utf16),
            Position::new(0, 6)
        );
        assert_eq!(
            offset_to_position(&rope, x, PositionEncoding::Utf8),
            Position::new(0, 9)
        );
        assert_eq!(
            offset_to_position(&rope, x, PositionEncoding::Utf32),
            Position::new(0, 5)
        );
        // `\r` alone breaks a line too, as in LSP.
        let c = text.find('c').unwrap();
        assert_eq!(
            offset_to_position(&rope, c, PositionEncoding::Utf16),
            Position::new(2, 0)
        );
        // A column past the end clamps before the line break.
        assert_eq!(
            position_to_offset(&rope, Position::new(1, 99), PositionEncoding::Utf16),
            text.find("\rc").unwrap()
        );
    }

    #[test]
    fn incremental_edits() {
        let mut doc = Document::new("ab😀cd\nef", 1, "yaml".into());
        // Replace the emoji (2 UTF-16 units) with "X".
        doc.apply(
            Some(Range::new(Position::new(0, 2), Position::new(0, 4))),
            "X",
            PositionEncoding::Utf16,
        );
        assert_eq!(doc.text(), "abXcd\nef");
        doc.apply(
            Some(Range::new(Position::new(1, 0), Position::new(1, 0))),
            "\r\n",
            PositionEncoding::Utf16,
        );
        assert_eq!(doc.text(), "abXcd\n\r\nef");
    }

    #[test]
    fn a_range_outside_the_text_puts_the_document_out_of_sync_until_the_whole_text() {
        let range =
            |(l1, c1), (l2, c2)| Some(Range::new(Position::new(l1, c1), Position::new(l2, c2)));
        // Three lines; the start of a fourth is the end of the text, anything further is outside.
        let mut doc = Document::new("a\nb\nc", 1, "yaml".into());
        doc.apply(range((2, 0), (3, 0)), "C", PositionEncoding::Utf16);
        assert_eq!((doc.text().as_str(), &doc.out_of_sync), ("a\nb\nC", &None));
        // A character past a line's end is the line's end, as LSP says.
        doc.apply(range((0, 9), (0, 9)), "!", PositionEncoding::Utf16);
        assert_eq!((doc.text().as_str(), &doc.out_of_sync), ("a!\nb\nC", &None));
        for (outside, line) in [(range((3, 1), (3, 1)), 3), (range((0, 0), (4, 0)), 4)] {
            let mut doc = Document::new("a\nb\nc", 1, "yaml".into());
            doc.apply(outside, "x", PositionEncoding::Utf16);
            assert_eq!(
                doc.out_of_sync,
                Some(ChangeError::PastTheEnd { line, lines: 3 })
            );
            assert_eq!(doc.text(), "a\nb\nc");
        }
        let mut doc = Document::new("abc", 1, "yaml".into());
        doc.apply(range((0, 2), (0, 1)), "x", PositionEncoding::Utf16);
        assert!(matches!(
            doc.out_of_sync,
            Some(ChangeError::Reversed { .. })
        ));
        // Skipped while out of sync; the whole text brings it back, and the next range change applies.
        doc.apply(range((0, 0), (0, 0)), "x", PositionEncoding::Utf16);
        assert_eq!(doc.text(), "abc");
        doc.apply(None, "def", PositionEncoding::Utf16);
        doc.apply(range((0, 0), (0, 1)), "D", PositionEncoding::Utf16);
        assert_eq!((doc.text().as_str(), &doc.out_of_sync), ("Def", &None));
    }
}
