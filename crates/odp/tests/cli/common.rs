//! What the `odp` integration tests share: running the binary with a clean environment.

#![allow(dead_code)] // Each test module uses its own share of these.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `odp` command in the repository root, with a state directory of its own and none of the machine's service,
/// Redis, registry or key settings.
pub fn command(args: &[&str], envs: &[(&str, &str)]) -> (Command, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let cmd = command_in(args, envs, state.path());
    (cmd, state)
}

/// [`command`] with a given state directory (runs and flushes that share an outbox).
pub fn command_in(args: &[&str], envs: &[(&str, &str)], state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odp"));
    cmd.args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("ODP_STATE_DIR", state);
    for var in [
        "ODP_CRAWLER_API_URL",
        "ODP_MODEL_API_URL",
        "ODP_REDIS_URL",
        "ODP_REGISTRY",
        "ODP_CRAWLER_API_KEY",
        "ODP_MODEL_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `odp ARGS` to the end (see [`command`]).
pub fn odp(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let (mut cmd, _state) = command(args, envs);
    cmd.output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Starts `odp kernel` with ARGS on a connection file of its own and waits for it to exit. A kernel that passed
/// its startup checks would serve until Jupyter stops it: after 60 s it is stopped and `None` is returned.
pub fn kernel(args: &[&str], envs: &[(&str, &str)]) -> Option<Output> {
    kernel_in(&repo(), args, envs)
}

/// [`kernel`] started in the directory `cwd`.
pub fn kernel_in(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Option<Output> {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let connection = dir.path().join("kernel.json");
    std::fs::write(
        &connection,
        r#"{"ip": "127.0.0.1", "transport": "tcp", "shell_port": 0, "iopub_port": 0, "stdin_port": 0,
            "control_port": 0, "hb_port": 0, "key": "k", "signature_scheme": "hmac-sha256"}"#,
    )
    .unwrap();
    let mut argv = vec!["kernel", "--connection-file", connection.to_str().unwrap()];
    argv.extend_from_slice(args);
    let (mut cmd, _state) = command(&argv, envs);
    cmd.current_dir(cwd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// Every form a server may quote `key` in (plain, JSON-escaped, percent-encoded), and its first 8 characters:
/// none of them may show.
pub fn forms_of(key: &str) -> Vec<String> {
    let json = serde_json::to_string(key).unwrap();
    let percent: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        key.to_string(),
        json[1..json.len() - 1].to_string(),
        percent,
        key[..8].to_string(),
    ]
}
