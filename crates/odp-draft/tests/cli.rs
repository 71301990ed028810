//! `odp draft` in-process against the scripted stub: stdout, stderr and exit codes.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use clap::Parser;
use odp_draft::cli::{DraftArgs, Io, run};
use odp_stubs::{StubConfig, StubServer};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: DraftArgs,
}

/// A `Write` that keeps what it gets.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct Output {
    code: u8,
    stdout: String,
    stderr: String,
}

/// Runs `odp draft ARGS` in `dir` with exactly these environment variables.
fn odp_draft(dir: &Path, vars: &[(&str, String)], args: &[&str]) -> Output {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let mut argv = vec!["odp-draft"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let mut stdout = Sink::default();
    let err_sink = Sink::default();
    let stderr: Mutex<Box<dyn Write + Send>> = Mutex::new(Box::new(err_sink.clone()));
    let code = run(
        cli.args,
        Io {
            env: &lookup,
            cwd: dir.to_path_buf(),
            stdout: &mut stdout,
            stderr: &stderr,
            terminal: false,
            ctrl_c: false,
        },
    );
    Output {
        code,
        stdout: stdout.text(),
        stderr: err_sink.text(),
    }
}

const GOOD: &str = r#"{"name": "ai mood", "description": null, "inputs": [],
    "sources": [{"name": "tweets", "method": "social.twitter.search", "params": {"query": "ai"}}],
    "transforms": [{"name": "mood", "method": "nlp.sentiment.analyze", "params": {"texts": "{{tweets.results[*].text}}"}}]}"#;

