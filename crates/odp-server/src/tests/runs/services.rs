//! Runs against services the tests script on loopback (a service that goes away mid-run, keys echoed back by
//! failing services, a step renamed while it runs, a run's request cancelled), and on the engine a workspace names.

use super::*;

/// Loopback HTTP services the tests script, on free ports: one request per connection, answered with
/// `Connection: close`.
mod loopback {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::{Condvar, Mutex};

    /// One request: its head (request line and headers) and its body.
    pub(super) struct Request {
        pub(super) head: String,
        pub(super) body: Vec<u8>,
    }

    impl Request {
        pub(super) fn path(&self) -> &str {
            self.head.split_whitespace().nth(1).unwrap_or("")
        }

        pub(super) fn header(&self, name: &str) -> Option<&str> {
            self.head.lines().skip(1).find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
            })
        }
    }

    /// Reads one request (its head, then `Content-Length` bytes of body).
    pub(super) fn read(stream: &mut TcpStream) -> std::io::Result<Request> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let mut request = Request {
            head: String::from_utf8_lossy(&buf[..head_end]).into_owned(),
            body: buf[head_end + 4..].to_vec(),
        };
        let len: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while request.body.len() < len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            request.body.extend_from_slice(&chunk[..n]);
        }
        Ok(request)
    }

    pub(super) fn respond(stream: &mut TcpStream, status: &str, body: &str) {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.flush();
    }

    /// Holds calls until the test opens it.
    #[derive(Default)]
    pub(super) struct Gate {
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl Gate {
        pub(super) fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        pub(super) fn wait(&self) {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
        }
    }
}

const TWEETS: &str = r#"{"results": [{"id": "1", "text": "rust is fun"}], "count": 1}"#;
const MOODS: &str = r#"{"results": [{"label": "positive", "score": 0.9}]}"#;

/// A folder whose `odp.toml` sends the crawler and model calls to these base URLs, and the URI of a pipeline in it.
fn services_workspace(crawler_url: &str, model_url: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("odp.toml"),
        format!("[services]\ncrawler-url = \"{crawler_url}\"\nmodel-url = \"{model_url}\"\n"),
    )
    .unwrap();
    let uri = format!("file://{}/flow.odp.yaml", root.display());
    (dir, uri)
}

/// The position of step `name`'s name in `text`.
fn step_name(text: &str, name: &str) -> Value {
    let needle = format!("- name: {name}\n");
    let offset = text.find(&needle).expect("the step") + "- name: ".len();
    let line = text[..offset].matches('\n').count();
    let character = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": character})
}

fn hover_at(client: &mut Client, uri: &str, position: Value) -> String {
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": position}),
    );
    hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The steps of a run's answer, as `name status`.
fn step_statuses(run: &Value) -> Vec<String> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["name"].as_str().unwrap(),
                s["status"].as_str().unwrap()
            )
        })
        .collect()
}

const TWO_SERVICES: &str = r#"name: two services
sources:
  - name: tweets
    method: social.twitter.search
    retry: {max_attempts: 2, initial_interval: 20ms}
    params:
      query: rust
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    retry: {max_attempts: 2, initial_interval: 20ms}
    params:
      texts: "{{tweets.results[*].text}}"
"#;

