//! Semantic tokens: templates (braces, roots, fields) and method ids.

use odp_analysis::TextRange;
use odp_analysis::template::Accessor;

use crate::Snapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `inputs`.
    Namespace,
    /// A step name in a template.
    Variable,
    /// A field, an index or `[*]` in a template.
    Property,
    /// A method id.
    Function,
    /// `{{` and `}}`.
    Operator,
}

impl TokenKind {
    /// The legend, in the order the server announces it.
    pub const LEGEND: &'static [TokenKind] = &[
        TokenKind::Namespace,
        TokenKind::Variable,
        TokenKind::Property,
        TokenKind::Function,
        TokenKind::Operator,
    ];

    pub fn lsp_name(self) -> &'static str {
        match self {
            TokenKind::Namespace => "namespace",
            TokenKind::Variable => "variable",
            TokenKind::Property => "property",
            TokenKind::Function => "function",
            TokenKind::Operator => "operator",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemanticToken {
    pub range: TextRange,
    pub kind: TokenKind,
}

impl Snapshot<'_> {
    /// Templates (braces, roots, fields) and method ids, sorted and without overlaps.
    pub fn semantic_tokens(&self) -> Vec<SemanticToken> {
        let mut out = Vec::new();
        for step in &self.analysis.pipeline.steps {
            if let Some(m) = &step.method
                && !self.text[m.range.as_range()].contains('\n')
            {
                out.push(SemanticToken {
                    range: self.name_range(m.range),
                    kind: TokenKind::Function,
                });
            }
        }
        for r in &self.analysis.references {
            // Only where positions are exact: the root is written where the reference says.
            if self.text.get(r.root_range.as_range()) != Some(r.path.root.as_str()) {
                continue;
            }
            let value_start = r.root_range.start() - r.path.root_span.start;
            if self.text.get(r.range.start()..r.range.start() + 2) == Some("{{") {
                out.push(SemanticToken {
                    range: TextRange::new(r.range.start(), r.range.start() + 2),
                    kind: TokenKind::Operator,
                });
            }
            out.push(SemanticToken {
                range: r.root_range,
                kind: if r.path.root == "inputs" {
                    TokenKind::Namespace
                } else {
                    TokenKind::Variable
                },
            });
            for seg in &r.path.segments {
                let (start, end) = match &seg.accessor {
                    // Skip the `.`.
                    Accessor::Field(_)
                        if self.text.as_bytes().get(value_start + seg.span.start)
                            == Some(&b'.') =>
                    {
                        (value_start + seg.span.start + 1, value_start + seg.span.end)
                    }
                    _ => (value_start + seg.span.start, value_start + seg.span.end),
                };
                if end <= self.text.len() && start < end {
                    out.push(SemanticToken {
                        range: TextRange::new(start, end),
                        kind: TokenKind::Property,
                    });
                }
            }
            if r.range.end() >= 2 && self.text.get(r.range.end() - 2..r.range.end()) == Some("}}") {
                out.push(SemanticToken {
                    range: TextRange::new(r.range.end() - 2, r.range.end()),
                    kind: TokenKind::Operator,
                });
            }
        }
        out.sort_by_key(|t| (t.range.start, t.range.end));
        let mut last_end = 0;
        out.retain(|t| {
            let keep = t.range.start() >= last_end;
            if keep {
                last_end = t.range.end();
            }
            keep
        });
        out
    }
}
