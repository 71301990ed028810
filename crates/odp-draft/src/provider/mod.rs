//! Model providers: the HTTP lives behind [`DraftProvider`]. Two are built in: any OpenAI-compatible server
//! (through async-openai) and Anthropic's Messages API (over reqwest).

mod anthropic;
mod openai;
mod policy;
mod sse;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use odp_secret::Redactor;
use serde_json::Value;

pub use anthropic::AnthropicProvider;
pub use openai::OpenAiProvider;

use crate::config::{ConfigError, DraftSettings, ProviderKind};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who said a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// One request to the model.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    /// The rules and the offered methods.
    pub system: String,
    /// Appended to `system` when the answer is asked for under `schema`.
    pub json_instructions: String,
    /// Appended to `system` when the answer is asked for as text.
    pub text_instructions: String,
    /// The JSON Schema of a structured answer; `None` asks for text.
    pub schema: Option<Value>,
    pub messages: Vec<ChatMessage>,
    /// The most tokens the answer may have.
    pub max_tokens: u32,
}

/// How an answer came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerFormat {
    /// JSON under the schema.
    Json,
    /// Free text (YAML, maybe with chatter).
    Text,
}

#[derive(Clone, Debug)]
pub struct ChatAnswer {
    pub text: String,
    pub format: AnswerFormat,
}

/// What a provider reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum ProviderEvent {
    /// So many characters of the answer have arrived (streaming).
    Receiving { chars: usize },
    /// The server refused structured output; this and later requests ask for text.
    FallbackToText { reason: String },
}

/// A failed model call. Messages never contain the API key: providers redact it from everything they make of a
/// response, before cutting texts short.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot reach the model server at {url}: {detail}. Is it running? Check {hint}")]
    Unreachable {
        url: String,
        detail: String,
        hint: String,
    },
    #[error(
        "the model server at {url} did not answer within {}; raise ODP_LLM_TIMEOUT (or `timeout` in [draft] of odp.toml) if the model is slow",
        humantime::format_duration(*after)
    )]
    Timeout { url: String, after: Duration },
    #[error("the model server refused the API key (HTTP {status}): {message}. Check {key_var}")]
    Auth {
        status: u16,
        message: String,
        key_var: String,
    },
    #[error("the model server answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the model server answered something that is not a {expected}: {detail}")]
    Garbage { expected: String, detail: String },
    #[error("the model call failed: {0}")]
    Other(String),
}

impl ProviderError {
    /// The same error with every secret `redactor` knows removed from its texts (servers echo keys in error
    /// messages).
    pub(crate) fn redacted(self, redactor: &Redactor) -> ProviderError {
        let r = |text: String| redactor.redact(&text).into_owned();
        match self {
            ProviderError::Unreachable { url, detail, hint } => ProviderError::Unreachable {
                url: r(url),
                detail: r(detail),
                hint,
            },
            ProviderError::Timeout { url, after } => ProviderError::Timeout { url: r(url), after },
            ProviderError::Auth {
                status,
                message,
                key_var,
            } => ProviderError::Auth {
                status,
                message: r(message),
                key_var,
            },
            ProviderError::Status { status, message } => ProviderError::Status {
                status,
                message: r(message),
            },
            ProviderError::Garbage { expected, detail } => ProviderError::Garbage {
                expected,
                detail: r(detail),
            },
            ProviderError::Other(m) => ProviderError::Other(r(m)),
        }
    }

    /// Whether the server refused the request itself (so structured output may be the reason).
    pub(crate) fn is_bad_request(&self) -> bool {
        matches!(self, ProviderError::Status { status, .. } if matches!(status, 400 | 415 | 422 | 501))
    }
}

/// A language model that answers chat requests.
pub trait DraftProvider: Send + Sync {
    /// One line for humans: model and server.
    fn describe(&self) -> String;

    /// Asks for one answer. `events` hears progress; the answer comes whole.
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(ProviderEvent) + Send + Sync),
    ) -> BoxFuture<'a, Result<ChatAnswer, ProviderError>>;
}

/// The provider the settings describe.
pub fn provider_from_settings(
    settings: &DraftSettings,
) -> Result<Box<dyn DraftProvider>, ConfigError> {
    Ok(match settings.provider {
        ProviderKind::OpenAi => Box::new(OpenAiProvider::new(settings.clone())?),
        ProviderKind::Anthropic => Box::new(AnthropicProvider::new(settings.clone())?),
    })
}

/// Installs rustls' ring crypto provider once (reqwest 0.13 under async-openai is built without one, to avoid
/// aws-lc-rs and its C build). Harmless when another provider is installed already.
pub(crate) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A short description of an HTTP client error, without the URL (which the caller states) or the error chain's
/// repetitions.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    // The innermost cause says the most ("Connection refused (os error 111)").
    parts.last().cloned().unwrap_or_default()
}
