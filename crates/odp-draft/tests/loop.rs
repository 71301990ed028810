//! The whole draft loop over loopback, against the scripted chat endpoints of odp-stubs: repair rounds, the request
//! shapes, the plain-text fallback, and the failures (server down, timeout, garbage, a refused key).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use odp_analysis::Registry;
use odp_draft::{
    DraftError, DraftScope, DraftSettings, Progress, ProviderError, Secret, draft,
    provider_from_settings,
};
use odp_stubs::{ChatReply, StubConfig, StubServer};
use serde_json::{Value, json};

const REQUEST: &str = "find tweets and reddit posts about AI and score their sentiment";

/// A first answer with a mistake the checker finds (a field the output does not have).
fn answer_with_error() -> String {
    json!({
        "name": "ai mood",
        "description": null,
        "inputs": [{"name": "topic", "type": "string", "default": "AI", "description": null, "required": null}],
        "sources": [
            {"name": "tweets", "method": "social.twitter.search", "params": {"query": "{{inputs.topic}}", "limit": 50}},
            {"name": "posts", "method": "social.reddit.search", "params": {"query": "{{inputs.topic}}"}}
        ],
        "transforms": [
            {"name": "all_posts", "method": "data.records.merge", "params": {"lists": ["{{tweets.results}}", "{{posts.results}}"]}},
            {"name": "mood", "method": "nlp.sentiment.analyze", "params": {"texts": "{{all_posts.result[*].text}}"}}
        ]
    })
    .to_string()
}

fn valid_answer() -> String {
    answer_with_error().replace("all_posts.result[", "all_posts.results[")
}

async fn stub(token: Option<&str>) -> StubServer {
    odp_stubs::test_support::start_bundled(StubConfig {
        require_token: token.map(str::to_string),
        ..StubConfig::default()
    })
    .await
}

fn settings(server: &StubServer) -> DraftSettings {
    let mut s = DraftSettings::openai_compatible(format!("{}/v1", server.base_url()), "stub-model");
    s.timeout = Duration::from_secs(10);
    s.connect_timeout = Duration::from_secs(2);
    s
}

fn scope() -> DraftScope {
    DraftScope::new(Registry::bundled())
}

struct Recorder(Mutex<Vec<Progress>>);

impl Recorder {
    fn new() -> Arc<Recorder> {
        Arc::new(Recorder(Mutex::new(Vec::new())))
    }
    fn push(&self, p: Progress) {
        self.0.lock().unwrap().push(p);
    }
    fn all(&self) -> Vec<Progress> {
        self.0.lock().unwrap().clone()
    }
}

