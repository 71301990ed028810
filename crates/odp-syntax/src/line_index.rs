//! Conversions between byte offsets and line/column positions.
//!
//! Editors count columns in UTF-16 code units (the LSP default) or in UTF-8 bytes (when negotiated); humans count
//! characters. Lines end at `\n`; a `\r` right before it belongs to the line ending, never to a column.

use crate::TextRange;

/// How columns are counted. The one such enum: the language server negotiates one of these with its client and
/// converts it from and to LSP's position encoding kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionEncoding {
    Utf8,
    Utf16,
    /// Unicode scalar values: what people and terminals count.
    Utf32,
}

/// A zero-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// Start offsets of every line of a text.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<u32>,
    len: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        Self {
            line_starts,
            len: text.len() as u32,
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of line `line` without its line ending (`\n` or `\r\n`).
    pub fn line_range(&self, text: &str, line: usize) -> Option<TextRange> {
        let start = *self.line_starts.get(line)? as usize;
        let mut end = self
            .line_starts
            .get(line + 1)
            .map(|s| *s as usize - 1)
            .unwrap_or(self.len as usize);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Some(TextRange::new(start, end))
    }

    /// The line holding byte `offset` (offsets past the end map to the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&(offset as u32)) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Line and column of a byte offset, the column counted in `encoding`.
    ///
    /// An offset inside a multi-byte character or inside a `\r\n` is clamped to the character's start.
    pub fn line_col(&self, text: &str, offset: usize, encoding: PositionEncoding) -> LineCol {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line] as usize;
        let range = self.line_range(text, line).expect("line exists");
        let end = offset.min(range.end());
        let mut end = end;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let segment = &text[start..end];
        let col = match encoding {
            PositionEncoding::Utf8 => segment.len(),
            PositionEncoding::Utf16 => segment.chars().map(char::len_utf16).sum(),
            PositionEncoding::Utf32 => segment.chars().count(),
        };
        LineCol {
            line: line as u32,
            col: col as u32,
        }
    }

    /// The byte offset of a line and column counted in `encoding`.
    ///
    /// Columns past the end of the line clamp to the line's end (before `\r\n`), as LSP requires; lines past the
    /// end clamp to the end of the text. A column inside a surrogate pair maps to the start of its character.
    pub fn offset(&self, text: &str, pos: LineCol, encoding: PositionEncoding) -> usize {
        let Some(range) = self.line_range(text, pos.line as usize) else {
            return text.len();
        };
        let line = &text[range.as_range()];
        let wanted = pos.col as usize;
        let mut counted = 0usize;
        for (i, ch) in line.char_indices() {
            let width = match encoding {
                PositionEncoding::Utf8 => ch.len_utf8(),
                PositionEncoding::Utf16 => ch.len_utf16(),
                PositionEncoding::Utf32 => 1,
            };
            if counted + width > wanted {
                return range.start() + i;
            }
            counted += width;
        }
        range.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_utf16_and_utf8_with_crlf() {
        let text = "a: é😀x\r\nb: 1\r\n";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(
            index.line_col(text, x, PositionEncoding::Utf16),
            LineCol { line: 0, col: 6 }
        );
        assert_eq!(
            index.line_col(text, x, PositionEncoding::Utf8),
            LineCol { line: 0, col: 9 }
        );
        assert_eq!(
            index.line_col(text, x, PositionEncoding::Utf32),
            LineCol { line: 0, col: 5 }
        );
        for enc in [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ] {
            for (offset, _) in text.char_indices() {
                let lc = index.line_col(text, offset, enc);
                let back = index.offset(text, lc, enc);
                if matches!(text.as_bytes()[offset], b'\r' | b'\n') {
                    // The line ending has no column: it maps to the end of its line.
                    assert_eq!(back, text[..offset].trim_end_matches(['\r', '\n']).len());
                } else {
                    assert_eq!(back, offset, "offset {offset} via {lc:?} in {enc:?}");
                }
            }
        }
        let b = text.find('b').unwrap();
        assert_eq!(
            index.line_col(text, b, PositionEncoding::Utf16),
            LineCol { line: 1, col: 0 }
        );
    }

    #[test]
    fn clamps_columns_past_the_line_end_before_crlf() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text);
        assert_eq!(
            index.offset(text, LineCol { line: 0, col: 99 }, PositionEncoding::Utf16),
            2
        );
        assert_eq!(
            index.offset(text, LineCol { line: 7, col: 0 }, PositionEncoding::Utf16),
            text.len()
        );
        // The `\n` of a CRLF clamps back to the line end.
        assert_eq!(
            index.line_col(text, 3, PositionEncoding::Utf16),
            LineCol { line: 0, col: 2 }
        );
    }

    #[test]
    fn column_inside_a_surrogate_pair_maps_to_its_character() {
        let text = "😀a";
        let index = LineIndex::new(text);
        assert_eq!(
            index.offset(text, LineCol { line: 0, col: 1 }, PositionEncoding::Utf16),
            0
        );
        assert_eq!(
            index.offset(text, LineCol { line: 0, col: 2 }, PositionEncoding::Utf16),
            4
        );
    }
}
