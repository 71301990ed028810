//! `odp-lsp fmt` as users and CI run it: what it writes, `--check` and `--diff`, exit codes, `[format]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn odp_lsp(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        .args(args)
        .current_dir(cwd)
        .env_remove("ODP_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("odp-lsp runs")
}

fn shown(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const UNFORMATTED: &str = "name: fmt-test\nsources:\n    - name: a      # the first\n      method: social.twitter.search\n      params:\n          query: {{inputs.q}}\n    - name: b\n      method: social.twitter.search\n      params: {query: x}\ninputs:\n  q: {type: string}\n";

#[test]
fn check_exits_1_when_a_file_would_change_and_fmt_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.odp.yaml");
    std::fs::write(&path, UNFORMATTED).unwrap();

    let o = odp_lsp(&["fmt", "--check", "."], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(
        shown(&o).contains("would reformat a.odp.yaml"),
        "{}",
        shown(&o)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), UNFORMATTED);

    let o = odp_lsp(&["fmt", "--diff", "a.odp.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    let diff = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        diff.contains("--- a/a.odp.yaml\n+++ b/a.odp.yaml\n"),
        "{diff}"
    );
    assert!(diff.contains("+      query: \"{{inputs.q}}\"\n"), "{diff}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), UNFORMATTED);

    let o = odp_lsp(&["fmt", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    assert!(shown(&o).contains("formatted a.odp.yaml"), "{}", shown(&o));
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        formatted,
        "name: fmt-test\nsources:\n  - name: a # the first\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.q}}\"\n\n  - name: b\n    method: social.twitter.search\n    params: { query: x }\ninputs:\n  q: { type: string }\n"
    );

    let o = odp_lsp(&["fmt", "--check", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
}

#[test]
fn the_format_section_of_odp_toml_reorders_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("odp.toml"),
        "[format]\nreorder-keys = true\n",
    )
    .unwrap();
    let path = dir.path().join("a.odp.yaml");
    std::fs::write(&path, UNFORMATTED).unwrap();
    let o = odp_lsp(&["fmt", "a.odp.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert!(
        formatted.starts_with("name: fmt-test\ninputs:\n  q: { type: string }\nsources:\n"),
        "{formatted}"
    );
}

#[test]
fn a_file_with_syntax_errors_is_left_alone_with_the_reason_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let name = "yaml-syntax.odp.yaml";
    std::fs::copy(
        repo().join("examples/broken").join(name),
        dir.path().join(name),
    )
    .unwrap();
    let before = std::fs::read_to_string(dir.path().join(name)).unwrap();
    let o = odp_lsp(&["fmt", "."], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(
        shown(&o).contains("yaml-syntax.odp.yaml: left unformatted: 24:14: "),
        "{}",
        shown(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(name)).unwrap(),
        before
    );
}

#[test]
fn no_pipeline_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = odp_lsp(&["fmt", "--check", "."], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(
        shown(&o).contains("no pipeline files found"),
        "{}",
        shown(&o)
    );
}