fn messages(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn repairs_a_draft_with_the_checker_findings() {
    let server = stub(None).await;
    server.script_chat(vec![answer_with_error(), valid_answer()]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let recorder = Recorder::new();
    let r = recorder.clone();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &move |p| {
        r.push(p)
    })
    .await
    .unwrap();
    assert!(outcome.is_valid(), "{}", outcome.findings());
    assert_eq!(outcome.rounds, 2);
    assert_eq!(outcome.best_round, 2);
    assert!(outcome.structured);
    assert_eq!(
        outcome.methods_used,
        [
            "social.twitter.search",
            "social.reddit.search",
            "data.records.merge",
            "nlp.sentiment.analyze"
        ]
    );
    assert!(
        outcome
            .yaml
            .contains("texts: \"{{all_posts.results[*].text}}\""),
        "{}",
        outcome.yaml
    );
    // The draft reads back clean with the checker.
    assert!(
        odp_analysis::analyze_with_bundled_registry(&outcome.yaml)
            .diagnostics
            .is_empty()
    );

    let requests = server.chat().requests();
    assert_eq!(requests.len(), 2);
    // The second request carries the conversation: request, first answer, the findings.
    let second = messages(&requests[1].body);
    assert_eq!(second.len(), 4, "{second:#?}");
    assert_eq!(second[2].0, "assistant");
    assert_eq!(second[2].1, answer_with_error());
    let repair = &second[3].1;
    assert_eq!(second[3].0, "user");
    assert!(repair.contains("ODP405"), "{repair}");
    assert!(repair.contains("all_posts.result[*]"), "{repair}");
    assert!(repair.contains("line "), "{repair}");
    assert!(repair.contains("mood"), "{repair}");

    let progress = recorder.all();
    assert!(
        matches!(&progress[0], Progress::Retrieved { methods } if methods.contains(&"nlp.sentiment.analyze".to_string()))
    );
    assert!(
        progress.contains(&Progress::Checked {
            round: 1,
            errors: 1,
            warnings: 0
        }),
        "{progress:?}"
    );
    assert!(
        progress.contains(&Progress::Checked {
            round: 2,
            errors: 0,
            warnings: 0
        }),
        "{progress:?}"
    );
    assert!(
        progress
            .iter()
            .any(|p| matches!(p, Progress::Receiving { round: 2, chars } if *chars > 100))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn asks_for_json_under_a_strict_schema_narrowed_to_the_offered_methods() {
    let server = stub(None).await;
    server.script_chat(vec![valid_answer()]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert_eq!(outcome.rounds, 1);
    let requests = server.chat().requests();
    assert_eq!(requests[0].path, "/v1/chat/completions");
    let body = &requests[0].body;
    assert_eq!(body["model"], "stub-model");
    assert_eq!(body["stream"], true);
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "odp_pipeline");
    assert_eq!(format["json_schema"]["strict"], true);
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["required"],
        json!(["name", "description", "inputs", "sources", "transforms"])
    );
    // Exactly the offered methods appear, sources under sources and transforms under transforms.
    let enum_ids = |section: &str| -> Vec<String> {
        let items = &schema["properties"][section]["items"];
        let variants = items["anyOf"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![items.clone()]);
        variants
            .iter()
            .map(|v| {
                v["properties"]["method"]["enum"][0]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let mut in_schema = enum_ids("sources");
    assert!(in_schema.contains(&"social.twitter.search".to_string()));
    assert!(in_schema.contains(&"social.reddit.search".to_string()));
    assert!(!enum_ids("sources").contains(&"nlp.sentiment.analyze".to_string()));
    in_schema.extend(enum_ids("transforms"));
    in_schema.sort();
    let mut offered = outcome.methods_offered.clone();
    offered.sort();
    assert_eq!(in_schema, offered);
    // The system prompt has the rules and only the offered methods.
    let msgs = messages(body);
    assert_eq!(msgs[0].0, "system");
    assert!(msgs[0].1.contains("Templates:"));
    assert!(msgs[0].1.contains("## nlp.sentiment.analyze (transform)"));
    assert!(!msgs[0].1.contains("## finance.market.quotes"));
    assert!(msgs[0].1.contains("JSON Schema"));
    assert_eq!(msgs[1].0, "user");
    assert!(msgs[1].1.contains(REQUEST));
    assert!(!requests[0].auth);
    server.shutdown().await;
}

#[tokio::test]
async fn falls_back_to_yaml_text_when_the_server_refuses_response_format() {
    let server = stub(None).await;
    server.chat().reject_structured_output(true);
    let yaml = odp_draft::yaml::pipeline_to_yaml(&serde_json::from_str(&valid_answer()).unwrap());
    server.script_chat(vec![format!(
        "Sure! Here is the pipeline you asked for:\n\n```yaml\n{yaml}```\n\nIt searches both networks and scores the posts."
    )]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let recorder = Recorder::new();
    let r = recorder.clone();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &move |p| {
        r.push(p)
    })
    .await
    .unwrap();
    assert!(outcome.is_valid(), "{}", outcome.findings());
    assert!(!outcome.structured);
    assert_eq!(outcome.yaml, yaml);
    let requests = server.chat().requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].body.get("response_format").is_some());
    assert!(requests[1].body.get("response_format").is_none());
    let system = &messages(&requests[1].body)[0].1;
    assert!(system.contains("```yaml"), "{system}");
    assert!(recorder.all().iter().any(
        |p| matches!(p, Progress::FallbackToText { reason } if reason.contains("response_format"))
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn later_rounds_stay_in_text_after_a_fallback_and_repairs_work_in_yaml() {
    let server = stub(None).await;
    server.chat().reject_structured_output(true);
    let good = odp_draft::yaml::pipeline_to_yaml(&serde_json::from_str(&valid_answer()).unwrap());
    let bad = good.replace("all_posts.results[", "all_posts.result[");
    server.script_chat(vec![format!("```yaml\n{bad}```"), good.clone()]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert_eq!(outcome.rounds, 2);
    assert!(outcome.is_valid());
    let requests = server.chat().requests();
    // Refused, then text, then (no second refusal) text again.
    assert_eq!(requests.len(), 3);
    assert!(requests[2].body.get("response_format").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn non_streaming_answers_work_too() {
    let server = stub(None).await;
    server.script_chat(vec![valid_answer()]);
    let mut s = settings(&server);
    s.stream = false;
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert!(outcome.is_valid());
    assert!(
        server.chat().requests()[0]
            .body
            .get("stream")
            .is_none_or(|v| v == &json!(false))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_that_is_down_is_a_clear_error() {
    // A port nobody listens on: bind one, then let it go.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut s = DraftSettings::openai_compatible(format!("http://127.0.0.1:{port}/v1"), "m");
    s.timeout = Duration::from_secs(5);
    s.connect_timeout = Duration::from_secs(1);
    let provider = provider_from_settings(&s).unwrap();
    let started = Instant::now();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no retries: {:?}",
        started.elapsed()
    );
    let DraftError::Provider(ProviderError::Unreachable { .. }) = &err else {
        panic!("{err:?}");
    };
    let message = err.to_string();
    assert!(
        message.contains("cannot reach the model server at http://127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("OPENAI_BASE_URL"), "{message}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_times_out() {
    let server = stub(None).await;
    server.chat().script_replies(vec![ChatReply::Hang]);
    let mut s = settings(&server);
    s.timeout = Duration::from_millis(300);
    let provider = provider_from_settings(&s).unwrap();
    let started = Instant::now();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, DraftError::Provider(ProviderError::Timeout { .. })),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("did not answer within 300ms"), "{message}");
    assert!(message.contains("ODP_LLM_TIMEOUT"), "{message}");
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_from_the_server_is_a_clear_error() {
    let server = stub(None).await;
    // Not JSON, with a 200.
    server.chat().script_replies(vec![ChatReply::Raw {
        status: 200,
        body: "<html>definitely not a chat completion</html>".into(),
        content_type: "text/html".into(),
    }]);
    let mut s = settings(&server);
    s.stream = false;
    let provider = provider_from_settings(&s).unwrap();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, DraftError::Provider(ProviderError::Garbage { .. })),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("not a chat completion"), "{message}");
    assert!(message.contains("<html>definitely"), "{message}");

    // JSON, but not a chat completion.
    server.chat().script_replies(vec![ChatReply::Raw {
        status: 200,
        body: r#"{"hello": "world"}"#.into(),
        content_type: "application/json".into(),
    }]);
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, DraftError::Provider(ProviderError::Garbage { .. })),
        "{err:?}"
    );

    // Streaming: a body with no events at all.
    server.chat().script_replies(vec![ChatReply::Raw {
        status: 200,
        body: "plain text, no events".into(),
        content_type: "text/event-stream".into(),
    }]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a chat completion stream"),
        "{err}"
    );

    // A server error with its message.
    server.chat().script_replies(vec![ChatReply::Status {
        status: 503,
        message: "model is loading".into(),
    }]);
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("HTTP 503") && message.contains("model is loading"),
        "{message}"
    );
    assert_eq!(server.chat().requests().len(), 4, "a 503 is not retried");
    server.shutdown().await;
}

#[tokio::test]
async fn answers_that_are_never_pipelines_give_no_draft() {
    let server = stub(None).await;
    server.script_chat(vec![
        "I'm sorry, I can't help with that.".into(),
        "Still no.".into(),
    ]);
    let mut s = settings(&server);
    s.max_rounds = 2;
    let provider = provider_from_settings(&s).unwrap();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    let DraftError::NoDraft { rounds: 2, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(err.to_string().contains("Still no."), "{err}");
    // The second request told the model why its answer could not be read.
    let second = messages(&server.chat().requests()[1].body);
    assert!(second[3].1.contains("could not be read"), "{second:#?}");
    server.shutdown().await;
}

/// A draft whose template has 100,000 accessors (a 200 KB answer, where a model's answers are limited; the old
/// checker overflowed at 2,000 on these threads) is a finding to repair, not a stack overflow, on the worker threads
/// the front ends run drafts on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_accessor_template_in_a_draft_is_a_finding() {
    let server = stub(None).await;
    let deep = valid_answer().replace(
        "{{inputs.topic}}",
        &format!("{{{{inputs.topic{}}}}}", ".a".repeat(100_000)),
    );
    server.script_chat(vec![deep, valid_answer()]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let outcome =
        tokio::spawn(async move { draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {}).await })
            .await
            .unwrap()
            .unwrap();
    assert!(outcome.is_valid(), "{}", outcome.findings());
    assert_eq!(outcome.rounds, 2);
    let requests = server.chat().requests();
    let repair = &messages(&requests[1].body)[3].1;
    assert!(
        repair.contains("ODP400"),
        "{}",
        &repair[..repair.len().min(2000)]
    );
    assert!(repair.contains("at most 64 accessors"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_repair_round_returns_the_best_draft_so_far() {
    let server = stub(None).await;
    server.chat().script_replies(vec![
        ChatReply::content(answer_with_error()),
        ChatReply::Status {
            status: 500,
            message: "boom".into(),
        },
    ]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert_eq!(outcome.rounds, 1);
    assert_eq!(outcome.errors(), 1);
    assert!(outcome.interrupted.as_deref().unwrap().contains("boom"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_round_limit_is_honoured_and_the_best_draft_kept() {
    let server = stub(None).await;
    let two_errors = answer_with_error().replace("{{tweets.results}}", "{{tweets.result}}");
    server.script_chat(vec![answer_with_error(), two_errors.clone(), two_errors]);
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert_eq!(outcome.rounds, 3);
    assert_eq!(outcome.best_round, 1, "the draft with fewer errors wins");
    assert_eq!(outcome.errors(), 1);
    assert_eq!(server.chat().requests().len(), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn the_api_key_never_appears_in_errors() {
    let server = stub(Some("the-right-key")).await;
    let key = "sk-test-a1b2c3d4e5f6g7h8i9j0";
    let mut s = settings(&server);
    s.api_key = Some(Secret::new(key));
    let provider = provider_from_settings(&s).unwrap();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?} {}", provider.describe());
    assert!(
        matches!(
            err,
            DraftError::Provider(ProviderError::Auth { status: 401, .. })
        ),
        "{err:?}"
    );
    assert!(
        shown.contains("Incorrect API key provided: [redacted]"),
        "{shown}"
    );
    assert!(shown.contains("OPENAI_API_KEY"), "{shown}");
    assert!(!shown.contains(key), "{shown}");
    assert!(!shown.contains(&key[..12]), "{shown}");
    // The key was sent.
    assert!(server.chat().requests()[0].auth);

    // With the right key, it works.
    s.api_key = Some(Secret::new("the-right-key"));
    server.script_chat(vec![valid_answer()]);
    let provider = provider_from_settings(&s).unwrap();
    assert!(
        draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
            .await
            .unwrap()
            .is_valid()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn anthropic_messages_with_a_forced_tool() {
    let server = stub(Some("ant-key-0123456789")).await;
    server.script_chat(vec![answer_with_error(), valid_answer()]);
    let mut s = DraftSettings::anthropic(server.base_url(), "claude-test");
    s.api_key = Some(Secret::new("ant-key-0123456789"));
    s.timeout = Duration::from_secs(10);
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert!(outcome.is_valid(), "{}", outcome.findings());
    assert_eq!(outcome.rounds, 2);
    assert!(outcome.structured);
    let requests = server.chat().requests();
    assert_eq!(requests[0].path, "/v1/messages");
    assert!(requests[0].auth);
    let body = &requests[0].body;
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["tool_choice"]["name"], "write_pipeline");
    assert_eq!(
        body["tools"][0]["input_schema"]["additionalProperties"],
        false
    );
    assert!(
        body["system"]
            .as_str()
            .unwrap()
            .contains("## social.twitter.search")
    );
    assert!(body["max_tokens"].as_u64().unwrap() > 0);
    let second = &requests[1].body["messages"];
    // No system message in `messages`: request, answer (the tool input as JSON), findings.
    assert_eq!(second[1]["role"], "assistant");
    assert!(
        second[1]["content"]
            .as_str()
            .unwrap()
            .contains("\"name\":\"ai mood\""),
        "{second}"
    );
    assert!(second[2]["content"].as_str().unwrap().contains("ODP405"));

    // Text fallback when tools are refused, without streaming.
    server.chat().clear();
    server.chat().reject_structured_output(true);
    let yaml = odp_draft::yaml::pipeline_to_yaml(&serde_json::from_str(&valid_answer()).unwrap());
    server.script_chat(vec![format!("```yaml\n{yaml}```")]);
    s.stream = false;
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert!(outcome.is_valid());
    assert!(!outcome.structured);
    assert_eq!(server.chat().requests().len(), 2);

    // A wrong key: a clear error without the key, in any of the forms the stub echoes it in.
    let key = "ant/\"wrong\"+key-999999999";
    s.api_key = Some(Secret::new(key));
    let provider = provider_from_settings(&s).unwrap();
    let err = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("ANTHROPIC_API_KEY"), "{shown}");
    assert!(shown.contains("access_token=[redacted]"), "{shown}");
    let json = serde_json::to_string(key).unwrap();
    let percent = "ant%2F%22wrong%22%2Bkey%2D999999999";
    for form in [key, &json[1..json.len() - 1], percent, &key[..8]] {
        assert!(!shown.contains(form), "`{form}` shows in: {shown}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_stub_answers_a_default_draft_and_takes_scripts_over_http() {
    let server = stub(None).await;
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    // Nothing scripted: the fixed small draft.
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert!(outcome.is_valid(), "{}", outcome.findings());
    assert_eq!(
        outcome.methods_used,
        ["social.twitter.search", "nlp.sentiment.analyze"]
    );

    // Scripted over HTTP.
    let client = reqwest::Client::new();
    let set: Value = client
        .post(format!("{}/_stubs/chat", server.base_url()))
        .json(&json!({"answers": [valid_answer()], "reject_structured_output": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["answers"].as_array().unwrap().len(), 1);
    let outcome = draft(REQUEST, &s, &scope(), provider.as_ref(), &|_| {})
        .await
        .unwrap();
    assert_eq!(outcome.methods_used.len(), 4);
    let recorded: Value = client
        .get(format!("{}/_stubs/chat/requests", server.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded["requests"].as_array().unwrap().len(), 1);
    assert_eq!(recorded["requests"][0]["body"]["model"], "stub-model");
    server.shutdown().await;
}

#[tokio::test]
async fn a_notebook_context_lets_the_draft_use_earlier_steps() {
    let server = stub(None).await;
    // A cell-like draft: one transform over a step defined in an earlier cell.
    server.script_chat(vec![
        json!({
            "name": "cell", "description": null, "inputs": [], "sources": [],
            "transforms": [{"name": "mood", "method": "nlp.sentiment.analyze",
                            "params": {"texts": "{{tweets.results[*].text}}"}}]
        })
        .to_string(),
    ]);
    let registry = Registry::bundled();
    let tweets = registry.get("social.twitter.search").unwrap();
    let mut cfg = scope();
    cfg.fragment = true;
    cfg.external_steps = vec![odp_analysis::ExternalStep {
        name: "tweets".into(),
        method: Some(tweets.id().into()),
        output: tweets.output.clone(),
    }];
    let s = settings(&server);
    let provider = provider_from_settings(&s).unwrap();
    let outcome = draft(
        "score the sentiment of the tweets",
        &s,
        &cfg,
        provider.as_ref(),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(outcome.is_valid(), "{}", outcome.findings());
    let system = &messages(&server.chat().requests()[0].body)[0].1;
    assert!(system.contains("Already defined"), "{system}");
    assert!(
        system.contains("- step `tweets` (social.twitter.search)"),
        "{system}"
    );
    server.shutdown().await;
}
