//! Inline suppressions: `# odp: ignore[CODE, ...]` on a diagnostic's line, or alone on the line above it.
//! Codes are written as ids (`ODP500`) or names (`unused-source`). A suppression that suppresses nothing is
//! reported (ODP502), as is one naming an unknown code.

use odp_syntax::{Comment, LineIndex, TextRange};

use crate::codes::Code;
use crate::diagnostic::{Applicability, Diagnostic, TextEdit};

struct Suppression {
    /// Alone on its line (so it covers the next one).
    alone: bool,
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
    if !comments
        .iter()
        .any(|c| text[c.range.as_range()].contains(MARKER))
    {
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
            let end = c.range.start() + body.trim_end().len();
            problems.push(
                Diagnostic::new(
                    Code::UnusedSuppression,
                    c.range,
                    "this suppression is never closed: write `# odp: ignore[CODE]`",
                )
                .with_fix(
                    "Close the suppression with `]`",
                    Applicability::Safe,
                    vec![TextEdit {
                        range: TextRange::empty(end),
                        new_text: "]".into(),
                    }],
                ),
            );
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
                None => problems.push(unknown_code(trimmed, range)),
            }
        }
        let used = vec![false; codes.len()];
        // What removing the comment deletes: the white space before it too, and its whole line when it stands
        // alone.
        let removal = if alone {
            let next = text[c.range.end()..]
                .find('\n')
                .map_or(text.len(), |i| c.range.end() + i + 1);
            TextRange::new(line_start, next)
        } else {
            let before = text[line_start..c.range.start()].trim_end();
            TextRange::new(line_start + before.len(), c.range.end())
        };
        sups.push(Suppression {
            alone,
            line: if alone {
                comment_line + 1
            } else {
                comment_line
            },
            codes,
            comment: removal,
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
            )
            .with_help(if s.alone {
                format!("there is no {code} on the next line")
            } else {
                format!("there is no {code} on this line")
            });
            if unused.len() < s.codes.len() {
                // Others in the list are in use: remove only this code, with one of its commas.
                let after = &text[range.end()..];
                let removal = match after.find(|c: char| c != ' ') {
                    Some(i) if after[i..].starts_with(',') => {
                        let rest = &after[i + 1..];
                        let spaces = rest.len() - rest.trim_start_matches(' ').len();
                        TextRange::new(range.start(), range.end() + i + 1 + spaces)
                    }
                    _ => {
                        let before = text[..range.start()].trim_end_matches(' ');
                        let start = before.strip_suffix(',').map_or(range.start(), str::len);
                        TextRange::new(start, range.end())
                    }
                };
                d = d.with_fix(
                    format!("Remove {code} from the suppression"),
                    Applicability::Safe,
                    vec![TextEdit {
                        range: removal,
                        new_text: String::new(),
                    }],
                );
            } else {
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

/// ODP502 for a code that does not exist, with the likely one as a fix.
fn unknown_code(written: &str, range: TextRange) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnusedSuppression,
        range,
        format!("unknown code `{written}` in suppression"),
    );
    let candidates = Code::ALL.iter().flat_map(|c| [c.id(), c.name()]);
    let upper = written.to_ascii_uppercase();
    let guess = if upper.starts_with("ODP") {
        crate::suggest(&upper, Code::ALL.iter().map(|c| c.id()))
    } else {
        crate::suggest(written, candidates)
    };
    match guess {
        Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
            format!("Replace with `{s}`"),
            Applicability::Unsafe,
            vec![TextEdit {
                range,
                new_text: s.to_string(),
            }],
        ),
        None => d.with_help("write a code as its id (`ODP500`) or its name (`unused-source`)"),
    }
}
