//! `odp` as users run it: run on the built-in stubs, exit codes, inputs, event files, completions.

use std::process::{Command, Output};

mod common;
mod config_loader;
mod examples;
mod graph;
mod secrets;
mod service_config;

use common::{command_in as odp_command, odp, repo, text};

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
        stderr.contains("✓ tweets (social.twitter.search) done: 1 attempt"),
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
fn check_and_run_escape_control_characters_and_check_names_odd_paths() {
    let dir = tempfile::tempdir().unwrap();
    // A quoted key whose escapes decode to an escape sequence and `\r\n` followed by a workflow command.
    let file = dir.path().join("keys.odp.yaml");
    std::fs::write(
        &file,
        "name: control keys\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: ai\n      \"a\\e[31mRED\\r\\n::error file=evil.yaml::pwned\": 1\ntransforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params: {texts: \"{{tweets.results[*].text}}\"}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let quoted = "has no param `a\\u{1b}[31mRED\\r\\n::error file=evil.yaml::pwned`";
    let o = odp(&["check", file], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains(quoted), "{out}");
    assert!(!out.contains(['\u{1b}', '\r']), "{out:?}");
    let o = odp(&["run", file], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains(quoted), "{err}");
    assert!(!err.contains(['\u{1b}', '\r']), "{err:?}");
    assert!(!err.lines().any(|l| l.starts_with("::")), "{err}");
    // A path's control characters, in an error of `odp run`.
    let o = odp(&["run", "\u{1b}c\n::error::x.odp.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("error: cannot read \\u{1b}c\\n::error::x.odp.yaml: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // `odp check` says what a path that is no pipeline file is.
    let o = odp(&["check", "/dev/null"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "error: /dev/null is a character device, not a file or a directory\n"
    );
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

// ---- events: sink specs, lost events, the outbox, signals --------------------------------------------------------

/// Waits for a child at most `limit`; kills it (and fails) when it is still running then. Its piped output is read
/// meanwhile, so a child with much to say does not block on a full pipe.
fn wait_at_most(child: &mut std::process::Child, limit: std::time::Duration) -> Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes).unwrap();
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Output {
        status: child.wait().unwrap(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

#[test]
fn an_event_sink_spec_that_names_nothing_is_a_usage_error_in_run_and_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = repo().join("examples/news-brief.odp.yaml");
    let pipeline = pipeline.to_str().unwrap();
    let connection = dir.path().join("connection.json");
    std::fs::write(
        &connection,
        r#"{"ip": "127.0.0.1", "transport": "tcp", "shell_port": 0, "iopub_port": 0, "stdin_port": 0,
            "control_port": 0, "hb_port": 0, "key": "k", "signature_scheme": "hmac-sha256"}"#,
    )
    .unwrap();
    let connection = connection.to_str().unwrap();
    /// Arguments, environment, and the origin the message names.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (
            &["run", pipeline, "--events", "127.0.0.1:6379"],
            &[],
            "(from --events)",
        ),
        (
            &["run", pipeline],
            &[("ODP_REDIS_URL", "127.0.0.1:6379")],
            "(from ODP_REDIS_URL)",
        ),
        (
            &["kernel", "-f", connection, "--events", "127.0.0.1:6379"],
            &[],
            "(from --events)",
        ),
        (
            &["kernel", "-f", connection],
            &[("ODP_REDIS_URL", "127.0.0.1:6379")],
            "(from ODP_REDIS_URL)",
        ),
    ];
    for (args, envs, origin) in cases {
        // In a directory of its own, where a sink of that name would appear.
        let mut child = odp_command(args, envs, dir.path())
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let o = wait_at_most(&mut child, std::time::Duration::from_secs(10));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("`127.0.0.1:6379` {origin} names no event sink")),
            "{args:?}: {stderr}"
        );
        assert!(o.stdout.is_empty(), "nothing ran: {}", text(&o.stdout));
        assert!(!dir.path().join("127.0.0.1:6379").exists(), "{args:?}");
    }
}

#[test]
fn a_run_whose_events_cannot_be_written_does_not_end_0() {
    let o = odp(
        &[
            "run",
            "examples/news-brief.odp.yaml",
            "--events",
            "/dev/full",
        ],
        &[],
    );
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    // The result is still written, and says the run itself completed.
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(result["status"], "completed");
    let events = 3 + 2 * result["steps"].as_array().unwrap().len();
    assert!(
        stderr.contains(&format!(
            "error: {events} lifecycle events of the run could be neither delivered nor kept"
        )),
        "{stderr}"
    );
}

/// An event as an outbox line.
fn outbox_line(run: uuid::Uuid) -> (String, String) {
    let event = odp_exec::Event::new(run, "seeded", odp_exec::EventKind::RunStarted);
    (event.id.to_string(), serde_json::to_string(&event).unwrap())
}

/// `(event id, run id)` of every entry of the stream, in order.
fn stream_ids(url: &str) -> Vec<(String, String)> {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(odp_exec::redis_sink::STREAM_KEY)
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap()
            };
            (field("id"), field("run_id"))
        })
        .collect()
}

/// How often each id is in the stream.
fn id_counts(stream: &[(String, String)]) -> std::collections::HashMap<&str, usize> {
    let mut counts = std::collections::HashMap::new();
    for (id, _) in stream {
        *counts.entry(id.as_str()).or_insert(0) += 1;
    }
    counts
}

