//! Inline suppressions: `# odp: ignore[CODE, ...]` on a diagnostic's line, or alone on the line above it.
//! Codes are written as ids (`ODP500`) or names (`unused-source`). A suppression that suppresses nothing is
//! reported (ODP502), as is one naming an unknown code.

use odp_syntax::{Comment, LineIndex, TextRange};

use crate::codes::Code;
use crate::diagnostic::{Applicability, Diagnostic, TextEdit};

struct Suppression {
    /// The line whose diagnostics it covers.
    line: usize,
    codes: Vec<(Code, TextRange)>,
    comment: TextRange,
    used: Vec<bool>,
}

/// Removes suppressed diagnostics; returns how many were removed. Unused and unknown suppressions are added as
/// diagnostics.
pub(crate) fn apply(text: &str, comments: &[Comment], diags: &mut Vec<Diagnostic>) -> usize {
    const MARKER: &str = "odp: ignore[";
    if !comments.iter().any(|c| text[c.range.as_range()].contains(MARKER)) {
        return 0;
    }
    let index = LineIndex::new(text);
    let mut sups: Vec<Suppression> = Vec::new();
    let mut problems = Vec::new();
    for c in comments {
        let body = &text[c.range.as_range()];
        let Some(at) = body.find(MARKER) else {
            continue;
        };
        let list_start = at + MARKER.len();
        let Some(close) = body[list_start..].find(']') else {
            problems.push(Diagnostic::new(
                Code::UnusedSuppression,
                c.range,
                "this suppression is never closed: write `# odp: ignore[CODE]`",
            ));
            continue;
        };
        let comment_line = index.line_of(c.range.start());
        let line_start = index
            .line_range(text, comment_line)
            .map_or(0, |r| r.start());
        let alone = text[line_start..c.range.start()].trim().is_empty();
        let mut codes = Vec::new();
        let mut offset = c.range.start() + list_start;
        for part in body[list_start..list_start + close].split(',') {
            let trimmed = part.trim();
            let lead = part.len() - part.trim_start().len();
            let range = TextRange::new(offset + lead, offset + lead + trimmed.len());
            offset += part.len() + 1;
            if trimmed.is_empty() {
                continue;
            }
            match Code::parse(trimmed) {
                Some(code) => codes.push((code, range)),
                None => problems.push(Diagnostic::new(
                    Code::UnusedSuppression,
                    range,
                    format!("unknown code `{trimmed}` in suppression"),
                )),
            }
        }
        let used = vec![false; codes.len()];
        sups.push(Suppression {
            line: if alone { comment_line + 1 } else { comment_line },
            codes,
            comment: c.range,
            used,
        });
    }
    let before = diags.len();
    diags.retain(|d| {
        let line = index.line_of(d.range.start());
        let mut suppressed = false;
        for s in sups.iter_mut().filter(|s| s.line == line) {
            for (i, (code, _)) in s.codes.iter().enumerate() {
                if *code == d.code {
                    s.used[i] = true;
                    suppressed = true;
                }
            }
        }
        !suppressed
    });
    let removed = before - diags.len();
    for s in &sups {
        let unused: Vec<&(Code, TextRange)> = s
            .codes
            .iter()
            .zip(&s.used)
            .filter(|(_, used)| !**used)
            .map(|(c, _)| c)
            .collect();
        for (code, range) in &unused {
            let mut d = Diagnostic::new(
                Code::UnusedSuppression,
                *range,
                format!("this suppression of {code} suppresses nothing"),
            );
            if unused.len() == s.codes.len() {
                // The whole comment is stale: offer to delete it.
                d = d.with_fix(
                    "Remove the suppression comment",
                    Applicability::Safe,
                    vec![TextEdit {
                        range: s.comment,
                        new_text: String::new(),
                    }],
                );
            }
            problems.push(d);
        }
    }
    diags.extend(problems);
    removed
}
