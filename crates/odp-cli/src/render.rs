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

/// Escapes a workflow command's message.
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
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(&format!("\nhelp: {help}"));
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
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    const FIXTURE: &str = "name: golden\nsources:\n  - name: tweets\n    method: social.twiter.search\n    params: {query: ai}\n  - name: tweets\n    method: news.newsapi.search\n    params:\n      query: {{inputs.q}}\ntransforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params: {texts: \"{{tweets.results[*].text}}\"}\n";

    fn report() -> Vec<FileReport> {
        let analysis = odp_analysis::analyze_with_bundled_registry(FIXTURE);
        vec![FileReport {
            path: "flows/golden pipeline.odp.yaml".into(),
            text: FIXTURE.into(),
            diagnostics: analysis.diagnostics,
        }]
    }

    fn check(render: impl Fn(&mut Vec<u8>, &[FileReport]) -> std::io::Result<()>, expect: Expect) {
        let mut out = Vec::new();
        render(&mut out, &report()).unwrap();
        expect.assert_eq(&String::from_utf8(out).unwrap());
    }

    #[test]
    fn human_format() {
        check(
            |out, files| {
                let mut buffer = codespan_reporting::term::termcolor::NoColor::new(out);
                human(&mut buffer, files)
            },
            expect![[r#"
                error[ODP300/unknown-method]: unknown method `social.twiter.search`
                  ┌─ flows/golden pipeline.odp.yaml:4:13
                  │
                4 │     method: social.twiter.search
                  │             ^^^^^^^^^^^^^^^^^^^^
                  │
                  = help: did you mean `social.twitter.search`?
                  = unsafe fix: Replace with `social.twitter.search`

                error[ODP204/duplicate-step]: a step named `tweets` already exists
                  ┌─ flows/golden pipeline.odp.yaml:6:11
                  │
                3 │   - name: tweets
                  │           ------ first defined here
                  ·
                6 │   - name: tweets
                  │           ^^^^^^
                  │
                  = help: step names are unique across sources and transforms

                error[ODP102/unquoted-template]: an unquoted value starting with `{{` is a nested mapping in YAML; quote the template
                  ┌─ flows/golden pipeline.odp.yaml:9:14
                  │
                9 │       query: {{inputs.q}}
                  │              ^^^^^^^^^^^^
                  │
                  = help: write "{{inputs.q}}"
                  = safe fix: Quote the template

                error[ODP401/unknown-reference]: unknown input `q`
                  ┌─ flows/golden pipeline.odp.yaml:9:23
                  │
                9 │       query: {{inputs.q}}
                  │                       ^
                  │
                  = help: declare it under `inputs:`

            "#]],
        );
    }

    #[test]
    fn json_format() {
        check(
            |out, files| json(out, files),
            expect![[r#"
                {
                  "version": 1,
                  "files": [
                    {
                      "path": "flows/golden pipeline.odp.yaml",
                      "diagnostics": [
                        {
                          "code": "ODP300",
                          "name": "unknown-method",
                          "severity": "error",
                          "message": "unknown method `social.twiter.search`",
                          "help": "did you mean `social.twitter.search`?",
                          "range": {
                            "start": {
                              "line": 4,
                              "column": 13,
                              "offset": 51
                            },
                            "end": {
                              "line": 4,
                              "column": 33,
                              "offset": 71
                            }
                          },
                          "fix": {
                            "title": "Replace with `social.twitter.search`",
                            "applicability": "unsafe",
                            "edits": [
                              {
                                "range": {
                                  "start": {
                                    "line": 4,
                                    "column": 13,
                                    "offset": 51
                                  },
                                  "end": {
                                    "line": 4,
                                    "column": 33,
                                    "offset": 71
                                  }
                                },
                                "new_text": "social.twitter.search"
                              }
                            ]
                          },
                          "url": "https://github.com/odp-dev/odp/blob/main/docs/codes.md#odp300"
                        },
                        {
                          "code": "ODP204",
                          "name": "duplicate-step",
                          "severity": "error",
                          "message": "a step named `tweets` already exists",
                          "help": "step names are unique across sources and transforms",
                          "range": {
                            "start": {
                              "line": 6,
                              "column": 11,
                              "offset": 106
                            },
                            "end": {
                              "line": 6,
                              "column": 17,
                              "offset": 112
                            }
                          },
                          "related": [
                            {
                              "range": {
                                "start": {
                                  "line": 3,
                                  "column": 11,
                                  "offset": 32
                                },
                                "end": {
                                  "line": 3,
                                  "column": 17,
                                  "offset": 38
                                }
                              },
                              "message": "first defined here"
                            }
                          ],
                          "url": "https://github.com/odp-dev/odp/blob/main/docs/codes.md#odp204"
                        },
                        {
                          "code": "ODP102",
                          "name": "unquoted-template",
                          "severity": "error",
                          "message": "an unquoted value starting with `{{` is a nested mapping in YAML; quote the template",
                          "help": "write \"{{inputs.q}}\"",
                          "range": {
                            "start": {
                              "line": 9,
                              "column": 14,
                              "offset": 170
                            },
                            "end": {
                              "line": 9,
                              "column": 26,
                              "offset": 182
                            }
                          },
                          "fix": {
                            "title": "Quote the template",
                            "applicability": "safe",
                            "edits": [
                              {
                                "range": {
                                  "start": {
                                    "line": 9,
                                    "column": 14,
                                    "offset": 170
                                  },
                                  "end": {
                                    "line": 9,
                                    "column": 26,
                                    "offset": 182
                                  }
                                },
                                "new_text": "\"{{inputs.q}}\""
                              }
                            ]
                          },
                          "url": "https://github.com/odp-dev/odp/blob/main/docs/codes.md#odp102"
                        },
                        {
                          "code": "ODP401",
                          "name": "unknown-reference",
                          "severity": "error",
                          "message": "unknown input `q`",
                          "help": "declare it under `inputs:`",
                          "range": {
                            "start": {
                              "line": 9,
                              "column": 23,
                              "offset": 179
                            },
                            "end": {
                              "line": 9,
                              "column": 24,
                              "offset": 180
                            }
                          },
                          "url": "https://github.com/odp-dev/odp/blob/main/docs/codes.md#odp401"
                        }
                      ]
                    }
                  ],
                  "summary": {
                    "files": 1,
                    "errors": 4,
                    "warnings": 0
                  }
                }
            "#]],
        );
    }

    #[test]
    fn github_format() {
        check(
            |out, files| github(out, files),
            expect![[r#"
                ::error file=flows/golden pipeline.odp.yaml,line=4,col=13,endLine=4,endColumn=33,title=ODP300 unknown-method::unknown method `social.twiter.search`%0Ahelp: did you mean `social.twitter.search`?
                ::error file=flows/golden pipeline.odp.yaml,line=6,col=11,endLine=6,endColumn=17,title=ODP204 duplicate-step::a step named `tweets` already exists%0Ahelp: step names are unique across sources and transforms
                ::error file=flows/golden pipeline.odp.yaml,line=9,col=14,endLine=9,endColumn=26,title=ODP102 unquoted-template::an unquoted value starting with `{{` is a nested mapping in YAML; quote the template%0Ahelp: write "{{inputs.q}}"
                ::error file=flows/golden pipeline.odp.yaml,line=9,col=23,endLine=9,endColumn=24,title=ODP401 unknown-reference::unknown input `q`%0Ahelp: declare it under `inputs:`
            "#]],
        );
    }

    #[test]
    fn sarif_format() {
        let mut out = Vec::new();
        sarif(&mut out, &report(), std::path::Path::new("/work/repo")).unwrap();
        let log: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let run = &log["runs"][0];
        assert_eq!(log["version"], "2.1.0");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), odp_analysis::Code::ALL.len());
        assert!(
            rules
                .iter()
                .all(|r| r["helpUri"].as_str().unwrap().contains("docs/codes.md#odp"))
        );
        // Every result's ruleIndex points at its rule.
        for r in run["results"].as_array().unwrap() {
            assert_eq!(
                rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
                r["ruleId"]
            );
        }
        let mut results = run["results"].clone();
        for r in results.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("ruleIndex");
        }
        expect![[r#"
            {
              "originalUriBaseIds": {
                "%SRCROOT%": {
                  "uri": "file:///work/repo/"
                }
              },
              "columnKind": "unicodeCodePoints",
              "results": [
                {
                  "ruleId": "ODP300",
                  "fixes": [
                    {
                      "description": {
                        "text": "Replace with `social.twitter.search`"
                      },
                      "artifactChanges": [
                        {
                          "artifactLocation": {
                            "uri": "flows/golden%20pipeline.odp.yaml",
                            "uriBaseId": "%SRCROOT%"
                          },
                          "replacements": [
                            {
                              "deletedRegion": {
                                "startLine": 4,
                                "startColumn": 13,
                                "endLine": 4,
                                "endColumn": 33,
                                "charOffset": 51,
                                "charLength": 20
                              },
                              "insertedContent": {
                                "text": "social.twitter.search"
                              }
                            }
                          ]
                        }
                      ]
                    }
                  ],
                  "level": "error",
                  "message": {
                    "text": "unknown method `social.twiter.search` (help: did you mean `social.twitter.search`?)"
                  },
                  "locations": [
                    {
                      "physicalLocation": {
                        "artifactLocation": {
                          "uri": "flows/golden%20pipeline.odp.yaml",
                          "uriBaseId": "%SRCROOT%"
                        },
                        "region": {
                          "startLine": 4,
                          "startColumn": 13,
                          "endLine": 4,
                          "endColumn": 33,
                          "charOffset": 51,
                          "charLength": 20
                        }
                      }
                    }
                  ]
                },
                {
                  "ruleId": "ODP204",
                  "relatedLocations": [
                    {
                      "id": 0,
                      "message": {
                        "text": "first defined here"
                      },
                      "physicalLocation": {
                        "artifactLocation": {
                          "uri": "flows/golden%20pipeline.odp.yaml",
                          "uriBaseId": "%SRCROOT%"
                        },
                        "region": {
                          "startLine": 3,
                          "startColumn": 11,
                          "endLine": 3,
                          "endColumn": 17,
                          "charOffset": 32,
                          "charLength": 6
                        }
                      }
                    }
                  ],
                  "level": "error",
                  "message": {
                    "text": "a step named `tweets` already exists (help: step names are unique across sources and transforms)"
                  },
                  "locations": [
                    {
                      "physicalLocation": {
                        "artifactLocation": {
                          "uri": "flows/golden%20pipeline.odp.yaml",
                          "uriBaseId": "%SRCROOT%"
                        },
                        "region": {
                          "startLine": 6,
                          "startColumn": 11,
                          "endLine": 6,
                          "endColumn": 17,
                          "charOffset": 106,
                          "charLength": 6
                        }
                      }
                    }
                  ]
                },
                {
                  "ruleId": "ODP102",
                  "fixes": [
                    {
                      "description": {
                        "text": "Quote the template"
                      },
                      "artifactChanges": [
                        {
                          "artifactLocation": {
                            "uri": "flows/golden%20pipeline.odp.yaml",
                            "uriBaseId": "%SRCROOT%"
                          },
                          "replacements": [
                            {
                              "deletedRegion": {
                                "startLine": 9,
                                "startColumn": 14,
                                "endLine": 9,
                                "endColumn": 26,
                                "charOffset": 170,
                                "charLength": 12
                              },
                              "insertedContent": {
                                "text": "\"{{inputs.q}}\""
                              }
                            }
                          ]
                        }
                      ]
                    }
                  ],
                  "level": "error",
                  "message": {
                    "text": "an unquoted value starting with `{{` is a nested mapping in YAML; quote the template (help: write \"{{inputs.q}}\")"
                  },
                  "locations": [
                    {
                      "physicalLocation": {
                        "artifactLocation": {
                          "uri": "flows/golden%20pipeline.odp.yaml",
                          "uriBaseId": "%SRCROOT%"
                        },
                        "region": {
                          "startLine": 9,
                          "startColumn": 14,
                          "endLine": 9,
                          "endColumn": 26,
                          "charOffset": 170,
                          "charLength": 12
                        }
                      }
                    }
                  ]
                },
                {
                  "ruleId": "ODP401",
                  "locations": [
                    {
                      "physicalLocation": {
                        "artifactLocation": {
                          "uri": "flows/golden%20pipeline.odp.yaml",
                          "uriBaseId": "%SRCROOT%"
                        },
                        "region": {
                          "startLine": 9,
                          "startColumn": 23,
                          "endLine": 9,
                          "endColumn": 24,
                          "charOffset": 179,
                          "charLength": 1
                        }
                      }
                    }
                  ],
                  "level": "error",
                  "message": {
                    "text": "unknown input `q` (help: declare it under `inputs:`)"
                  }
                }
              ]
            }"#]].assert_eq(&serde_json::to_string_pretty(&serde_json::json!({
            "originalUriBaseIds": run["originalUriBaseIds"],
            "columnKind": run["columnKind"],
            "results": results,
        })).unwrap());
    }
}
