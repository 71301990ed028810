//! Fixture tests: a pipeline text in, its diagnostics rendered as a snapshot out.

use expect_test::{Expect, expect};

use crate::{
    Code, Diagnostic, Environment, ExternalInput, ExternalStep, LineIndex, PositionEncoding,
    Registry, Ty, analyze, analyze_with_bundled_registry, apply_edits,
};

fn pos(text: &str, index: &LineIndex, offset: usize) -> String {
    let lc = index.line_col(text, offset, PositionEncoding::Utf32);
    format!("{}:{}", lc.line + 1, lc.col + 1)
}

/// One block per diagnostic: severity, code, position, the text it covers, the message, then help, related
/// locations and the fix.
pub(crate) fn render(text: &str, diags: &[Diagnostic]) -> String {
    let index = LineIndex::new(text);
    let mut out = String::new();
    for d in diags {
        out.push_str(&format!(
            "{:?}[{}] {}..{} {:?}: {}\n",
            d.severity,
            d.code,
            pos(text, &index, d.range.start()),
            pos(text, &index, d.range.end()),
            &text[d.range.as_range()],
            d.message
        ));
        if let Some(h) = &d.help {
            out.push_str(&format!("  help: {h}\n"));
        }
        for r in &d.related {
            out.push_str(&format!(
                "  related {} {:?}: {}\n",
                pos(text, &index, r.range.start()),
                &text[r.range.as_range()],
                r.message
            ));
        }
        if let Some(f) = &d.fix {
            let (fixed, _) = apply_edits(text, &f.edits);
            // Show the fixed line(s) around the first edit.
            let at = f.edits.first().map_or(0, |e| e.range.start());
            let line = index.line_of(at);
            let fixed_index = LineIndex::new(&fixed);
            let shown: Vec<&str> = (line..(line
                + 1
                + f.edits
                    .iter()
                    .map(|e| e.new_text.matches('\n').count())
                    .sum::<usize>()))
                .filter_map(|l| {
                    fixed_index
                        .line_range(&fixed, l)
                        .map(|r| &fixed[r.as_range()])
                })
                .collect();
            out.push_str(&format!(
                "  fix ({:?}): {} => {:?}\n",
                f.applicability,
                f.title,
                shown.join("⏎")
            ));
        }
    }
    if out.is_empty() {
        out.push_str("(no diagnostics)\n");
    }
    out
}

pub(crate) fn check(text: &str, expect: Expect) {
    let registry = Registry::bundled();
    check_env(text, &Environment::new(&registry), expect);
}

/// Checks a text against an environment, snapshots its diagnostics, and proves every fix.
fn check_env(text: &str, env: &Environment<'_>, expect: Expect) {
    let analysis = analyze(text, env);
    expect.assert_eq(&render(text, &analysis.diagnostics));
    assert_fixes_work(text, env, &analysis.diagnostics);
}

fn count(diags: &[Diagnostic], pred: impl Fn(Code) -> bool) -> usize {
    diags.iter().filter(|d| pred(d.code)).count()
}

fn is_yaml_error(code: Code) -> bool {
    matches!(
        code,
        Code::YamlSyntax | Code::UnsupportedYaml | Code::UnquotedTemplate
    )
}

fn assert_fixes_work(text: &str, env: &Environment<'_>, diags: &[Diagnostic]) {
    for d in diags {
        assert_fix_works(text, env, diags, d);
    }
}

/// Applying a diagnostic's fix keeps the line breaks, edits only the misspelt text of a did-you-mean, adds no YAML
/// error and removes the diagnostic (one fewer with its code and message: a fix may reveal other problems).
fn assert_fix_works(text: &str, env: &Environment<'_>, diags: &[Diagnostic], d: &Diagnostic) {
    let crlf = text.contains("\r\n");
    let same = |x: &Diagnostic| x.code == d.code && x.message == d.message;
    {
        let Some(fix) = &d.fix else { return };
        let (fixed, applied) = apply_edits(text, &fix.edits);
        assert_eq!(applied, fix.edits.len(), "every edit of {} applies", d.code);
        if crlf {
            // (Counted, not required absent: a file may mix CRLF with bare LF, and the fix keeps those it has.)
            let bare_lf = |s: &str| s.replace("\r\n", "").matches('\n').count();
            assert!(
                bare_lf(&fixed) <= bare_lf(text),
                "the fix of {} keeps CRLF line breaks:\n{fixed:?}",
                d.code
            );
        }
        // A did-you-mean replaces the misspelt text, nothing more.
        if let Some(suggestion) = fix
            .title
            .strip_prefix("Replace with `")
            .and_then(|t| t.strip_suffix('`'))
        {
            // Other edits of such a fix remove repeats of the misspelt code (see `suppress_tests`).
            let replacing: Vec<_> = fix
                .edits
                .iter()
                .filter(|e| e.new_text == suggestion)
                .collect();
            assert!(
                !replacing.is_empty(),
                "the fix of {} writes `{suggestion}`",
                d.code
            );
            for e in replacing {
                let old = &text[e.range.as_range()];
                assert!(
                    crate::suggest(old, [suggestion]).is_some(),
                    "the fix of {} replaces `{old}`, which is no misspelling of `{suggestion}`",
                    d.code
                );
            }
        }
        let after = analyze(&fixed, env).diagnostics;
        let yaml_before = count(diags, is_yaml_error) - usize::from(is_yaml_error(d.code));
        assert!(
            count(&after, is_yaml_error) <= yaml_before,
            "the fix of {} `{}` breaks the YAML:\n{fixed}\n{}",
            d.code,
            d.message,
            render(&fixed, &after)
        );
        assert!(
            after.iter().filter(|x| same(x)).count() < diags.iter().filter(|x| same(x)).count(),
            "the fix of {} `{}` does not fix it:\n{fixed}\n{}",
            d.code,
            d.message,
            render(&fixed, &after)
        );
    }
}

const HEAD: &str = "name: test pipeline\n";

pub(crate) fn with_head(body: &str) -> String {
    format!("{HEAD}{body}")
}

#[test]
fn clean_pipeline_has_no_diagnostics() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string, default: ai}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
      limit: 10
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
    timeout: 30s
    retry: {max_attempts: 5, backoff_coefficient: 1.5, initial_interval: 500ms}
"#,
        ),
        expect![[r#"
            (no diagnostics)
        "#]],
    );
}

fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn yaml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("examples directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".odp.yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_are_clean() {
    let files = yaml_files(&examples_dir());
    assert!(files.len() >= 5);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let analysis = analyze_with_bundled_registry(&text);
        assert_eq!(
            render(&text, &analysis.diagnostics),
            "(no diagnostics)\n",
            "{}",
            path.display()
        );
    }
}

/// Each broken example names, on its first line, the codes it must produce: exactly those are reported.
#[test]
fn broken_examples_report_exactly_their_seeded_codes() {
    let files = yaml_files(&examples_dir().join("broken"));
    assert!(files.len() >= 15);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        let names = first
            .strip_prefix("# expect: ")
            .and_then(|rest| rest.split(" — ").next())
            .unwrap_or_else(|| panic!("{}: no `# expect:` line", path.display()));
        let mut expected: Vec<&str> = names.split(", ").collect();
        expected.sort();
        let analysis = analyze_with_bundled_registry(&text);
        let mut got: Vec<&str> = analysis.diagnostics.iter().map(|d| d.code.name()).collect();
        got.sort();
        got.dedup();
        assert_eq!(
            got,
            expected,
            "{}:\n{}",
            path.display(),
            render(&text, &analysis.diagnostics)
        );
    }
}

// ---- ODP100 yaml-syntax -------------------------------------------------------------------------------------

#[test]
fn unclosed_flow_sequence_keeps_the_sibling_step_checked() {
    check(
        &with_head(
            r#"sources:
  - name: articles
    method: news.newsapi.search
    params:
      query: energy
transforms:
  - name: entities
    method: nlp.entities.extract
    params:
      texts: "{{articles.results[*].text}}"
      types: [person, organization
      min_confidence: 0.7
  - name: summary
    method: nlp.sumary.generate
    params:
      texts: "{{articles.results[*].text}}"
"#,
        ),
        expect![[r#"
            Error[ODP100] 12:14..12:15 "[": `[` is never closed: expected `]`
            Error[ODP300] 15:13..15:32 "nlp.sumary.generate": unknown method `nlp.sumary.generate`
              help: did you mean `nlp.summary.generate`?
              fix (Unsafe): Replace with `nlp.summary.generate` => "    method: nlp.summary.generate"
        "#]],
    );
}

#[test]
fn bad_indentation() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: ai
     limit: 10
"#,
        ),
        expect![[r#"
            Error[ODP100] 7:5..7:6 " ": this key is indented by 5 spaces, the keys before it by 4; align them
        "#]],
    );
}

#[test]
fn tab_indentation() {
    check(
        &with_head(
            "sources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n\tquery: ai\n",
        ),
        expect![[r#"
            Error[ODP302] 5:5..5:11 "params": missing required param `query` of `social.twitter.search`
              help: `query`: Search query in Twitter/X search syntax.
              fix (Unsafe): Add the required params => "    params:⏎      query: "
            Error[ODP100] 6:1..6:2 "\t": tabs are not allowed in indentation; indent with spaces
        "#]],
    );
}

#[test]
fn line_without_key_value() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    just some words
    params:
      query: ai
"#,
        ),
        expect![[r#"
            Error[ODP100] 5:5..5:20 "just some words": expected `key: value`
        "#]],
    );
}

// ---- ODP101 unsupported-yaml --------------------------------------------------------------------------------

#[test]
fn anchors_and_aliases_are_unsupported() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: &p
      query: ai
  - name: toots
    method: social.mastodon.search
    params: *p
"#,
        ),
        expect![[r#"
            Error[ODP101] 5:13..5:15 "&p": YAML anchors are not supported in pipelines
            Error[ODP101] 9:13..9:15 "*p": YAML aliases are not supported in pipelines
        "#]],
    );
}

#[test]
fn tags_are_unsupported() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: !!str ai
"#,
        ),
        expect![[r#"
            Error[ODP101] 6:14..6:19 "!!str": YAML tags are not supported in pipelines
        "#]],
    );
}

#[test]
fn several_documents_are_unsupported() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: ai
---
name: second
"#,
        ),
        expect![[r#"
            Error[ODP101] 7:1..7:4 "---": a file holds one pipeline: several YAML documents are not supported
        "#]],
    );
}

