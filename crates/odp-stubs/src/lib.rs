//! `odp-stubs`: an HTTP server that answers every method of a registry, for tests and demos.
//!
//! Each method is served at `POST {endpoint}` with its params as the JSON body. The params are checked against
//! the method's params schema (`422` when they do not fit) and the answer is made up deterministically from
//! the method id and the params: the same call always gives the same result, and the result fits the method's
//! output schema. Faults (error statuses, delays, dropped connections, hangs) can be injected for the next
//! calls, from code ([`StubServer::faults`]) or over HTTP (`/_stubs/faults`). See README.md.

mod faults;
mod generate;
pub mod jq;
mod openai;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

pub use faults::{Fault, FaultKind, Faults};
pub use odp_analysis::Registry;
pub use openai::{ChatReply, ChatRequestRecord, ChatStub};

/// How the server behaves apart from injected faults.
#[derive(Clone, Debug)]
pub struct StubConfig {
    /// Added to every method call.
    pub latency: Duration,
    /// Share of method calls (0 to 1) answered with `error_status`. The decision is seeded by `seed`, the
    /// endpoint and the call's number on that endpoint, so a run of calls fails the same way every time.
    pub error_rate: f64,
    pub error_status: u16,
    pub seed: u64,
    /// Most records a search returns, whatever its `limit` (smaller limits are respected).
    pub max_results: usize,
    /// When set, method calls without `Authorization: Bearer <token>` are answered with `401`.
    pub require_token: Option<String>,
    /// How long the expression of a `data.custom.transform` call may run before it is stopped
    /// ([`jq::DEFAULT_TIMEOUT`]; lower in tests).
    pub transform_timeout: Duration,
    /// The largest request body a method accepts (larger: `413`). 32 MiB by default, as large as the results odp
    /// accepts, so that a step can pass a large result on (axum's own default is 2 MB).
    pub max_body_bytes: usize,
}

impl Default for StubConfig {
    fn default() -> StubConfig {
        StubConfig {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_status: 503,
            seed: 0,
            max_results: 50,
            require_token: None,
            transform_timeout: jq::DEFAULT_TIMEOUT,
            max_body_bytes: 32 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StubError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no method is served at `{0}` (give an endpoint path or a method id)")]
    UnknownEndpoint(String),
    #[error("invalid stub configuration: {0}")]
    Config(String),
}

/// Parses a duration such as `50ms`, `1.5s` or `2m`; a bare number is milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(Duration::from_millis(ms));
    }
    humantime::parse_duration(text).map_err(|e| format!("invalid duration `{text}`: {e}"))
}

