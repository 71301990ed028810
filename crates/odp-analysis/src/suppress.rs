//! Inline suppressions: `# odp: ignore[CODE, ...]` on a diagnostic's line, or alone on the line above it.
//! Codes are written as ids (`ODP500`) or names (`unused-source`). A suppression that suppresses nothing is
//! reported (ODP502), as are an unknown code and a code written more than once (one finding per code).

use odp_syntax::{Comment, LineIndex, TextRange};
use rustc_hash::FxHashMap;

use crate::codes::Code;
use crate::diagnostic::{Applicability, Diagnostic, TextEdit};

struct Suppression {
    /// Alone on its line (so it covers the next one).
    alone: bool,
    /// The line whose diagnostics it covers.
    line: usize,
    /// Every entry of the list, in order, empty ones left out: what an edit removing some must step around.
    entries: Vec<TextRange>,
    /// The known codes, each once, however often the list repeats it.
    codes: Vec<Listed>,
    comment: TextRange,
}

/// A known code of a suppression's list. A code written twice suppresses nothing more, so a repeated code makes
/// one finding, not one per repetition: a line repeating a code thousands of times must not print thousands of
/// findings.
struct Listed {
    code: Code,
    /// Where it is written, as indices into `Suppression::entries`; the first is the one that counts.
    at: Vec<usize>,
    used: bool,
}

/// Removes suppressed diagnostics; returns how many were removed. Unused, repeated and unknown suppressions are
/// added as diagnostics.
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
        let mut entries = Vec::new();
        let mut codes: Vec<Listed> = Vec::new();
        // Unknown codes by how they are written, in the order they first appear.
        let mut unknown: Vec<(&str, Vec<usize>)> = Vec::new();
        let mut unknown_index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut offset = c.range.start() + list_start;
        for part in body[list_start..list_start + close].split(',') {
            let trimmed = part.trim();
            let lead = part.len() - part.trim_start().len();
            let range = TextRange::new(offset + lead, offset + lead + trimmed.len());
            offset += part.len() + 1;
            if trimmed.is_empty() {
                continue;
            }
            let entry = entries.len();
            entries.push(range);
            match Code::parse(trimmed) {
                Some(code) => match codes.iter_mut().find(|l| l.code == code) {
                    Some(listed) => listed.at.push(entry),
                    None => codes.push(Listed {
                        code,
                        at: vec![entry],
                        used: false,
                    }),
                },
                None => {
                    let group = *unknown_index.entry(trimmed).or_insert_with(|| {
                        unknown.push((trimmed, Vec::new()));
                        unknown.len() - 1
                    });
                    unknown[group].1.push(entry);
                }
            }
        }
        for (written, at) in &unknown {
            problems.push(unknown_code(text, &entries, written, at));
        }
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
            entries,
            codes,
            comment: removal,
        });
    }
    let before = diags.len();
    diags.retain(|d| {
        let line = index.line_of(d.range.start());
        let mut suppressed = false;
        for s in sups.iter_mut().filter(|s| s.line == line) {
            for listed in &mut s.codes {
                if listed.code == d.code {
                    listed.used = true;
                    suppressed = true;
                }
            }
        }
        !suppressed
    });
    let removed = before - diags.len();
    for s in &sups {
        let all_unused = s.codes.iter().all(|l| !l.used);
        for listed in &s.codes {
            let code = listed.code;
            let times = listed.at.len();
            if listed.used {
                if times > 1 {
                    problems.push(
                        Diagnostic::new(
                            Code::UnusedSuppression,
                            s.entries[listed.at[1]],
                            format!("{code} is written {times} times in this suppression"),
                        )
                        .with_help("once is enough: the repeats suppress nothing more")
                        .with_fix(
                            format!("Remove the repeats of {code}"),
                            Applicability::Safe,
                            vec![list_edit(text, &s.entries, &listed.at[1..])],
                        ),
                    );
                }
                continue;
            }
            let mut help = if s.alone {
                format!("there is no {code} on the next line")
            } else {
                format!("there is no {code} on this line")
            };
            if times > 1 {
                help.push_str(&format!(" (and it is written {times} times)"));
            }
            let d = Diagnostic::new(
                Code::UnusedSuppression,
                s.entries[listed.at[0]],
                format!("this suppression of {code} suppresses nothing"),
            )
            .with_help(help);
            problems.push(if all_unused {
                // The whole comment is stale: offer to delete it.
                d.with_fix(
                    "Remove the suppression comment",
                    Applicability::Safe,
                    vec![TextEdit {
                        range: s.comment,
                        new_text: String::new(),
                    }],
                )
            } else {
                // Others in the list are in use: remove only this code.
                d.with_fix(
                    format!("Remove {code} from the suppression"),
                    Applicability::Safe,
                    vec![list_edit(text, &s.entries, &listed.at)],
                )
            });
        }
    }
    diags.extend(problems);
    removed
}

/// One edit that removes the entries at `remove` (sorted, not all of them) from a suppression's list, with their
/// commas. It spans only the entries from the first to the last one it removes, and the entries it keeps in
/// between are written again, so that its size stays that of the list.
fn list_edit(text: &str, entries: &[TextRange], remove: &[usize]) -> TextEdit {
    let removed = |i: &usize| remove.binary_search(i).is_ok();
    let first = remove.first().copied().unwrap_or(0);
    let last = remove.last().copied().unwrap_or(0);
    let kept: Vec<&str> = (first..=last)
        .filter(|i| !removed(i))
        .map(|i| &text[entries[i].as_range()])
        .collect();
    if first > 0 {
        // From the end of the entry before: each kept entry brings its comma along.
        return TextEdit {
            range: TextRange::new(entries[first - 1].end(), entries[last].end()),
            new_text: kept.iter().map(|e| format!(", {e}")).collect(),
        };
    }
    match (0..entries.len()).find(|i| !removed(i)) {
        // The head of the list goes up to the first entry kept, which takes its place.
        Some(next) if next > last => TextEdit {
            range: TextRange::new(entries[0].start(), entries[next].start()),
            new_text: String::new(),
        },
        _ => TextEdit {
            range: TextRange::new(entries[0].start(), entries[last].end()),
            new_text: kept.join(", "),
        },
    }
}

/// ODP502 for a code that does not exist, written at the entries `at` (once, or repeated), with the likely one as
/// a fix.
fn unknown_code(text: &str, entries: &[TextRange], written: &str, at: &[usize]) -> Diagnostic {
    let range = entries[at[0]];
    let times = match at.len() {
        1 => String::new(),
        n => format!(", written {n} times"),
    };
    let d = Diagnostic::new(
        Code::UnusedSuppression,
        range,
        format!("unknown code `{written}` in suppression{times}"),
    );
    let candidates = Code::ALL.iter().flat_map(|c| [c.id(), c.name()]);
    let upper = written.to_ascii_uppercase();
    let guess = if upper.starts_with("ODP") {
        crate::suggest(&upper, Code::ALL.iter().map(|c| c.id()))
    } else {
        crate::suggest(written, candidates)
    };
    match guess {
        Some(s) => {
            let mut edits = vec![TextEdit {
                range,
                new_text: s.to_string(),
            }];
            // The repeats go: replaced too, they would only repeat the guess.
            if at.len() > 1 {
                edits.push(list_edit(text, entries, &at[1..]));
            }
            d.with_help(format!("did you mean `{s}`?")).with_fix(
                format!("Replace with `{s}`"),
                Applicability::Unsafe,
                edits,
            )
        }
        None => d.with_help("write a code as its id (`ODP500`) or its name (`unused-source`)"),
    }
}