fn stub(runtime: &tokio::runtime::Runtime) -> StubServer {
    runtime.block_on(odp_stubs::test_support::start_bundled(StubConfig::default()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_clean_draft_goes_to_stdout_and_exits_0() {
    let rt = runtime();
    let server = stub(&rt);
    server.script_chat(vec![GOOD.into()]);
    let dir = tempfile::tempdir().unwrap();
    let vars = [("OPENAI_BASE_URL", format!("{}/v1", server.base_url()))];
    let out = odp_draft(dir.path(), &vars, &["tweets about ai and their sentiment"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("name: ai mood\n"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("odp draft: asking gpt-4o-mini at http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("round 1: the draft checks clean"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("draft: 0 errors, 0 warnings after 1 round; methods: social.twitter.search, nlp.sentiment.analyze"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_draft_with_errors_exits_1_with_the_findings_on_stderr_and_o_writes_the_file() {
    let rt = runtime();
    let server = stub(&rt);
    let bad = GOOD.replace("[*].text", "[*].txt");
    server.script_chat(vec![bad.clone(), bad]);
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("OPENAI_BASE_URL", format!("{}/v1", server.base_url())),
        ("ODP_LLM_MODEL", "stub-model".to_string()),
    ];
    let out = odp_draft(
        dir.path(),
        &vars,
        &[
            "tweets and sentiment",
            "--rounds",
            "2",
            "-o",
            "flow.odp.yaml",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(dir.path().join("flow.odp.yaml")).unwrap();
    assert!(written.contains("[*].txt"));
    assert!(
        out.stderr.contains("error[ODP405/unknown-field]"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("flow.odp.yaml:"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("draft written to flow.odp.yaml: 1 error"),
        "{}",
        out.stderr
    );
    assert_eq!(server.chat().requests().len(), 2);
}

#[test]
fn configuration_and_server_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = odp_draft(dir.path(), &[], &["tweets"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no language model is configured"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = odp_draft(
        dir.path(),
        &[("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"))],
        &["tweets"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot reach the model server"),
        "{}",
        out.stderr
    );

    // odp.toml settings are used, and a key written there is refused.
    std::fs::write(
        dir.path().join("odp.toml"),
        "[draft]\napi-key = \"sk-oops\"\n",
    )
    .unwrap();
    let out = odp_draft(dir.path(), &[], &["tweets"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("API keys never go in odp.toml"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("sk-oops"), "{}", out.stderr);
}

#[test]
fn odp_toml_points_at_the_model_and_eval_reports() {
    let rt = runtime();
    let server = stub(&rt);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("odp.toml"),
        format!(
            "[draft]\nbase-url = \"{}/v1\"\nmodel = \"from-toml\"\n",
            server.base_url()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("eval.yaml"),
        "cases:\n  - request: tweets and their sentiment\n    methods: [social.twitter.search, nlp.sentiment.analyze]\n  - request: news about rust\n    methods: [news.newsapi.search]\n",
    )
    .unwrap();
    // The stub answers its fixed draft (Twitter and sentiment) when nothing is scripted.
    let out = odp_draft(dir.path(), &[], &["--eval", "eval.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("asking from-toml"), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("valid drafts: 2/2; right methods: 1/2; mean rounds: 1.00"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(missing news.newsapi.search)"),
        "{}",
        out.stdout
    );
    assert_eq!(server.chat().requests()[0].body["model"], "from-toml");

    let out = odp_draft(
        dir.path(),
        &[],
        &["--eval", "eval.yaml", "--retrieval-only"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("recall@8  1.000"), "{}", out.stdout);
    assert_eq!(
        server.chat().requests().len(),
        2,
        "no model call for retrieval only"
    );
}

/// The stub refuses the key and echoes it plainly, JSON-escaped and percent-encoded: `odp draft` exits 2 and shows
/// none of it, not even its first 8 characters.
#[test]
fn a_refused_key_shows_in_no_form() {
    let rt = runtime();
    let server = rt.block_on(odp_stubs::test_support::start_bundled(StubConfig {
        require_token: Some("the-right-key".into()),
        ..StubConfig::default()
    }));
    let key = "sk-proj/\"wrong\"+key-0123456789";
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("OPENAI_BASE_URL", format!("{}/v1", server.base_url())),
        ("OPENAI_API_KEY", key.to_string()),
    ];
    let out = odp_draft(dir.path(), &vars, &["tweets"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("Incorrect API key provided: [redacted]"),
        "{all}"
    );
    let json = serde_json::to_string(key).unwrap();
    let percent = "sk%2Dproj%2F%22wrong%22%2Bkey%2D0123456789";
    for form in [key, &json[1..json.len() - 1], percent, &key[..8]] {
        assert!(!all.contains(form), "`{form}` shows in: {all}");
    }
    assert!(server.chat().requests()[0].auth, "the key was sent");
}

/// Too short a key, or a base URL that would lose the endpoint path, is a configuration error (exit 2) before any
/// model is asked; the message names the variable, never the key.
#[test]
fn a_short_key_or_an_unusable_base_url_exits_2_before_asking() {
    let rt = runtime();
    let server = stub(&rt);
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}/v1", server.base_url());
    let out = odp_draft(
        dir.path(),
        &[
            ("OPENAI_BASE_URL", base.clone()),
            ("OPENAI_API_KEY", "k3y-x9".into()),
        ],
        &["tweets"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: OPENAI_API_KEY is shorter than 8 characters"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("k3y-x9"), "{}", out.stderr);
    for url in [
        format!("{base}?api-version=1"),
        format!("{base}#chat"),
        "ftp://127.0.0.1/v1".to_string(),
        "http://127.0.0.1:99999/v1".to_string(),
    ] {
        let out = odp_draft(dir.path(), &[("OPENAI_BASE_URL", url.clone())], &["tweets"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "OPENAI_BASE_URL: `{}` is not a usable base URL",
                match url.find(['?', '#']) {
                    Some(i) => format!("{}{}…", &url[..i], &url[i..=i]),
                    None => url.clone(),
                }
            )),
            "{}",
            out.stderr
        );
    }
    assert!(server.chat().requests().is_empty(), "no model was asked");
}
