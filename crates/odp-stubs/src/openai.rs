//! Scripted language-model endpoints, for AI-draft demos and tests: an OpenAI-compatible
//! `POST /v1/chat/completions` and Anthropic's `POST /v1/messages`.
//!
//! Each request takes the next scripted reply (an answer text, an error status, a garbage body, a hang); with the
//! script empty, a fixed small draft is answered so that `odp draft` works against `odp stubs` out of the box.
//! Every request is recorded (`GET /_stubs/chat/requests`). The script is set from code
//! ([`ChatStub::script`], [`crate::StubServer::script_chat`]) or over HTTP (`POST /_stubs/chat`).
//! `stream: true` is answered as server-sent events; `response_format` (OpenAI) or `tools` (Anthropic) can be
//! refused with `400`, to exercise the plain-text fallback. With `StubConfig::require_token` set, a request without
//! that key is answered `401`, echoing the key it got as real servers do, plainly, JSON-escaped and percent-encoded
//! (clients must redact every form).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// One scripted reply.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatReply {
    /// A successful answer with this text (sent after `delay`).
    Content { text: String, delay: Duration },
    /// An API error: this status with an error object holding `message`.
    Status { status: u16, message: String },
    /// A body sent as is (garbage), with this status and content type.
    Raw {
        status: u16,
        body: String,
        content_type: String,
    },
    /// No answer at all (the client's timeout fires).
    Hang,
}

impl ChatReply {
    pub fn content(text: impl Into<String>) -> ChatReply {
        ChatReply::Content {
            text: text.into(),
            delay: Duration::ZERO,
        }
    }

    /// Reads the JSON form: a string (an answer), `{"content": s, "delay_ms": n}`, `{"status": n, "message": s}`,
    /// `{"raw": s, "status": n, "content_type": s}` or `{"hang": true}`.
    pub fn from_json(v: &Value) -> Result<ChatReply, String> {
        if let Some(s) = v.as_str() {
            return Ok(ChatReply::content(s));
        }
        let Some(obj) = v.as_object() else {
            return Err("a reply is a string or an object".into());
        };
        if obj.get("hang").and_then(Value::as_bool) == Some(true) {
            return Ok(ChatReply::Hang);
        }
        let status = obj.get("status").and_then(Value::as_u64).map(|s| s as u16);
        if let Some(status) = status
            && !(200..=599).contains(&status)
        {
            return Err(format!("status {status} is not 200 to 599"));
        }
        if let Some(raw) = obj.get("raw").and_then(Value::as_str) {
            return Ok(ChatReply::Raw {
                status: status.unwrap_or(200),
                body: raw.to_string(),
                content_type: obj
                    .get("content_type")
                    .and_then(Value::as_str)
                    .unwrap_or("application/json")
                    .to_string(),
            });
        }
        if let Some(text) = obj.get("content").and_then(Value::as_str) {
            return Ok(ChatReply::Content {
                text: text.to_string(),
                delay: Duration::from_millis(
                    obj.get("delay_ms").and_then(Value::as_u64).unwrap_or(0),
                ),
            });
        }
        if let Some(status) = status {
            return Ok(ChatReply::Status {
                status,
                message: obj
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("scripted error")
                    .to_string(),
            });
        }
        Err("a reply object needs `content`, `status`, `raw` or `hang`".into())
    }
}

/// A request the chat endpoints received.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequestRecord {
    pub path: String,
    /// Whether it carried a key (`Authorization: Bearer` or `x-api-key`). The key itself is not kept.
    pub auth: bool,
    /// The JSON body (`null` when it was not JSON).
    pub body: Value,
}

#[derive(Default)]
struct ChatState {
    script: VecDeque<ChatReply>,
    reject_structured: bool,
    requests: Vec<ChatRequestRecord>,
}

/// The scripted chat endpoints' state.
pub struct ChatStub {
    state: Mutex<ChatState>,
    require_token: Option<String>,
}

