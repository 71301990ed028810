//! `odp graph`: formats, files, exit codes.

use crate::common::{odp, text};

#[test]
fn draws_an_example_in_each_format() {
    let out = odp(&["graph", "examples/ai-sentiment.odp.yaml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mermaid = text(&out.stdout);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains("n3 -->|\"results[*].text\"| n5"),
        "{mermaid}"
    );

    let out = odp(
        &["graph", "examples/ai-sentiment.odp.yaml", "--format", "dot"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("digraph \"ai-sentiment\" {"));

    // The format from the file's extension; nothing on stdout.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("picture.svg");
    let out = odp(
        &[
            "graph",
            "examples/ai-sentiment.odp.yaml",
            "-o",
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains(">discussion_summary</text>"), "{svg}");
    // --format wins over the extension.
    let out = odp(
        &[
            "graph",
            "examples/ai-sentiment.odp.yaml",
            "-o",
            file.to_str().unwrap(),
            "--format",
            "mermaid",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("flowchart LR")
    );
}

#[test]
fn a_pipeline_with_errors_is_drawn_with_its_failed_steps_and_exits_1() {
    let out = odp(
        &[
            "graph",
            "examples/broken/unknown-reference.odp.yaml",
            "--format",
            "dot",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let dot = text(&out.stdout);
    assert!(dot.contains("class=\"transform failed\""), "{dot}");
    assert!(dot.contains("label=\"tweet\\nnot defined\""), "{dot}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("1 error (marked in the picture"),
        "{stderr}"
    );
}

#[test]
fn unreadable_pipelines_and_unwritable_outputs_are_usage_errors() {
    let out = odp(&["graph", "examples/nope.odp.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("nope.odp.yaml"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = odp(
        &[
            "graph",
            "examples/ai-sentiment.odp.yaml",
            "-o",
            "/nonexistent-dir/x.svg",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot write /nonexistent-dir/x.svg"),
        "{}",
        text(&out.stderr)
    );

    let out = odp(
        &["graph", "examples/ai-sentiment.odp.yaml", "--format", "png"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn names_with_control_characters_and_quotes_are_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odd.odp.yaml");
    std::fs::write(
        &file,
        "name: \"odd \\\"one\\\" <&>\"\nsources:\n  - name: \"a\\e[31mb\"\n    method: social.twitter.search\n    params: {query: x}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let run = |format: &str| text(&odp(&["graph", path, "--format", format], &[]).stdout);
    let (mermaid, dot, svg) = (run("mermaid"), run("dot"), run("svg"));
    for out in [&mermaid, &dot, &svg] {
        assert!(!out.contains('\u{1b}'), "{out}");
    }
    assert!(mermaid.contains("[\"a\\u{1b}[31mb<br/>"), "{mermaid}");
    assert!(
        dot.starts_with("digraph \"odd \\\"one\\\" <&>\" {"),
        "{dot}"
    );
    assert!(
        svg.contains("<title>odd &quot;one&quot; &lt;&amp;&gt;</title>"),
        "{svg}"
    );
}
