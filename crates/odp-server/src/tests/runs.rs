//! Runs from the editor: the commands on the shared engine with the built-in stubs inside the server, their
//! progress, and the results in hovers, inlay hints and later runs.

use std::sync::Arc;

use super::*;

/// The stubs' jq evaluator (`data.custom.transform`) when this binary is started as `<binary> __jq_eval`; a no-op
/// test otherwise.
#[test]
fn __jq_eval() {
    odp_stubs::jq::child_main();
}

fn command(client: &mut Client, command: &str, arguments: Value) -> Result<Value, (i32, String)> {
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": command, "arguments": arguments}),
    );
    client.response(id)
}

/// The names of the steps a run's answer lists, in order.
fn step_names(run: &Value) -> Vec<&str> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

fn hints(client: &mut Client) -> Vec<String> {
    hints_in(client, URI)
}

/// The results' hints (type hints, kind 1, are left out).
fn hints_in(client: &mut Client, uri: &str) -> Vec<String> {
    let hints = client.request(
        "textDocument/inlayHint",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 100, "character": 0}}}),
    );
    hints
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] != 1)
        .map(|h| h["label"].as_str().unwrap().to_string())
        .collect()
}

/// The `$/progress` values the server sent, in order: `begin`, `report` messages, `end`.
fn progress(client: &mut Client) -> Vec<String> {
    client
        .pending
        .drain(..)
        .filter(|n| n.method == "$/progress")
        .map(|n| {
            let value = &n.params["value"];
            match value["kind"].as_str().unwrap() {
                "report" => value["message"].as_str().unwrap_or("").to_string(),
                kind => kind.to_string(),
            }
        })
        .collect()
}

#[test]
fn a_pipeline_and_a_step_run_from_the_editor_and_their_results_show() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);

    let run = command(&mut client, "odp.runPipeline", json!([URI])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["stubbed"], true);
    assert_eq!(step_names(&run), ["tweets", "mood"]);
    let progress = progress(&mut client);
    assert_eq!(
        progress.first().map(String::as_str),
        Some("begin"),
        "{progress:?}"
    );
    assert_eq!(
        progress.last().map(String::as_str),
        Some("end"),
        "{progress:?}"
    );
    let done = |step: &str| {
        progress
            .iter()
            .position(|p| p.starts_with(&format!("✓ {step} ")))
    };
    assert!(
        done("tweets").unwrap() < done("mood").unwrap(),
        "{progress:?}"
    );

    // The results show after the steps' names and on hover.
    let shown = hints(&mut client);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].starts_with(" ✓ ") && shown[0].contains("results"),
        "{shown:?}"
    );
    let hover = client.request(
        "textDocument/hover",
        pos_params(json!({"line": 4, "character": 12})),
    );
    let hover = hover["contents"]["value"].as_str().unwrap();
    assert!(hover.contains("last run: ✓"), "{hover}");
    assert!(hover.contains("\"results\""), "{hover}");

    // The whole result, for the client's read-only document.
    let shown = command(&mut client, "odp.showResult", json!([URI, "tweets"])).unwrap();
    assert_eq!(shown["status"], "completed");
    assert!(shown["value"]["results"].is_array(), "{shown}");
    let (code, _) = command(&mut client, "odp.showResult", json!([URI, "nothing"])).unwrap_err();
    assert_eq!(code, -32602);

    // A step runs alone when what it reads has a current result.
    let run = command(&mut client, "odp.runStep", json!([URI, "mood"])).unwrap();
    assert_eq!(run["steps"].as_array().unwrap().len(), 1, "{run}");
    assert_eq!(run["steps"][0]["name"], "mood");

    // Editing a step makes its result and its dependents' stale; running the step again needs its source.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2},
               "contentChanges": [{"text": PIPELINE.replace("{{inputs.query}}", "{{inputs.query}} news")}]}),
    );
    client.diagnostics(URI, 2);
    let shown = hints(&mut client);
    assert!(shown.iter().all(|h| h.ends_with("(stale)")), "{shown:?}");
    let run = command(&mut client, "odp.runStep", json!([URI, "mood"])).unwrap();
    assert_eq!(step_names(&run), ["tweets", "mood"]);
    let shown = hints(&mut client);
    assert!(shown.iter().all(|h| !h.contains("stale")), "{shown:?}");
    client.shutdown();
}

#[test]
fn required_inputs_without_a_value_are_named_and_a_run_with_them_goes() {
    let mut client = Client::start(json!({"testing": true}), false);
    let text = PIPELINE.replace(
        "query: {type: string, default: ai}",
        "query: {type: string, required: true}",
    );
    client.open(URI, &text);
    client.diagnostics(URI, 1);
    let (code, message) = command(&mut client, "odp.runPipeline", json!([URI])).unwrap_err();
    assert_eq!(code, -32602);
    assert!(
        message.contains("required input without a value: query"),
        "{message}"
    );
    let run = command(
        &mut client,
        "odp.runPipeline",
        json!([URI, {"inputs": {"query": "rust"}}]),
    )
    .unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    client.shutdown();
}

