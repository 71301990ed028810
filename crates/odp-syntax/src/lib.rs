//! Error-recovering, lossless parser for the YAML that ODP pipelines use.
//!
//! General YAML parsers stop at the first error; pipelines are edited while broken. This parser reads block
//! mappings and sequences by indentation, flow collections, plain, quoted and block scalars, and comments. An error
//! stays inside the line or block where it occurs: a broken line is reported and skipped, an unclosed `[` or quote
//! ends where the indentation says a new element starts, and everything else still yields its tree.
//!
//! YAML features pipelines have no use for (anchors, aliases, tags, complex keys, directives, several documents)
//! are reported as [`SyntaxErrorKind::Unsupported`]; leaving aliases out also rules out "billion laughs" blow-ups.

mod line_index;
mod parser;
#[cfg(any(test, feature = "test-support"))]
pub mod random_edits;
mod reparse;
mod text;
mod tree;

pub use line_index::{LineCol, LineIndex, PositionEncoding};
pub use parser::parse;
pub use reparse::{Change, diff, reparse, reparse_change, reparse_in_place};
pub use text::TextRange;
pub use tree::{
    Comment, Entry, INT_RANGE, JsonValue, Node, NodeKind, Scalar, ScalarStyle, ScalarValue,
};

/// What kind of problem a [`SyntaxError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// Not valid YAML.
    Invalid,
    /// Valid YAML that pipelines do not support.
    Unsupported,
    /// An unquoted value starting with `{{`: YAML reads it as a nested flow mapping. The node is kept as the
    /// template string the author meant.
    UnquotedTemplate,
    /// Not valid YAML, but quoting the value makes it so: an unquoted value starting with a reserved indicator
    /// (`@`, `` ` ``, `%`) or a lone `-` in a flow collection. The node is kept as the string the author meant.
    NeedsQuotes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub range: TextRange,
    pub message: String,
}

/// The result of parsing: the root node (absent for an empty document), every error, and every comment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parse {
    pub root: Option<Node>,
    pub errors: Vec<SyntaxError>,
    pub comments: Vec<Comment>,
}

#[cfg(test)]
mod reparse_tests;
#[cfg(test)]
mod tests;