impl ChatStub {
    pub(crate) fn new(require_token: Option<String>) -> ChatStub {
        ChatStub {
            state: Mutex::default(),
            require_token,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChatState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the script with these answers.
    pub fn script(&self, answers: Vec<String>) {
        self.script_replies(answers.into_iter().map(ChatReply::content).collect());
    }

    /// Replaces the script.
    pub fn script_replies(&self, replies: Vec<ChatReply>) {
        self.lock().script = replies.into();
    }

    /// Answer `400` to requests asking for structured output (`response_format`, Anthropic `tools`).
    pub fn reject_structured_output(&self, reject: bool) {
        self.lock().reject_structured = reject;
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequestRecord> {
        self.lock().requests.clone()
    }

    /// Replies left in the script.
    pub fn remaining(&self) -> usize {
        self.lock().script.len()
    }

    /// Empties the script and the recorded requests, and accepts structured output again.
    pub fn clear(&self) {
        *self.lock() = ChatState::default();
    }
}

pub(crate) fn router(chat: Arc<ChatStub>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/chat/completions", post(openai_chat))
        .route("/v1/messages", post(anthropic_messages))
        .route(
            "/_stubs/chat",
            get(show_script).post(set_script).delete(clear_script),
        )
        .route("/_stubs/chat/requests", get(list_requests))
        .with_state(chat)
}

/// An hour: longer than any client timeout worth testing.
const HANG: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, PartialEq)]
enum Api {
    OpenAi,
    Anthropic,
}

/// The key a request carries, if any.
fn key_of(headers: &HeaderMap, api: Api) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .filter(|t| !t.is_empty());
    let x_api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match api {
        Api::OpenAi => bearer.or(x_api_key),
        Api::Anthropic => x_api_key.or(bearer),
    }
}

