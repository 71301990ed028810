//! The syntax tree: YAML nodes with exact byte ranges.
//!
//! The tree is lossless together with the text it was parsed from ([`crate::Parse`] keeps both): every node, key,
//! indicator-free scalar body and comment carries its range, so edits are computed as byte ranges and nothing the
//! user wrote is dropped.

pub use compact_str::CompactString;

use crate::TextRange;

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A scalar: its decoded text and how it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub style: ScalarStyle,
    /// The scalar's value after unescaping and line folding. A compact string: most values and keys are short
    /// and then live inline, which spares the parser an allocation for each.
    pub value: CompactString,
    /// True for an unquoted value that starts with `{{`: plain YAML would read it as a flow mapping. The parser
    /// reads it as the template string the author meant and reports [`crate::SyntaxErrorKind::UnquotedTemplate`].
    pub unquoted_template: bool,
}

/// What a scalar means under the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue<'a> {
    Null,
    Bool(bool),
    /// An integer in [`INT_RANGE`].
    Int(i128),
    Float(f64),
    Str(&'a str),
}

impl Scalar {
    /// Resolves the scalar under the YAML 1.2 core schema; quoted and block scalars are always strings.
    pub fn resolve(&self) -> ScalarValue<'_> {
        if self.style != ScalarStyle::Plain || self.unquoted_template {
            return ScalarValue::Str(&self.value);
        }
        resolve_plain(&self.value)
    }

    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), ScalarValue::Null)
    }
}

/// The integers a value can hold exactly: what JSON readers carry without loss (`i64` and `u64`). A plain scalar
/// that is an integer beyond them is reported by the parser.
pub const INT_RANGE: std::ops::RangeInclusive<i128> = i64::MIN as i128..=u64::MAX as i128;

/// Whether a plain scalar is an integer of the core schema that lies outside [`INT_RANGE`].
pub(crate) fn is_int_out_of_range(v: &str) -> bool {
    // 18 characters hold at most 18 decimal digits (< 2^63), `0x` and 16 hex digits (< 2^64) or `0o` and 16 octal
    // digits: nothing that short is out of range, and most numbers are that short.
    if v.len() <= 18 {
        return false;
    }
    let radix_digits = |prefix: &str, radix: u32| {
        v.strip_prefix(prefix)
            .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_digit(radix)))
    };
    if let Some(d) = radix_digits("0x", 16) {
        return u64::from_str_radix(d, 16).is_err();
    }
    if let Some(d) = radix_digits("0o", 8) {
        return u64::from_str_radix(d, 8).is_err();
    }
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !v.parse::<i128>().is_ok_and(|i| INT_RANGE.contains(&i))
}

fn resolve_plain(v: &str) -> ScalarValue<'_> {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
        "true" | "True" | "TRUE" => return ScalarValue::Bool(true),
        "false" | "False" | "FALSE" => return ScalarValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ScalarValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return ScalarValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarValue::Float(f64::NAN),
        _ => {}
    }
    let first = v.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return ScalarValue::Str(v);
    }
    // `from_str_radix` also takes a sign, which the core schema's `0x`/`0o` forms do not have.
    let radix_int = |prefix: &str, radix: u32| {
        v.strip_prefix(prefix)
            .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_digit(radix)))
            .and_then(|d| u64::from_str_radix(d, radix).ok())
    };
    if let Some(i) = radix_int("0x", 16).or_else(|| radix_int("0o", 8)) {
        return ScalarValue::Int(i128::from(i));
    }
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let is_int = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if let Some(i) = is_int
        .then(|| v.parse::<i128>().ok())
        .flatten()
        .filter(|i| INT_RANGE.contains(i))
    {
        return ScalarValue::Int(i);
    }
    // The core schema's float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let is_float = {
        let b = digits.as_bytes();
        let mut i = 0;
        let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        i += int_digits;
        let mut frac_digits = 0;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            i += frac_digits;
        }
        let mut ok = int_digits + frac_digits > 0;
        if ok && i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
                i += 1;
            }
            let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            ok = exp > 0;
            i += exp;
        }
        ok && i == b.len()
    };
    if let Some(f) = is_float.then(|| v.parse::<f64>().ok()).flatten() {
        return ScalarValue::Float(f);
    }
    ScalarValue::Str(v)
}

