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

fn human_text(files: &[FileReport]) -> String {
    let mut buffer = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    human(&mut buffer, files).unwrap();
    String::from_utf8(buffer.into_inner()).unwrap()
}

fn analysed(path: &str, text: &str) -> FileReport {
    FileReport {
        path: path.into(),
        text: text.into(),
        diagnostics: odp_analysis::analyze_with_bundled_registry(text).diagnostics,
    }
}

/// A param key holding an escape sequence, raw in the file and decoded from a quoted key's escapes (`\r\n` among
/// them, followed by a workflow command), in a CRLF file whose path holds control characters too.
const CONTROLS: &str = "name: controls\r\nsources:\r\n  - name: tweets\r\n    method: social.twitter.search\r\n    params:\r\n      query: ai\r\n      \"a\\e[31mRED\\r\\n::error file=evil.yaml::pwned\": 1\r\n      b\u{1b}[2Jc\rd\u{202e}e: 2\r\n";

#[test]
fn human_format_escapes_control_characters_from_the_file() {
    let out = human_text(&[analysed("flows/\u{1b}[1mbold\n.odp.yaml", CONTROLS)]);
    // Line breaks only where the renderer puts them, and no other control character.
    assert!(
        !out.contains(|c: char| odp_analysis::escape::must_escape(c) && c != '\n'),
        "{out:?}"
    );
    assert!(!out.lines().any(|l| l.starts_with("::")), "{out}");
    expect![[r#"
        error[ODP303/unknown-param]: `social.twitter.search` has no param `a\u{1b}[31mRED\r\n::error file=evil.yaml::pwned`
          ┌─ flows/\u{1b}[1mbold\n.odp.yaml:7:7
          │
        7 │       "a\e[31mRED\r\n::error file=evil.yaml::pwned": 1
          │       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          │
          = help: its params are `query`, `limit`, `language`, `include_retweets`, `min_likes`

        error[ODP303/unknown-param]: `social.twitter.search` has no param `b\u{1b}[2Jc\rd\u{202e}e`
          ┌─ flows/\u{1b}[1mbold\n.odp.yaml:8:7
          │
        8 │       b\u{1b}[2Jc\rd\u{202e}e: 2
          │       ^^^^^^^^^^^^^^^^^^^^^^^
          │
          = help: its params are `query`, `limit`, `language`, `include_retweets`, `min_likes`

        error[ODP101/unsupported-yaml]: a carriage return without a line feed is a line break in YAML; pipelines support only `\n` and `\r\n` line endings
          ┌─ flows/\u{1b}[1mbold\n.odp.yaml:8:13
          │
        8 │       b\u{1b}[2Jc\rd\u{202e}e: 2
          │                  ^^

    "#]]
    .assert_eq(&out);
}

#[test]
fn human_format_cuts_long_lines_around_the_labels() {
    let long = "x".repeat(5000);
    let text = format!(
        "name: long lines\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {{query: \"{long}\", limt: 5, query: \"{long}\"}}\ntransforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params: {{texts: \"{{{{tweets.results[*].text}}}}\"}}\n"
    );
    let mut report = analysed("long.odp.yaml", &text);
    // A label over several long lines: the lines in between are cut too.
    let spanning = odp_analysis::TextRange::new(
        text.find("social.twitter").unwrap(),
        text.find("mood").unwrap() + 2,
    );
    report.diagnostics.push(odp_analysis::Diagnostic::new(
        odp_analysis::Code::YamlSyntax,
        spanning,
        "a label over several lines",
    ));
    let out = human_text(&[report]);
    expect![[r#"
        error[ODP304/invalid-param]: `query` must have at most 512 characters; this one has 5000
          ┌─ long.odp.yaml:5:21
          │
        5 │     params: {query: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", limt: 5, query: "xxxxxxxxxxxxxxxxxxxxx…
          │                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          │
          = help: `query`: Search query in Twitter/X search syntax.

        error[ODP303/unknown-param]: `social.twitter.search` has no param `limt`
          ┌─ long.odp.yaml:5:5025
          │
        5 │ …xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", limt: 5, query: "xxxxxxxxxxxxxxxxxxxxxxxxxxx…
          │                                          ^^^^
          │
          = help: did you mean `limit`?
          = unsafe fix: Replace with `limit`

        error[ODP103/duplicate-key]: `query` is already set in this mapping
          ┌─ long.odp.yaml:5:5034
          │
        5 │     params: {query: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…xxxxxxxxxxxxxxxxxxxxxxxxxxxx", limt: 5, query: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…
          │              -----                                                                                 ^^^^^
          │              │                                                                                      
          │              first set here

        error[ODP100/yaml-syntax]: a label over several lines
          ┌─ long.odp.yaml:4:13
          │  
        4 │       method: social.twitter.search
          │ ╭─────────────^
        5 │ │     params: {query: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…
        6 │ │ transforms:
        7 │ │   - name: mood
          │ ╰────────────^

    "#]]
    .assert_eq(&out);
}

#[test]
fn a_finding_on_a_long_line_prints_a_bounded_snippet() {
    // Thousands of different unknown codes on one line of ~37 KB: a finding each, none reprinting the line.
    let codes: Vec<String> = (0..4000).map(|i| format!("X{i}")).collect();
    let text = format!(
        "name: many findings\nsources:\n  - name: tweets   # odp: ignore[{}]\n    method: social.twitter.search\n    params: {{query: ai}}\n",
        codes.join(", ")
    );
    let report = analysed("many.odp.yaml", &text);
    let findings = report.diagnostics.len();
    assert!(findings >= 4000, "{findings}");
    let out = human_text(&[report]);
    assert_eq!(
        out.matches("warning[ODP502/unused-suppression]").count(),
        4000
    );
    let per_finding = out.len() / findings;
    assert!(
        per_finding < 1000,
        "{per_finding} bytes per finding, for a line of {} bytes",
        text.lines().nth(2).unwrap().len()
    );
}

#[test]
fn github_format_cannot_start_a_workflow_command() {
    let text = "name: github\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: ai\n      \"100%\\r\\n::error file=evil.yaml::pwned\\n::stop-commands::x\": 1\n";
    let files = [analysed("a%0A,b:c\r\n::warning file=x::y.odp.yaml", text)];
    let mut out = Vec::new();
    github(&mut out, &files).unwrap();
    let out = String::from_utf8(out).unwrap();
    expect![[r#"
        ::error file=a%250A%2Cb%3Ac%0D%0A%3A%3Awarning file=x%3A%3Ay.odp.yaml,line=7,col=7,endLine=7,endColumn=66,title=ODP303 unknown-param::`social.twitter.search` has no param `100%25\r\n::error file=evil.yaml::pwned\n::stop-commands::x`%0Ahelp: its params are `query`, `limit`, `language`, `include_retweets`, `min_likes`
    "#]]
    .assert_eq(&out);
    // One command per line, each starting a line of its own, and no other line.
    assert_eq!(out.lines().count(), files[0].diagnostics.len());
    assert!(
        out.lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning "))
    );
    assert!(!out.contains('\r'));
}