fn api_error(api: Api, status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match api {
        Api::OpenAi => {
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        Api::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
    };
    (status, Json(body)).into_response()
}

/// Records the request and decides the reply; `Err` is an answer already made (auth, refusal, bad JSON).
#[allow(clippy::result_large_err)]
fn take_reply(
    chat: &ChatStub,
    api: Api,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, Option<ChatReply>), Response> {
    let key = key_of(headers, api);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut state = chat.lock();
    state.requests.push(ChatRequestRecord {
        path: uri.path().to_string(),
        auth: key.is_some(),
        body: parsed.clone().unwrap_or(Value::Null),
    });
    if let Some(expected) = &chat.require_token
        && key.as_deref() != Some(expected.as_str())
    {
        let message = match &key {
            Some(k) => format!(
                "Incorrect API key provided: {k}; {}",
                crate::echo_of_request(uri.path(), k)
            ),
            None => "No API key provided".to_string(),
        };
        return Err(api_error(api, 401, "authentication_error", &message));
    }
    let Some(request) = parsed else {
        return Err(api_error(
            api,
            400,
            "invalid_request_error",
            "the body is not JSON",
        ));
    };
    let structured = match api {
        Api::OpenAi => request.get("response_format").is_some_and(|v| !v.is_null()),
        Api::Anthropic => request.get("tools").is_some_and(|v| !v.is_null()),
    };
    if state.reject_structured && structured {
        let what = match api {
            Api::OpenAi => "response_format",
            Api::Anthropic => "tools",
        };
        return Err(api_error(
            api,
            400,
            "invalid_request_error",
            &format!("{what} is not supported by this server"),
        ));
    }
    let reply = state.script.pop_front();
    Ok((request, reply))
}

/// The fixed answer when the script is empty: a small valid draft against the bundled registry.
fn default_answer(structured: bool) -> String {
    if structured {
        json!({
            "name": "stub draft",
            "description": "Answered by odp stubs: script the chat endpoint for other answers.",
            "inputs": [{"name": "topic", "type": "string", "default": "ai", "description": null, "required": null}],
            "sources": [{"name": "tweets", "method": "social.twitter.search",
                         "params": {"query": "{{inputs.topic}}", "limit": 20}}],
            "transforms": [{"name": "mood", "method": "nlp.sentiment.analyze",
                            "params": {"texts": "{{tweets.results[*].text}}"}}]
        })
        .to_string()
    } else {
        "```yaml\nname: stub draft\ninputs:\n  topic: {type: string, default: ai}\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.topic}}\"\n      limit: 20\ntransforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{tweets.results[*].text}}\"\n```\n".to_string()
    }
}

/// Splits a text into pieces of about `n` characters (on character boundaries).
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

fn sse(events: Vec<(Option<&str>, String)>) -> Response {
    let mut body = String::new();
    for (event, data) in events {
        if let Some(e) = event {
            body.push_str("event: ");
            body.push_str(e);
            body.push('\n');
        }
        body.push_str("data: ");
        body.push_str(&data);
        body.push_str("\n\n");
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .expect("a valid response")
}

/// Plays a non-content reply; `None` for content (the caller formats it).
async fn play(api: Api, reply: &ChatReply) -> Option<Response> {
    match reply {
        ChatReply::Content { delay, .. } => {
            if !delay.is_zero() {
                tokio::time::sleep(*delay).await;
            }
            None
        }
        ChatReply::Status { status, message } => {
            let kind = if *status >= 500 {
                "server_error"
            } else {
                "invalid_request_error"
            };
            Some(api_error(api, *status, kind, message))
        }
        ChatReply::Raw {
            status,
            body,
            content_type,
        } => Some(
            Response::builder()
                .status(StatusCode::from_u16(*status).unwrap_or(StatusCode::OK))
                .header(header::CONTENT_TYPE, content_type.as_str())
                .body(Body::from(body.clone()))
                .expect("a valid response"),
        ),
        ChatReply::Hang => {
            tokio::time::sleep(HANG).await;
            Some(api_error(api, 504, "timeout", "hung"))
        }
    }
}

async fn openai_chat(
    State(chat): State<Arc<ChatStub>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request, reply) = match take_reply(&chat, Api::OpenAi, &uri, &headers, &body) {
        Ok(x) => x,
        Err(response) => return response,
    };
    let structured = request.get("response_format").is_some_and(|v| !v.is_null());
    let reply = reply.unwrap_or_else(|| ChatReply::content(default_answer(structured)));
    if let Some(response) = play(Api::OpenAi, &reply).await {
        return response;
    }
    let ChatReply::Content { text, .. } = reply else {
        unreachable!("play answers every other reply");
    };
    let model = request.get("model").cloned().unwrap_or(json!("stub"));
    let number = chat.lock().requests.len();
    let id = format!("chatcmpl-stub-{number}");
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    if !stream {
        return Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": 1748865600,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        }))
        .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": 1748865600,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        })
        .to_string()
    };
    let mut events = vec![(
        None,
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
    )];
    for piece in pieces(&text, 40) {
        events.push((None, chunk(json!({"content": piece}), Value::Null)));
    }
    events.push((None, chunk(json!({}), json!("stop"))));
    events.push((None, "[DONE]".to_string()));
    sse(events)
}

async fn anthropic_messages(
    State(chat): State<Arc<ChatStub>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request, reply) = match take_reply(&chat, Api::Anthropic, &uri, &headers, &body) {
        Ok(x) => x,
        Err(response) => return response,
    };
    let tool = request
        .get("tool_choice")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let reply = reply.unwrap_or_else(|| ChatReply::content(default_answer(tool.is_some())));
    if let Some(response) = play(Api::Anthropic, &reply).await {
        return response;
    }
    let ChatReply::Content { text, .. } = reply else {
        unreachable!("play answers every other reply");
    };
    let model = request.get("model").cloned().unwrap_or(json!("stub"));
    // With a forced tool, a JSON answer becomes the tool's input.
    let tool_input: Option<Value> = tool
        .as_ref()
        .and_then(|_| serde_json::from_str::<Value>(&text).ok())
        .filter(Value::is_object);
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    let block = match (&tool, &tool_input) {
        (Some(name), Some(input)) => {
            json!({"type": "tool_use", "id": "toolu_stub", "name": name, "input": input})
        }
        _ => json!({"type": "text", "text": text}),
    };
    let message = |content: Value| {
        json!({
            "id": "msg_stub",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": if tool_input.is_some() { "tool_use" } else { "end_turn" },
            "usage": {"input_tokens": 0, "output_tokens": 0}
        })
    };
    if !stream {
        return Json(message(json!([block]))).into_response();
    }
    let start_block = match (&tool, &tool_input) {
        (Some(name), Some(_)) => {
            json!({"type": "tool_use", "id": "toolu_stub", "name": name, "input": {}})
        }
        _ => json!({"type": "text", "text": ""}),
    };
    let mut events = vec![
        (
            Some("message_start"),
            json!({"type": "message_start", "message": message(json!([]))}).to_string(),
        ),
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": start_block})
                .to_string(),
        ),
        (Some("ping"), json!({"type": "ping"}).to_string()),
    ];
    let (body_text, delta_type, field) = match &tool_input {
        Some(input) => (input.to_string(), "input_json_delta", "partial_json"),
        None => (text.clone(), "text_delta", "text"),
    };
    for piece in pieces(&body_text, 40) {
        events.push((
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": delta_type, field: piece}})
                .to_string(),
        ));
    }
    events.push((
        Some("content_block_stop"),
        json!({"type": "content_block_stop", "index": 0}).to_string(),
    ));
    events.push((
        Some("message_delta"),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 0}})
            .to_string(),
    ));
    events.push((
        Some("message_stop"),
        json!({"type": "message_stop"}).to_string(),
    ));
    sse(events)
}

