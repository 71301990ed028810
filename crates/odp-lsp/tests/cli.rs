//! The command line as users and CI run it: exit codes, formats, explain.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn odp_lsp(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        .args(args)
        .current_dir(cwd)
        .env_remove("ODP_REGISTRY")
        .env_remove("ODP_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("odp-lsp runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn clean_examples_exit_0() {
    let o = odp_lsp(
        &[
            "check",
            "examples/ai-sentiment.odp.yaml",
            "examples/news-brief.odp.yaml",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("Checked 2 files: 0 errors, 0 warnings"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn errors_exit_1_with_snippets() {
    let o = odp_lsp(
        &["check", "examples/broken/unknown-method.odp.yaml"],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("error[ODP300/unknown-method]: unknown method `social.twiter.search`"),
        "{out}"
    );
    assert!(
        out.contains("examples/broken/unknown-method.odp.yaml:14:13"),
        "{out}"
    );
    assert!(
        out.contains("did you mean `social.twitter.search`?"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}'),
        "NO_COLOR output has no escape codes"
    );
}

#[test]
fn warnings_alone_exit_0() {
    let o = odp_lsp(
        &["check", "examples/broken/unused-source.odp.yaml"],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("warning[ODP500/unused-source]"));
}

#[test]
fn json_format_has_positions_and_summary() {
    let o = odp_lsp(
        &[
            "check",
            "--format",
            "json",
            "examples/broken/type-mismatch.odp.yaml",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let d = &v["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "ODP406");
    assert_eq!(d["name"], "type-mismatch");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["range"]["start"]["line"], 23);
    assert_eq!(d["range"]["start"]["column"], 15);
    assert_eq!(
        d["fix"]["edits"][0]["new_text"],
        "{{tweets.results[*].text}}"
    );
    assert_eq!(v["summary"]["errors"], 1);
}

#[test]
fn no_matching_pipeline_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.yaml"), "a: 1\n").unwrap();
    let o = odp_lsp(&["check", "."], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no pipeline files found"),
        "{}",
        stderr(&o)
    );
    let o = odp_lsp(&["check", "missing.odp.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.odp.yaml: no such file or directory"));
    let o = odp_lsp(&["check", "--format", "xml"], dir.path());
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn walks_directories_with_config_and_registry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("odp.toml"),
        "registry = \"reg.yaml\"\ninclude = [\"flows/*.yaml\"]\ncolour = \"red\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("reg.yaml"),
        "version: 1\nmethods:\n  - id: my.own.source\n    kind: source\n    service: crawler\n    summary: s\n    endpoint: /s\n    params: {type: object, properties: {q: {type: string}}, additionalProperties: false}\n    output: {type: object, properties: {items: {type: array, items: {type: string}}}}\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("flows")).unwrap();
    std::fs::write(
        root.join("flows/p.yaml"),
        "name: custom registry\nsources:\n  - name: s\n    method: my.own.source\n    params: {q: x}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("q.odp.yaml"),
        "name: bundled method\nsources:\n  - name: t\n    method: social.twitter.search\n    params: {query: x}\n",
    )
    .unwrap();
    let o = odp_lsp(&["check"], root);
    // The custom registry has no twitter method; the unknown key in odp.toml is a warning on stderr.
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("unknown key `colour`"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("unknown method `social.twitter.search`"),
        "{out}"
    );
    assert!(!out.contains("flows/p.yaml"), "{out}");
    assert!(out.contains("Checked 2 files"), "{out}");
    // --registry wins over odp.toml.
    let o = odp_lsp(&["check", "--registry", "bundled", "q.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // A broken registry path is a usage error.
    let o = odp_lsp(&["check", "--registry", "nope.yaml", "q.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.yaml"), "{}", stderr(&o));
}

#[test]
fn explain_prints_the_code_doc() {
    let o = odp_lsp(&["explain", "ODP102"], &repo());
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("## ODP102 unquoted-template (error)"),
        "{}",
        stdout(&o)
    );
    let o = odp_lsp(&["explain", "unused-source"], &repo());
    assert!(stdout(&o).contains("ODP500"));
    let o = odp_lsp(&["explain", "ODP999"], &repo());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn version_and_help() {
    let o = odp_lsp(&["--version"], &repo());
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("odp-lsp "));
    let o = odp_lsp(&["check", "--help"], &repo());
    assert!(stdout(&o).contains("--format"));
}
