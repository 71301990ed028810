//! API keys never leave the method client in anything made from a response: the stub server echoes a wrong key
//! plainly, JSON-escaped and percent-encoded; a hand-written server quotes keys in a long plain-text error and in
//! a result.

use std::sync::Arc;

use odp_analysis::{Environment, Registry, Service};
use odp_exec::events::MemoryEvents;
use odp_exec::{
    CallError, CircuitBreaker, Engine, HttpMethodClient, InProcessEngine, MethodCall, MethodClient,
    Secret, ServiceEndpoint,
};
use odp_stubs::test_support::start_bundled;
use odp_stubs::{StubConfig, StubServer};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A key whose JSON-escaped and percent-encoded forms differ from it early (after 7 characters), so that the
/// rule for quoted prefixes (12 characters) does not catch them by chance.
const KEY: &str = "sk-test/\"crawler\"+key-0123456789";
const MODEL_KEY: &str = "model-key-9876543210";

/// Every form of `key` a server may quote it in, and its first 8 characters (no part of a key may show).
fn forms(key: &str) -> Vec<String> {
    let json = serde_json::to_string(key).unwrap();
    let percent: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        key.to_string(),
        json[1..json.len() - 1].to_string(),
        percent,
        key[..8].to_string(),
    ]
}

fn assert_no_key(text: &str) {
    for form in forms(KEY).iter().chain(&forms(MODEL_KEY)) {
        assert!(!text.contains(form.as_str()), "`{form}` shows in: {text}");
    }
}

fn client(base_url: &str) -> HttpMethodClient {
    let endpoint = |key: &str| {
        Some(ServiceEndpoint {
            base_url: base_url.to_string(),
            api_key: Some(Secret::new(key)),
        })
    };
    HttpMethodClient::new(endpoint(KEY), endpoint(MODEL_KEY), 1 << 20).unwrap()
}

fn twitter_call() -> MethodCall {
    MethodCall {
        method: "social.twitter.search".into(),
        service: Service::Crawler,
        endpoint: "/v1/social/twitter/search".into(),
        params: json!({"query": "rust"}),
    }
}

async fn stub_requiring(token: &str) -> StubServer {
    start_bundled(StubConfig {
        require_token: Some(token.into()),
        ..StubConfig::default()
    })
    .await
}

#[tokio::test]
async fn an_error_echoing_the_key_in_every_form_is_redacted() {
    let stub = stub_requiring("the-right-token").await;
    let err = client(&stub.base_url())
        .call(&twitter_call())
        .await
        .unwrap_err();
    let CallError::Status {
        status: 401,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        message.starts_with("invalid token: Bearer [redacted]; "),
        "{message}"
    );
    assert!(message.contains("access_token=[redacted]"), "{message}");
    assert_no_key(&format!("{err} {err:?}"));
    stub.shutdown().await;
}

#[tokio::test]
async fn a_run_with_a_refused_key_keeps_it_out_of_events_and_the_result() {
    let stub = stub_requiring("the-right-token").await;
    let events = Arc::new(MemoryEvents::default());
    let engine = InProcessEngine::new(
        Arc::new(client(&stub.base_url())),
        Arc::new(CircuitBreaker::new(Default::default())),
        events.clone(),
        2,
    );
    let registry = Registry::bundled();
    let analysis = odp_analysis::analyze(
        "name: keys\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: rust}\n",
        &Environment::new(&registry),
    );
    let plan = odp_exec::plan(&analysis, &registry, &Map::new()).unwrap();
    let outcome = engine
        .run(&plan, uuid::Uuid::now_v7(), CancellationToken::new())
        .await;
    let result = serde_json::to_string(&outcome).unwrap();
    assert!(result.contains("[redacted]"), "{result}");
    assert_no_key(&result);
    let events = serde_json::to_string(&*events.events.lock().unwrap()).unwrap();
    assert!(events.contains("step.failed"), "{events}");
    assert_no_key(&events);
    stub.shutdown().await;
}

/// A server answering every request with `status` and the body `make(authorization header)`.
async fn server(status: u16, make: fn(&str) -> (String, &'static str)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request);
            let authorization = request
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().to_string())
                })
                .unwrap_or_default();
            let (body, content_type) = make(&authorization);
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn a_key_in_a_long_plain_text_error_is_redacted_before_it_is_cut_short() {
    // The message keeps 200 characters: cut there, the key's first 10 characters would be left.
    let url = server(502, |authorization| {
        (
            format!("{} {authorization} and more after it", "x".repeat(182)),
            "text/plain",
        )
    })
    .await;
    let err = client(&url).call(&twitter_call()).await.unwrap_err();
    let shown = err.to_string();
    assert!(
        matches!(err, CallError::Status { status: 502, .. }),
        "{shown}"
    );
    assert!(shown.contains("Bearer [redacted]"), "{shown}");
    assert_no_key(&shown);
}

#[tokio::test]
async fn a_result_quoting_any_configured_key_is_redacted() {
    // The crawler's answer quotes its own key and, as a gateway in front of both services might, the model's.
    let url = server(200, |authorization| {
        let body = json!({
            "results": [{"text": format!("you sent {authorization}")}],
            "debug": {MODEL_KEY: format!("upstream=Bearer {MODEL_KEY}")},
        });
        (body.to_string(), "application/json")
    })
    .await;
    let result = client(&url).call(&twitter_call()).await.unwrap();
    assert_eq!(
        result,
        json!({
            "results": [{"text": "you sent Bearer [redacted]"}],
            "debug": {"[redacted]": "upstream=Bearer [redacted]"},
        })
    );
    assert_no_key(&Value::to_string(&result));
}
