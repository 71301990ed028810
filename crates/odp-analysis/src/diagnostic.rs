//! Diagnostics: what the checker reports, with stable codes, ranges, help and fixes.

use odp_syntax::TextRange;
use serde::Serialize;

use crate::codes::Code;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A text replacement: the bytes of `range` become `new_text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TextEdit {
    #[serde(serialize_with = "serialize_range")]
    pub range: TextRange,
    pub new_text: String,
}

/// Whether a fix can be applied without a human looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps the meaning the author evidently intended (quoting a template).
    Safe,
    /// A guess (did-you-mean) or a placeholder the author must complete.
    Unsafe,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<TextEdit>,
    pub applicability: Applicability,
}

/// Another place that explains a diagnostic (the first definition of a duplicated step, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    #[serde(serialize_with = "serialize_range")]
    pub range: TextRange,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    #[serde(serialize_with = "serialize_range")]
    pub range: TextRange,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(code: Code, range: TextRange, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.default_severity(),
            range,
            message: message.into(),
            help: None,
            related: Vec::new(),
            fix: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, range: TextRange, message: impl Into<String>) -> Self {
        self.related.push(Related {
            range,
            message: message.into(),
        });
        self
    }

    pub fn with_fix(
        mut self,
        title: impl Into<String>,
        applicability: Applicability,
        edits: Vec<TextEdit>,
    ) -> Self {
        self.fix = Some(Fix {
            title: title.into(),
            edits,
            applicability,
        });
        self
    }
}

/// Applies edits to a text. Overlapping edits after the first are skipped; returns the new text and how many
/// edits were applied.
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> (String, usize) {
    let mut sorted: Vec<&TextEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0usize;
    let mut applied = 0;
    for edit in sorted {
        if edit.range.start() < cursor || edit.range.end() > text.len() {
            continue;
        }
        out.push_str(&text[cursor..edit.range.start()]);
        out.push_str(&edit.new_text);
        cursor = edit.range.end();
        applied += 1;
    }
    out.push_str(&text[cursor..]);
    (out, applied)
}

/// Ranges serialize as `{"start": byte, "end": byte}`.
fn serialize_range<S: serde::Serializer>(range: &TextRange, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("TextRange", 2)?;
    st.serialize_field("start", &range.start)?;
    st.serialize_field("end", &range.end)?;
    st.end()
}