/// A service that goes away mid-run: the crawler call is answered, then the model service reads its call, stops
/// listening and drops the connection without an answer. The run answers `failed`, naming the step, and the server
/// serves on: hovers answer, and the next run fails as clearly on the source that now finds nobody.
#[test]
fn a_service_that_goes_away_mid_run_fails_its_step_by_name_and_the_server_lives_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (gone, went) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let request = loopback::read(&mut stream).unwrap();
        loopback::respond(&mut stream, "200 OK", TWEETS);
        let first = request.path().to_string();
        let (mut stream, _) = listener.accept().unwrap();
        let request = loopback::read(&mut stream).unwrap();
        // Gone: no more connections (before this one closes, so that no retry can find the port open), and this
        // one closes unanswered.
        drop(listener);
        drop(stream);
        let _ = gone.send((first, request.path().to_string()));
    });
    let (_dir, uri) = services_workspace(&url, &url);
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&uri, TWO_SERVICES);
    client.diagnostics(&uri, 1);

    let run = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    let paths = went.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(
        paths,
        (
            "/v1/social/twitter/search".to_string(),
            "/v1/nlp/sentiment/analyze".to_string()
        )
    );
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["stubbed"], false, "{run}");
    assert_eq!(step_statuses(&run), ["tweets completed", "mood failed"]);
    let error = run["error"].as_str().unwrap();
    assert!(
        error.starts_with("step `mood` failed: cannot reach the model service: "),
        "{error}"
    );
    assert!(error.ends_with("(after 2 attempts)"), "{error}");
    assert_eq!(run["steps"][1]["attempts"], 2, "{run}");
    let progress = progress(&mut client);
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("✗ mood (nlp.sentiment.analyze) failed: 2 attempts")),
        "{progress:?}"
    );
    assert_eq!(
        progress.last().map(String::as_str),
        Some("end"),
        "{progress:?}"
    );

    // The server lives on: the results show, and the failure says which service was unreachable.
    let shown = hints_in(&mut client, &uri);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].starts_with(" ✓ 1 result ·"), "{shown:?}");
    assert!(
        shown[1].starts_with(" ✗ cannot reach the model service: "),
        "{shown:?}"
    );
    let hover = hover_at(&mut client, &uri, step_name(TWO_SERVICES, "mood"));
    assert!(
        hover.contains("last run: ✗ cannot reach the model service"),
        "{hover}"
    );
    // The next run finds nobody listening: its source fails, by name.
    let run = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(step_statuses(&run), ["tweets failed", "mood skipped"]);
    let error = run["error"].as_str().unwrap();
    assert!(
        error.starts_with("step `tweets` failed: cannot reach the crawler service: "),
        "{error}"
    );
    client.shutdown();
}

/// Set in the child process [`in_a_child_process`] starts.
const CHILD: &str = "ODP_SERVER_TEST_CHILD";

/// Runs this module's test `name` again in a child process of the test binary, with `envs` as its environment's
/// service settings, and asserts that it passed; returns false in the child, which then runs the test's body.
///
/// The server reads API keys from its process environment (and ignores it under `initializationOptions.testing`).
/// `std::env::set_var` is unsafe (forbidden in this workspace) and would race with the tests that run on other
/// threads under `cargo test` (nextest runs each test in a process of its own, `cargo test` does not): the child
/// gets its environment when it starts instead, under both.
fn in_a_child_process(name: &str, envs: &[(&str, &str)]) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return false;
    }
    let test = format!("{}::{name}", module_path!().split_once("::").unwrap().1);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    // None of the machine's service, Redis or registry settings.
    for var in [
        "ODP_CRAWLER_API_URL",
        "ODP_MODEL_API_URL",
        "ODP_CRAWLER_API_KEY",
        "ODP_MODEL_API_KEY",
        "ODP_REDIS_URL",
        "ODP_REGISTRY",
    ] {
        child.env_remove(var);
    }
    child.envs(envs.iter().copied());
    let out = child.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
    true
}

/// Every string in a JSON value (decoded: a quote in a key is a quote), and the value as JSON text.
fn all_text(value: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                out.push_str(k);
                out.push('\n');
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut out = value.to_string();
    out.push('\n');
    walk(value, &mut out);
    out
}

/// A key as a service may quote it: plainly, JSON-escaped, percent-encoded, and its first 12 characters.
fn forms_of(key: &str) -> Vec<String> {
    let json = serde_json::to_string(key).unwrap();
    vec![
        key.to_string(),
        json[1..json.len() - 1].to_string(),
        percent_encoded(key),
        key[..12].to_string(),
    ]
}

