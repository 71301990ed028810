//! What both providers do around one model call: ask for structured output while the server takes it, fall back to
//! text (for this and every later request) when the server refuses it, run each attempt under the timeout, and
//! remove the API key from whatever comes back.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use odp_secret::Redactor;

use super::{AnswerFormat, ChatAnswer, ChatRequest, ProviderError, ProviderEvent};

/// The policy's state: whether structured output is still asked for. One per provider.
pub(crate) struct AnswerPolicy {
    /// Cleared once the server refuses structured output.
    structured: AtomicBool,
    /// The longest one attempt may take, answer streamed to the end included.
    timeout: Duration,
    /// The endpoint, for the timeout's message.
    url: String,
    /// The key, in every form a server may quote it: removed from whatever is made of a response.
    redactor: Redactor,
}

impl AnswerPolicy {
    pub(crate) fn new(
        structured: bool,
        timeout: Duration,
        url: String,
        redactor: Redactor,
    ) -> AnswerPolicy {
        AnswerPolicy {
            structured: AtomicBool::new(structured),
            timeout,
            url,
            redactor,
        }
    }

    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Asks for one answer through `call`, which makes one attempt: `call(true)` asks for JSON under the request's
    /// schema, `call(false)` for text; it returns the answer's text and whether it is JSON.
    pub(crate) async fn answer<F, Fut>(
        &self,
        request: &ChatRequest,
        events: &(dyn Fn(ProviderEvent) + Send + Sync),
        call: F,
    ) -> Result<ChatAnswer, ProviderError>
    where
        F: Fn(bool) -> Fut,
        Fut: Future<Output = Result<(String, bool), ProviderError>>,
    {
        let structured = request.schema.is_some() && self.structured.load(Ordering::Relaxed);
        let result = match self.attempt(call(structured)).await {
            Err(e) if structured && e.is_bad_request() => {
                // Servers without structured output refuse it: ask for text from now on.
                self.structured.store(false, Ordering::Relaxed);
                let reason = e.redacted(&self.redactor).to_string();
                tracing::info!(%reason, "structured output refused; asking for YAML text");
                events(ProviderEvent::FallbackToText { reason });
                self.attempt(call(false)).await
            }
            r => r,
        };
        match result {
            Ok((text, json)) => Ok(ChatAnswer {
                text: self.redactor.redact(&text).into_owned(),
                format: if json {
                    AnswerFormat::Json
                } else {
                    AnswerFormat::Text
                },
            }),
            Err(e) => Err(e.redacted(&self.redactor)),
        }
    }

    /// One attempt under the timeout.
    async fn attempt<T>(
        &self,
        call: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(ProviderError::Timeout {
                    url: self.url.clone(),
                    after: self.timeout,
                })
            })
    }
}
