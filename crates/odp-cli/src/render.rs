//! Rendering of check results: `human` (source snippets with carets), `json`, `sarif` and `github`.

use std::io::Write;

use codespan_reporting::diagnostic::{
    Diagnostic as Report, Label, LabelStyle, Severity as ReportSeverity,
};
use codespan_reporting::term::termcolor::WriteColor;
use codespan_reporting::term::{self, Config};
use odp_analysis::{Diagnostic, LineIndex, PositionEncoding, Severity, TextRange, escape_control};
use serde::Serialize;

use crate::snippet::Snippet;

/// One checked file: its path as shown, its text and diagnostics.
pub struct FileReport {
    pub path: String,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// Source snippets with carets, as codespan-reporting draws them. What comes from the file — its path, its lines,
/// messages quoting it — is shown with control characters escaped, and long lines cut around the labels
/// ([`Snippet`]).
pub fn human(out: &mut dyn WriteColor, files: &[FileReport]) -> std::io::Result<()> {
    let config = Config::default();
    for file in files {
        let name = escape_control(&file.path);
        let index = LineIndex::new(&file.text);
        for d in &file.diagnostics {
            let severity = match d.severity {
                Severity::Error => ReportSeverity::Error,
                Severity::Warning => ReportSeverity::Warning,
            };
            let ranges: Vec<TextRange> = std::iter::once(d.range)
                .chain(d.related.iter().map(|r| r.range))
                .collect();
            let snippet = Snippet::new(&name, &file.text, &index, &ranges);
            let mut labels = vec![Label::new(
                LabelStyle::Primary,
                (),
                snippet.shown(&index, d.range),
            )];
            labels.extend(d.related.iter().map(|r| {
                Label::new(LabelStyle::Secondary, (), snippet.shown(&index, r.range))
                    .with_message(escape_control(&r.message))
            }));
            let mut notes = Vec::new();
            if let Some(help) = &d.help {
                notes.push(format!("help: {}", escape_control(help)));
            }
            if let Some(fix) = &d.fix {
                let how = match fix.applicability {
                    odp_analysis::Applicability::Safe => "safe fix",
                    odp_analysis::Applicability::Unsafe => "unsafe fix",
                };
                notes.push(format!("{how}: {}", escape_control(&fix.title)));
            }
            let report = Report::new(severity)
                .with_code(format!("{}/{}", d.code.id(), d.code.name()))
                .with_message(escape_control(&d.message))
                .with_labels(labels)
                .with_notes(notes);
            term::emit_to_write_style(out, &config, &snippet, &report)
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

fn sarif_region(index: &LineIndex, text: &str, r: odp_analysis::TextRange) -> serde_json::Value {
    let start = index.line_col(text, r.start(), PositionEncoding::Utf32);
    let end = index.line_col(text, r.end(), PositionEncoding::Utf32);
    serde_json::json!({
        "startLine": start.line + 1,
        "startColumn": start.col + 1,
        "endLine": end.line + 1,
        "endColumn": end.col + 1,
        "charOffset": r.start,
        "charLength": r.len(),
    })
}

fn sarif_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.replace('\\', "/").chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}

/// SARIF 2.1.0 for code scanning: every code as a rule (with help text and a link), every diagnostic as a result
/// with its region, related locations and fix. Paths are relative to `%SRCROOT%`, the directory odp ran in.
pub fn sarif(
    out: &mut dyn Write,
    files: &[FileReport],
    srcroot: &std::path::Path,
) -> std::io::Result<()> {
    use odp_analysis::Code;
    let rules: Vec<serde_json::Value> = Code::ALL
        .iter()
        .map(|c| {
            let level = match c.default_severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            serde_json::json!({
                "id": c.id(),
                "name": c.name(),
                "shortDescription": {"text": c.summary()},
                "fullDescription": {"text": c.summary()},
                "help": {"text": c.doc(), "markdown": c.doc()},
                "helpUri": c.doc_url(),
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["odp", c.name()]},
            })
        })
        .collect();
    let mut results = Vec::new();
    for f in files {
        let index = LineIndex::new(&f.text);
        let artifact = serde_json::json!({"uri": sarif_uri(&f.path), "uriBaseId": "%SRCROOT%"});
        for d in &f.diagnostics {
            let rule_index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!(" (help: {help})"));
            }
            let mut result = serde_json::json!({
                "ruleId": d.code.id(),
                "ruleIndex": rule_index,
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": sarif_region(&index, &f.text, d.range),
                    }
                }],
            });
            if !d.related.is_empty() {
                result["relatedLocations"] = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        serde_json::json!({
                            "id": i,
                            "message": {"text": r.message},
                            "physicalLocation": {
                                "artifactLocation": artifact,
                                "region": sarif_region(&index, &f.text, r.range),
                            }
                        })
                    })
                    .collect();
            }
            if let Some(fix) = &d.fix {
                result["fixes"] = serde_json::json!([{
                    "description": {"text": fix.title},
                    "artifactChanges": [{
                        "artifactLocation": artifact,
                        "replacements": fix.edits.iter().map(|e| serde_json::json!({
                            "deletedRegion": sarif_region(&index, &f.text, e.range),
                            "insertedContent": {"text": e.new_text},
                        })).collect::<Vec<_>>(),
                    }],
                }]);
            }
            results.push(result);
        }
    }
    let mut root_uri = srcroot.to_string_lossy().replace('\\', "/");
    if !root_uri.ends_with('/') {
        root_uri.push('/');
    }
    let log = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "odp",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {"%SRCROOT%": {"uri": format!("file://{}", sarif_uri(&root_uri))}},
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Escapes a workflow command's message, as GitHub's toolkit does: a line break would end the command and let the
/// next line be one of its own.
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands: one `::error` or `::warning` annotation per diagnostic.
pub fn github(out: &mut dyn Write, files: &[FileReport]) -> std::io::Result<()> {
    for f in files {
        let index = LineIndex::new(&f.text);
        for d in &f.diagnostics {
            let start = index.line_col(&f.text, d.range.start(), PositionEncoding::Utf32);
            let end = index.line_col(&f.text, d.range.end(), PositionEncoding::Utf32);
            let kind = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            // The message is for people: its control characters are escaped like the human format's, and its line
            // breaks then escaped as GitHub's. The path must reach GitHub exactly, so only GitHub's escaping.
            let mut message = escape_control(&d.message).into_owned();
            if let Some(help) = &d.help {
                message.push_str(&format!("\nhelp: {}", escape_control(help)));
            }
            writeln!(
                out,
                "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                github_property(&f.path),
                start.line + 1,
                start.col + 1,
                end.line + 1,
                end.col + 1,
                github_property(&format!("{} {}", d.code.id(), d.code.name())),
                github_data(&message),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
