//! The Temporal engine through the `odp` binary: `odp worker` processes, `odp run --engine temporal`, `--detach`
//! and `odp runs show`, and what survives a killed worker or a killed client.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use odp_stubs::Fault;
use serde_json::Value;
use uuid::Uuid;

use crate::harness::{DevServer, free_port, stubs};

/// `odp` with a clean environment, pointed at a dev server and a task queue.
fn odp(server: &DevServer, task_queue: &str, state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odp"));
    cmd.args(args)
        .current_dir(state)
        .env("NO_COLOR", "1")
        .env("ODP_STATE_DIR", state)
        .env("ODP_TEMPORAL_ADDRESS", &server.address)
        .env("ODP_TEMPORAL_TASK_QUEUE", task_queue);
    for var in [
        "ODP_CRAWLER_API_URL",
        "ODP_MODEL_API_URL",
        "ODP_REDIS_URL",
        "ODP_REGISTRY",
        "ODP_CRAWLER_API_KEY",
        "ODP_MODEL_API_KEY",
        "ODP_ENGINE",
        "ODP_RESULT_STORE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn worker(server: &DevServer, task_queue: &str, state: &Path, stubs_url: &str) -> Child {
    worker_with(server, task_queue, state, stubs_url, |_| {})
}

fn worker_with(
    server: &DevServer,
    task_queue: &str,
    state: &Path,
    stubs_url: &str,
    more: impl FnOnce(&mut Command),
) -> Child {
    let mut cmd = odp(server, task_queue, state, &["worker", "--events", "none"]);
    more(&mut cmd);
    cmd.args(["--crawler-url", stubs_url, "--model-url", stubs_url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SLOW: &str = r#"name: slow middle
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
    timeout: 2m
  - name: summary
    method: nlp.summary.generate
    params:
      texts: "{{tweets.results[*].text}}"
"#;

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker killed (SIGKILL) in the middle of a step: a new worker finishes the run, and the steps that had
/// finished are not called again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_a_killed_worker() {
    let server = tokio::task::spawn_blocking(DevServer::start).await.unwrap();
    let stubs = stubs().await;
    stubs
        .faults()
        .add(Fault::latency(Duration::from_secs(3)).on("nlp.sentiment.analyze"))
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("slow.odp.yaml"), SLOW).unwrap();
    let queue = format!("odp-test-{}", Uuid::new_v4());
    let mut first = worker(&server, &queue, state.path(), &stubs.base_url());
    let run_id = Uuid::now_v7().to_string();
    let out = odp(
        &server,
        &queue,
        state.path(),
        &[
            "run",
            "slow.odp.yaml",
            "--engine",
            "temporal",
            "--detach",
            "--run-id",
            &run_id,
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let started: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(started["run_id"], run_id.as_str());

    wait_for("mood started", Duration::from_secs(30), || {
        stubs.calls("nlp.sentiment.analyze") >= 1
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = worker(&server, &queue, state.path(), &stubs.base_url());

    let shown = odp(&server, &queue, state.path(), &["runs", "show", &run_id])
        .output()
        .unwrap();
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{}\n{}",
        text(&shown.stdout),
        text(&shown.stderr)
    );
    let result: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(result["status"], "completed", "{result}");
    let names: Vec<&str> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tweets", "mood", "summary"]);
    assert!(result["results"]["mood"].is_object(), "{result}");
    // The source that had finished ran once; the step the dead worker held ran again on the new one.
    assert_eq!(stubs.calls("social.twitter.search"), 1);
    assert!(stubs.calls("nlp.sentiment.analyze") >= 2);
    assert_eq!(stubs.calls("nlp.summary.generate"), 1);
}

/// The `odp run` client killed mid-run: the run goes on, and `odp runs show` gets its result. Ctrl-C instead
/// cancels the workflow, and the running step hears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_client_leaves_the_run_going_and_ctrl_c_cancels_it() {
    let server = tokio::task::spawn_blocking(DevServer::start).await.unwrap();
    let stubs = stubs().await;
    stubs
        .faults()
        .add(
            Fault::latency(Duration::from_secs(2))
                .on("nlp.sentiment.analyze")
                .times(1),
        )
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("slow.odp.yaml"), SLOW).unwrap();
    let queue = format!("odp-test-{}", Uuid::new_v4());
    let mut worker = worker(&server, &queue, state.path(), &stubs.base_url());

    let run_id = Uuid::now_v7().to_string();
    let mut client = odp(
        &server,
        &queue,
        state.path(),
        &[
            "run",
            "slow.odp.yaml",
            "--engine",
            "temporal",
            "--run-id",
            &run_id,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for("mood started", Duration::from_secs(30), || {
        stubs.calls("nlp.sentiment.analyze") >= 1
    })
    .await;
    client.kill().unwrap();
    client.wait().unwrap();
    let shown: Output = odp(&server, &queue, state.path(), &["runs", "show", &run_id])
        .output()
        .unwrap();
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    let result: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(result["status"], "completed", "{result}");

    // Ctrl-C: exit 130, the result says cancelled, within seconds although the step would take a minute.
    stubs
        .faults()
        .add(
            Fault::latency(Duration::from_secs(60))
                .on("nlp.sentiment.analyze")
                .times(1),
        )
        .unwrap();
    let calls = stubs.calls("nlp.sentiment.analyze");
    let client = odp(
        &server,
        &queue,
        state.path(),
        &["run", "slow.odp.yaml", "--engine", "temporal"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for("mood started again", Duration::from_secs(30), || {
        stubs.calls("nlp.sentiment.analyze") > calls
    })
    .await;
    let interrupted = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &client.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = client.wait_with_output().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(15),
        "{:?}\n{}",
        interrupted.elapsed(),
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], "cancelled", "{result}");
    let _ = worker.kill();
    let _ = worker.wait();
}

/// `[engine] kind = "temporal"` and `[engine.temporal]` in `odp.toml`: `odp run` without flags or variables runs on
/// the cluster the file names; `--engine local` still wins over the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odp_toml_chooses_the_temporal_engine_and_a_flag_wins() {
    let server = tokio::task::spawn_blocking(DevServer::start).await.unwrap();
    let stubs = stubs().await;
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("slow.odp.yaml"), SLOW).unwrap();
    let queue = format!("odp-test-{}", Uuid::new_v4());
    std::fs::write(
        state.path().join("odp.toml"),
        format!(
            "[engine]\nkind = \"temporal\"\n\n[engine.temporal]\naddress = \"{}\"\ntask-queue = \"{queue}\"\n",
            server.address
        ),
    )
    .unwrap();
    let mut worker = worker(&server, &queue, state.path(), &stubs.base_url());
    let run_id = Uuid::now_v7();
    let out = odp(&server, &queue, state.path(), &["run", "slow.odp.yaml"])
        .args(["--run-id", &run_id.to_string()])
        .env_remove("ODP_TEMPORAL_ADDRESS")
        .env_remove("ODP_TEMPORAL_TASK_QUEUE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], "completed", "{result}");
    // The worker called the test's stubs (a local run would have served the built-in ones, `stubbed: true`), and
    // the run is a workflow on the server.
    assert!(result.get("stubbed").is_none(), "{result}");
    assert_eq!(stubs.calls("social.twitter.search"), 1);
    let history = server.history(&odp_temporal::workflow_id(run_id));
    assert!(
        history
            .iter()
            .any(|e| e.get("workflowExecutionCompletedEventAttributes").is_some()),
        "{history:?}"
    );

    let out = odp(&server, &queue, state.path(), &["run", "slow.odp.yaml"])
        .args(["--engine", "local"])
        .env_remove("ODP_TEMPORAL_ADDRESS")
        .env_remove("ODP_TEMPORAL_TASK_QUEUE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["stubbed"], true, "{result}");
    assert_eq!(stubs.calls("social.twitter.search"), 1);
    let _ = worker.kill();
    let _ = worker.wait();
}

/// `GET /metrics` of a worker's metrics address: the body.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of the sample of `name` with these labels (among others).
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

const RETRIED: &str = r#"name: retried
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
    retry:
      max_attempts: 3
      initial_interval: 100ms
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
"#;

/// `odp worker --metrics-addr`: Prometheus text on `/metrics`, with odp's step counters and durations by method and
/// outcome, and the SDK's own metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_serves_step_and_sdk_metrics() {
    let server = tokio::task::spawn_blocking(DevServer::start).await.unwrap();
    let stubs = stubs().await;
    stubs
        .faults()
        .add(Fault::status(503).on("social.twitter.search").times(1))
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("retried.odp.yaml"), RETRIED).unwrap();
    let queue = format!("odp-test-{}", Uuid::new_v4());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut worker = worker_with(&server, &queue, state.path(), &stubs.base_url(), |c| {
        c.args(["--metrics-addr", &addr]);
    });
    let out = odp(
        &server,
        &queue,
        state.path(),
        &["run", "retried.odp.yaml", "--engine", "temporal"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let metrics = tokio::task::spawn_blocking(move || scrape(&addr))
        .await
        .unwrap();
    let _ = worker.kill();
    let _ = worker.wait();

    let search = ("method", "social.twitter.search");
    let mood = ("method", "nlp.sentiment.analyze");
    let attempts = "odp_step_attempts_total";
    assert_eq!(
        sample(&metrics, attempts, &[search, ("outcome", "retrying")]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, attempts, &[search, ("outcome", "completed")]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, attempts, &[mood, ("outcome", "completed")]),
        Some(1.0),
        "{metrics}"
    );
    // A step ends once: the retried attempt ended none.
    let steps = "odp_steps_total";
    assert_eq!(
        sample(&metrics, steps, &[search, ("outcome", "completed")]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, steps, &[search, ("outcome", "retrying")]),
        None,
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, steps, &[mood, ("outcome", "completed")]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "odp_step_duration_milliseconds_count",
            &[search, ("outcome", "retrying")]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "odp_step_duration_milliseconds_bucket",
            &[mood, ("outcome", "completed"), ("le", "+Inf")]
        ),
        Some(1.0),
        "{metrics}"
    );
    // The SDK's own: the step activities' execution latency (three attempts).
    assert_eq!(
        sample(
            &metrics,
            "temporal_activity_execution_latency_count",
            &[("activity_type", "odp.step.v1")]
        ),
        Some(3.0),
        "{metrics}"
    );
}

/// A source returning about 3 MB of JSON (over Temporal's 2 MiB payload limit) and a transform reading it.
const BIG: &str = r#"name: big result
sources:
  - name: blob
    method: data.custom.transform
    params:
      input: {}
      expression: '{blob: [range(30000)] | map("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")}'
transforms:
  - name: count
    method: data.custom.transform
    params:
      input: "{{blob}}"
      expression: '{n: (.blob | length), first: .blob[0]}'
"#;

/// A step result over the payload limit, with `--result-store` on the worker and the client: it is kept out of band
/// (the history carries a reference), `odp run` prints it whole, and the next step's template reads it. Without a
/// store, the step fails naming itself, the size and the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_over_the_payload_limit_is_kept_out_of_band_in_the_result_store() {
    let server = tokio::task::spawn_blocking(DevServer::start).await.unwrap();
    let stubs = stubs().await;
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("big.odp.yaml"), BIG).unwrap();
    let store = tempfile::tempdir().unwrap();
    let run = |queue: &str, with_store: bool| {
        let mut cmd = odp(
            &server,
            queue,
            state.path(),
            &["run", "big.odp.yaml", "--engine", "temporal"],
        );
        if with_store {
            cmd.env("ODP_RESULT_STORE", store.path());
        }
        let run_id = Uuid::now_v7();
        cmd.args(["--run-id", &run_id.to_string()]);
        (run_id, cmd.output().unwrap())
    };

    let queue = format!("odp-test-{}", Uuid::new_v4());
    let mut with_store = worker_with(&server, &queue, state.path(), &stubs.base_url(), |c| {
        c.args(["--result-store".as_ref(), store.path().as_os_str()]);
    });
    let (run_id, out) = run(&queue, true);
    let _ = with_store.kill();
    let _ = with_store.wait();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["status"],
        "completed",
        "{}",
        &text(&out.stdout)[..2000.min(out.stdout.len())]
    );
    let blob = result["results"]["blob"]["blob"].as_array().unwrap();
    assert_eq!(blob.len(), 30_000);
    let xs = "x".repeat(98);
    assert!(blob.iter().all(|s| s.as_str() == Some(xs.as_str())));
    assert_eq!(result["results"]["count"]["n"], 30_000);
    assert_eq!(result["results"]["count"]["first"], blob[0]);
    // The history carries a reference to the stored result, not the result.
    let history =
        serde_json::to_string(&server.history(&odp_temporal::workflow_id(run_id))).unwrap();
    assert!(
        history.len() < 1 << 20,
        "the history is {} bytes",
        history.len()
    );
    let stored: Vec<_> = std::fs::read_dir(store.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(std::fs::metadata(&stored[0]).unwrap().len() > 3_000_000);

    // Without a store: the step fails by name, size and limit (the 2 MiB payload limit less 64 KiB).
    let queue = format!("odp-test-{}", Uuid::new_v4());
    let mut without = worker(&server, &queue, state.path(), &stubs.base_url());
    let (_, out) = run(&queue, false);
    let _ = without.kill();
    let _ = without.wait();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = result["error"].as_str().unwrap_or_default();
    assert!(error.contains("`blob`"), "{error}");
    assert!(
        error.contains(&odp_temporal::activity::MAX_RESULT_BYTES.to_string()),
        "{error}"
    );
    assert!(
        error.contains("bytes") && error.contains("--result-store"),
        "{error}"
    );
}