fn percent_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const CRAWLER_KEY: &str = r#"sk-lsp/"echo"+key-0123456789"#;
const MODEL_KEY: &str = "model/key+9876543210";

/// Keys from the environment the server reads, quoted back by failing services — the crawler refuses with 401 and
/// the header it got, the model service fails with 500 and the key JSON-escaped and percent-encoded — show nowhere
/// the editor sees: the command's answers, `$/progress`, `window/logMessage`, hovers, inlay hints and
/// `odp.showResult`. Where the quotes were, `[redacted]` shows.
#[test]
fn a_key_echoed_by_a_failing_service_shows_nowhere_in_the_editor() {
    if in_a_child_process(
        "a_key_echoed_by_a_failing_service_shows_nowhere_in_the_editor",
        &[
            ("ODP_CRAWLER_API_KEY", CRAWLER_KEY),
            ("ODP_MODEL_API_KEY", MODEL_KEY),
        ],
    ) {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(request) = loopback::read(&mut stream) else {
                continue;
            };
            let auth = request.header("authorization").unwrap_or("").to_string();
            let key = auth.strip_prefix("Bearer ").unwrap_or(&auth);
            if request.path().starts_with("/crawler/") {
                let body = json!({"error": format!("invalid token: {auth}")}).to_string();
                loopback::respond(&mut stream, "401 Unauthorized", &body);
            } else {
                // Not JSON: the whole body is the message.
                let json = serde_json::to_string(key).unwrap();
                let body = format!(
                    "upstream failed for token {json} ({})",
                    percent_encoded(key)
                );
                loopback::respond(&mut stream, "500 Internal Server Error", &body);
            }
            let _ = sent.send((request.path().to_string(), auth));
        }
    });
    const TEXT: &str = r#"name: echoed keys
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    retry: {max_attempts: 2, initial_interval: 20ms}
    params:
      texts: ["a text of my own"]
"#;
    let (_dir, uri) = services_workspace(&format!("{url}/crawler"), &format!("{url}/model"));
    // Not `testing`: the server reads its environment.
    let mut client = Client::start(json!({}), false);
    client.open(&uri, TEXT);
    client.diagnostics(&uri, 1);

    let mut surfaces: Vec<(String, Value)> = Vec::new();
    // The source is refused (not retried); the transform, which reads no source, fails twice on its own.
    let run = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    assert_eq!(step_statuses(&run), ["tweets failed", "mood skipped"]);
    surfaces.push(("the answer of odp.runPipeline".into(), run));
    let run = command(&mut client, "odp.runStep", json!([uri, "mood"])).unwrap();
    assert_eq!(step_statuses(&run), ["mood failed"]);
    assert_eq!(run["steps"][0]["attempts"], 2, "{run}");
    surfaces.push(("the answer of odp.runStep".into(), run));
    for step in ["tweets", "mood"] {
        let hover = hover_at(&mut client, &uri, step_name(TEXT, step));
        surfaces.push((format!("the hover on {step}"), json!(hover)));
        let shown = command(&mut client, "odp.showResult", json!([uri, step])).unwrap();
        surfaces.push((format!("odp.showResult of {step}"), shown));
    }
    surfaces.push(("the inlay hints".into(), json!(hints_in(&mut client, &uri))));
    let notifications: Vec<Notification> = client.pending.drain(..).collect();
    for method in ["$/progress", "window/logMessage"] {
        let params: Vec<&Value> = notifications
            .iter()
            .filter(|n| n.method == method)
            .map(|n| &n.params)
            .collect();
        surfaces.push((method.into(), json!(params)));
    }
    let everything: Vec<Value> = notifications
        .iter()
        .map(|n| json!({"method": n.method, "params": n.params}))
        .collect();
    surfaces.push(("any notification".into(), json!(everything)));

    // Each service got its key, and quoted it back in every form.
    let calls: Vec<(String, String)> = received.try_iter().collect();
    assert!(
        calls.contains(&(
            "/crawler/v1/social/twitter/search".into(),
            format!("Bearer {CRAWLER_KEY}")
        )),
        "{calls:?}"
    );
    assert!(
        calls.contains(&(
            "/model/v1/nlp/sentiment/analyze".into(),
            format!("Bearer {MODEL_KEY}")
        )),
        "{calls:?}"
    );
    for (surface, value) in &surfaces {
        let text = all_text(value);
        for form in forms_of(CRAWLER_KEY).iter().chain(&forms_of(MODEL_KEY)) {
            assert!(
                !text.contains(form.as_str()),
                "{surface} shows `{form}`: {text}"
            );
        }
        // Where the services quoted a key, the surface shows the quote redacted.
        assert!(
            text.contains("[redacted]"),
            "{surface} shows no failure: {text}"
        );
    }
    client.shutdown();
}

