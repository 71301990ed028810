//! Anthropic's Messages API (`POST {base}/v1/messages`) over reqwest.
//!
//! Structured output goes through a forced tool call: the answer schema is the input schema of one tool,
//! `write_pipeline`, that the model must call, so its input is the pipeline as JSON. Answers are streamed
//! (`text_delta` and `input_json_delta` events).

use futures_util::StreamExt;
use odp_secret::Redactor;
use serde_json::{Value, json};

use super::policy::AnswerPolicy;
use super::sse;
use super::{
    BoxFuture, ChatAnswer, ChatRequest, DraftProvider, ProviderError, ProviderEvent, Role,
    error_chain,
};
use crate::config::{ConfigError, DraftSettings};
use crate::extract::preview;

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
const TOOL: &str = "write_pipeline";

pub struct AnthropicProvider {
    settings: DraftSettings,
    http: reqwest::Client,
    /// Structured output or text, timeouts, the key redacted.
    policy: AnswerPolicy,
}

impl AnthropicProvider {
    pub fn new(settings: DraftSettings) -> Result<AnthropicProvider, ConfigError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| ConfigError::Client(error_chain(&e)))?;
        Ok(AnthropicProvider {
            policy: AnswerPolicy::new(
                settings.structured_output,
                settings.timeout,
                format!("{}/v1/messages", settings.base_url),
                Redactor::new(&settings.api_key),
            ),
            settings,
            http,
        })
    }

    fn url(&self) -> String {
        format!("{}/v1/messages", self.settings.base_url)
    }

    fn body(&self, request: &ChatRequest, structured: bool) -> Value {
        let instructions = if structured {
            &request.json_instructions
        } else {
            &request.text_instructions
        };
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                json!({
                    "role": match m.role { Role::User => "user", Role::Assistant => "assistant" },
                    "content": m.content,
                })
            })
            .collect();
        let mut body = json!({
            "model": self.settings.model,
            "max_tokens": request.max_tokens,
            "system": format!("{}\n\n{instructions}", request.system),
            "messages": messages,
            "stream": self.settings.stream,
        });
        if structured && let Some(schema) = &request.schema {
            body["tools"] = json!([{
                "name": TOOL,
                "description": "Write the ODP pipeline.",
                "input_schema": schema,
            }]);
            body["tool_choice"] = json!({"type": "tool", "name": TOOL});
        }
        body
    }

    async fn call(
        &self,
        request: &ChatRequest,
        structured: bool,
        events: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<(String, bool), ProviderError> {
        let url = self.url();
        let mut builder = self
            .http
            .post(&url)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&self.body(request, structured));
        if let Some(key) = &self.settings.api_key {
            builder = builder.header("x-api-key", key.expose());
        }
        let response = builder.send().await.map_err(|e| self.map_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            // Redacted whole, before a preview cuts it (a key cut short would escape the redactor).
            let text = response.text().await.unwrap_or_default();
            let text = self.policy.redactor().redact(&text);
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| preview(&text, 300).trim_matches('`').to_string());
            return Err(if status.as_u16() == 401 || status.as_u16() == 403 {
                ProviderError::Auth {
                    status: status.as_u16(),
                    message,
                    key_var: self.settings.api_key_var.clone(),
                }
            } else {
                ProviderError::Status {
                    status: status.as_u16(),
                    message,
                }
            });
        }
        if !self.settings.stream {
            let text = response.text().await.map_err(|e| self.map_error(&e))?;
            let text = self.policy.redactor().redact(&text);
            let value: Value = serde_json::from_str(&text).map_err(|e| ProviderError::Garbage {
                expected: "Messages API response".into(),
                detail: format!("{e}; it began {}", preview(&text, 120)),
            })?;
            let Some(content) = value["content"].as_array() else {
                return Err(ProviderError::Garbage {
                    expected: "Messages API response".into(),
                    detail: format!("it has no `content`; it began {}", preview(&text, 120)),
                });
            };
            let mut out = String::new();
            let mut tool = None;
            for block in content {
                match block["type"].as_str() {
                    Some("text") => out.push_str(block["text"].as_str().unwrap_or("")),
                    Some("tool_use") => tool = Some(block["input"].to_string()),
                    _ => {}
                }
            }
            let (text, json) = match tool {
                Some(t) => (t, true),
                None => (out, false),
            };
            events(ProviderEvent::Receiving {
                chars: text.chars().count(),
            });
            return Ok((text, json));
        }
        let mut stream = response.bytes_stream();
        let mut parser = sse::Parser::default();
        let mut text = String::new();
        let mut tool_json = String::new();
        let mut saw_event = false;
        let mut handle = |e: sse::Event| -> Result<(), ProviderError> {
            if e.data.is_empty() {
                return Ok(());
            }
            let v: Value = serde_json::from_str(&e.data).map_err(|err| ProviderError::Garbage {
                expected: "Messages API event stream".into(),
                detail: format!(
                    "{err}; an event began {}",
                    preview(&self.policy.redactor().redact(&e.data), 120)
                ),
            })?;
            saw_event = true;
            match v["type"].as_str() {
                Some("content_block_delta") => {
                    let delta = &v["delta"];
                    match delta["type"].as_str() {
                        Some("text_delta") => text.push_str(delta["text"].as_str().unwrap_or("")),
                        Some("input_json_delta") => {
                            tool_json.push_str(delta["partial_json"].as_str().unwrap_or(""))
                        }
                        _ => {}
                    }
                    events(ProviderEvent::Receiving {
                        chars: text.chars().count() + tool_json.chars().count(),
                    });
                }
                Some("error") => {
                    return Err(ProviderError::Status {
                        status: 500,
                        message: v["error"]["message"]
                            .as_str()
                            .unwrap_or("error event in the stream")
                            .to_string(),
                    });
                }
                _ => {}
            }
            Ok(())
        };
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.map_error(&e))?;
            for event in parser.push(&chunk) {
                handle(event)?;
            }
        }
        if let Some(event) = parser.finish() {
            handle(event)?;
        }
        if !saw_event {
            return Err(ProviderError::Garbage {
                expected: "Messages API event stream".into(),
                detail: "no server-sent event arrived".into(),
            });
        }
        Ok(if tool_json.is_empty() {
            (text, false)
        } else {
            (tool_json, true)
        })
    }

    fn map_error(&self, e: &reqwest::Error) -> ProviderError {
        let url = self.url();
        if e.is_connect() {
            ProviderError::Unreachable {
                url,
                detail: error_chain(e),
                hint: "ANTHROPIC_BASE_URL".into(),
            }
        } else if e.is_timeout() {
            ProviderError::Timeout {
                url,
                after: self.settings.timeout,
            }
        } else {
            ProviderError::Other(format!("{url}: {}", error_chain(e)))
        }
    }
}

impl DraftProvider for AnthropicProvider {
    fn describe(&self) -> String {
        self.settings.describe()
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(ProviderEvent) + Send + Sync),
    ) -> BoxFuture<'a, Result<ChatAnswer, ProviderError>> {
        Box::pin(self.policy.answer(request, events, |structured| {
            self.call(request, structured, events)
        }))
    }
}
