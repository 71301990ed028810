//! Fixture tests: a pipeline text in, its diagnostics rendered as a snapshot out.

use expect_test::{Expect, expect};

use crate::{Diagnostic, LineIndex, PositionEncoding, analyze_with_bundled_registry, apply_edits};

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
            let shown: Vec<&str> = (line..(line + 1 + f.edits.iter().map(|e| e.new_text.matches('\n').count()).sum::<usize>()))
                .filter_map(|l| fixed_index.line_range(&fixed, l).map(|r| &fixed[r.as_range()]))
                .collect();
            out.push_str(&format!("  fix ({:?}): {} => {:?}\n", f.applicability, f.title, shown.join("⏎")));
        }
    }
    if out.is_empty() {
        out.push_str("(no diagnostics)\n");
    }
    out
}

fn check(text: &str, expect: Expect) {
    let analysis = analyze_with_bundled_registry(text);
    expect.assert_eq(&render(text, &analysis.diagnostics));
}

const HEAD: &str = "name: test pipeline\n";

fn with_head(body: &str) -> String {
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
        assert_eq!(got, expected, "{}:\n{}", path.display(), render(&text, &analysis.diagnostics));
    }
}