/// The number in `delivered N event(s)` on a flush's stderr.
fn delivered(stderr: &str) -> usize {
    let rest = stderr
        .split("delivered ")
        .nth(1)
        .unwrap_or_else(|| panic!("no `delivered` in {stderr}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_damaged_outbox_line_is_set_aside_and_every_other_event_delivered() {
    let redis = Redis::start();
    let url = format!("redis://127.0.0.1:{}/", redis.1);
    let state = tempfile::tempdir().unwrap();
    let outbox = state.path().join("outbox/events.jsonl");
    std::fs::create_dir_all(outbox.parent().unwrap()).unwrap();
    let run = uuid::Uuid::now_v7();
    let events: Vec<(String, String)> = (0..6).map(|_| outbox_line(run)).collect();
    let damaged = b"{\"id\": \"\xff broken\"}\n";
    let mut bytes = Vec::new();
    for (i, (_, line)) in events.iter().enumerate() {
        if i == 3 {
            bytes.extend_from_slice(damaged);
        }
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    std::fs::write(&outbox, &bytes).unwrap();

    let o = odp_command(
        &["events", "flush"],
        &[("ODP_REDIS_URL", &url)],
        state.path(),
    )
    .output()
    .unwrap();
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "lines were set aside: {stderr}");
    assert!(
        stderr.contains("line 4 is damaged (invalid UTF-8"),
        "{stderr}"
    );
    assert!(stderr.contains("events.jsonl.quarantine"), "{stderr}");
    assert_eq!(delivered(&stderr), 6, "{stderr}");
    let stream = stream_ids(&url);
    let ids: Vec<&str> = stream.iter().map(|(id, _)| id.as_str()).collect();
    let expected: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected, "every valid line, in order, once");
    assert!(!outbox.exists(), "the outbox is removed once all is done");
    let quarantine = std::fs::read(state.path().join("outbox/events.jsonl.quarantine")).unwrap();
    assert_eq!(quarantine, damaged);
}

/// Runs that keep their events in the outbox (their Redis is down) and flushes that deliver it (to a Redis that is
/// up), all at once on one state directory: the lock lets no line be delivered twice or dropped.
#[test]
fn concurrent_runs_and_flushes_deliver_every_event_exactly_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let redis = Redis::start();
    let live = format!("redis://127.0.0.1:{}/", redis.1);
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("redis://127.0.0.1:{dead_port}/");
    let state = tempfile::tempdir().unwrap();
    let outbox = state.path().join("outbox/events.jsonl");
    std::fs::create_dir_all(outbox.parent().unwrap()).unwrap();
    let seeded: Vec<(String, String)> =
        (0..13).map(|_| outbox_line(uuid::Uuid::now_v7())).collect();
    let text_of: String = seeded.iter().map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(&outbox, text_of).unwrap();

    let runs_done = AtomicBool::new(false);
    let (runs, flushed) = std::thread::scope(|scope| {
        let flushers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let mut total = 0;
                    loop {
                        let last = runs_done.load(Ordering::SeqCst);
                        let o = odp_command(
                            &["events", "flush"],
                            &[("ODP_REDIS_URL", &live)],
                            state.path(),
                        )
                        .output()
                        .unwrap();
                        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
                        total += delivered(&text(&o.stderr));
                        if last {
                            return total;
                        }
                    }
                })
            })
            .collect();
        let runners: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let o = odp_command(
                        &["run", "examples/news-brief.odp.yaml", "--events", &dead],
                        &[],
                        state.path(),
                    )
                    .output()
                    .unwrap();
                    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
                    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    (
                        result["run_id"].as_str().unwrap().to_string(),
                        3 + 2 * result["steps"].as_array().unwrap().len(),
                    )
                })
            })
            .collect();
        let runs: Vec<(String, usize)> = runners.into_iter().map(|r| r.join().unwrap()).collect();
        runs_done.store(true, Ordering::SeqCst);
        let flushed: usize = flushers.into_iter().map(|f| f.join().unwrap()).sum();
        (runs, flushed)
    });

    let stream = stream_ids(&live);
    let counts = id_counts(&stream);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "ids in the stream more than once: {twice:?}"
    );
    for (id, _) in &seeded {
        assert_eq!(counts.get(id.as_str()), Some(&1), "seeded {id}");
    }
    for (run_id, events) in &runs {
        let of_run = stream.iter().filter(|(_, r)| r == run_id).count();
        assert_eq!(of_run, *events, "every event of run {run_id}");
    }
    let all = seeded.len() + runs.iter().map(|(_, n)| n).sum::<usize>();
    assert_eq!(stream.len(), all);
    assert_eq!(flushed, all, "each line was delivered by one flush");
    assert!(!outbox.exists(), "nothing waits");
}

/// SIGTERM (containers, systemd) cancels like Ctrl-C: the calls in flight stop, `run.cancelled` is the last event,
/// the result is written, and the exit code says which signal it was.
#[test]
fn sigterm_and_ctrl_c_cancel_the_run_and_write_its_result() {
    // A service that accepts calls and never answers, so the run is in flight when the signal comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.jsonl");
        let output = dir.path().join("result.json");
        let mut child = odp_command(
            &[
                "run",
                "examples/news-brief.odp.yaml",
                "--events",
                events.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
            ],
            &[("ODP_CRAWLER_API_URL", &url), ("ODP_MODEL_API_URL", &url)],
            dir.path(),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        for _ in 0..500 {
            if std::fs::read_to_string(&events).is_ok_and(|t| t.contains("step.started")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let o = wait_at_most(&mut child, std::time::Duration::from_secs(10));
        assert_eq!(
            o.status.code(),
            Some(code),
            "SIG{signal}: {}",
            text(&o.stderr)
        );
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
        assert_eq!(result["status"], "cancelled", "SIG{signal}");
        let last = std::fs::read_to_string(&events)
            .unwrap()
            .lines()
            .last()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
        assert_eq!(last.unwrap()["kind"], "run.cancelled", "SIG{signal}");
    }
}
