//! `odp` as users run it: run on the built-in stubs, exit codes, inputs, event files, completions.

use std::process::Command;

mod common;
use common::{odp, text};

#[test]
fn runs_an_example_on_the_built_in_stubs() {
    let o = odp(
        &[
            "run",
            "examples/ai-sentiment.odp.yaml",
            "--set",
            "query=rust",
            "--set",
            "limit=5",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(result["status"], "completed");
    assert_eq!(result["stubbed"], true);
    let tweets = result["results"]["tweets"]["results"].as_array().unwrap();
    assert_eq!(
        tweets.len(),
        5,
        "--set limit=5 reached the method as an integer"
    );
    assert!(
        tweets[0]["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("rust")
    );
    // The sentiment transform scored exactly the tweets' texts.
    assert_eq!(
        result["results"]["tweet_sentiment"]["results"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let stderr = text(&o.stderr);
    assert!(stderr.contains("using the built-in stubs"), "{stderr}");
    assert!(
        stderr.contains("✓ tweets (social.twitter.search) 1 attempt"),
        "{stderr}"
    );
}

#[test]
fn refuses_a_pipeline_with_errors() {
    let o = odp(&["run", "examples/broken/unknown-method.odp.yaml"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let stderr = text(&o.stderr);
    assert!(stderr.contains("error[ODP300/unknown-method]"), "{stderr}");
    assert!(stderr.contains("nothing ran"), "{stderr}");
}

#[test]
fn a_configured_but_unreachable_service_is_an_error_not_a_fallback() {
    // Port 9 (discard) on loopback: nothing listens there.
    let o = odp(
        &["run", "examples/ai-sentiment.odp.yaml"],
        &[
            ("ODP_CRAWLER_API_URL", "http://127.0.0.1:9"),
            ("ODP_MODEL_API_URL", "http://127.0.0.1:9"),
            ("ODP_CRAWLER_API_KEY", "sk-secret-value"),
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(result["status"], "failed");
    assert_eq!(result["stubbed"], false);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(all.contains("cannot reach the crawler service"), "{all}");
    assert!(!all.contains("sk-secret-value"), "secrets never appear");
    assert!(!all.contains("built-in stubs"));
}

#[test]
fn bad_inputs_and_missing_services_are_usage_errors() {
    let o = odp(
        &[
            "run",
            "examples/ai-sentiment.odp.yaml",
            "--set",
            "limit=many",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--set limit: expected an integer"),
        "{}",
        text(&o.stderr)
    );
    let o = odp(
        &["run", "examples/ai-sentiment.odp.yaml", "--set", "nope=1"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("unknown input `nope`"),
        "{}",
        text(&o.stderr)
    );
    // Only one service configured: the other one's steps cannot run.
    let o = odp(
        &["run", "examples/ai-sentiment.odp.yaml"],
        &[("ODP_CRAWLER_API_URL", "http://127.0.0.1:9")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no URL is set: use ODP_MODEL_API_URL"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn events_to_a_file_and_the_result_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let output = dir.path().join("result.json");
    let o = odp(
        &[
            "run",
            "examples/news-brief.odp.yaml",
            "--events",
            events.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.first().unwrap()["kind"], "run.submitted");
    assert_eq!(lines.last().unwrap()["kind"], "run.completed");
    assert!(lines.iter().all(|e| e["run_id"] == result["run_id"]));
    let completed = lines
        .iter()
        .filter(|e| e["kind"] == "step.completed")
        .count();
    assert_eq!(completed, result["steps"].as_array().unwrap().len());
}

#[test]
fn completions_and_help() {
    let o = odp(&["completions", "bash"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains("complete -F _odp"),
        "{}",
        text(&o.stdout)
    );
    let o = odp(&[], &[]);
    assert!(
        text(&o.stderr).contains("Usage: odp"),
        "bare odp prints help"
    );
    let o = odp(&["--version"], &[]);
    assert!(text(&o.stdout).starts_with("odp "));
}

/// A redis-server of our own on a free loopback port, killed on drop.
struct Redis(std::process::Child, u16);

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (the test command installs it)");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Redis(child, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn events_go_to_redis_and_odp_events_follows_a_run() {
    let redis = Redis::start();
    let url = format!("redis://127.0.0.1:{}/", redis.1);
    let o = odp(
        &["run", "examples/news-brief.odp.yaml", "--events", &url],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let run_id = result["run_id"].as_str().unwrap();
    // Reading from the start, `odp events --run` prints the run's events and stops after its final one.
    let o = odp(
        &["events", "--from-start", "--run", run_id],
        &[("ODP_REDIS_URL", &url)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let events: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["kind"], "run.submitted");
    assert_eq!(events.last().unwrap()["kind"], "run.completed");
    assert!(events.iter().all(|e| e["run_id"] == run_id));
    // Nothing waits in the outbox, so flushing delivers nothing.
    let o = odp(&["events", "flush"], &[("ODP_REDIS_URL", &url)]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stderr).contains("delivered 0 events"),
        "{}",
        text(&o.stderr)
    );
}
