//! Where a template's spans lie in the text: a scalar's value maps onto its source exactly only when it is written
//! as it reads, which is worked out once per scalar.

use odp_syntax::{Node, Scalar, ScalarStyle, TextRange};

/// Where a scalar's value lies in the text, worked out once per scalar (a value may hold thousands of templates).
#[derive(Clone, Copy)]
pub(crate) struct ScalarPlace {
    pub(crate) node_range: TextRange,
    /// Where the value's first byte is in the text, when the value is written as it reads (plain, or quoted without
    /// escapes, on one line): only then do spans of the value map onto the text exactly.
    value_start: Option<usize>,
}

impl ScalarPlace {
    pub(crate) fn new(text: &str, node: &Node, s: &Scalar) -> ScalarPlace {
        let raw = &text[node.range.as_range()];
        let inner_start = match s.style {
            ScalarStyle::Plain => Some(0),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Some(1),
            _ => None,
        };
        crate::work::add(s.value.len());
        let value_start = inner_start.filter(|&offset| {
            let inner_end = raw.len() - if offset == 1 && raw.len() >= 2 { 1 } else { 0 };
            raw.get(offset..inner_end) == Some(s.value.as_str())
        });
        ScalarPlace {
            node_range: node.range,
            value_start: value_start.map(|offset| node.range.start() + offset),
        }
    }

    /// The source range of a span of the value: exact where there is one, else the whole scalar.
    pub(crate) fn range(&self, span: std::ops::Range<usize>) -> TextRange {
        self.exact(span).unwrap_or(self.node_range)
    }

    /// The exact source range of a span of the value, where there is one: fixes edit only exact ranges.
    pub(crate) fn exact(&self, span: std::ops::Range<usize>) -> Option<TextRange> {
        self.value_start
            .map(|start| TextRange::new(start + span.start, start + span.end))
    }
}
