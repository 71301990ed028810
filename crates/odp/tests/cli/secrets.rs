//! API keys through `odp run` and `odp kernel`: a key the service refuses and echoes (plainly, JSON-escaped,
//! percent-encoded) shows nowhere; a key too short to be redacted is refused before anything starts.

use crate::common::{forms_of, kernel, odp, text};
use odp_stubs::StubConfig;

#[test]
fn a_refused_key_stays_out_of_stderr_the_events_and_the_result() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stub = runtime.block_on(odp_stubs::test_support::start_bundled(StubConfig {
        require_token: Some("the-right-token".into()),
        ..StubConfig::default()
    }));
    let (crawler_key, model_key) = ("sk-run/\"wrong\"+key-0123456789", "model-key-9876543210");
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("run.jsonl");
    let url = stub.base_url();
    let o = odp(
        &[
            "run",
            "examples/ai-sentiment.odp.yaml",
            "--events",
            events.to_str().unwrap(),
        ],
        &[
            ("ODP_CRAWLER_API_URL", &url),
            ("ODP_MODEL_API_URL", &url),
            ("ODP_CRAWLER_API_KEY", crawler_key),
            ("ODP_MODEL_API_KEY", model_key),
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let all = format!(
        "{}\n{}\n{}",
        text(&o.stdout),
        text(&o.stderr),
        std::fs::read_to_string(&events).unwrap()
    );
    assert!(
        all.contains("HTTP 401: invalid token: Bearer [redacted]"),
        "{all}"
    );
    assert!(all.contains("\"kind\":\"step.failed\""), "{all}");
    for form in forms_of(crawler_key).iter().chain(&forms_of(model_key)) {
        assert!(!all.contains(form.as_str()), "`{form}` shows in: {all}");
    }
    // The key was sent (by whichever source ran before the run failed).
    let sent = stub.calls_with_auth("social.twitter.search")
        + stub.calls_with_auth("social.reddit.search");
    assert!(sent >= 1, "the key was sent");
}

#[test]
fn a_key_too_short_to_redact_is_refused_before_anything_starts() {
    let o = odp(
        &["run", "examples/ai-sentiment.odp.yaml"],
        &[("ODP_MODEL_API_KEY", "k3y-x9")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("error: ODP_MODEL_API_KEY is shorter than 8 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("k3y-x9"), "{stderr}");
    assert!(
        !stderr.contains("built-in stubs"),
        "nothing started: {stderr}"
    );
    assert!(o.stdout.is_empty());

    let o = kernel(&[], &[("ODP_CRAWLER_API_KEY", "k3y-x9")]).expect("the kernel exits");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("error: ODP_CRAWLER_API_KEY is shorter than 8 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("k3y-x9"), "{stderr}");
}