// ---- control API ------------------------------------------------------------------------------------------------

fn reply_json(r: &ChatReply) -> Value {
    match r {
        ChatReply::Content { text, delay } => {
            json!({"content": text, "delay_ms": delay.as_millis() as u64})
        }
        ChatReply::Status { status, message } => json!({"status": status, "message": message}),
        ChatReply::Raw {
            status,
            body,
            content_type,
        } => json!({"raw": body, "status": status, "content_type": content_type}),
        ChatReply::Hang => json!({"hang": true}),
    }
}

async fn show_script(State(chat): State<Arc<ChatStub>>) -> Response {
    let state = chat.lock();
    let script: Vec<Value> = state.script.iter().map(reply_json).collect();
    Json(json!({
        "answers": script,
        "reject_structured_output": state.reject_structured,
        "requests": state.requests.len()
    }))
    .into_response()
}

/// `{"answers": [...], "reject_structured_output": bool}` replaces the script (and clears recorded requests).
async fn set_script(State(chat): State<Arc<ChatStub>>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("the body is not JSON: {e}")})),
            )
                .into_response();
        }
    };
    let answers = value
        .get("answers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut replies = Vec::new();
    for (i, a) in answers.iter().enumerate() {
        match ChatReply::from_json(a) {
            Ok(r) => replies.push(r),
            Err(e) => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(
                        json!({"error": "invalid answer", "details": [{"index": i, "message": e}]}),
                    ),
                )
                    .into_response();
            }
        }
    }
    {
        let mut state = chat.lock();
        state.script = replies.into();
        state.requests.clear();
        state.reject_structured = value
            .get("reject_structured_output")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    }
    show_script(State(chat)).await
}

async fn clear_script(State(chat): State<Arc<ChatStub>>) -> Response {
    chat.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_requests(State(chat): State<Arc<ChatStub>>) -> Response {
    let requests: Vec<Value> = chat
        .requests()
        .into_iter()
        .map(|r| json!({"path": r.path, "auth": r.auth, "body": r.body}))
        .collect();
    Json(json!({"requests": requests})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_read_from_json() {
        assert_eq!(
            ChatReply::from_json(&json!("hi")).unwrap(),
            ChatReply::content("hi")
        );
        assert_eq!(
            ChatReply::from_json(&json!({"status": 503, "message": "busy"})).unwrap(),
            ChatReply::Status {
                status: 503,
                message: "busy".into()
            }
        );
        assert_eq!(
            ChatReply::from_json(&json!({"hang": true})).unwrap(),
            ChatReply::Hang
        );
        assert!(matches!(
            ChatReply::from_json(&json!({"raw": "<html>"})).unwrap(),
            ChatReply::Raw { status: 200, .. }
        ));
        assert!(ChatReply::from_json(&json!({"status": 99})).is_err());
        assert!(ChatReply::from_json(&json!(3)).is_err());
    }

    #[test]
    fn pieces_respect_characters() {
        assert_eq!(pieces("äöü", 2), vec!["äö".to_string(), "ü".to_string()]);
    }
}
