//! The stub server over loopback, with a real HTTP client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use odp_analysis::Registry;
use odp_analysis::registry::OutputSpec;
use odp_stubs::test_support::{example_params, start_bundled};
use odp_stubs::{Fault, StubConfig, StubServer};
use serde_json::{Value, json};

const TWITTER: &str = "/v1/social/twitter/search";
const REDDIT: &str = "/v1/social/reddit/search";

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn post(server: &StubServer, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn tweet_params() -> Value {
    json!({"query": "rust", "limit": 3})
}

#[tokio::test]
async fn every_bundled_method_answers_with_schema_valid_output() {
    let server = start_bundled(StubConfig::default()).await;
    let examples = example_params();
    for method in Registry::bundled().methods() {
        let response = post(
            &server,
            &method.spec.endpoint,
            examples[method.id()].clone(),
        )
        .await;
        assert_eq!(response.status(), 200, "{}", method.id());
        let body: Value = response.json().await.unwrap();
        if let OutputSpec::Schema(schema) = &method.spec.output {
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema.0)
                .unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", method.id());
        }
        assert_eq!(server.calls(method.id()), 1);
    }
    assert_eq!(server.total_calls(), Registry::bundled().methods().len());
    server.shutdown().await;
}

#[tokio::test]
async fn the_same_params_give_the_same_answer() {
    let (a, b) = (
        start_bundled(StubConfig::default()).await,
        start_bundled(StubConfig::default()).await,
    );
    let params = json!({"query": "climate", "limit": 5, "language": "en"});
    let reordered: Value =
        serde_json::from_str(r#"{"language": "en", "limit": 5, "query": "climate"}"#).unwrap();
    let first: Value = post(&a, TWITTER, params.clone())
        .await
        .json()
        .await
        .unwrap();
    let again: Value = post(&a, TWITTER, params).await.json().await.unwrap();
    let elsewhere: Value = post(&b, TWITTER, reordered).await.json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first, elsewhere);
    assert_eq!(first["count"], 5);
    let other: Value = post(&a, TWITTER, json!({"query": "weather", "limit": 5}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(first["results"], other["results"]);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let server = start_bundled(StubConfig::default()).await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base_url());

    let response = post(&server, TWITTER, json!({"limit": 0, "extra": true})).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("social.twitter.search")
    );
    let details = body["details"].as_array().unwrap();
    assert!(
        details.len() >= 3,
        "missing query, limit below 1, unknown key: {details:#?}"
    );
    assert!(details.iter().any(|d| d["path"] == "/limit"));

    let response = client
        .post(url(TWITTER))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not JSON")
    );

    let response = client
        .post(url("/v1/nothing/here"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = client.get(url(TWITTER)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");

    // `op: in` needs a list, which the schema cannot say.
    let filter = json!({"records": [], "field": "x", "op": "in", "value": 3});
    assert_eq!(
        post(&server, "/v1/data/records/filter", filter)
            .await
            .status(),
        422
    );
    // Refused params are still calls (the GET is not).
    assert_eq!(server.calls(TWITTER), 2);
}

/// A request body up to `max_body_bytes` is read (32 MiB by default: a step can pass a large result on); a larger
/// one is a `413`.
#[tokio::test]
async fn request_bodies_up_to_the_configured_size_are_read() {
    let big = json!({"texts": ["x".repeat(3 << 20)]});
    let server = start_bundled(StubConfig::default()).await;
    assert_eq!(
        post(&server, "/v1/nlp/language/detect", big.clone())
            .await
            .status(),
        200
    );
    let small = start_bundled(StubConfig {
        max_body_bytes: 1 << 20,
        ..StubConfig::default()
    })
    .await;
    assert_eq!(
        post(&small, "/v1/nlp/language/detect", big).await.status(),
        413
    );
    assert_eq!(small.calls("nlp.language.detect"), 0);
}

#[tokio::test]
async fn a_status_fault_applies_to_the_next_count_calls_of_its_endpoint() {
    let server = start_bundled(StubConfig::default()).await;
    server
        .faults()
        .add(Fault::status(503).on("social.twitter.search").times(2))
        .unwrap();
    let reddit = json!({"query": "rust", "limit": 2});
    assert_eq!(post(&server, REDDIT, reddit).await.status(), 200);
    let response = post(&server, TWITTER, tweet_params()).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "injected fault: HTTP 503");
    assert_eq!(post(&server, TWITTER, tweet_params()).await.status(), 503);
    assert_eq!(post(&server, TWITTER, tweet_params()).await.status(), 200);
    assert!(server.faults().list().is_empty());
    assert_eq!(server.calls(TWITTER), 3);
}

#[tokio::test]
async fn retry_after_comes_in_seconds_and_in_milliseconds() {
    let server = start_bundled(StubConfig::default()).await;
    server
        .faults()
        .add(
            Fault::status(429)
                .retry_after(Duration::from_millis(20))
                .times(1),
        )
        .unwrap();
    let response = post(&server, TWITTER, tweet_params()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["x-retry-after-ms"], "20");
    let response = post(&server, TWITTER, tweet_params()).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn latency_faults_and_base_latency_delay_answers() {
    let server = start_bundled(StubConfig {
        latency: Duration::from_millis(50),
        ..StubConfig::default()
    })
    .await;
    server
        .faults()
        .add(
            Fault::latency(Duration::from_millis(150))
                .on(TWITTER)
                .times(1),
        )
        .unwrap();
    let t = Instant::now();
    assert_eq!(post(&server, TWITTER, tweet_params()).await.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    assert_eq!(post(&server, TWITTER, tweet_params()).await.status(), 200);
    let elapsed = t.elapsed();
    assert!(
        elapsed >= Duration::from_millis(50) && elapsed < Duration::from_millis(200),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn a_reset_fault_drops_the_connection() {
    let server = start_bundled(StubConfig::default()).await;
    server.faults().add(Fault::reset().times(1)).unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}{TWITTER}", server.base_url());
    let err = client
        .post(&url)
        .json(&tweet_params())
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    // The server goes on serving.
    let response = client
        .post(&url)
        .json(&tweet_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.calls(TWITTER), 2);
}

#[tokio::test]
async fn a_timeout_fault_outlasts_the_client_timeout() {
    let server = start_bundled(StubConfig::default()).await;
    server
        .faults()
        .add(Fault::timeout().on(TWITTER).times(1))
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let url = format!("{}{TWITTER}", server.base_url());
    let t = Instant::now();
    let err = client
        .post(&url)
        .json(&tweet_params())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    let response = client
        .post(&url)
        .json(&tweet_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Shutting down does not wait for the hanging request.
    let t = Instant::now();
    server.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn faults_and_calls_over_http() {
    let server = start_bundled(StubConfig::default()).await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base_url());

    let faults = json!([
        {"endpoint": TWITTER, "kind": "status", "status": 503, "count": 1},
        {"kind": "latency", "delay_ms": 1, "count": 5},
    ]);
    let response = client
        .post(url("/_stubs/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["faults"], faults);
    let one = json!({"endpoint": "social.reddit.search", "kind": "status", "status": 429, "retry_after_ms": 1500});
    let response = client
        .post(url("/_stubs/faults"))
        .json(&one)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["faults"][2]["endpoint"], REDDIT,
        "method ids are stored as endpoints"
    );

    for bad in [
        json!({"kind": "explode"}),
        json!({"kind": "status"}),
        json!({"kind": "status", "status": 503, "delay_ms": 3}),
        json!({"kind": "reset", "endpoint": "/v1/nowhere"}),
        json!({"kind": "reset", "cuont": 2}),
        json!({"kind": "reset", "count": 0}),
    ] {
        let response = client
            .post(url("/_stubs/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(!body["details"][0]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        server.faults().list().len(),
        3,
        "refused faults are not added"
    );

    assert_eq!(post(&server, TWITTER, tweet_params()).await.status(), 503);
    let response = post(&server, REDDIT, json!({"query": "x"})).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.headers()["x-retry-after-ms"], "1500");

    let calls: Value = client
        .get(url("/_stubs/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["total"], 2);
    assert_eq!(
        calls["endpoints"][TWITTER],
        json!({"method": "social.twitter.search", "calls": 1, "with_auth": 0})
    );

    let cleared: Value = client
        .delete(url("/_stubs/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["cleared"], 2, "the twitter fault was used up");
    assert_eq!(
        post(&server, REDDIT, json!({"query": "x"})).await.status(),
        200
    );

    let response = client.delete(url("/_stubs/calls")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(server.total_calls(), 0);
    let methods: Value = client
        .get(url("/_stubs/methods"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        methods["methods"].as_array().unwrap().len(),
        Registry::bundled().methods().len()
    );
}

#[tokio::test]
async fn calls_are_counted_with_their_authorization() {
    let server = start_bundled(StubConfig {
        require_token: Some("s3cret".into()),
        ..StubConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let url = format!("{}{TWITTER}", server.base_url());
    let response = client
        .post(&url)
        .json(&tweet_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .post(&url)
        .bearer_auth("wr/ng\"key")
        .json(&tweet_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The wrong key is echoed plainly, JSON-escaped and percent-encoded, as careless servers do.
    let body: serde_json::Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("invalid token: Bearer wr/ng\"key; "),
        "{error}"
    );
    assert!(
        error.contains(r#""authorization":"Bearer wr/ng\"key""#),
        "{error}"
    );
    assert!(error.contains("?access_token=wr%2Fng%22key"), "{error}");
    let response = client
        .post(&url)
        .bearer_auth("s3cret")
        .json(&tweet_params())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.calls("social.twitter.search"), 3);
    assert_eq!(server.calls(TWITTER), 3);
    assert_eq!(server.calls_with_auth(TWITTER), 2);
    assert_eq!(server.calls(REDDIT), 0);
    assert_eq!(server.calls("no.such.method"), 0);
}

#[tokio::test]
async fn the_error_rate_is_seeded() {
    let config = StubConfig {
        error_rate: 0.5,
        error_status: 502,
        seed: 7,
        ..StubConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let server = start_bundled(config.clone()).await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(
                post(&server, TWITTER, tweet_params())
                    .await
                    .status()
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    let failed = runs[0].iter().filter(|s| **s == 502).count();
    assert!((3..=17).contains(&failed), "{:?}", runs[0]);
    assert!(runs[0].iter().all(|s| *s == 502 || *s == 200));

    let bad = StubConfig {
        error_rate: 1.5,
        ..StubConfig::default()
    };
    assert!(
        StubServer::start(Registry::bundled(), any_port(), bad)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_custom_registry_is_served_from_its_schemas() {
    let yaml = r#"
version: 1
methods:
  - id: acme.widgets.count
    kind: source
    service: crawler
    summary: Count widgets.
    endpoint: /v2/widgets/count
    params: {type: object, required: [shop], properties: {shop: {type: string}}}
    output:
      type: object
      required: [total, shop_url]
      properties:
        total: {type: integer, minimum: 0, maximum: 10}
        shop_url: {type: string, format: uri}
"#;
    let (registry, errors) = Registry::from_yaml(yaml);
    assert!(errors.is_empty());
    let server = StubServer::start(Arc::new(registry), any_port(), StubConfig::default())
        .await
        .unwrap();
    let body: Value = post(&server, "/v2/widgets/count", json!({"shop": "north"}))
        .await
        .json()
        .await
        .unwrap();
    let total = body["total"].as_i64().unwrap();
    assert!((0..=10).contains(&total));
    assert!(body["shop_url"].as_str().unwrap().starts_with("https://"));
    let addr = server.addr();
    server.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "closed after shutdown"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// data.custom.transform: jq in a child process (this test binary, started as `<binary> __jq_eval`)
// ---------------------------------------------------------------------------------------------------------------

/// The stubs' jq evaluator when this binary is started as `<binary> __jq_eval`; a no-op test otherwise.
#[test]
fn __jq_eval() {
    odp_stubs::jq::child_main();
}

const TRANSFORM: &str = "/v1/data/custom/transform";

async fn transform(server: &StubServer, input: Value, expression: &str) -> (u16, Value) {
    let response = post(
        server,
        TRANSFORM,
        json!({"input": input, "expression": expression}),
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn short_timeout() -> StubConfig {
    StubConfig {
        transform_timeout: Duration::from_millis(700),
        ..StubConfig::default()
    }
}

#[tokio::test]
async fn transform_evaluates_its_jq_expression() {
    let server = start_bundled(StubConfig::default()).await;
    let input = json!([{"name": "Battery", "size": 4}, {"name": "Range", "size": 2}]);
    let (status, body) = transform(&server, input, "{rows: [.[] | {label: .name}]}").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"rows": [{"label": "Battery"}, {"label": "Range"}]})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn transform_refusals_are_400_with_the_reason() {
    let server = start_bundled(StubConfig::default()).await;
    let (status, body) = transform(&server, json!([]), "{rows: [.[] | {label: .name}]").await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("jq syntax error at 1:30: expected closing brace"),
        "{error}"
    );
    let (status, body) = transform(&server, json!({}), "{keys: ($ENV | keys)}").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("undefined variable `$ENV`"),
        "{body}"
    );
    let (status, body) = transform(&server, json!([1, 2]), "map(. * 2)").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("is an array, not a JSON object"),
        "{body}"
    );
    let response = post(
        &server,
        TRANSFORM,
        json!({"input": {}, "expression": "$", "engine": "jsonata"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("engine jsonata is not supported by the built-in stubs"),
        "{body}"
    );
    server.shutdown().await;
}

/// Runaway expressions end in the child: stopped at the timeout, or dead of its stack or memory limit. The
/// server (and this process, which hosts it) keeps answering.
#[tokio::test]
async fn runaway_expressions_are_stopped_and_the_host_is_unharmed() {
    let server = start_bundled(short_timeout()).await;
    for (expression, expected) in [
        ("def f: 1 + f; f", "the expression ran out of stack"),
        ("def f: f; f", "did not finish within 700ms"),
        ("{n: last(repeat(1))}", "did not finish within 700ms"),
        (
            "{n: (reduce range(64) as $i (\"x\"; . + .) | length)}",
            "the expression ran out of memory",
        ),
    ] {
        // A stub that never stops the expression fails here rather than hanging.
        let (status, body) = tokio::time::timeout(
            Duration::from_secs(8),
            transform(&server, json!({}), expression),
        )
        .await
        .unwrap_or_else(|_| panic!("{expression}: not stopped within 8 s"));
        assert_eq!(status, 400, "{expression}: {body}");
        let error = body["error"].as_str().unwrap();
        // The memory bomb reaches the child's limit in about half a second on a quiet machine; under the load of a
        // whole test run it may meet the short test timeout first. Either way the child was stopped.
        let stopped_in_time =
            expected.contains("memory") && error.contains("did not finish within 700ms");
        assert!(
            error.contains(expected) || stopped_in_time,
            "{expression}: {error}"
        );
        // Still serving, and still evaluating.
        let (status, body) = transform(&server, json!({"a": 1}), "{b: .a}").await;
        assert_eq!((status, body), (200, json!({"b": 1})));
    }
    server.shutdown().await;
}
