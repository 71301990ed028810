//! Code actions: the fixes of the diagnostics in a range, and a suppression comment for each.

use odp_analysis::{Applicability, Diagnostic, TextEdit, TextRange};

use crate::Snapshot;

#[derive(Clone, Debug, PartialEq)]
pub struct CodeAction {
    pub title: String,
    pub edits: Vec<TextEdit>,
    /// The diagnostic it addresses, by index into the analysis' diagnostics.
    pub diagnostic: Option<usize>,
    pub preferred: bool,
}

impl Snapshot<'_> {
    /// The fixes of the diagnostics touching `range`, and a suppression for each.
    pub fn code_actions(&self, range: TextRange) -> Vec<CodeAction> {
        let mut out = Vec::new();
        for (i, d) in self.analysis.diagnostics.iter().enumerate() {
            let touches = d.range.start <= range.end && range.start <= d.range.end;
            if !touches {
                continue;
            }
            if let Some(fix) = &d.fix {
                out.push(CodeAction {
                    title: fix.title.clone(),
                    edits: fix.edits.clone(),
                    diagnostic: Some(i),
                    preferred: fix.applicability == Applicability::Safe,
                });
            }
            if let Some(edit) = self.suppression_edit(d) {
                out.push(CodeAction {
                    title: format!("Suppress {} ({}) on this line", d.code.id(), d.code.name()),
                    edits: vec![edit],
                    diagnostic: Some(i),
                    preferred: false,
                });
            }
        }
        out
    }

    /// `# odp: ignore[CODE]` at the end of the diagnostic's line, or the code added to the line's suppression.
    fn suppression_edit(&self, d: &Diagnostic) -> Option<TextEdit> {
        if d.code == odp_analysis::Code::UnusedSuppression {
            return None;
        }
        let start = self.text[..d.range.start()]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let mut end = self.text[d.range.start()..]
            .find('\n')
            .map_or(self.text.len(), |i| d.range.start() + i);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        let line = &self.text[start..end];
        if let Some(at) = line.find("# odp: ignore[")
            && let Some(close) = line[at..].find(']')
        {
            let insert = start + at + close;
            return Some(TextEdit {
                range: TextRange::empty(insert),
                new_text: format!(", {}", d.code.id()),
            });
        }
        // A multi-line value (an open flow collection, a block scalar) cannot take a comment at the end of its
        // first line safely; the line above can.
        Some(TextEdit {
            range: TextRange::empty(end),
            new_text: format!("  # odp: ignore[{}]", d.code.id()),
        })
    }
}