/// A running stub server. Dropping it stops the server too, without waiting.
pub struct StubServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    chat: Arc<ChatStub>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl StubServer {
    /// Binds (port 0 = any free port) and serves in the background on the current tokio runtime.
    pub async fn start(
        registry: Arc<Registry>,
        addr: SocketAddr,
        config: StubConfig,
    ) -> Result<StubServer, StubError> {
        if !(0.0..=1.0).contains(&config.error_rate) {
            return Err(StubError::Config(format!(
                "the error rate must be between 0 and 1, not {}",
                config.error_rate
            )));
        }
        if StatusCode::from_u16(config.error_status).is_err() || config.error_status < 200 {
            return Err(StubError::Config(format!(
                "the error status must be 200 to 599, not {}",
                config.error_status
            )));
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StubError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StubError::Bind { addr, source })?;
        let chat = Arc::new(ChatStub::new(config.require_token.clone()));
        let shared = Arc::new(Shared::new(registry, config));
        let router = router(shared.clone()).merge(openai::router(chat.clone()));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, stopped));
        tracing::info!(%addr, methods = shared.registry.methods().len(), "stub server listening");
        Ok(StubServer {
            addr,
            shared,
            chat,
            stop,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, the base URL for both services.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The injected faults (the same ones `/_stubs/faults` shows and changes).
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The scripted language-model endpoints (`/v1/chat/completions`, `/v1/messages`; see `openai.rs`).
    pub fn chat(&self) -> &ChatStub {
        &self.chat
    }

    /// Replaces the chat script: each request to `/v1/chat/completions` (or `/v1/messages`) gets the next answer.
    pub fn script_chat(&self, answers: Vec<String>) {
        self.chat.script(answers);
    }

    /// How many requests reached the method with this id or endpoint (0 for an unknown one).
    pub fn calls(&self, method_id_or_endpoint: &str) -> usize {
        self.shared.count_of(method_id_or_endpoint).calls
    }

    /// How many of those requests carried an `Authorization: Bearer` header.
    pub fn calls_with_auth(&self, method_id_or_endpoint: &str) -> usize {
        self.shared.count_of(method_id_or_endpoint).with_auth
    }

    /// Requests to all methods.
    pub fn total_calls(&self) -> usize {
        self.shared.lock_calls().values().map(|c| c.calls).sum()
    }

    /// Sets every call count back to zero.
    pub fn reset_calls(&self) {
        self.shared.lock_calls().clear();
    }

    /// Stops accepting connections and closes the open ones, including requests still in progress.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct CallCount {
    calls: usize,
    with_auth: usize,
}

struct Shared {
    registry: Arc<Registry>,
    /// Endpoint → index of its method.
    by_endpoint: HashMap<String, usize>,
    config: StubConfig,
    faults: Faults,
    /// By endpoint.
    calls: Mutex<HashMap<String, CallCount>>,
    outputs: generate::OutputValidators,
}

impl Shared {
    fn new(registry: Arc<Registry>, config: StubConfig) -> Shared {
        let mut by_endpoint = HashMap::new();
        let mut targets = HashMap::new();
        for (i, m) in registry.methods().iter().enumerate() {
            let endpoint = &m.spec.endpoint;
            if by_endpoint.contains_key(endpoint) {
                tracing::warn!(method = m.id(), %endpoint, "endpoint served by an earlier method; skipped");
                continue;
            }
            by_endpoint.insert(endpoint.clone(), i);
            targets.insert(endpoint.clone(), endpoint.clone());
            targets.insert(m.id().to_string(), endpoint.clone());
        }
        let outputs = generate::OutputValidators::new(&registry);
        Shared {
            registry,
            by_endpoint,
            config,
            faults: Faults::new(targets),
            calls: Mutex::new(HashMap::new()),
            outputs,
        }
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, CallCount>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count_of(&self, target: &str) -> CallCount {
        let Some(endpoint) = self.faults.resolve(target) else {
            return CallCount::default();
        };
        self.lock_calls().get(endpoint).copied().unwrap_or_default()
    }

    /// Counts a call; returns its 0-based number on the endpoint.
    fn count_call(&self, endpoint: &str, with_auth: bool) -> usize {
        let mut calls = self.lock_calls();
        let count = calls.entry(endpoint.to_string()).or_default();
        count.calls += 1;
        count.with_auth += usize::from(with_auth);
        count.calls - 1
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------------------------

/// Put in every request's extensions: notifying it drops the request's connection without an answer.
#[derive(Clone)]
struct ConnReset(Arc<Notify>);

async fn accept_loop(listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // A stop signal, or the `StubServer` was dropped.
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    let reset = Arc::new(Notify::new());
    let service = TowerToHyperService::new(router.layer(Extension(ConnReset(reset.clone()))));
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!("connection error: {e}");
            }
        }
        // Dropping the connection closes the socket; the request in progress gets no answer.
        () = reset.notified() => {}
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let max_body = shared.config.max_body_bytes;
    Router::new()
        .route(
            "/_stubs/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/_stubs/calls", get(list_calls).delete(clear_calls))
        .route("/_stubs/methods", get(list_methods))
        .fallback(call_method)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

fn error_response(status: StatusCode, error: impl Into<String>, details: Vec<Value>) -> Response {
    let body = json!({"error": error.into(), "details": details});
    (status, Json(body)).into_response()
}

/// The token of an `Authorization: Bearer` header. Never logged.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What a careless server says about a request whose key it refused: the request as JSON (the key JSON-escaped)
/// with its URL (the key percent-encoded), so clients are tested on redacting every form of a key.
fn echo_of_request(path: &str, key: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC);
    let request = json!({
        "url": format!("{path}?access_token={encoded}"),
        "headers": {"authorization": format!("Bearer {key}")},
    });
    format!("the request was {request}")
}

/// An hour: longer than any client timeout worth testing.
const HANG: Duration = Duration::from_secs(3600);

async fn call_method(
    State(s): State<Arc<Shared>>,
    Extension(reset): Extension<ConnReset>,
    http_method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(&index) = s.by_endpoint.get(path) else {
        return error_response(
            StatusCode::NOT_FOUND,
            format!("no method is served at {path}"),
            vec![],
        );
    };
    if http_method != HttpMethod::POST {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} takes POST with the params as a JSON object"),
            vec![],
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let method = &s.registry.methods()[index];
    let token = bearer(&headers);
    let number = s.count_call(path, token.is_some());
    let response = answer(&s, method, number, token, &body, &reset).await;
    tracing::info!(
        method = method.id(),
        status = response.status().as_u16(),
        auth = token.is_some(),
        "call"
    );
    response
}

async fn answer(
    s: &Shared,
    method: &odp_analysis::Method,
    number: usize,
    token: Option<&str>,
    body: &[u8],
    reset: &ConnReset,
) -> Response {
    let endpoint = method.spec.endpoint.as_str();
    let plan = s.faults.take(endpoint);
    let delay = s.config.latency + plan.delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match plan.terminal {
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = error_response(
                status,
                format!("injected fault: HTTP {}", status.as_u16()),
                vec![],
            );
            if let Some(after) = retry_after {
                let ms = after.as_millis();
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, (ms.div_ceil(1000) as u64).into());
                headers.insert("x-retry-after-ms", (ms as u64).into());
            }
            return response;
        }
        Some(FaultKind::Reset) => {
            tracing::info!(method = method.id(), "injected fault: connection reset");
            reset.0.notify_one();
            return std::future::pending().await;
        }
        Some(FaultKind::Timeout) => {
            tokio::time::sleep(HANG).await;
            return error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "injected fault: timeout",
                vec![],
            );
        }
        Some(FaultKind::Latency { .. }) | None => {}
    }
    if s.config.error_rate > 0.0 {
        let roll = generate::unit_hash(&[
            &s.config.seed.to_le_bytes(),
            endpoint.as_bytes(),
            &(number as u64).to_le_bytes(),
        ]);
        if roll < s.config.error_rate {
            let status = StatusCode::from_u16(s.config.error_status)
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return error_response(status, "injected error (error rate)", vec![]);
        }
    }
    if let Some(expected) = &s.config.require_token
        && token != Some(expected.as_str())
    {
        let message = match token {
            Some(token) => format!(
                "invalid token: Bearer {token}; {}",
                echo_of_request(endpoint, token)
            ),
            None => "missing bearer token".to_string(),
        };
        let mut response = error_response(StatusCode::UNAUTHORIZED, message, vec![]);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let params: Value = match serde_json::from_slice(body) {
        Ok(params) => params,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
                vec![],
            );
        }
    };
    if let Some(validator) = method.validator() {
        let details: Vec<Value> = validator
            .iter_errors(&params)
            .map(|e| json!({"path": e.instance_path().as_str(), "message": e.to_string()}))
            .collect();
        if !details.is_empty() {
            return error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid params for {}", method.id()),
                details,
            );
        }
    }
    if method.id() == jq::METHOD {
        return match jq::transform(&params, s.config.transform_timeout).await {
            Ok(result) => Json(result).into_response(),
            Err(refusal) => error_response(refusal.status, refusal.message, vec![]),
        };
    }
    match generate::respond(method, &params, &s.config, &s.outputs) {
        Ok(result) => Json(result).into_response(),
        Err(message) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid params for {}", method.id()),
            vec![json!({"path": "", "message": message})],
        ),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------------------------------------------