// ---- ODP102 unquoted-template -------------------------------------------------------------------------------

#[test]
fn unquoted_template_is_read_as_meant_and_quoted_by_its_fix() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: {{inputs.query}}
      limit: 5
"#,
        ),
        expect![[r#"
            Error[ODP102] 8:14..8:30 "{{inputs.query}}": an unquoted value starting with `{{` is a nested mapping in YAML; quote the template
              help: write "{{inputs.query}}"
              fix (Safe): Quote the template => "      query: \"{{inputs.query}}\""
        "#]],
    );
}

#[test]
fn unquoted_template_with_double_quotes_inside_is_single_quoted() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: {{inputs.query}} "exact"
"#,
        ),
        expect![[r#"
            Error[ODP102] 8:14..8:38 "{{inputs.query}} \"exact\"": an unquoted value starting with `{{` is a nested mapping in YAML; quote the template
              help: write '{{inputs.query}} "exact"'
              fix (Safe): Quote the template => "      query: '{{inputs.query}} \"exact\"'"
        "#]],
    );
}

#[test]
fn a_value_starting_with_a_reserved_indicator_is_quoted_by_the_fix() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: @rustlang
      language: [en, -]
"#,
        ),
        expect![[r#"
            Error[ODP100] 6:14..6:23 "@rustlang": `@` is reserved in YAML and cannot start an unquoted value; quote the value
              help: write "@rustlang"
              fix (Safe): Quote the value => "      query: \"@rustlang\""
            Error[ODP304] 7:17..7:24 "[en, -]": `language` must be a string, found a list
              help: `language`: Only posts in this language, as an ISO 639-1 code such as `en` or `de`.
            Error[ODP100] 7:22..7:23 "-": a lone `-` is not a value in a flow collection; quote it
              help: write "-"
              fix (Safe): Quote the value => "      language: [en, \"-\"]"
        "#]],
    );
}

// ---- ODP103 duplicate-key -----------------------------------------------------------------------------------

