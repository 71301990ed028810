//! Rendering of check results: `human` (source snippets with carets) and `json`.

use std::io::Write;

use codespan_reporting::diagnostic::{
    Diagnostic as Report, Label, LabelStyle, Severity as ReportSeverity,
};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::WriteColor;
use codespan_reporting::term::{self, Config};
use odp_analysis::{Diagnostic, LineIndex, PositionEncoding, Severity};
use serde::Serialize;

/// One checked file: its path as shown, its text and diagnostics.
pub struct FileReport {
    pub path: String,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn human(out: &mut dyn WriteColor, files: &[FileReport]) -> std::io::Result<()> {
    let config = Config::default();
    for file in files {
        let simple = SimpleFile::new(file.path.as_str(), file.text.as_str());
        for d in &file.diagnostics {
            let severity = match d.severity {
                Severity::Error => ReportSeverity::Error,
                Severity::Warning => ReportSeverity::Warning,
            };
            let mut labels = vec![Label::new(LabelStyle::Primary, (), d.range.as_range())];
            labels.extend(d.related.iter().map(|r| {
                Label::new(LabelStyle::Secondary, (), r.range.as_range()).with_message(&r.message)
            }));
            let mut notes = Vec::new();
            if let Some(help) = &d.help {
                notes.push(format!("help: {help}"));
            }
            if let Some(fix) = &d.fix {
                let how = match fix.applicability {
                    odp_analysis::Applicability::Safe => "safe fix",
                    odp_analysis::Applicability::Unsafe => "unsafe fix",
                };
                notes.push(format!("{how}: {}", fix.title));
            }
            let report = Report::new(severity)
                .with_code(format!("{}/{}", d.code.id(), d.code.name()))
                .with_message(&d.message)
                .with_labels(labels)
                .with_notes(notes);
            term::emit_to_write_style(out, &config, &simple, &report)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonPosition {
    /// 1-based.
    line: u32,
    /// 1-based, in Unicode characters.
    column: u32,
    /// 0-based byte offset.
    offset: u32,
}

#[derive(Serialize)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

#[derive(Serialize)]
struct JsonEdit {
    range: JsonRange,
    new_text: String,
}

#[derive(Serialize)]
struct JsonFix {
    title: String,
    applicability: odp_analysis::Applicability,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
struct JsonRelated {
    range: JsonRange,
    message: String,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
    range: JsonRange,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<JsonRelated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<JsonFix>,
    url: String,
}

#[derive(Serialize)]
struct JsonFile {
    path: String,
    diagnostics: Vec<JsonDiagnostic>,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonReport {
    version: u32,
    files: Vec<JsonFile>,
    summary: JsonSummary,
}

fn range(index: &LineIndex, text: &str, r: odp_analysis::TextRange) -> JsonRange {
    let pos = |offset: usize| {
        let lc = index.line_col(text, offset, PositionEncoding::Utf32);
        JsonPosition {
            line: lc.line + 1,
            column: lc.col + 1,
            offset: offset as u32,
        }
    };
    JsonRange {
        start: pos(r.start()),
        end: pos(r.end()),
    }
}

/// The machine-readable report: every file with its diagnostics, positions 1-based (columns in characters) plus
/// byte offsets, and a summary.
pub fn json(out: &mut dyn Write, files: &[FileReport]) -> std::io::Result<()> {
    let mut errors = 0;
    let mut warnings = 0;
    let json_files = files
        .iter()
        .map(|f| {
            let index = LineIndex::new(&f.text);
            JsonFile {
                path: f.path.clone(),
                diagnostics: f
                    .diagnostics
                    .iter()
                    .map(|d| {
                        match d.severity {
                            Severity::Error => errors += 1,
                            Severity::Warning => warnings += 1,
                        }
                        JsonDiagnostic {
                            code: d.code.id(),
                            name: d.code.name(),
                            severity: d.severity,
                            message: d.message.clone(),
                            help: d.help.clone(),
                            range: range(&index, &f.text, d.range),
                            related: d
                                .related
                                .iter()
                                .map(|r| JsonRelated {
                                    range: range(&index, &f.text, r.range),
                                    message: r.message.clone(),
                                })
                                .collect(),
                            fix: d.fix.as_ref().map(|fix| JsonFix {
                                title: fix.title.clone(),
                                applicability: fix.applicability,
                                edits: fix
                                    .edits
                                    .iter()
                                    .map(|e| JsonEdit {
                                        range: range(&index, &f.text, e.range),
                                        new_text: e.new_text.clone(),
                                    })
                                    .collect(),
                            }),
                            url: d.code.doc_url(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let report = JsonReport {
        version: 1,
        files: json_files,
        summary: JsonSummary {
            files: files.len(),
            errors,
            warnings,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
