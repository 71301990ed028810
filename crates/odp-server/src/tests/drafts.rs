//! AI drafts through the language server: the command, its progress, the edit it applies, cancellation.
use super::*;
use odp_stubs::test_support::start_bundled;
use odp_stubs::{ChatReply, StubConfig, StubServer};

/// A draft the stub answers: valid against the bundled registry.
const ANSWER: &str = r#"{"name": "ai mood", "description": null, "inputs": [],
    "sources": [{"name": "tweets", "method": "social.twitter.search", "params": {"query": "ai", "limit": 20}}],
    "transforms": [{"name": "mood", "method": "nlp.sentiment.analyze", "params": {"texts": "{{tweets.results[*].text}}"}}]}"#;

struct Setup {
    runtime: tokio::runtime::Runtime,
    stub: StubServer,
    dir: tempfile::TempDir,
    uri: String,
}

/// A scripted model server and a workspace whose odp.toml points at it. The server runs with `testing`, so
/// the process environment (a developer's real model) is not consulted.
fn setup(draft_section: bool) -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stub = runtime.block_on(start_bundled(StubConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let toml = if draft_section {
        format!(
            "[draft]\nbase-url = \"{}/v1\"\nmodel = \"stub-model\"\ntimeout = \"10s\"\n",
            stub.base_url()
        )
    } else {
        String::new()
    };
    std::fs::write(dir.path().join("odp.toml"), toml).unwrap();
    let uri = format!("file://{}/new.odp.yaml", dir.path().display());
    Setup {
        runtime,
        stub,
        dir,
        uri,
    }
}

fn progress_kinds(client: &Client) -> Vec<String> {
    client
        .pending
        .iter()
        .filter(|n| n.method == "$/progress")
        .map(|n| n.params["value"]["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_draft_comment_offers_a_command_and_calls_no_model() {
    let s = setup(true);
    let mut client = Client::start(json!({"testing": true}), false);
    let text = "# draft: find tweets about AI and score their sentiment\n";
    client.open(&s.uri, text);
    client.diagnostics(&s.uri, 1);
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": s.uri}, "range": {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 3}}, "context": {"diagnostics": []}}),
    );
    let draft: Vec<&Value> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["command"]["command"] == "odp.generateDraft")
        .collect();
    assert_eq!(draft.len(), 1, "{actions:#}");
    let action = draft[0];
    assert_eq!(action["kind"], "refactor.rewrite");
    assert!(action.get("edit").is_none());
    assert_eq!(
        action["command"]["arguments"][0],
        json!({"uri": s.uri, "request": "find tweets about AI and score their sentiment",
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}})
    );
    // Computing it asked no model.
    assert!(s.stub.chat().requests().is_empty());
    // A line that is not a draft comment gets no such action.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": s.uri}, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}, "context": {"diagnostics": []}}),
    );
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["command"].is_null())
    );
    client.shutdown();
    drop(s.dir);
}

#[test]
fn the_command_drafts_and_applies_a_versioned_edit_with_progress() {
    let s = setup(true);
    s.stub.script_chat(vec![ANSWER.to_string()]);
    let root = format!("file://{}", s.dir.path().display());
    let mut client = Client::start_in(json!({"testing": true}), false, json!(root));
    let text = "# draft: find tweets about AI and score their sentiment\n";
    client.open(&s.uri, text);
    client.diagnostics(&s.uri, 1);
    let args = json!({"uri": s.uri, "request": "find tweets about AI and score their sentiment",
                      "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}});
    let result = client.request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [args]}),
    );
    assert_eq!(result["applied"], true, "{result}");
    assert_eq!(result["errors"], 0);
    assert_eq!(result["rounds"], 1);
    assert_eq!(
        result["methods"],
        json!(["social.twitter.search", "nlp.sentiment.analyze"])
    );
    // Progress: created, then begin … end.
    assert!(
        client
            .server_requests
            .iter()
            .any(|r| r.method == "window/workDoneProgress/create")
    );
    let kinds = progress_kinds(&client);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("begin"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("end"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "report"), "{kinds:?}");
    // The edit: the comment line replaced, pinned to version 1.
    let edit = client
        .server_requests
        .iter()
        .find(|r| r.method == "workspace/applyEdit")
        .expect("an applyEdit request");
    let change = &edit.params["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"], json!({"uri": s.uri, "version": 1}));
    let new_text = change["edits"][0]["newText"].as_str().unwrap();
    assert!(new_text.starts_with("name: ai mood\n"), "{new_text}");
    assert!(
        new_text.contains("texts: \"{{tweets.results[*].text}}\""),
        "{new_text}"
    );
    assert_eq!(s.stub.chat().requests().len(), 1);

    // The string form answers with the draft and edits nothing.
    s.stub.script_chat(vec![ANSWER.to_string()]);
    let edits_before = client.server_requests.len();
    let result = client.request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": ["tweets and their sentiment"]}),
    );
    assert!(
        result["yaml"]
            .as_str()
            .unwrap()
            .starts_with("name: ai mood")
    );
    assert!(
        client.server_requests[edits_before..]
            .iter()
            .all(|r| r.method != "workspace/applyEdit")
    );
    client.shutdown();
}