#[test]
fn duplicate_keys_at_every_level() {
    check(
        r#"name: test pipeline
name: again
sources:
  - name: tweets
    method: social.twitter.search
    method: social.reddit.search
    params:
      query: ai
      query: ml
"#,
        expect![[r#"
            Error[ODP103] 2:1..2:5 "name": `name` is already set in this mapping
              related 1:1 "name": first set here
            Error[ODP103] 6:5..6:11 "method": `method` is already set in this mapping
              related 5:5 "method": first set here
            Error[ODP103] 9:7..9:12 "query": `query` is already set in this mapping
              related 8:7 "query": first set here
        "#]],
    );
}

// ---- ODP200 unknown-key -------------------------------------------------------------------------------------

#[test]
fn unknown_pipeline_key_with_did_you_mean() {
    check(
        r#"name: test pipeline
sorces:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
"#,
        expect![[r#"
            Error[ODP200] 2:1..2:7 "sorces": unknown key `sorces` in a pipeline
              help: did you mean `sources`?
              fix (Unsafe): Replace with `sources` => "sources:"
        "#]],
    );
}

#[test]
fn unknown_step_input_and_retry_keys() {
    check(
        &with_head(
            r#"inputs:
  query:
    type: string
    defualt: ai
sources:
  - name: tweets
    method: social.twitter.search
    parms:
      query: "{{inputs.query}}"
    retry:
      max_attempt: 3
    colour: red
"#,
        ),
        expect![[r#"
            Warning[ODP501] 3:3..3:8 "query": no template uses input `query`
              help: use it as `{{inputs.query}}`, or remove it
            Error[ODP200] 5:5..5:12 "defualt": unknown key `defualt` in an input
              help: did you mean `default`?
              fix (Unsafe): Replace with `default` => "    default: ai"
            Error[ODP200] 9:5..9:10 "parms": unknown key `parms` in a step
              help: did you mean `params`?
              fix (Unsafe): Replace with `params` => "    params:"
            Error[ODP200] 12:7..12:18 "max_attempt": unknown key `max_attempt` in `retry`
              help: did you mean `max_attempts`?
              fix (Unsafe): Replace with `max_attempts` => "      max_attempts: 3"
            Error[ODP200] 13:5..13:11 "colour": unknown key `colour` in a step
              help: expected one of `name`, `description`, `method`, `params`, `retry`, `timeout`
        "#]],
    );
}

// ---- ODP201 missing-key -------------------------------------------------------------------------------------

#[test]
fn empty_document() {
    check(
        "",
        expect![[r#"
        Error[ODP201] 1:1..1:1 "": the pipeline is empty
          help: a pipeline needs at least `name` and `sources`
    "#]],
    );
    check(
        "# only a comment\n",
        expect![[r#"
        Error[ODP201] 1:1..1:1 "": the pipeline is empty
          help: a pipeline needs at least `name` and `sources`
    "#]],
    );
}

#[test]
fn pipeline_without_name_and_sources() {
    check(
        "description: nothing here\n",
        expect![[r#"
        Error[ODP201] 1:1..1:1 "": the pipeline has no `name`
          help: a pipeline needs at least `name` and `sources`
        Error[ODP201] 1:1..1:1 "": the pipeline has no `sources`
          help: a pipeline needs at least `name` and `sources`
    "#]],
    );
}

#[test]
fn step_without_name_or_method_and_input_without_type() {
    check(
        &with_head(
            r#"inputs:
  query:
    default: ai
sources:
  - method: social.twitter.search
    params:
      query: "{{inputs.query}}"
  - name: tweets
    params:
      query: ai
"#,
        ),
        expect![[r#"
            Error[ODP201] 3:3..3:8 "query": input `query` has no `type`
              help: add `type:` with one of `string`, `integer`, `number`, `boolean`, `array`, `object`
            Error[ODP201] 6:3..6:4 "-": the step has no `name`
              help: give it a unique name, e.g. `name: tweets`
            Error[ODP201] 9:3..9:4 "-": the step has no `method`
              help: name a registry method, e.g. `method: social.twitter.search`
        "#]],
    );
}

// ---- ODP202 wrong-type --------------------------------------------------------------------------------------

#[test]
fn wrong_yaml_types() {
    check(
        r#"name: [a, b]
description: 42
inputs:
  - query
sources:
  - tweets
  - name: toots
    method: social.mastodon.search
    params: [query, ai]
    timeout: {seconds: 30}
    retry: 3
"#,
        expect![[r#"
            Error[ODP202] 1:7..1:13 "[a, b]": `name` must be a string, found a list
            Error[ODP202] 2:14..2:16 "42": `description` must be a string, found an integer
            Error[ODP202] 4:3..4:10 "- query": `inputs` must be a mapping of input names to declarations, found a list
            Error[ODP202] 6:5..6:11 "tweets": a step must be a mapping with `name`, `method` and `params`, found a string
            Error[ODP202] 9:13..9:24 "[query, ai]": `params` must be a mapping of param names to values, found a list
            Error[ODP202] 10:14..10:27 "{seconds: 30}": `timeout` must be a duration such as `30s`, found a mapping
            Error[ODP202] 11:12..11:13 "3": `retry` must be a mapping, found an integer
        "#]],
    );
}

#[test]
fn wrong_types_inside_steps_and_inputs() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string, required: yes, description: [a]}
  limit: 5
sources:
  - name: [tweets]
    method: 42
    retry: {max_attempts: many, backoff_coefficient: fast}
transforms: {name: x}
"#,
        ),
        expect![[r#"
            Warning[ODP501] 3:3..3:8 "query": no template uses input `query`
              help: use it as `{{inputs.query}}`, or remove it
            Error[ODP202] 3:35..3:38 "yes": `required` must be true or false, found the string `yes`
              help: YAML 1.2 reads `yes` as a string: write `true`
              fix (Safe): Use `true` => "  query: {type: string, required: true, description: [a]}"
            Error[ODP202] 3:53..3:56 "[a]": `description` must be a string, found a list
            Warning[ODP501] 4:3..4:8 "limit": no template uses input `limit`
              help: use it as `{{inputs.limit}}`, or remove it
            Error[ODP202] 4:10..4:11 "5": input `limit` must be a mapping with `type`, `default`, `description`, found an integer
            Error[ODP202] 6:11..6:19 "[tweets]": a step's `name` must be a string, found a list
            Error[ODP202] 7:13..7:15 "42": `method` must be a string, found an integer
            Error[ODP202] 8:27..8:31 "many": `max_attempts` must be an integer, found a string
            Error[ODP202] 8:54..8:58 "fast": `backoff_coefficient` must be a number, found a string
            Error[ODP202] 9:13..9:22 "{name: x}": `transforms` must be a list of steps, found a mapping
        "#]],
    );
}

// ---- ODP203 invalid-value -----------------------------------------------------------------------------------

#[test]
fn pipeline_name_length() {
    check(
        "name: ab\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n",
        expect![[r#"
            Error[ODP203] 1:7..1:9 "ab": a pipeline name has 3 to 100 characters; this one has 2
        "#]],
    );
    check(
        &format!(
            "name: {}\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {{query: ai}}\n",
            "x".repeat(101)
        ),
        expect![[r#"
            Error[ODP203] 1:7..1:108 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": a pipeline name has 3 to 100 characters; this one has 101
        "#]],
    );
}

#[test]
fn step_and_input_names_are_identifiers() {
    check(
        &with_head(
            r#"inputs:
  search-term: {type: string}
sources:
  - name: tweet-search
    method: social.twitter.search
    params:
      query: "{{inputs.search-term}}"
  - name: 2nd
    method: social.reddit.search
    params:
      query: ai
"#,
        ),
        expect![[r#"
            Error[ODP203] 3:3..3:14 "search-term": `search-term` is not a valid input name: use letters, digits and `_`, not starting with a digit
            Error[ODP203] 5:11..5:23 "tweet-search": `tweet-search` is not a valid step name: use letters, digits and `_`, not starting with a digit
              help: templates address steps by name, e.g. `{{my_step.results}}`
            Error[ODP400] 8:30..8:31 "-": unexpected `-` in template path: expected `.field`, `[index]` or `}}`
            Error[ODP203] 9:11..9:14 "2nd": `2nd` is not a valid step name: use letters, digits and `_`, not starting with a digit
              help: templates address steps by name, e.g. `{{my_step.results}}`
        "#]],
    );
}

#[test]
fn durations_need_a_unit() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
    timeout: 30
    retry:
      initial_interval: 5 minutes
      maximum_interval: 1.5m
"#,
        ),
        expect![[r#"
            Error[ODP203] 6:14..6:16 "30": `timeout` must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `30`
              help: did you mean `30s`?
              fix (Unsafe): Use `30s` => "    timeout: 30s"
            Error[ODP203] 8:25..8:34 "5 minutes": `initial_interval` must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `5 minutes`
              help: did you mean `5m`?
              fix (Unsafe): Use `5m` => "      initial_interval: 5m"
        "#]],
    );
}

#[test]
fn retry_values() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
    retry:
      max_attempts: 0
      backoff_coefficient: 0.5
"#,
        ),
        expect![[r#"
            Error[ODP203] 7:21..7:22 "0": `max_attempts` must be at least 1, found 0
            Error[ODP203] 8:28..8:31 "0.5": `backoff_coefficient` must be at least 1.0, found 0.5
              help: each wait is this many times the previous one; 1.0 keeps the waits equal
        "#]],
    );
}

#[test]
fn input_type_and_default() {
    check(
        &with_head(
            r#"inputs:
  limit: {type: integer, default: lots}
  ratio: {type: number, default: 5}
  tags: {type: array, default: {a: 1}}
  query: {type: strng}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
      limit: "{{inputs.limit}}"
      min_likes: "{{inputs.ratio}}"
"#,
        ),
        expect![[r#"
            Error[ODP203] 3:35..3:39 "lots": the default of `limit` is a string, but its type is `integer`
            Warning[ODP501] 5:3..5:7 "tags": no template uses input `tags`
              help: use it as `{{inputs.tags}}`, or remove it
            Error[ODP203] 5:32..5:38 "{a: 1}": the default of `tags` is a mapping, but its type is `array`
            Error[ODP203] 6:17..6:22 "strng": unknown input type `strng`
              help: expected one of `string`, `integer`, `number`, `boolean`, `array`, `object`
              fix (Unsafe): Replace with `string` => "  query: {type: string}"
            Error[ODP406] 13:19..13:35 "{{inputs.ratio}}": `{{inputs.ratio}}` is number, but `min_likes` expects integer
              help: declare input `ratio` with `type: integer`
              related 4:3 "ratio": `ratio` is declared as `number` here
        "#]],
    );
}

#[test]
fn method_id_pattern() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: twitter_search
    params: {query: ai}
  - name: posts
    method: social.reddit.search.top
"#,
        ),
        expect![[r#"
            Error[ODP203] 4:13..4:27 "twitter_search": `twitter_search` is not a method id: expected `domain.provider.action`
              help: known methods include `social.twitter.search`, `social.reddit.search`, `social.mastodon.search`, `news.newsapi.search`, `web.page.fetch`, `web.rss.read`
            Error[ODP203] 7:13..7:37 "social.reddit.search.top": `social.reddit.search.top` is not a method id: expected `domain.provider.action`
              help: did you mean `social.reddit.search`?
              fix (Unsafe): Replace with `social.reddit.search` => "    method: social.reddit.search"
        "#]],
    );
}

// ---- ODP204 duplicate-step ----------------------------------------------------------------------------------

#[test]
fn duplicate_step_points_at_the_first() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: tweets
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
"#,
        ),
        expect![[r#"
            Error[ODP204] 7:11..7:17 "tweets": a step named `tweets` already exists
              help: step names are unique across sources and transforms
              related 3:11 "tweets": first defined here
        "#]],
    );
}

// ---- ODP300 unknown-method, ODP301 method-kind-mismatch -----------------------------------------------------

#[test]
fn unknown_method_with_did_you_mean() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twiter.search
    params: {query: ai}
  - name: posts
    method: social.facebook.crawl
    params: {query: ai}
  - name: other
    method: weather.forecast.daily
"#,
        ),
        expect![[r#"
            Error[ODP300] 4:13..4:33 "social.twiter.search": unknown method `social.twiter.search`
              help: did you mean `social.twitter.search`?
              fix (Unsafe): Replace with `social.twitter.search` => "    method: social.twitter.search"
            Error[ODP300] 7:13..7:34 "social.facebook.crawl": unknown method `social.facebook.crawl`
              help: known methods include `social.twitter.search`, `social.reddit.search`, `social.mastodon.search`
            Error[ODP300] 10:13..10:35 "weather.forecast.daily": unknown method `weather.forecast.daily`
              help: known methods include `social.twitter.search`, `social.reddit.search`, `social.mastodon.search`, `news.newsapi.search`, `web.page.fetch`, `web.rss.read`
        "#]],
    );
}

#[test]
fn method_kind_mismatch_both_ways() {
    check(
        &with_head(
            r#"sources:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: [a, b]
transforms:
  - name: page
    method: web.page.fetch
    params:
      url: https://example.com
"#,
        ),
        expect![[r#"
            Warning[ODP500] 3:11..3:15 "mood": no transform uses the result of source `mood`
              help: use it as `{{mood.…}}` in a transform, or remove it
            Warning[ODP301] 4:13..4:34 "nlp.sentiment.analyze": `nlp.sentiment.analyze` is a transform method; it belongs under `transforms`
            Warning[ODP301] 9:13..9:27 "web.page.fetch": `web.page.fetch` is a source method; it belongs under `sources`
        "#]],
    );
}

// ---- ODP302 missing-param -----------------------------------------------------------------------------------

#[test]
fn missing_param_in_block_params() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      limit: 10
transforms:
  - name: translated
    method: nlp.translation.translate
    params:
      texts: "{{tweets.results[*].text}}"   # a comment
    timeout: 1m
"#,
        ),
        expect![[r#"
            Error[ODP302] 5:5..5:11 "params": missing required param `query` of `social.twitter.search`
              help: `query`: Search query in Twitter/X search syntax.
              fix (Unsafe): Add the required params => "      limit: 10⏎      query: "
            Error[ODP302] 10:5..10:11 "params": missing required param `target_language` of `nlp.translation.translate`
              help: `target_language`: Language to translate into (ISO 639-1).
              fix (Unsafe): Add the required params => "      texts: \"{{tweets.results[*].text}}\"   # a comment⏎      target_language: "
        "#]],
    );
}

#[test]
fn missing_param_in_flow_params() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {}
  - name: posts
    method: social.reddit.search
    params: {limit: 5}
"#,
        ),
        expect![[r#"
            Error[ODP302] 5:5..5:11 "params": missing required param `query` of `social.twitter.search`
              help: `query`: Search query in Twitter/X search syntax.
              fix (Unsafe): Add the required params => "    params: {query: }"
            Error[ODP302] 8:5..8:11 "params": missing required param `query` of `social.reddit.search`
              help: `query`: Search query.
              fix (Unsafe): Add the required params => "    params: {limit: 5, query: }"
        "#]],
    );
}

#[test]
fn missing_param_with_null_params() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
  - name: posts
    method: social.reddit.search
    params: # to do
"#,
        ),
        expect![[r#"
            Error[ODP302] 5:5..5:11 "params": missing required param `query` of `social.twitter.search`
              help: `query`: Search query in Twitter/X search syntax.
              fix (Unsafe): Add the required params => "    params:⏎      query: "
            Error[ODP302] 8:5..8:11 "params": missing required param `query` of `social.reddit.search`
              help: `query`: Search query.
              fix (Unsafe): Add the required params => "    params: # to do⏎      query: "
        "#]],
    );
}

#[test]
fn missing_param_without_params() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
  - method: social.reddit.search
    name: posts
  - name: toots
    method: social.mastodon.search
    timeout: 30s
transforms:
  - name: merged
    method: data.records.filter
"#,
        ),
        expect![[r#"
            Warning[ODP500] 3:11..3:17 "tweets": no transform uses the result of source `tweets`
              help: use it as `{{tweets.…}}` in a transform, or remove it
            Error[ODP302] 4:13..4:34 "social.twitter.search": missing required param `query` of `social.twitter.search`
              help: the step has no `params`; `query`: Search query in Twitter/X search syntax.
              fix (Unsafe): Add the required params => "    method: social.twitter.search⏎    params:⏎      query: "
            Error[ODP302] 5:13..5:33 "social.reddit.search": missing required param `query` of `social.reddit.search`
              help: the step has no `params`; `query`: Search query.
              fix (Unsafe): Add the required params => "  - method: social.reddit.search⏎    params:⏎      query: "
            Warning[ODP500] 6:11..6:16 "posts": no transform uses the result of source `posts`
              help: use it as `{{posts.…}}` in a transform, or remove it
            Warning[ODP500] 7:11..7:16 "toots": no transform uses the result of source `toots`
              help: use it as `{{toots.…}}` in a transform, or remove it
            Error[ODP302] 8:13..8:35 "social.mastodon.search": missing required param `query` of `social.mastodon.search`
              help: the step has no `params`; `query`: Words or a `#hashtag` to search for.
              fix (Unsafe): Add the required params => "    method: social.mastodon.search⏎    params:⏎      query: "
            Error[ODP302] 12:13..12:32 "data.records.filter": missing required params `records`, `field`, `op`, `value` of `data.records.filter`
              help: the step has no `params`; `records`: The records to filter. `field`: Field (or dotted path) to test. `op`: Comparison to apply. `value`: Value to compare with; a list for `in`.
              fix (Unsafe): Add the required params => "    method: data.records.filter⏎    params:⏎      records: ⏎      field: ⏎      op: ⏎      value: "
        "#]],
    );
}

// ---- ODP303 unknown-param, ODP304 invalid-param -------------------------------------------------------------

#[test]
fn unknown_params() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: ai
      limt: 10
      colour: blue
"#,
        ),
        expect![[r#"
            Error[ODP303] 7:7..7:11 "limt": `social.twitter.search` has no param `limt`
              help: did you mean `limit`?
              fix (Unsafe): Replace with `limit` => "      limit: 10"
            Error[ODP303] 8:7..8:13 "colour": `social.twitter.search` has no param `colour`
              help: its params are `query`, `limit`, `language`, `include_retweets`, `min_likes`
        "#]],
    );
}

#[test]
fn invalid_params() {
    check(
        &with_head(
            r#"sources:
  - name: posts
    method: social.reddit.search
    params:
      query: ai
      sort: best
      limit: 0
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: [good, 42, [nested]]
      language: english
      neutral_threshold: high
"#,
        ),
        expect![[r#"
            Warning[ODP500] 3:11..3:16 "posts": no transform uses the result of source `posts`
              help: use it as `{{posts.…}}` in a transform, or remove it
            Error[ODP304] 7:13..7:17 "best": `sort` must be one of `relevance`, `hot`, `top`, `new`, `comments`, found `best`
              help: `sort`: Result order. `comments` sorts by number of comments.
            Error[ODP304] 8:14..8:15 "0": `limit` must be at least 1, found `0`
              help: `limit`: Maximum number of submissions to return.
            Error[ODP304] 13:21..13:23 "42": `texts[1]` must be a string, found an integer
            Error[ODP304] 13:25..13:33 "[nested]": `texts[2]` must be a string, found a list
            Error[ODP304] 14:17..14:24 "english": `language` must match `^[a-z]{2}$`, found `english`
              help: `language`: Language of all texts (ISO 639-1); detected per text when omitted.
            Error[ODP304] 15:26..15:30 "high": `neutral_threshold` must be a number, found a string
              help: `neutral_threshold`: A text whose positive or negative score stays below this is labelled `neutral`.
        "#]],
    );
}

// ---- ODP400 template-syntax ---------------------------------------------------------------------------------

#[test]
fn template_syntax_errors() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
transforms:
  - name: a
    method: nlp.summary.generate
    params:
      focus: "about {{tweets.}}"
  - name: b
    method: nlp.summary.generate
    params:
      focus: "{{ }} and {{tweets.results[x]}}"
  - name: c
    method: nlp.summary.generate
    params:
      focus: "{{tweets.results"
  - name: d
    method: nlp.summary.generate
    params:
      focus: "{{inputs}} {{inputs[0]}} {{tweets results}}"
"#,
        ),
        expect![[r#"
            Error[ODP400] 13:29..13:30 ".": expected a field name after `.`, found the end of the template
            Error[ODP400] 17:15..17:20 "{{ }}": empty template: expected a path such as `inputs.query` or `step.results`
            Error[ODP400] 17:41..17:44 "[x]": expected an index (`[0]`), `[*]` or a quoted key (`["key"]`), found `[x]`
            Error[ODP400] 21:15..21:31 "{{tweets.results": `{{` is never closed: expected `}}`
            Error[ODP400] 25:15..25:25 "{{inputs}}": `{{inputs}}` needs an input name: `{{inputs.NAME}}`
            Error[ODP400] 25:34..25:37 "[0]": inputs are addressed by name: `{{inputs.NAME}}`
            Error[ODP400] 25:48..25:49 " ": unexpected ` ` in template path: expected `.field`, `[index]` or `}}`
        "#]],
    );
}

// ---- ODP401 unknown-reference -------------------------------------------------------------------------------

#[test]
fn unknown_step_and_input_references() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.qeury}}"
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweet.results[*].text}}"
  - name: summary
    method: nlp.summary.generate
    params:
      focus: "{{zzz.summary}} {{inputs.topic}}"
"#,
        ),
        expect![[r#"
            Error[ODP401] 8:24..8:29 "qeury": unknown input `qeury`
              help: did you mean `query`?
              fix (Unsafe): Replace with `query` => "      query: \"{{inputs.query}}\""
            Error[ODP401] 13:17..13:22 "tweet": unknown step `tweet`
              help: did you mean `tweets`?
              fix (Unsafe): Replace with `tweets` => "      texts: \"{{tweets.results[*].text}}\""
            Error[ODP401] 17:17..17:20 "zzz": unknown step `zzz`
              help: a template starts with `inputs` or the name of a step: `tweets`, `mood`
            Error[ODP401] 17:40..17:45 "topic": unknown input `topic`
              help: the inputs are `query`
        "#]],
    );
}

#[test]
fn unknown_input_without_inputs() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
"#,
        ),
        expect![[r#"
            Error[ODP401] 6:24..6:29 "query": unknown input `query`
              help: declare it under `inputs:`
        "#]],
    );
}

// ---- ODP402 forward-reference, ODP403 self-reference, ODP404 source-references-step ------------------------

#[test]
fn forward_and_self_references() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: summary
    method: nlp.summary.generate
    params:
      texts: "{{unique.results[*].text}}"
  - name: unique
    method: data.records.dedupe
    params:
      records: "{{unique.results}}"
      key: url
"#,
        ),
        expect![[r#"
            Warning[ODP500] 3:11..3:17 "tweets": no transform uses the result of source `tweets`
              help: use it as `{{tweets.…}}` in a transform, or remove it
            Error[ODP402] 10:17..10:23 "unique": `unique` runs after this step
              help: transforms run in the order written: move one of the steps
              related 11:11 "unique": `unique` is defined here
            Error[ODP403] 14:19..14:25 "unique": step `unique` refers to its own result
              help: a step's result exists only after it ran: use the result of an earlier step
        "#]],
    );
}

#[test]
fn source_references_another_step() {
    check(
        &with_head(
            r#"sources:
  - name: feed
    method: web.rss.read
    params:
      feed_url: https://example.com/feed.xml
  - name: page
    method: web.page.fetch
    params:
      url: "{{feed.results[0].url}}"
"#,
        ),
        expect![[r#"
            Error[ODP404] 10:15..10:19 "feed": a source can only use `inputs`, but this one uses step `feed`
              help: sources run in parallel; move this step to `transforms` if it needs another step's result
              related 3:11 "feed": `feed` is defined here
        "#]],
    );
}

// ---- ODP405 unknown-field -----------------------------------------------------------------------------------

#[test]
fn unknown_fields() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: a
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.resuls[*].text}}"
  - name: b
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results.text}}"
  - name: c
    method: nlp.summary.generate
    params:
      focus: "{{tweets.count[0]}} {{tweets.count[*]}} {{tweets.results[0].zzzzzz}}"
"#,
        ),
        expect![[r#"
            Error[ODP405] 10:24..10:30 "resuls": `tweets` has no field `resuls`
              help: did you mean `results`?
              fix (Unsafe): Replace with `results` => "      texts: \"{{tweets.results[*].text}}\""
            Error[ODP405] 14:31..14:36 ".text": `tweets.results` is list<object{author, author_name, created_at, hashtags, …}>, which has no fields
              help: `tweets.results` is a list: use `tweets.results[*].text` for the `text` of every item, or `tweets.results[0].text` for the first
              fix (Unsafe): Use `tweets.results[*].text` => "      texts: \"{{tweets.results[*].text}}\""
            Error[ODP405] 18:29..18:32 "[0]": `tweets.count` is integer, not a list: it cannot be indexed
            Error[ODP405] 18:49..18:52 "[*]": `tweets.count` is integer, not a list: `[*]` needs a list
            Error[ODP405] 18:75..18:81 "zzzzzz": `tweets.results[0]` has no field `zzzzzz`
              help: its fields are `author`, `author_name`, `created_at`, `hashtags`, `id`, `language`, `likes`, `replies`, `retweets`, `text`, `url`
        "#]],
    );
}

#[test]
fn dynamic_outputs_are_not_checked() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: shaped
    method: data.custom.transform
    params:
      input: "{{tweets.results}}"
      expression: "map(.text)"
  - name: summary
    method: nlp.summary.generate
    params:
      texts: "{{shaped.anything[*].goes}}"
"#,
        ),
        expect![[r#"
            (no diagnostics)
        "#]],
    );
}

// ---- ODP406 type-mismatch -----------------------------------------------------------------------------------

#[test]
fn list_of_records_for_list_of_strings() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results}}"
"#,
        ),
        expect![[r#"
            Error[ODP406] 10:15..10:33 "{{tweets.results}}": `{{tweets.results}}` is list<object{author, author_name, created_at, hashtags, …}>, but `texts` expects list<string>
              help: did you mean `{{tweets.results[*].text}}`?
              fix (Unsafe): Use `{{tweets.results[*].text}}` => "      texts: \"{{tweets.results[*].text}}\""
        "#]],
    );
}

#[test]
fn scalar_type_mismatches() {
    check(
        &with_head(
            r#"inputs:
  limit: {type: string, default: "10"}
  threshold: {type: integer, default: 1}
  flag: {type: boolean}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "search {{inputs.limit}}"
      limit: "{{inputs.limit}}"
      include_retweets: "{{inputs.flag}}"
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
      neutral_threshold: "{{ inputs.threshold }}"
      language: "{{tweets.count}}"
"#,
        ),
        expect![[r#"
            Error[ODP406] 11:15..11:31 "{{inputs.limit}}": `{{inputs.limit}}` is string, but `limit` expects integer
              help: declare input `limit` with `type: integer`
              related 3:3 "limit": `limit` is declared as `string` here
            Error[ODP406] 19:18..19:34 "{{tweets.count}}": `{{tweets.count}}` is integer, but `language` expects string
              help: a template inside a longer string is rendered as text, e.g. `"{{tweets.count}} …"`
        "#]],
    );
}

// ---- ODP500 unused-source, ODP501 unused-input --------------------------------------------------------------

#[test]
fn unused_source_and_input() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string}
  lang: {type: string}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
  - name: toots
    method: social.mastodon.search
    params:
      query: "{{inputs.query}}"
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
"#,
        ),
        expect![[r#"
            Warning[ODP501] 4:3..4:7 "lang": no template uses input `lang`
              help: use it as `{{inputs.lang}}`, or remove it
            Warning[ODP500] 10:11..10:16 "toots": no transform uses the result of source `toots`
              help: use it as `{{toots.…}}` in a transform, or remove it
        "#]],
    );
}

#[test]
fn sources_without_transforms_are_the_result() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
  - name: toots
    method: social.mastodon.search
    params: {query: ai}
"#,
        ),
        expect![[r#"
            (no diagnostics)
        "#]],
    );
}