/// A loopback crawler and model service: crawler calls are announced on the channel returned and answered when the
/// test opens the gate (a call whose caller gave up is dropped then); model calls are answered at once.
fn held_services() -> (String, std::sync::mpsc::Receiver<()>, Arc<loopback::Gate>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived, arrivals) = std::sync::mpsc::channel();
    let gate = Arc::new(loopback::Gate::default());
    let held = gate.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (arrived, gate) = (arrived.clone(), held.clone());
            std::thread::spawn(move || {
                let Ok(request) = loopback::read(&mut stream) else {
                    return;
                };
                if request.path() == "/v1/social/twitter/search" {
                    let _ = arrived.send(());
                    gate.wait();
                    loopback::respond(&mut stream, "200 OK", TWEETS);
                } else {
                    loopback::respond(&mut stream, "200 OK", MOODS);
                }
            });
        }
    });
    (url, arrivals, gate)
}

/// A step renamed while its run is in flight: the result arrives for a name the document no longer has. Nothing
/// crashes, no result shows under the renamed step (or any other step as current), and the server serves on.
#[test]
fn a_step_renamed_while_its_run_is_in_flight_gets_no_result_shown_under_another_name() {
    let (url, arrivals, gate) = held_services();
    let (_dir, uri) = services_workspace(&url, &url);
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&uri, TWO_SERVICES);
    client.diagnostics(&uri, 1);
    let run = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.runPipeline", "arguments": [uri]}),
    );
    arrivals
        .recv_timeout(Duration::from_secs(20))
        .expect("the source's call arrives");
    // `tweets` becomes `posts` (its reader follows) while its call is held.
    let renamed = TWO_SERVICES.replace("tweets", "posts");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": renamed}]}),
    );
    assert!(client.diagnostics(&uri, 2).is_empty());
    gate.open();
    // The run answers for the steps it ran, under the names they had.
    let answer = client.response(run).unwrap();
    assert_eq!(answer["status"], "completed", "{answer}");
    assert_eq!(
        step_statuses(&answer),
        ["tweets completed", "mood completed"]
    );

    // No result under `posts`; `mood` ran on a source that is no longer its source's text: stale.
    let shown = hints_in(&mut client, &uri);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].ends_with("(stale)"), "{shown:?}");
    let hover = hover_at(&mut client, &uri, step_name(&renamed, "posts"));
    assert!(!hover.contains("last run"), "{hover}");
    let hover = hover_at(&mut client, &uri, step_name(&renamed, "mood"));
    assert!(hover.contains("last run: ✓ 1 result ·"), "{hover}");
    assert!(hover.contains("(stale: "), "{hover}");
    let (code, message) =
        command(&mut client, "odp.showResult", json!([uri, "posts"])).unwrap_err();
    assert_eq!(code, -32602, "{message}");
    // A run of the step by its old name finds no such step, and says so.
    let stale = command(&mut client, "odp.runStep", json!([uri, "tweets"])).unwrap();
    assert_eq!(stale["status"], "failed", "{stale}");
    assert!(
        stale["error"].as_str().unwrap().contains("tweets"),
        "{stale}"
    );

    // The server lives on: the renamed pipeline runs, and its results show under the new names.
    let run = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    assert_eq!(step_statuses(&run), ["posts completed", "mood completed"]);
    let shown = hints_in(&mut client, &uri);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|h| !h.contains("stale")), "{shown:?}");
    client.shutdown();
}

