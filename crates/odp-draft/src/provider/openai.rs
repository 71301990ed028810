//! Any OpenAI-compatible chat completions server (OpenAI, Ollama, vLLM, llama.cpp server, the scripted stub),
//! through async-openai.
//!
//! async-openai's default executor retries 429, 5xx and connection errors with backoff; drafts replace it with
//! the plain reqwest service so that a server that is down or overloaded gives a prompt, clear error (the repair
//! loop and the user decide whether to try again). The whole call, streamed answer included, runs under the
//! configured timeout.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessageArgs, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, ResponseFormat,
    ResponseFormatJsonSchema,
};
use futures_util::StreamExt;
use odp_secret::Redactor;

use super::policy::AnswerPolicy;
use super::{
    BoxFuture, ChatAnswer, ChatRequest, DraftProvider, ProviderError, ProviderEvent, Role,
    error_chain, install_crypto_provider,
};
use crate::config::{ConfigError, DraftSettings};
use crate::extract::preview;

pub struct OpenAiProvider {
    settings: DraftSettings,
    client: Client<OpenAIConfig>,
    /// Structured output (`response_format`) or text, timeouts, the key redacted.
    policy: AnswerPolicy,
}

impl OpenAiProvider {
    pub fn new(settings: DraftSettings) -> Result<OpenAiProvider, ConfigError> {
        install_crypto_provider();
        let http = reqwest_openai::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| ConfigError::Client(error_chain(&e)))?;
        // Set explicitly: OpenAIConfig's defaults read OPENAI_BASE_URL / OPENAI_API_KEY behind our precedence.
        let config = OpenAIConfig::new()
            .with_api_base(settings.base_url.clone())
            .with_api_key(
                settings
                    .api_key
                    .as_ref()
                    .map(|k| k.expose().to_string())
                    .unwrap_or_default(),
            );
        let client =
            Client::build(http.clone(), config).with_http_service(ReqwestService::new(http));
        Ok(OpenAiProvider {
            policy: AnswerPolicy::new(
                settings.structured_output,
                settings.timeout,
                format!("{}/chat/completions", settings.base_url),
                Redactor::new(&settings.api_key),
            ),
            settings,
            client,
        })
    }

    fn build_request(
        &self,
        request: &ChatRequest,
        structured: bool,
    ) -> Result<CreateChatCompletionRequest, OpenAIError> {
        let instructions = if structured {
            &request.json_instructions
        } else {
            &request.text_instructions
        };
        let mut messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content(format!("{}\n\n{instructions}", request.system))
                .build()?
                .into(),
        ];
        for m in &request.messages {
            messages.push(match m.role {
                Role::User => ChatCompletionRequestUserMessageArgs::default()
                    .content(m.content.clone())
                    .build()?
                    .into(),
                Role::Assistant => ChatCompletionRequestAssistantMessageArgs::default()
                    .content(m.content.clone())
                    .build()?
                    .into(),
            });
        }
        let mut args = CreateChatCompletionRequestArgs::default();
        args.model(self.settings.model.clone()).messages(messages);
        if structured && let Some(schema) = &request.schema {
            args.response_format(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("An ODP pipeline".into()),
                    name: "odp_pipeline".into(),
                    schema: schema.clone(),
                    strict: Some(true),
                },
            });
        }
        args.build()
    }

    async fn call(
        &self,
        request: &ChatRequest,
        structured: bool,
        events: &(dyn Fn(ProviderEvent) + Send + Sync),
    ) -> Result<String, ProviderError> {
        let body = self
            .build_request(request, structured)
            .map_err(|e| ProviderError::Other(e.to_string()))?;
        let chat = self.client.chat();
        if !self.settings.stream {
            let response = chat.create(body).await.map_err(|e| self.map_error(e))?;
            let choice =
                response
                    .choices
                    .into_iter()
                    .next()
                    .ok_or_else(|| ProviderError::Garbage {
                        expected: "chat completion".into(),
                        detail: "it has no choices".into(),
                    })?;
            if let Some(refusal) = choice.message.refusal.filter(|r| !r.is_empty()) {
                return Err(ProviderError::Other(format!(
                    "the model refused: {refusal}"
                )));
            }
            let text = choice.message.content.unwrap_or_default();
            events(ProviderEvent::Receiving {
                chars: text.chars().count(),
            });
            return Ok(text);
        }
        let mut stream = chat
            .create_stream(body)
            .await
            .map_err(|e| self.map_error(e))?;
        let mut text = String::new();
        let mut refusal = String::new();
        let mut chunks = 0usize;
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(|e| self.map_error(e))?;
            chunks += 1;
            if let Some(choice) = chunk.choices.into_iter().next() {
                if let Some(part) = choice.delta.content {
                    text.push_str(&part);
                    events(ProviderEvent::Receiving {
                        chars: text.chars().count(),
                    });
                }
                if let Some(r) = choice.delta.refusal {
                    refusal.push_str(&r);
                }
            }
        }
        if !refusal.is_empty() && text.is_empty() {
            return Err(ProviderError::Other(format!(
                "the model refused: {refusal}"
            )));
        }
        if chunks == 0 {
            return Err(ProviderError::Garbage {
                expected: "chat completion stream".into(),
                detail: "no server-sent event arrived".into(),
            });
        }
        Ok(text)
    }

    fn map_error(&self, e: OpenAIError) -> ProviderError {
        let url = format!("{}/chat/completions", self.settings.base_url);
        match e {
            OpenAIError::Reqwest(e) => {
                if e.is_connect() {
                    ProviderError::Unreachable {
                        url,
                        detail: error_chain(&e),
                        hint: "OPENAI_BASE_URL".into(),
                    }
                } else if e.is_timeout() {
                    ProviderError::Timeout {
                        url,
                        after: self.settings.timeout,
                    }
                } else if e.is_decode() || e.is_body() {
                    ProviderError::Garbage {
                        expected: "chat completion".into(),
                        detail: error_chain(&e),
                    }
                } else {
                    ProviderError::Other(format!("{url}: {}", error_chain(&e)))
                }
            }
            OpenAIError::ApiError(api) => {
                let status = api.status_code.as_u16();
                // Redacted whole, before a preview cuts it (a key cut short would escape the redactor).
                let message = self
                    .policy
                    .redactor()
                    .redact(api.api_error.message.trim())
                    .into_owned();
                if status == 401 || status == 403 {
                    ProviderError::Auth {
                        status,
                        message,
                        key_var: self.settings.api_key_var.clone(),
                    }
                } else {
                    ProviderError::Status {
                        status,
                        message: if message.is_empty() {
                            "(no message)".into()
                        } else {
                            preview(&message, 300).trim_matches('`').to_string()
                        },
                    }
                }
            }
            OpenAIError::JSONDeserialize(err, content) => ProviderError::Garbage {
                expected: "chat completion".into(),
                detail: format!(
                    "{err}; it began {}",
                    preview(&self.policy.redactor().redact(&content), 120)
                ),
            },
            OpenAIError::StreamError(err) => ProviderError::Garbage {
                expected: "chat completion stream".into(),
                detail: err.to_string(),
            },
            other => ProviderError::Other(other.to_string()),
        }
    }
}

impl DraftProvider for OpenAiProvider {
    fn describe(&self) -> String {
        self.settings.describe()
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(ProviderEvent) + Send + Sync),
    ) -> BoxFuture<'a, Result<ChatAnswer, ProviderError>> {
        Box::pin(
            self.policy
                .answer(request, events, move |structured| async move {
                    self.call(request, structured, events)
                        .await
                        .map(|text| (text, structured))
                }),
        )
    }
}
