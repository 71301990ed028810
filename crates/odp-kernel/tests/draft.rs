//! `%%draft` against the scripted chat endpoint of odp-stubs (never a real model): the draft becomes the execute
//! reply's `set_next_input` payload, the session's steps are in the draft's scope, errors never show the key, and
//! an interrupt cancels the draft.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use odp_analysis::Registry;
use odp_draft::{DraftSettings, Drafter, Secret};
use odp_exec::{RunOutcome, RunStatus, StepReport, StepStatus};
use odp_kernel::draft::{self, DraftJob};
use odp_kernel::server::payloads;
use odp_kernel::session::{Begin, Session};
use odp_stubs::{ChatReply, StubConfig, StubServer};
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn stub(token: Option<&str>) -> StubServer {
    odp_stubs::test_support::start_bundled(StubConfig {
        require_token: token.map(str::to_string),
        ..StubConfig::default()
    })
    .await
}

fn drafter(server: &StubServer, key: Option<&str>, job: &DraftJob) -> Drafter {
    let mut s = DraftSettings::openai_compatible(format!("{}/v1", server.base_url()), "stub-model");
    s.api_key = key.map(Secret::new);
    s.timeout = Duration::from_secs(10);
    s.connect_timeout = Duration::from_secs(2);
    let d = Drafter::from_settings(s, Registry::bundled()).unwrap();
    draft::configure(d, job)
}

/// A session where a cell ran `tweets`, then a `%%draft` cell begun.
fn draft_job(cell: &str) -> (Session, DraftJob) {
    let mut s = Session::new(Registry::bundled(), std::env::temp_dir());
    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(
        "%inputs topic=rust\nname: tweets\nmethod: social.twitter.search\nparams: {query: \"{{inputs.topic}}\"}\n",
        count,
    ) else {
        panic!("the tweets cell does not run")
    };
    let mut results = serde_json::Map::new();
    results.insert("tweets".into(), json!({"results": [], "count": 0}));
    let outcome = RunOutcome {
        run_id: uuid::Uuid::nil(),
        pipeline: "notebook".into(),
        status: RunStatus::Completed,
        duration_ms: 1,
        error: None,
        steps: vec![StepReport {
            name: "tweets".into(),
            method: "social.twitter.search".into(),
            status: StepStatus::Completed,
            attempts: 1,
            duration_ms: 1,
            error: None,
        }],
        results,
    };
    assert!(s.finish(job, &outcome, count).error.is_none());
    let count = s.start_cell(true);
    let Begin::Draft(job) = s.begin(cell, count) else {
        panic!("not a draft cell")
    };
    (s, job)
}

#[tokio::test]
async fn a_draft_cell_puts_the_draft_into_the_next_cell() {
    let server = stub(None).await;
    server.script_chat(vec![
        json!({
            "name": "cell", "description": null, "inputs": [], "sources": [],
            "transforms": [{"name": "mood", "method": "nlp.sentiment.analyze",
                            "params": {"texts": "{{tweets.results[*].text}}"}}]
        })
        .to_string(),
    ]);
    let (session, job) = draft_job("%%draft score the sentiment\nof the tweets\n");
    assert_eq!(job.request, "score the sentiment\nof the tweets");
    let d = drafter(&server, None, &job);
    let lines = Arc::new(Mutex::new(String::new()));
    let l = lines.clone();
    let progress = move |line: String| l.lock().unwrap().push_str(&line);
    let out = draft::run(&d, &job, &progress, CancellationToken::new()).await;
    assert!(out.error.is_none(), "{out:?}");
    let yaml = out.next_input.clone().expect("a draft");
    assert!(yaml.contains("nlp.sentiment.analyze"), "{yaml}");
    assert!(yaml.contains("{{tweets.results[*].text}}"), "{yaml}");
    // The earlier step was in the draft's scope (the checker found nothing) and shown to the model.
    let system = server.chat().requests()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("step `tweets`"), "{system}");
    let progress = lines.lock().unwrap().clone();
    assert!(
        progress.contains("asking the model for a draft"),
        "{progress}"
    );
    assert!(progress.contains("checks clean"), "{progress}");
    // The reply carries it as `set_next_input`, not replacing the cell; nothing ran.
    let payload = serde_json::to_value(payloads(&out)).unwrap();
    assert_eq!(
        payload,
        json!([{"source": "set_next_input", "text": yaml, "replace": false}])
    );
    assert_eq!(session.steps().len(), 1);
    server.shutdown().await;
}

/// The stub echoes a refused key plainly, JSON-escaped and percent-encoded; none of it, not even the key's first 8
/// characters, reaches the cell.
#[tokio::test]
async fn a_refused_key_is_a_draft_error_without_the_key_in_any_form() {
    let server = stub(Some("the-right-key")).await;
    let (_, job) = draft_job("%%draft tweets about rust");
    let key = "sk-wrong/\"key\"+0123456789abcdef";
    let d = drafter(&server, Some(key), &job);
    let lines = Arc::new(Mutex::new(String::new()));
    let l = lines.clone();
    let progress = move |line: String| l.lock().unwrap().push_str(&line);
    let out = draft::run(&d, &job, &progress, CancellationToken::new()).await;
    let e = out.error.clone().expect("an error");
    assert_eq!(e.ename, "DraftError");
    let all = format!(
        "{} {} {} {:?}",
        e.evalue,
        e.traceback.join("\n"),
        lines.lock().unwrap(),
        out.outputs
    );
    assert!(all.contains("401"), "{all}");
    assert!(
        all.contains("Incorrect API key provided: [redacted]"),
        "{all}"
    );
    let json = serde_json::to_string(key).unwrap();
    let percent = "sk%2Dwrong%2F%22key%22%2B0123456789abcdef";
    for form in [key, &json[1..json.len() - 1], percent, &key[..8]] {
        assert!(!all.contains(form), "`{form}` shows in: {all}");
    }
    assert!(out.next_input.is_none());
    assert!(payloads(&out).is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn an_interrupt_cancels_the_draft() {
    let server = stub(None).await;
    server.chat().script_replies(vec![ChatReply::Hang]);
    let (_, job) = draft_job("%%draft tweets about rust");
    let d = drafter(&server, None, &job);
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.cancel();
    });
    let started = std::time::Instant::now();
    let out = draft::run(&d, &job, &|_| {}, token).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.error.unwrap().ename, "Interrupted");
    assert!(out.next_input.is_none());
    server.shutdown().await;
}