/// The client cancels the run's own request (`$/cancelRequest`) while a call is under way: the run stops, the
/// request is answered once, as cancelled, and the server serves on.
#[test]
fn a_run_whose_request_the_client_cancels_stops_and_is_answered_once() {
    let (url, arrivals, gate) = held_services();
    let (_dir, uri) = services_workspace(&url, &url);
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&uri, TWO_SERVICES);
    client.diagnostics(&uri, 1);
    let run = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.runPipeline", "arguments": [uri]}),
    );
    let id = client.next_id;
    arrivals
        .recv_timeout(Duration::from_secs(20))
        .expect("the source's call arrives");
    client.notify("$/cancelRequest", json!({"id": id}));
    let (code, message) = client.response(run.clone()).unwrap_err();
    assert_eq!(code, -32800, "{message}");
    // The run is over: nothing to cancel, no Cancel lens, and its progress ended.
    assert_eq!(
        command(&mut client, "odp.cancelRun", json!([uri])).unwrap(),
        json!({"cancelled": false})
    );
    let lenses = client.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    assert!(
        lenses
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["command"]["title"] != "■ Cancel"),
        "{lenses}"
    );
    assert_eq!(
        progress(&mut client).last().map(String::as_str),
        Some("end")
    );

    // The server lives on: with the service answering, the next run completes.
    gate.open();
    let next = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    assert_eq!(next["status"], "completed", "{next}");
    let hover = hover_at(&mut client, &uri, step_name(TWO_SERVICES, "tweets"));
    assert!(hover.contains("last run: ✓ 1 result ·"), "{hover}");
    // ... and the cancelled request was answered once.
    assert_eq!(
        client.answered.iter().filter(|a| **a == run).count(),
        1,
        "{:?}",
        client.answered
    );
    client.shutdown();
}

/// A client that re-asks for code lenses only when told (VS Code): the run's start says so, so that `■ Cancel`
/// shows while the run is under way, and its end says so again, so that it goes.
#[test]
fn a_run_asks_the_client_to_refresh_its_lenses_when_it_starts_and_when_it_ends() {
    let (url, arrivals, gate) = held_services();
    let (_dir, uri) = services_workspace(&url, &url);
    let mut client = Client::start_with(
        json!({"testing": true}),
        false,
        Value::Null,
        json!({"codeLens": {"refreshSupport": true}, "inlayHint": {"refreshSupport": true}}),
    );
    client.open(&uri, TWO_SERVICES);
    client.diagnostics(&uri, 1);
    let refreshes = |client: &Client| {
        client
            .server_requests
            .iter()
            .filter(|r| r.method == "workspace/codeLens/refresh")
            .count()
    };
    let run = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.runPipeline", "arguments": [uri]}),
    );
    arrivals
        .recv_timeout(Duration::from_secs(20))
        .expect("the source's call arrives");
    // Under way: the client was asked to refresh, and the lenses it then asks for carry `■ Cancel`.
    let lenses = client.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(refreshes(&client), 1);
    assert!(
        lenses
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["command"]["title"] == "■ Cancel"),
        "{lenses}"
    );
    gate.open();
    client.response(run).unwrap();
    let _ = client.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(refreshes(&client), 2);
    client.shutdown();
}

/// A folder whose `odp.toml` has these lines, and the URI of a pipeline in it.
fn workspace_with(toml: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("odp.toml"), toml).unwrap();
    let uri = format!("file://{}/flow.odp.yaml", root.display());
    (dir, uri)
}