/// A key/value pair of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key's text (keys are always scalars here; complex keys are rejected).
    pub key: CompactString,
    /// The key as written, quotes included.
    pub key_range: TextRange,
    /// The value; a missing value (`key:` with nothing after it) is an empty plain scalar, which is null.
    pub value: Node,
}

impl Entry {
    /// From the key's start to the value's end.
    pub fn range(&self) -> TextRange {
        self.key_range.cover(self.value.range)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Mapping {
        entries: Vec<Entry>,
        flow: bool,
    },
    Sequence {
        items: Vec<Node>,
        flow: bool,
    },
    Scalar(Scalar),
    /// Something that could not be parsed (its error is in [`crate::Parse::errors`]), or an alias.
    Error,
}

/// A YAML node with the byte range it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub range: TextRange,
    pub kind: NodeKind,
}

impl Node {
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Sequence { items, .. } => Some(items),
            _ => None,
        }
    }

    /// The first entry with this key.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    pub fn is_null(&self) -> bool {
        self.scalar().is_some_and(Scalar::is_null)
    }

    /// A short name of the node's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Mapping { .. } => "a mapping",
            NodeKind::Sequence { .. } => "a list",
            NodeKind::Scalar(s) => match s.resolve() {
                ScalarValue::Null => "null",
                ScalarValue::Bool(_) => "a boolean",
                ScalarValue::Int(_) => "an integer",
                ScalarValue::Float(_) => "a number",
                ScalarValue::Str(_) => "a string",
            },
            NodeKind::Error => "invalid YAML",
        }
    }

    /// The innermost node whose range contains `offset`, with its ancestors (outermost first).
    pub fn path_to(&self, offset: usize) -> Vec<&Node> {
        let mut path = Vec::new();
        let mut node = self;
        loop {
            if !node.range.contains_inclusive(offset) {
                break;
            }
            path.push(node);
            let next = match &node.kind {
                NodeKind::Mapping { entries, .. } => entries
                    .iter()
                    .map(|e| &e.value)
                    .find(|v| v.range.contains_inclusive(offset)),
                NodeKind::Sequence { items, .. } => {
                    items.iter().find(|v| v.range.contains_inclusive(offset))
                }
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        path
    }

    /// Converts to JSON under the core schema (for validation and for data files such as registries).
    /// Error nodes become null.
    pub fn to_json(&self) -> JsonValue {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => JsonValue::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.value.to_json()))
                    .collect(),
            ),
            NodeKind::Sequence { items, .. } => {
                JsonValue::Array(items.iter().map(Node::to_json).collect())
            }
            NodeKind::Scalar(s) => match s.resolve() {
                ScalarValue::Null => JsonValue::Null,
                ScalarValue::Bool(b) => JsonValue::Bool(b),
                ScalarValue::Int(i) => JsonValue::Int(i),
                ScalarValue::Float(f) => JsonValue::Float(f),
                ScalarValue::Str(s) => JsonValue::String(s.to_owned()),
            },
            NodeKind::Error => JsonValue::Null,
        }
    }
}

/// A dependency-free JSON value, so the syntax crate stays free of serde; higher layers convert it.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    /// An integer in [`INT_RANGE`]: `i64` or `u64`.
    Int(i128),
    Float(f64),
    String(String),
    Array(Vec<JsonValue>),
    /// Entries in document order; a duplicated key keeps its first occurrence's place and its last value.
    Object(Vec<(String, JsonValue)>),
}

/// A comment: `#` and the rest of its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment {
    pub range: TextRange,
}