#[test]
fn a_document_changed_meanwhile_is_left_alone() {
    let s = setup(true);
    s.stub.chat().script_replies(vec![ChatReply::Content {
        text: ANSWER.to_string(),
        delay: Duration::from_millis(500),
    }]);
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&s.uri, "# draft: tweets\n");
    client.diagnostics(&s.uri, 1);
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [{"uri": s.uri, "request": "tweets"}]}),
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": s.uri, "version": 2},
               "contentChanges": [{"text": "# draft: tweets\nname: typed meanwhile\n"}]}),
    );
    let (code, message) = client.response(id).unwrap_err();
    assert_eq!(code, -32801, "{message}");
    assert!(message.contains("the document changed"), "{message}");
    assert!(
        client
            .server_requests
            .iter()
            .all(|r| r.method != "workspace/applyEdit")
    );
    client.shutdown();
}

#[test]
fn a_draft_can_be_cancelled() {
    let s = setup(true);
    s.stub
        .chat()
        .script_replies(vec![ChatReply::Hang, ChatReply::Hang]);
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&s.uri, "");
    client.diagnostics(&s.uri, 1);
    let started = Instant::now();
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [{"uri": s.uri, "request": "tweets"}]}),
    );
    // Wait until the model was asked, then cancel the request.
    while s.stub.chat().requests().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    client.notify(
        "$/cancelRequest",
        json!({"id": serde_json::to_value(&id).unwrap()}),
    );
    let (code, message) = client.response(id).unwrap_err();
    assert_eq!(code, -32800, "{message}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Cancelling through the progress token works too.
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [{"uri": s.uri, "request": "tweets"}],
               "workDoneToken": "my-token"}),
    );
    while s.stub.chat().requests().len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    client.notify(
        "window/workDoneProgress/cancel",
        json!({"token": "my-token"}),
    );
    let (code, _) = client.response(id).unwrap_err();
    assert_eq!(code, -32800);
    assert!(
        client
            .pending
            .iter()
            .any(|n| n.method == "$/progress" && n.params["token"] == "my-token")
    );
    client.shutdown();
}

#[test]
fn a_base_url_that_would_lose_the_endpoint_is_reported_at_its_line_and_never_called() {
    let s = setup(false);
    let url = format!("{}/v1?api-version=1", s.stub.base_url());
    std::fs::write(
        s.dir.path().join("odp.toml"),
        format!("[draft]\nbase-url = \"{url}\"\n"),
    )
    .unwrap();
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&s.uri, "");
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [{"uri": s.uri, "request": "tweets"}]}),
    );
    assert!(client.response(id).is_err());
    let messages: Vec<String> = client
        .pending
        .iter()
        .filter(|n| n.method == "window/showMessage")
        .map(|n| n.params["message"].as_str().unwrap_or("").to_string())
        .collect();
    let expected = format!(
        "odp.toml:2:12: `{}` is not a usable base URL: it has a query",
        odp_workspace::base_url::shown_url(&url)
    );
    assert!(
        messages.iter().any(|m| m.contains(&expected)),
        "{messages:?}"
    );
    assert!(s.stub.chat().requests().is_empty(), "no model was asked");
    client.shutdown();
}

#[test]
fn without_a_model_the_command_says_how_to_configure_one() {
    let s = setup(false);
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(&s.uri, "");
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [{"uri": s.uri, "request": "tweets"}]}),
    );
    let (_, message) = client.response(id).unwrap_err();
    assert!(
        message.contains("no language model is configured"),
        "{message}"
    );
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.somethingElse", "arguments": []}),
    );
    let (code, _) = client.response(id).unwrap_err();
    assert_eq!(code, -32602);
    client.shutdown();
    drop(s.runtime);
}