// ---- ODP502 unused-suppression and suppressions ---------------------------------------------------------------

#[test]
fn suppressions_on_the_line_and_the_line_above() {
    check(
        &with_head(
            r#"sources:
  - name: tweets   # odp: ignore[ODP500]
    method: social.twitter.search
    params: {query: ai}
  # odp: ignore[unused-source]
  - name: toots
    method: social.mastodon.search
    params: {query: ai}
transforms:
  - name: summary
    method: nlp.summary.generate
    params: {text: hello}
"#,
        ),
        expect![[r#"
            (no diagnostics)
        "#]],
    );
}

#[test]
fn unused_and_unknown_suppressions() {
    check(
        &with_head(
            r#"sources:
  - name: tweets   # odp: ignore[ODP300]
    method: social.twitter.search
    params: {query: ai}   # odp: ignore[ODP999, unused-source]
  - name: toots
    method: social.mastodon.search # odp: ignore[ODP300, ODP303]
    params: {query: ai, limt: 3}   # odp: ignore[ODP303
transforms:
  - name: summary
    method: nlp.summary.generate
    params: {text: "{{tweets.count}} {{toots.count}}"}
"#,
        ),
        expect![[r##"
            Warning[ODP502] 3:34..3:40 "ODP300": this suppression of ODP300 suppresses nothing
              help: there is no ODP300 on this line
              fix (Safe): Remove the suppression comment => "  - name: tweets"
            Warning[ODP502] 5:41..5:47 "ODP999": unknown code `ODP999` in suppression
              help: write a code as its id (`ODP500`) or its name (`unused-source`)
            Warning[ODP502] 5:49..5:62 "unused-source": this suppression of ODP500 suppresses nothing
              help: there is no ODP500 on this line
              fix (Safe): Remove the suppression comment => "    params: {query: ai}"
            Warning[ODP502] 7:50..7:56 "ODP300": this suppression of ODP300 suppresses nothing
              help: there is no ODP300 on this line
              fix (Safe): Remove the suppression comment => "    method: social.mastodon.search"
            Warning[ODP502] 7:58..7:64 "ODP303": this suppression of ODP303 suppresses nothing
              help: there is no ODP303 on this line
              fix (Safe): Remove the suppression comment => "    method: social.mastodon.search"
            Error[ODP303] 8:25..8:29 "limt": `social.mastodon.search` has no param `limt`
              help: did you mean `limit`?
              fix (Unsafe): Replace with `limit` => "    params: {query: ai, limit: 3}   # odp: ignore[ODP303"
            Warning[ODP502] 8:36..8:56 "# odp: ignore[ODP303": this suppression is never closed: write `# odp: ignore[CODE]`
              fix (Safe): Close the suppression with `]` => "    params: {query: ai, limt: 3}   # odp: ignore[ODP303]"
        "##]],
    );
}

#[test]
fn suppressed_diagnostics_are_counted() {
    let text = with_head(
        "sources:\n  - name: tweets\n    method: social.twiter.search   # odp: ignore[unknown-method]\n    params: {query: ai}\n",
    );
    let analysis = analyze_with_bundled_registry(&text);
    assert_eq!(analysis.suppressed, 1);
    assert_eq!(render(&text, &analysis.diagnostics), "(no diagnostics)\n");
}

// ---- line breaks, non-ASCII text, environments ----------------------------------------------------------------

/// Renders the edits of every fix as they are, so that line breaks show.
fn render_edits(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        if let Some(f) = &d.fix {
            for e in &f.edits {
                out.push_str(&format!(
                    "{} {}..{} {:?}\n",
                    d.code,
                    e.range.start(),
                    e.range.end(),
                    e.new_text
                ));
            }
        }
    }
    out
}

#[test]
fn crlf_files_keep_their_line_breaks() {
    let text = "name: test pipeline\r\ninputs:\r\n  query: {type: string}\r\nsources:\r\n  - name: tweets\r\n    method: social.twitter.search\r\n  - name: posts\r\n    method: social.reddit.search\r\n    params:\r\n      limit: 5\r\n  - name: toots\r\n    method: social.mastodon.search\r\n    params:\r\n  - name: news\r\n    method: news.newsapi.search\r\n    params:\r\n      query: {{inputs.query}}\r\n    timeout: 30\r\ntransforms:\r\n  - name: mood\r\n    method: nlp.sentiment.analyze\r\n    params:\r\n      texts: \"{{tweets.results}}\"   # odp: ignore[ODP300]\r\n";
    check(
        text,
        expect![[r#"
        Error[ODP302] 6:13..6:34 "social.twitter.search": missing required param `query` of `social.twitter.search`
          help: the step has no `params`; `query`: Search query in Twitter/X search syntax.
          fix (Unsafe): Add the required params => "    method: social.twitter.search⏎    params:⏎      query: "
        Warning[ODP500] 7:11..7:16 "posts": no transform uses the result of source `posts`
          help: use it as `{{posts.…}}` in a transform, or remove it
        Error[ODP302] 9:5..9:11 "params": missing required param `query` of `social.reddit.search`
          help: `query`: Search query.
          fix (Unsafe): Add the required params => "      limit: 5⏎      query: "
        Warning[ODP500] 11:11..11:16 "toots": no transform uses the result of source `toots`
          help: use it as `{{toots.…}}` in a transform, or remove it
        Error[ODP302] 13:5..13:11 "params": missing required param `query` of `social.mastodon.search`
          help: `query`: Words or a `#hashtag` to search for.
          fix (Unsafe): Add the required params => "    params:⏎      query: "
        Warning[ODP500] 14:11..14:15 "news": no transform uses the result of source `news`
          help: use it as `{{news.…}}` in a transform, or remove it
        Error[ODP102] 17:14..17:30 "{{inputs.query}}": an unquoted value starting with `{{` is a nested mapping in YAML; quote the template
          help: write "{{inputs.query}}"
          fix (Safe): Quote the template => "      query: \"{{inputs.query}}\""
        Error[ODP203] 18:14..18:16 "30": `timeout` must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `30`
          help: did you mean `30s`?
          fix (Unsafe): Use `30s` => "    timeout: 30s"
        Error[ODP406] 23:15..23:33 "{{tweets.results}}": `{{tweets.results}}` is list<object{author, author_name, created_at, hashtags, …}>, but `texts` expects list<string>
          help: did you mean `{{tweets.results[*].text}}`?
          fix (Unsafe): Use `{{tweets.results[*].text}}` => "      texts: \"{{tweets.results[*].text}}\"   # odp: ignore[ODP300]"
        Warning[ODP502] 23:51..23:57 "ODP300": this suppression of ODP300 suppresses nothing
          help: there is no ODP300 on this line
          fix (Safe): Remove the suppression comment => "      texts: \"{{tweets.results}}\""
    "#]],
    );
    let analysis = analyze_with_bundled_registry(text);
    expect![[r#"
        ODP302 116..116 "\r\n    params:\r\n      query: "
        ODP302 196..196 "\r\n      query: "
        ODP302 262..262 "\r\n      query: "
        ODP102 339..355 "\"{{inputs.query}}\""
        ODP203 370..372 "30s"
        ODP406 465..483 "{{tweets.results[*].text}}"
        ODP502 484..508 ""
    "#]]
    .assert_eq(&render_edits(&analysis.diagnostics));
}

#[test]
fn columns_count_characters_after_non_ascii_text() {
    check(
        &with_head(
            r#"description: "Stimmung 😀 über KI — 日本語のテキスト, café"
sources:
  - name: tweets
    description: 日本語 😀 é
    method: social.twitter.search
    params: {query: "😀 日本語 é", limt: 3}
transforms:
  - name: summary
    method: nlp.summary.generate
    params:
      focus: "résumé 😀 日本 {{tweets.resuls}}"
      language: 日本
  - name: escaped
    method: nlp.summary.generate
    params:
      focus: "caf\u00e9 {{tweets.resuls}}"
  - name: single
    method: nlp.summary.generate
    params:
      focus: 'l''été 😀 {{tweets.count.x}}'
"#,
        ),
        expect![[r#"
            Error[ODP303] 7:32..7:36 "limt": `social.twitter.search` has no param `limt`
              help: did you mean `limit`?
              fix (Unsafe): Replace with `limit` => "    params: {query: \"😀 日本語 é\", limit: 3}"
            Error[ODP405] 12:36..12:42 "resuls": `tweets` has no field `resuls`
              help: did you mean `results`?
              fix (Unsafe): Replace with `results` => "      focus: \"résumé 😀 日本 {{tweets.results}}\""
            Error[ODP304] 13:17..13:19 "日本": `language` must match `^[a-z]{2}$`, found `日本`
              help: `language`: Language to write the summary in (ISO 639-1).
            Error[ODP405] 17:14..17:43 "\"caf\\u00e9 {{tweets.resuls}}\"": `tweets` has no field `resuls`
              help: did you mean `results`?
            Error[ODP405] 21:14..21:43 "'l''été 😀 {{tweets.count.x}}'": `tweets.count` is integer, which has no fields
        "#]],
    );
}

fn twitter_output() -> Ty {
    Registry::bundled()
        .get("social.twitter.search")
        .expect("bundled method")
        .output
        .clone()
}

#[test]
fn kernel_cells_see_earlier_cells_and_notebook_inputs() {
    let registry = Registry::bundled();
    let steps = [
        ExternalStep {
            name: "tweets".into(),
            method: Some("social.twitter.search".into()),
            output: twitter_output(),
        },
        ExternalStep {
            name: "live".into(),
            method: None,
            output: Ty::of_value(&serde_json::json!({"rows": [{"title": "a", "score": 1}]})),
        },
    ];
    let inputs = [ExternalInput {
        name: "topic".into(),
        ty: Ty::String,
    }];
    let env = Environment {
        registry: &registry,
        external_steps: &steps,
        external_inputs: &inputs,
        fragment: true,
        live: &[],
    };
    // A cell of transforms only: no `name`, no `sources`, and earlier cells' steps are in scope.
    check_env(
        r#"transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
      language: "{{inputs.topic}}"
  - name: top
    method: nlp.summary.generate
    params:
      texts: "{{live.rows[*].title}}"
      focus: "{{live.rows[0].scroe}} {{tweets.resuls}} {{inputs.topik}}"
"#,
        &env,
        expect![[r#"
            Error[ODP405] 11:30..11:35 "scroe": `live.rows[0]` has no field `scroe`
              help: did you mean `score`?
              fix (Unsafe): Replace with `score` => "      focus: \"{{live.rows[0].score}} {{tweets.resuls}} {{inputs.topik}}\""
            Error[ODP405] 11:47..11:53 "resuls": `tweets` has no field `resuls`
              help: did you mean `results`?
              fix (Unsafe): Replace with `results` => "      focus: \"{{live.rows[0].scroe}} {{tweets.results}} {{inputs.topik}}\""
            Error[ODP401] 11:65..11:70 "topik": unknown input `topik`
              help: did you mean `topic`?
              fix (Unsafe): Replace with `topic` => "      focus: \"{{live.rows[0].scroe}} {{tweets.resuls}} {{inputs.topic}}\""
        "#]],
    );
    // A cell with a source that uses an earlier cell's result, and a redefinition of an earlier step.
    check_env(
        r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{live.rows[0].title}}"
"#,
        &env,
        expect![[r#"
            Error[ODP404] 5:17..5:21 "live": a source can only use `inputs`, but this one uses step `live`
              help: sources run in parallel; move this step to `transforms` if it needs another step's result
        "#]],
    );
    // The same text is not a whole pipeline.
    check_env(
        "transforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{tweets.results[*].text}}\"\n",
        &Environment::new(&registry),
        expect![[r#"
            Error[ODP201] 1:1..1:1 "": the pipeline has no `name`
              help: a pipeline needs at least `name` and `sources`
            Error[ODP201] 1:1..1:1 "": the pipeline has no `sources`
              help: a pipeline needs at least `name` and `sources`
            Error[ODP401] 5:17..5:23 "tweets": unknown step `tweets`
              help: a template starts with `inputs` or the name of a step
        "#]],
    );
}

// ---- recovery: one broken line does not hide the rest of the document -----------------------------------------

#[test]
fn recovery_after_an_unclosed_bracket() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai, limit: [1, 2
  - name: toots
    method: social.mastodon.serach
    params: {query: ai}
"#,
        ),
        expect![[r#"
            Error[ODP100] 5:13..5:14 "{": `{` is never closed: expected `}`
            Error[ODP100] 5:32..5:33 "[": `[` is never closed: expected `]`
            Error[ODP300] 7:13..7:35 "social.mastodon.serach": unknown method `social.mastodon.serach`
              help: did you mean `social.mastodon.search`?
              fix (Unsafe): Replace with `social.mastodon.search` => "    method: social.mastodon.search"
        "#]],
    );
}

#[test]
fn recovery_while_a_template_is_being_typed() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: {{tweets.
  - name: summary
    method: nlp.summary.generat
    params:
      texts: "{{mood.results[*].text}}"
"#,
        ),
        expect![[r#"
            Error[ODP102] 10:14..10:23 "{{tweets.": an unquoted value starting with `{{` is a nested mapping in YAML; quote the template
              help: write "{{tweets."
              fix (Safe): Quote the template => "      texts: \"{{tweets.\""
            Error[ODP400] 10:14..10:23 "{{tweets.": `{{` is never closed: expected `}}`
            Error[ODP300] 12:13..12:32 "nlp.summary.generat": unknown method `nlp.summary.generat`
              help: did you mean `nlp.summary.generate`?
              fix (Unsafe): Replace with `nlp.summary.generate` => "    method: nlp.summary.generate"
        "#]],
    );
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.
  - name: summary
    method: nlp.summary.generat
"#,
        ),
        expect![[r#"
            Error[ODP100] 10:14..10:15 "\"": unterminated double-quoted string
            Error[ODP300] 12:13..12:32 "nlp.summary.generat": unknown method `nlp.summary.generat`
              help: did you mean `nlp.summary.generate`?
              fix (Unsafe): Replace with `nlp.summary.generate` => "    method: nlp.summary.generate"
        "#]],
    );
}

#[test]
fn recovery_after_bad_indentation() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: ai
       limit: 10
  - name: toots
     method: social.mastodon.search
    params: {query: ai}
transforms:
  - name: mood
    method: nlp.sentiment.analyz
    params:
      texts: "{{tweets.results[*].text}} {{toots.count}}"
"#,
        ),
        expect![[r#"
            Error[ODP100] 7:7..7:8 " ": this key is indented by 7 spaces, the keys before it by 6; align them
            Error[ODP100] 9:5..9:6 " ": this key is indented by 5 spaces, the keys before it by 4; align them
            Error[ODP300] 13:13..13:33 "nlp.sentiment.analyz": unknown method `nlp.sentiment.analyz`
              help: did you mean `nlp.sentiment.analyze`?
              fix (Unsafe): Replace with `nlp.sentiment.analyze` => "    method: nlp.sentiment.analyze"
        "#]],
    );
}

#[test]
fn unquoted_templates_in_flow_collections() {
    check(
        &with_head(
            r#"sources:
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
  - name: posts
    method: social.reddit.search
    params: {query: ai}
transforms:
  - name: merged
    method: data.records.merge
    params:
      lists: [{{tweets.results}}, "{{posts.results}}"]
"#,
        ),
        expect![[r#"
            Error[ODP102] 13:15..13:33 "{{tweets.results}}": an unquoted value starting with `{{` is a nested mapping in YAML; quote the template
              help: write "{{tweets.results}}"
              fix (Safe): Quote the template => "      lists: [\"{{tweets.results}}\", \"{{posts.results}}\"]"
        "#]],
    );
}

// ---- more shapes: empty values, flow-style steps, YAML 1.1 habits ---------------------------------------------

#[test]
fn empty_values_point_at_their_key() {
    check(
        r#"name:
sources:
  - name:
    method:
    timeout:
    retry:
  -
  - name: x
    method: social.twitter.search
    params:
      query:
"#,
        expect![[r#"
            Error[ODP202] 1:1..1:5 "name": `name` is empty: it must be a string
            Error[ODP202] 3:5..3:9 "name": a step's `name` is empty: it must be a string
            Error[ODP202] 4:5..4:11 "method": `method` is empty: it must be a string
            Error[ODP202] 5:5..5:12 "timeout": `timeout` is empty: it must be a duration such as `30s`
            Error[ODP202] 6:5..6:10 "retry": `retry` is empty: it must be a mapping
            Error[ODP202] 7:3..7:4 "-": a step is empty: it must be a mapping with `name`, `method` and `params`
            Error[ODP304] 11:7..11:12 "query": `query` is empty: it must be a string
              help: `query`: Search query in Twitter/X search syntax.
        "#]],
    );
}

#[test]
fn flow_style_steps_and_params() {
    check(
        &with_head(
            r#"sources:
  - {name: a, method: social.twitter.search}
  - {name: b, method: social.reddit.search, params: {limit: 3, }}
  - {name: c, method: social.mastodon.search, params: { }}
"#,
        ),
        expect![[r#"
            Error[ODP302] 3:23..3:44 "social.twitter.search": missing required param `query` of `social.twitter.search`
              help: the step has no `params`; `query`: Search query in Twitter/X search syntax.
              fix (Unsafe): Add the required params => "  - {name: a, method: social.twitter.search, params: {query: }}"
            Error[ODP302] 4:45..4:51 "params": missing required param `query` of `social.reddit.search`
              help: `query`: Search query.
              fix (Unsafe): Add the required params => "  - {name: b, method: social.reddit.search, params: {limit: 3, query: }}"
            Error[ODP302] 5:47..5:53 "params": missing required param `query` of `social.mastodon.search`
              help: `query`: Words or a `#hashtag` to search for.
              fix (Unsafe): Add the required params => "  - {name: c, method: social.mastodon.search, params: {query: }}"
        "#]],
    );
}

#[test]
fn yaml_1_1_habits() {
    check(
        &with_head(
            r#"inputs:
  query: {type: string, required: yes, default: ai}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
      include_retweets: no
    timeout: 2 minutes
    retry: {initial_interval: 500 ms, maximum_interval: 1 hour, backoff_coefficient: 1}
"#,
        ),
        expect![[r#"
            Error[ODP202] 3:35..3:38 "yes": `required` must be true or false, found the string `yes`
              help: YAML 1.2 reads `yes` as a string: write `true`
              fix (Safe): Use `true` => "  query: {type: string, required: true, default: ai}"
            Error[ODP304] 9:25..9:27 "no": `include_retweets` must be a boolean, found a string
              help: YAML 1.2 reads `no` as a string: write `false`
              fix (Safe): Use `false` => "      include_retweets: false"
            Error[ODP203] 10:14..10:23 "2 minutes": `timeout` must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `2 minutes`
              help: did you mean `2m`?
              fix (Unsafe): Use `2m` => "    timeout: 2m"
            Error[ODP203] 11:31..11:37 "500 ms": `initial_interval` must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `500 ms`
              help: did you mean `500ms`?
              fix (Unsafe): Use `500ms` => "    retry: {initial_interval: 500ms, maximum_interval: 1 hour, backoff_coefficient: 1}"
            Error[ODP203] 11:57..11:63 "1 hour": `maximum_interval` must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `1 hour`
              help: did you mean `1h`?
              fix (Unsafe): Use `1h` => "    retry: {initial_interval: 500 ms, maximum_interval: 1h, backoff_coefficient: 1}"
        "#]],
    );
}

#[test]
fn param_values_against_their_schema() {
    check(
        &with_head(
            r#"sources:
  - name: posts
    method: social.reddit.search
    params: {query: "", sort: revelance, time_range: week, limit: 5000}
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: []
      neutral_threshold: 1.5
  - name: summary
    method: nlp.summary.generate
    params:
      text: "{{posts.results[0].text}}"
      focus: "{{mood.summary.positive}} positive posts about {{posts.results[0].text}}"
      max_words: "{{mood.summary.positive}}"
"#,
        ),
        expect![[r#"
            Error[ODP304] 5:21..5:23 "\"\"": `query` must not be empty
              help: `query`: Search query. Supports `AND`, `OR`, `NOT`, quoted phrases and `title:`/`author:` fields.
            Error[ODP304] 5:31..5:40 "revelance": `sort` must be one of `relevance`, `hot`, `top`, `new`, `comments`, found `revelance`
              help: did you mean `relevance`?
              fix (Unsafe): Replace with `relevance` => "    params: {query: \"\", sort: relevance, time_range: week, limit: 5000}"
            Error[ODP304] 5:67..5:71 "5000": `limit` must be at most 1000, found `5000`
              help: `limit`: Maximum number of submissions to return.
            Error[ODP304] 10:14..10:16 "[]": `texts` must have at least 1 item
              help: `texts`: The texts to classify.
            Error[ODP304] 11:26..11:29 "1.5": `neutral_threshold` must be at most 1, found `1.5`
              help: `neutral_threshold`: A text whose positive or negative score stays below this is labelled `neutral`.
        "#]],
    );
}

#[test]
fn suppression_fixes() {
    check(
        &with_head(
            r#"sources:
  # odp: ignore[unused-sorce]
  - name: tweets
    method: social.twitter.search
    params: {query: ai}
  # odp: ignore[ODP300]
  - name: toots
    method: social.mastodon.search
    params: {query: ai}
  - name: news   # odp: ignore[ODP500, ODP303]
    method: news.newsapi.search
    params: {query: ai, limt: 1}   # odp: ignore[ODP500,ODP303]
transforms:
  - name: summary
    method: nlp.summary.generate
    params: {text: "{{toots.count}}"}
"#,
        ),
        expect![[r#"
            Warning[ODP502] 3:17..3:29 "unused-sorce": unknown code `unused-sorce` in suppression
              help: did you mean `unused-source`?
              fix (Unsafe): Replace with `unused-source` => "  # odp: ignore[unused-source]"
            Warning[ODP500] 4:11..4:17 "tweets": no transform uses the result of source `tweets`
              help: use it as `{{tweets.…}}` in a transform, or remove it
            Warning[ODP502] 7:17..7:23 "ODP300": this suppression of ODP300 suppresses nothing
              help: there is no ODP300 on the next line
              fix (Safe): Remove the suppression comment => "  - name: toots"
            Warning[ODP502] 11:40..11:46 "ODP303": this suppression of ODP303 suppresses nothing
              help: there is no ODP303 on this line
              fix (Safe): Remove ODP303 from the suppression => "  - name: news   # odp: ignore[ODP500]"
            Warning[ODP502] 13:50..13:56 "ODP500": this suppression of ODP500 suppresses nothing
              help: there is no ODP500 on this line
              fix (Safe): Remove ODP500 from the suppression => "    params: {query: ai, limt: 1}   # odp: ignore[ODP303]"
            Error[ODP406] 17:21..17:36 "{{toots.count}}": `{{toots.count}}` is integer, but `text` expects string
              help: a template inside a longer string is rendered as text, e.g. `"{{toots.count}} …"`
        "#]],
    );
}

// ---- every code has a fixture ---------------------------------------------------------------------------------

/// One minimal pipeline per code that reports that code and nothing else. The snapshot tests above show each
/// code's full rendering; this table proves that none is left without a fixture.
const FIXTURES: &[(&str, &str)] = &[
    (
        "ODP100",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai, language: [en}\n",
    ),
    (
        "ODP101",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: !!str ai}\n",
    ),
    (
        "ODP102",
        "name: test pipeline\ninputs:\n  q: {type: string}\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: {{inputs.q}}}\n",
    ),
    (
        "ODP103",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai, query: ml}\n",
    ),
    (
        "ODP200",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    parms: {query: ai}\n    params: {query: ai}\n",
    ),
    ("ODP201", "name: test pipeline\n"),
    (
        "ODP202",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: [query]\n",
    ),
    (
        "ODP203",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n    timeout: 30\n",
    ),
    (
        "ODP204",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n  - name: tweets\n    method: social.reddit.search\n    params: {query: ai}\n",
    ),
    (
        "ODP300",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twiter.search\n    params: {query: ai}\n",
    ),
    (
        "ODP301",
        "name: test pipeline\nsources:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params: {texts: [a]}\n",
    ),
    (
        "ODP302",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {limit: 5}\n",
    ),
    (
        "ODP303",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai, limt: 5}\n",
    ),
    (
        "ODP304",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai, limit: 0}\n",
    ),
    (
        "ODP400",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: \"{{ }}\"}\n",
    ),
    (
        "ODP401",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: \"{{inputs.q}}\"}\n",
    ),
    (
        "ODP402",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\ntransforms:\n  - name: a\n    method: nlp.summary.generate\n    params: {texts: \"{{b.results[*].text}}\"}\n  - name: b\n    method: nlp.sentiment.analyze\n    params: {texts: \"{{tweets.results[*].text}}\"}\n",
    ),
    (
        "ODP403",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\ntransforms:\n  - name: a\n    method: nlp.summary.generate\n    params: {texts: \"{{tweets.results[*].text}}\", focus: \"{{a.summary}}\"}\n",
    ),
    (
        "ODP404",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n  - name: posts\n    method: social.reddit.search\n    params: {query: \"{{tweets.results[0].text}}\"}\n",
    ),
    (
        "ODP405",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\ntransforms:\n  - name: a\n    method: nlp.summary.generate\n    params: {texts: \"{{tweets.resuls[*].text}}\"}\n",
    ),
    (
        "ODP406",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\ntransforms:\n  - name: a\n    method: nlp.summary.generate\n    params: {texts: \"{{tweets.results}}\"}\n",
    ),
    (
        "ODP500",
        "name: test pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n  - name: posts\n    method: social.reddit.search\n    params: {query: ai}\ntransforms:\n  - name: a\n    method: nlp.summary.generate\n    params: {texts: \"{{tweets.results[*].text}}\"}\n",
    ),
    (
        "ODP501",
        "name: test pipeline\ninputs:\n  q: {type: string}\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n",
    ),
    (
        "ODP502",
        "name: test pipeline\nsources:\n  - name: tweets   # odp: ignore[ODP300]\n    method: social.twitter.search\n    params: {query: ai}\n",
    ),
];

#[test]
fn every_code_has_a_fixture() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    for code in Code::ALL {
        let fixtures: Vec<&str> = FIXTURES
            .iter()
            .filter(|(id, _)| *id == code.id())
            .map(|(_, text)| *text)
            .collect();
        assert!(
            !fixtures.is_empty(),
            "{} ({}) has no fixture",
            code.id(),
            code.name()
        );
        for text in fixtures {
            let analysis = analyze(text, &env);
            let mut codes: Vec<Code> = analysis.diagnostics.iter().map(|d| d.code).collect();
            codes.dedup();
            assert_eq!(
                codes,
                vec![*code],
                "{}:\n{text}\n{}",
                code.id(),
                render(text, &analysis.diagnostics)
            );
            assert_fixes_work(text, &env, &analysis.diagnostics);
        }
    }
    for (id, _) in FIXTURES {
        assert!(Code::parse(id).is_some(), "`{id}` is no code");
    }
}

#[test]
fn every_code_is_documented() {
    for code in Code::ALL {
        assert_eq!(Code::parse(code.id()), Some(*code));
        assert_eq!(Code::parse(code.name()), Some(*code));
        assert!(
            !code.summary().is_empty() && code.doc().len() > code.summary().len(),
            "{}",
            code.id()
        );
    }
}

// ---- no input panics ------------------------------------------------------------------------------------------

/// A tiny xorshift generator, so that the edits are the same on every run.
/// Analyzes a text, and checks what every front end relies on: ranges inside the text on character boundaries,
/// fixes that apply.
fn analyze_safely(text: &str) {
    let analysis = analyze_with_bundled_registry(text);
    for d in &analysis.diagnostics {
        let ranges = std::iter::once(d.range)
            .chain(d.related.iter().map(|r| r.range))
            .chain(d.fix.iter().flat_map(|f| f.edits.iter().map(|e| e.range)));
        for r in ranges {
            assert!(
                r.start() <= r.end() && r.end() <= text.len(),
                "{} range {:?} outside the text:\n{text:?}",
                d.code,
                r
            );
            assert!(
                text.is_char_boundary(r.start()) && text.is_char_boundary(r.end()),
                "{} range {:?} splits a character:\n{text:?}",
                d.code,
                r
            );
        }
        if let Some(f) = &d.fix {
            apply_edits(text, &f.edits);
        }
    }
}

#[test]
fn no_prefix_of_an_example_panics() {
    for name in ["ai-sentiment.odp.yaml", "brand-monitoring.odp.yaml"] {
        let text = std::fs::read_to_string(examples_dir().join(name)).unwrap();
        for (at, _) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            let prefix = &text[..at];
            if let Err(e) = std::panic::catch_unwind(|| analyze_safely(prefix)) {
                panic!("{name} cut at byte {at} panics: {e:?}\n{prefix}");
            }
        }
    }
}

#[test]
fn no_random_edit_of_an_example_panics() {
    // Characters that matter to YAML and templates, and some that are wide in UTF-8.
    const ALPHABET: &[char] = &[
        ' ', ' ', '\n', '\t', '\r', ':', '-', '#', '[', ']', '{', '}', ',', '"', '\'', '&', '*',
        '!', '|', '>', '%', '@', '`', '?', '.', '\\', 'a', 'z', '_', '0', '9', 'é', '😀', '日',
    ];
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let mut rng = odp_syntax::random_edits::Rng(0x9e37_79b9_7f4a_7c15);
    for name in ["ai-sentiment.odp.yaml", "brand-monitoring.odp.yaml"] {
        let original = std::fs::read_to_string(examples_dir().join(name)).unwrap();
        for _ in 0..200 {
            // One to three single-character edits: insert, delete or replace.
            let mut chars: Vec<char> = original.chars().collect();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(chars.len());
                let c = ALPHABET[rng.below(ALPHABET.len())];
                match rng.below(3) {
                    0 => chars.insert(at, c),
                    1 => {
                        chars.remove(at);
                    }
                    _ => chars[at] = c,
                }
            }
            let text: String = chars.into_iter().collect();
            if let Err(e) = std::panic::catch_unwind(|| analyze_safely(&text)) {
                panic!("an edit of {name} panics: {e:?}\n{text}");
            }
            // Where the edit left valid YAML, every fix must also do what it says.
            let diags = analyze(&text, &env).diagnostics;
            if !diags.iter().any(|d| is_yaml_error(d.code)) {
                assert_fixes_work(&text, &env, &diags);
            }
        }
    }
}

#[test]
fn reserved_names_empty_sources_zero_timeouts_interval_order_and_interpolated_numbers() {
    check(
        "name: gaps in the rules\ninputs:\n  n: {type: integer, default: 5}\nsources:\n  - name: inputs\n    method: social.twitter.search\n    params: {query: x, limit: \"n={{inputs.n}}\"}\n    timeout: 0s\n    retry: {initial_interval: 2m, maximum_interval: 30s}\n",
        expect![[r#"
            Error[ODP203] 5:11..5:17 "inputs": a step cannot be named `inputs`: `{{inputs.…}}` means the pipeline's inputs
              help: choose another name
            Error[ODP406] 7:31..7:47 "\"n={{inputs.n}}\"": text around a template makes a string, but `limit` expects integer
              help: a template keeps its type only when it is the whole value, e.g. `"{{inputs.limit}}"`
            Error[ODP203] 8:14..8:16 "0s": a timeout of zero would fail every attempt; leave `timeout` out for the default
            Error[ODP203] 9:31..9:33 "2m": `initial_interval` (120000 ms) is longer than `maximum_interval` (30000 ms)
              help: the waits grow from `initial_interval` up to `maximum_interval` (default 60s)
        "#]],
    );
    check(
        "name: no sources\nsources: []\n",
        expect![[r#"
        Error[ODP203] 2:1..2:8 "sources": the pipeline has no sources: it would fetch nothing
          help: add a step under `sources:`, e.g. `- name: tweets` with `method: social.twitter.search`
    "#]],
    );
}

/// The work of an analysis (bytes of scalars scanned and compared, accessors walked: a count, not a timing) grows
/// linearly: 4 times the templates in one string, the steps of a pipeline or the steps of a notebook session cost at
/// most 4.5 times as much.
#[test]
fn work_grows_linearly_with_templates_steps_and_session_steps() {
    let registry = Registry::bundled();
    let templates = |n: usize| {
        format!(
            "name: many templates\ndescription: d\ninputs:\n  q: {{type: string}}\nsources:\n  - name: s\n    method: social.twitter.search\n    params:\n      query: \"{}\"\n",
            vec!["{{inputs.q}}"; n].join(" ")
        )
    };
    let steps = |n: usize| {
        let mut text = "name: many steps\ndescription: d\nsources:\n  - name: s\n    method: social.twitter.search\n    params: {query: x}\ntransforms:\n".to_string();
        for i in 0..n {
            text.push_str(&format!("  - name: t{i}\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{{{s.results[*].text}}}}\"\n"));
        }
        text
    };
    let work_of = |text: &str, env: &Environment<'_>| {
        crate::work::take();
        let analysis = analyze(text, env);
        assert!(!analysis.has_errors(), "{:?}", &analysis.diagnostics[..1]);
        crate::work::take()
    };
    let env = Environment::new(&registry);
    for (what, make) in [
        (
            "templates in one string",
            &templates as &dyn Fn(usize) -> String,
        ),
        ("steps", &steps),
    ] {
        let (small, large) = (work_of(&make(2_000), &env), work_of(&make(8_000), &env));
        assert!(small > 0);
        assert!(
            large as f64 <= 4.5 * small as f64,
            "{what}: 2,000 cost {small}, 8,000 cost {large} ({:.1}x)",
            large as f64 / small as f64
        );
    }
    // A notebook cell that uses every step of a session of n steps.
    let session = |n: usize| -> (Vec<ExternalStep>, String) {
        let external = (0..n)
            .map(|i| ExternalStep {
                name: format!("e{i}"),
                method: None,
                output: Ty::Any,
            })
            .collect();
        let uses = (0..n)
            .map(|i| format!("{{{{e{i}.x}}}}"))
            .collect::<Vec<_>>()
            .join(" ");
        let cell = format!(
            "transforms:\n  - name: t\n    method: nlp.summary.generate\n    params: {{text: \"{uses}\"}}\n"
        );
        (external, cell)
    };
    let work_with = |n: usize| {
        let (external, cell) = session(n);
        let env = Environment {
            external_steps: &external,
            fragment: true,
            ..Environment::new(&registry)
        };
        work_of(&cell, &env)
    };
    let (small, large) = (work_with(2_000), work_with(8_000));
    assert!(
        large as f64 <= 4.5 * small as f64,
        "session steps: 2,000 cost {small}, 8,000 cost {large}"
    );
}