/// A workspace configured for Temporal, in a server built without the `temporal` feature: a run answers so, clearly,
/// and runs nothing; the same document runs once the workspace says `local`.
#[cfg(not(feature = "temporal"))]
#[test]
fn a_temporal_workspace_in_a_build_without_the_feature_is_told_so() {
    let (_dir, uri) = workspace_with("[engine]\nkind = \"temporal\"\n");
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&uri, PIPELINE);
    client.diagnostics(&uri, 1);
    let (code, message) = command(&mut client, "odp.runPipeline", json!([uri])).unwrap_err();
    assert_eq!(
        code,
        lsp_server::ErrorCode::RequestFailed as i32,
        "{message}"
    );
    assert_eq!(message, crate::handlers::run::NO_TEMPORAL);
    assert!(
        message.starts_with("this odp-lsp was built without the `temporal` feature; ")
            && message.contains("[engine] kind"),
        "{message}"
    );
    assert!(hints_in(&mut client, &uri).is_empty());
    client.shutdown();

    let (_dir, uri) = workspace_with("[engine]\nkind = \"local\"\n");
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&uri, PIPELINE);
    client.diagnostics(&uri, 1);
    let run = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    client.shutdown();
}

/// odp's Temporal test harness: a dev server on free ports, the stubs, a worker on a thread of its own.
#[cfg(feature = "temporal")]
#[allow(dead_code)]
#[path = "../../../../odp/tests/temporal/harness.rs"]
mod harness;

/// A workspace whose `odp.toml` says `[engine] kind = "temporal"`: runs from the editor are workflows on the cluster
/// it names, their steps run by its workers (against the test's stubs, not the server's built-in ones), with the same
/// answers, progress and results as a local run; a step alone runs with its inputs' current results.
#[cfg(feature = "temporal")]
#[test]
fn on_temporal_dev_server_a_workspace_configured_for_temporal_runs_there() {
    let server = harness::DevServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stubs = runtime.block_on(harness::stubs());
    let queue = format!("odp-lsp-test-{}", uuid::Uuid::new_v4());
    let worker = harness::spawn_worker(
        &server.settings(&queue),
        &stubs.base_url(),
        Arc::new(odp_exec::events::MemoryEvents::default()),
    );
    let (_dir, uri) = workspace_with(&format!(
        "[engine]\nkind = \"temporal\"\n\n[engine.temporal]\naddress = \"{}\"\ntask-queue = \"{queue}\"\n",
        server.address
    ));
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&uri, PIPELINE);
    client.diagnostics(&uri, 1);

    let run = command(&mut client, "odp.runPipeline", json!([uri])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["stubbed"], false, "{run}");
    assert_eq!(step_names(&run), ["tweets", "mood"]);
    assert_eq!(stubs.calls("social.twitter.search"), 1);
    assert_eq!(stubs.calls("nlp.sentiment.analyze"), 1);
    let run_id: uuid::Uuid = run["runId"].as_str().unwrap().parse().unwrap();
    let history = server.history(&odp_temporal::workflow_id(run_id));
    assert!(
        history
            .iter()
            .any(|e| e.get("workflowExecutionCompletedEventAttributes").is_some()),
        "{history:?}"
    );
    let logged: Vec<String> = client
        .pending
        .iter()
        .filter(|n| n.method == "window/logMessage")
        .map(|n| n.params["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        logged
            .iter()
            .any(|m| m.contains(&format!("on Temporal at {}", server.address))),
        "{logged:?}"
    );
    let progress = progress(&mut client);
    assert!(
        progress.iter().any(|p| p.starts_with("✓ tweets ")),
        "{progress:?}"
    );
    let shown = hints_in(&mut client, &uri);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|h| h.starts_with(" ✓ ")), "{shown:?}");

    let run = command(&mut client, "odp.runStep", json!([uri, "mood"])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(step_names(&run), ["mood"]);
    assert_eq!(stubs.calls("social.twitter.search"), 1);
    assert_eq!(stubs.calls("nlp.sentiment.analyze"), 2);
    client.shutdown();
    worker.stop().unwrap();
}