#[test]
fn lenses_offer_the_runs_and_a_pipeline_with_errors_runs_nothing() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    let lenses = client.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": URI}}),
    );
    let titles: Vec<&str> = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["command"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["▶ Run pipeline", "▶ Run step", "▶ Run step"]);
    assert_eq!(lenses[2]["command"]["arguments"], json!([URI, "mood"]));
    // The same runs as code actions, the step's where the cursor is.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": {"start": {"line": 10, "character": 6}, "end": {"line": 10, "character": 6}},
               "context": {"diagnostics": []}}),
    );
    let commands: Vec<(&str, &Value)> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| {
            Some((
                a["command"]["command"].as_str()?,
                &a["command"]["arguments"],
            ))
        })
        .collect();
    assert_eq!(
        commands,
        [
            ("odp.runStep", &json!([URI, "mood"])),
            ("odp.runPipeline", &json!([URI]))
        ]
    );

    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2},
               "contentChanges": [{"text": PIPELINE.replace("nlp.sentiment.analyze", "nlp.sentiment.analyse")}]}),
    );
    client.diagnostics(URI, 2);
    let (_, message) = command(&mut client, "odp.runPipeline", json!([URI])).unwrap_err();
    assert!(message.contains("has 1 error: nothing ran"), "{message}");
    let cancelled = command(&mut client, "odp.cancelRun", json!([URI])).unwrap();
    assert_eq!(cancelled, json!({"cancelled": false}));
    client.shutdown();
}

/// After a run, completion after `{{step.` offers the fields of the step's live result where its declared output
/// (`dynamic`) knows none.
#[test]
fn completion_offers_the_fields_only_the_live_result_has() {
    const TEXT: &str = r#"name: live fields
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
transforms:
  - name: shaped
    method: data.custom.transform
    params:
      input: "{{tweets}}"
      expression: "{shaped_count: .count, first_author: .results[0].author}"
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{shaped.}}"
"#;
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, TEXT);
    client.diagnostics(URI, 1);
    // After `{{shaped.`.
    let position = json!({"line": 15, "character": 23});
    let labels = |client: &mut Client| -> Vec<String> {
        let items = client.request("textDocument/completion", pos_params(position.clone()));
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!labels(&mut client).contains(&"shaped_count".to_string()));
    // A run needs a text without errors: the template is finished, the step runs, and it is unfinished again.
    let change = |client: &mut Client, version: i64, text: String| {
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": text}]}),
        );
        client.diagnostics(URI, version);
    };
    change(&mut client, 2, TEXT.replace("{{shaped.}}", "{{shaped}}"));
    let run = command(&mut client, "odp.runStep", json!([URI, "shaped"])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    change(&mut client, 3, TEXT.to_string());
    let after = labels(&mut client);
    assert!(after.contains(&"shaped_count".to_string()), "{after:?}");
    assert!(after.contains(&"first_author".to_string()), "{after:?}");

    // Hover on a template into the live result shows the live type, where the declared output says `any`; the
    // diagnostics (none) are the same as without the run.
    change(
        &mut client,
        4,
        TEXT.replace("{{shaped.}}", "{{shaped.shaped_count}}"),
    );
    let hover = client.request(
        "textDocument/hover",
        pos_params(json!({"line": 15, "character": 22})),
    );
    let shown = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(shown.contains("`integer`"), "{hover}");
    client.shutdown();
}

/// Without a run, the same hover shows the declared output's type: what the live result refines.
#[test]
fn a_template_into_a_dynamic_output_is_any_until_the_step_runs() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(
        URI,
        "name: live fields\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: rust\ntransforms:\n  - name: shaped\n    method: data.custom.transform\n    params:\n      input: \"{{tweets}}\"\n      expression: \"{n: .count}\"\n  - name: mood\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{shaped.n}}\"\n",
    );
    assert_eq!(client.diagnostics(URI, 1), Vec::<Value>::new());
    let hover = client.request(
        "textDocument/hover",
        pos_params(json!({"line": 15, "character": 18})),
    );
    let shown = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(shown.contains("`any`"), "{hover}");
    client.shutdown();
}

/// A run that would take long is cancelled by `odp.cancelRun` at once, and a new run of the document replaces the
/// one under way.
#[test]
fn a_run_is_cancelled_by_the_command_or_by_the_next_run() {
    const SLOW: &str = r#"name: slow
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
transforms:
  - name: forever
    method: data.custom.transform
    params:
      input: "{{tweets}}"
      expression: "def f: f; f"
"#;
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, SLOW);
    client.diagnostics(URI, 1);
    let run = |client: &mut Client| {
        client.send_request(
            "workspace/executeCommand",
            json!({"command": "odp.runPipeline", "arguments": [URI]}),
        )
    };

    let first = run(&mut client);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let cancelled = command(&mut client, "odp.cancelRun", json!([URI])).unwrap();
    assert_eq!(cancelled, json!({"cancelled": true}));
    let answer = client.response(first).unwrap();
    assert_eq!(answer["status"], "cancelled", "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The next run of the document cancels the one under way.
    let second = run(&mut client);
    std::thread::sleep(Duration::from_millis(500));
    let third = run(&mut client);
    assert_eq!(client.response(second).unwrap()["status"], "cancelled");
    std::thread::sleep(Duration::from_millis(300));
    command(&mut client, "odp.cancelRun", json!([URI])).unwrap();
    assert_eq!(client.response(third).unwrap()["status"], "cancelled");
    client.shutdown();
}

/// With the client's `odp.inlayHints.results` off, results show on hover but not as hints; turned on, they do.
#[test]
fn result_hints_follow_the_client_setting() {
    let mut client = Client::start(
        json!({"testing": true, "inlayHints": {"results": false}}),
        false,
    );
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    command(&mut client, "odp.runPipeline", json!([URI])).unwrap();
    assert_eq!(hints(&mut client), Vec::<String>::new());
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"odp": {"inlayHints": {"results": true}}}}),
    );
    assert_eq!(hints(&mut client).len(), 2);
    client.shutdown();
}

mod services;
