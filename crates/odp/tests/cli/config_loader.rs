//! One configuration loader for every front end: the same directory with a broken `odp.toml` gives the same message
//! in `check`, `run`, `kernel`, `draft` and `stubs` (the language server's test is in odp-server), and every one of
//! them shows the registry's warnings.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{command, kernel_in, repo, text};

/// What the unified loader says about `registry = [` in `dir/odp.toml` (the language server says the same).
fn broken_config_message(dir: &Path) -> String {
    format!(
        "error: {}:1:13: unclosed array, expected `]`",
        dir.join("odp.toml").display()
    )
}

/// A directory holding a pipeline, with `toml` as its `odp.toml`; canonical, so that it is what the commands
/// started in it see as their current directory.
fn workspace(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("odp.toml"), toml).unwrap();
    std::fs::copy(
        repo().join("examples/ai-sentiment.odp.yaml"),
        root.join("flow.odp.yaml"),
    )
    .unwrap();
    (dir, root)
}

/// `odp ARGS` run to the end in `dir`, with no language model configured.
fn odp_in(dir: &Path, args: &[&str]) -> Output {
    let (mut cmd, _state) = command(args, &[]);
    cmd.current_dir(dir);
    for var in [
        "ODP_LLM_PROVIDER",
        "ODP_LLM_MODEL",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

/// A port nothing can listen on while the listener lives.
fn taken_port() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    (listener, port)
}

/// Every front end that runs as an `odp` command, by name, with what it printed on stderr and its exit code. Each
/// is stopped right after loading its configuration when that works: the kernel by an unusable service URL, the
/// stubs by a port already taken, drafts by having no model.
fn every_command(dir: &Path) -> Vec<(&'static str, Option<i32>, String)> {
    let mut out = Vec::new();
    let mut push = |name, o: Output| out.push((name, o.status.code(), text(&o.stderr)));
    push("check", odp_in(dir, &["check"]));
    push("run", odp_in(dir, &["run", "flow.odp.yaml"]));
    let o = kernel_in(dir, &["--crawler-url", "ftp://crawler"], &[]).expect("the kernel exits");
    push("kernel", o);
    push("draft", odp_in(dir, &["draft", "tweets about rust"]));
    let (_listener, port) = taken_port();
    push("stubs", odp_in(dir, &["stubs", "--port", &port]));
    out
}

#[test]
fn a_broken_odp_toml_gives_the_same_message_in_every_command() {
    let (_dir, root) = workspace("registry = [\n");
    let expected = broken_config_message(&root);
    for (name, code, stderr) in every_command(&root) {
        assert_eq!(code, Some(2), "odp {name}: {stderr}");
        assert!(
            stderr.lines().any(|l| l == expected),
            "odp {name} should say `{expected}`:\n{stderr}"
        );
    }
}

#[test]
fn every_command_shows_the_registry_warnings() {
    let (_dir, root) = workspace("registry = \"reg.yaml\"\n");
    std::fs::write(
        root.join("reg.yaml"),
        "version: 1\nmethods:\n  - id: my.own.source\n    kind: source\n    service: crawler\n    summary: s\n    endpoint: /s\n    params: {type: object}\n    output: dynamic\n  - id: 7\n",
    )
    .unwrap();
    let prefix = format!("warning: {}:10:", root.join("reg.yaml").display());
    for (name, _, stderr) in every_command(&root) {
        assert!(
            stderr.lines().any(|l| l.starts_with(&prefix)),
            "odp {name} should warn `{prefix}…`:\n{stderr}"
        );
    }
}

#[test]
fn stubs_take_a_registry_url_like_every_other_command() {
    // Nothing listens on the URL and nothing is cached: the same error as `odp run --registry URL` gives.
    let url = "http://127.0.0.1:9/registry.yaml";
    let (_dir, root) = workspace("");
    let stubs = odp_in(&root, &["stubs", "--registry", url]);
    let run = odp_in(&root, &["run", "flow.odp.yaml", "--registry", url]);
    assert_eq!(stubs.status.code(), Some(2), "{}", text(&stubs.stderr));
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    let message = format!("error: registry {url}: could not fetch it");
    for o in [&stubs, &run] {
        assert!(text(&o.stderr).contains(&message), "{}", text(&o.stderr));
    }
}