async fn list_faults(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({"faults": s.faults.list()})).into_response()
}

/// The body is one fault or a list of them; either all are added or none.
async fn add_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
                vec![],
            );
        }
    };
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut faults = Vec::new();
    let mut details = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Fault>(item) {
            Ok(fault) => match &fault.endpoint {
                Some(target) if s.faults.resolve(target).is_none() => {
                    details.push(json!({"index": i, "message": StubError::UnknownEndpoint(target.clone()).to_string()}));
                }
                _ => faults.push(fault),
            },
            Err(e) => details.push(json!({"index": i, "message": e.to_string()})),
        }
    }
    if !details.is_empty() {
        return error_response(StatusCode::UNPROCESSABLE_ENTITY, "invalid fault", details);
    }
    for fault in faults {
        // Checked above.
        let _ = s.faults.add(fault);
    }
    list_faults(State(s)).await
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({"cleared": s.faults.clear()})).into_response()
}

async fn list_calls(State(s): State<Arc<Shared>>) -> Response {
    let calls = s.lock_calls().clone();
    let mut endpoints = serde_json::Map::new();
    let mut sorted: Vec<_> = calls.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut total = 0;
    for (endpoint, count) in sorted {
        total += count.calls;
        let method = s
            .by_endpoint
            .get(&endpoint)
            .map(|&i| s.registry.methods()[i].id());
        endpoints.insert(
            endpoint,
            json!({"method": method, "calls": count.calls, "with_auth": count.with_auth}),
        );
    }
    Json(json!({"total": total, "endpoints": endpoints})).into_response()
}

async fn clear_calls(State(s): State<Arc<Shared>>) -> Response {
    s.lock_calls().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_methods(State(s): State<Arc<Shared>>) -> Response {
    let methods: Vec<Value> = s
        .registry
        .methods()
        .iter()
        .map(|m| {
            json!({
                "id": m.id(),
                "endpoint": m.spec.endpoint,
                "service": m.spec.service,
                "kind": m.spec.kind,
            })
        })
        .collect();
    Json(json!({"methods": methods})).into_response()
}
