//! The method client: POST `{service base URL}{endpoint}` with the resolved params as JSON.
//!
//! The host and path come from the configuration and the registry only; template values can only ever be the JSON
//! body. API keys are sent as bearer tokens and never appear in logs, events, errors or results: everything made
//! from a response (error messages, results) leaves the client redacted of every configured key.

use std::sync::Arc;
use std::time::Duration;

use odp_analysis::Service;
use odp_secret::{Redactor, Secret};
use serde_json::Value;

use crate::BoxFuture;

/// Where a service is and how to authenticate.
#[derive(Clone, Debug)]
pub struct ServiceEndpoint {
    /// `http(s)://host[:port][/prefix]`, without a trailing slash.
    pub base_url: String,
    pub api_key: Option<Secret>,
}

/// One call of a method.
#[derive(Clone, Debug)]
pub struct MethodCall {
    pub method: String,
    pub service: Service,
    /// The registry's endpoint path (starts with `/`).
    pub endpoint: String,
    pub params: Value,
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("cannot reach the {service} service: {message}")]
    Connect { service: String, message: String },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// From `Retry-After` (seconds) or `X-Retry-After-Ms`.
        retry_after: Option<Duration>,
    },
    #[error("the response is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the response is not a JSON object: {0}")]
    InvalidResponse(String),
    #[error("the {0} service is failing: its circuit breaker is open")]
    BreakerOpen(String),
    #[error("no URL is configured for the {0} service")]
    NotConfigured(String),
}

impl CallError {
    /// Connection errors, timeouts, 5xx and 429 are retried; other 4xx and bad responses are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Connect { .. } | CallError::Timeout(_) => true,
            CallError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Whether the failure says the service itself is unhealthy (what the circuit breaker counts).
    pub fn is_service_failure(&self) -> bool {
        match self {
            CallError::Connect { .. } | CallError::Timeout(_) => true,
            CallError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The same error with every secret `redactor` knows removed from its texts.
    pub fn redacted(self, redactor: &Redactor) -> CallError {
        let r = |text: String| redactor.redact(&text).into_owned();
        match self {
            CallError::Connect { service, message } => CallError::Connect {
                service,
                message: r(message),
            },
            CallError::Status {
                status,
                message,
                retry_after,
            } => CallError::Status {
                status,
                message: r(message),
                retry_after,
            },
            CallError::InvalidResponse(message) => CallError::InvalidResponse(r(message)),
            other @ (CallError::Timeout(_)
            | CallError::TooLarge { .. }
            | CallError::BreakerOpen(_)
            | CallError::NotConfigured(_)) => other,
        }
    }
}

/// Calls methods. The engine talks to services only through this trait, so tests and other engines can swap it.
pub trait MethodClient: Send + Sync {
    fn call<'a>(&'a self, call: &'a MethodCall) -> BoxFuture<'a, Result<Value, CallError>>;
}

/// The HTTP client (reqwest).
pub struct HttpMethodClient {
    http: reqwest::Client,
    crawler: Option<ServiceEndpoint>,
    model: Option<ServiceEndpoint>,
    max_response_bytes: usize,
    /// Every key the client sends: a service may quote any of them (a gateway in front of both, a proxy).
    redactor: Redactor,
}

pub fn service_name(service: Service) -> &'static str {
    match service {
        Service::Crawler => "crawler",
        Service::Model => "model",
    }
}

impl HttpMethodClient {
    pub fn new(
        crawler: Option<ServiceEndpoint>,
        model: Option<ServiceEndpoint>,
        max_response_bytes: usize,
    ) -> Result<HttpMethodClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .user_agent(concat!("odp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let redactor = Redactor::new(
            [&crawler, &model]
                .into_iter()
                .filter_map(|e| e.as_ref()?.api_key.as_ref()),
        );
        Ok(HttpMethodClient {
            http,
            crawler,
            model,
            max_response_bytes,
            redactor,
        })
    }

    fn endpoint(&self, service: Service) -> Option<&ServiceEndpoint> {
        match service {
            Service::Crawler => self.crawler.as_ref(),
            Service::Model => self.model.as_ref(),
        }
    }

    async fn call_inner(&self, call: &MethodCall) -> Result<Value, CallError> {
        let service = service_name(call.service);
        let Some(endpoint) = self.endpoint(call.service) else {
            return Err(CallError::NotConfigured(service.into()));
        };
        // The path is the registry's, never a template value's.
        let url = format!("{}{}", endpoint.base_url, call.endpoint);
        let mut request = self.http.post(&url).json(&call.params);
        if let Some(key) = &endpoint.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout(Duration::ZERO)
            } else {
                CallError::Connect {
                    service: service.into(),
                    // Without the URL's query or credentials: only what kind of failure it was.
                    message: describe_reqwest_error(&e),
                }
            }
        })?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        if let Some(len) = response.content_length()
            && len as usize > self.max_response_bytes
        {
            return Err(CallError::TooLarge {
                limit: self.max_response_bytes,
            });
        }
        let mut body = Vec::new();
        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_response_bytes {
                        return Err(CallError::TooLarge {
                            limit: self.max_response_bytes,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(CallError::Connect {
                        service: service.into(),
                        message: describe_reqwest_error(&e),
                    });
                }
            }
        }
        if !status.is_success() {
            // Redacted before it is cut short, so no part of a key is left at the cut; cut short because it goes
            // into errors, events and results, and a service may send megabytes.
            let message = match serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            {
                Some(error) => self.redactor.redact(&error).chars().take(200).collect(),
                None => self
                    .redactor
                    .redact(&String::from_utf8_lossy(&body))
                    .chars()
                    .take(200)
                    .collect(),
            };
            return Err(CallError::Status {
                status: status.as_u16(),
                message,
                retry_after,
            });
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(other) => Err(CallError::InvalidResponse(format!(
                "got {}",
                match other {
                    Value::Array(_) => "a list",
                    Value::String(_) => "a string",
                    Value::Null => "null",
                    _ => "a scalar",
                }
            ))),
            Err(e) => Err(CallError::InvalidResponse(e.to_string())),
        }
    }
}

fn describe_reqwest_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    // The innermost cause says what happened (connection refused, reset, ...), without the URL.
    let mut source: Option<&dyn Error> = e.source();
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| {
        if e.is_connect() {
            "connection failed".into()
        } else if e.is_body() || e.is_decode() {
            "the connection broke off".into()
        } else {
            "request failed".into()
        }
    })
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("x-retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = humantime::parse_rfc3339_weak(value)
        .ok()
        .or_else(|| httpdate(value))?;
    when.duration_since(std::time::SystemTime::now()).ok()
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(s: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 {
        return None;
    }
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == parts[2])? + 1;
    let iso = format!("{}-{:02}-{:0>2}T{}Z", parts[3], month, parts[1], parts[4]);
    humantime::parse_rfc3339(&iso).ok()
}

impl MethodClient for HttpMethodClient {
    /// Whatever the service answered, results and errors leave here redacted of every key.
    fn call<'a>(&'a self, call: &'a MethodCall) -> BoxFuture<'a, Result<Value, CallError>> {
        Box::pin(async move {
            match self.call_inner(call).await {
                Ok(mut result) => {
                    self.redactor.redact_json(&mut result);
                    Ok(result)
                }
                Err(e) => Err(e.redacted(&self.redactor)),
            }
        })
    }
}

impl<T: MethodClient + ?Sized> MethodClient for Arc<T> {
    fn call<'a>(&'a self, call: &'a MethodCall) -> BoxFuture<'a, Result<Value, CallError>> {
        (**self).call(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        let e = ServiceEndpoint {
            base_url: "http://x".into(),
            api_key: Some(s),
        };
        assert!(!format!("{e:?}").contains("sk-very"));
    }

    #[test]
    fn retry_after_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("x-retry-after-ms", "25".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(25)));
        assert!(httpdate("Sun, 06 Nov 1994 08:49:37 GMT").is_some());
    }

    #[test]
    fn what_is_retried() {
        let status = |s| CallError::Status {
            status: s,
            message: String::new(),
            retry_after: None,
        };
        assert!(status(503).is_retryable() && status(429).is_retryable());
        assert!(!status(404).is_retryable() && !status(422).is_retryable());
        assert!(!status(429).is_service_failure());
        assert!(CallError::Timeout(Duration::ZERO).is_retryable());
        assert!(!CallError::InvalidResponse(String::new()).is_retryable());
        assert!(CallError::Timeout(Duration::ZERO).is_service_failure());
        assert!(status(500).is_service_failure());
        assert!(!CallError::TooLarge { limit: 1 }.is_service_failure());
    }

    #[test]
    fn retry_after_as_a_date() {
        let mut h = reqwest::header::HeaderMap::new();
        // A date in the future waits until then; one in the past, or nonsense, says nothing.
        let soon = std::time::SystemTime::now() + Duration::from_secs(120);
        let stamp = humantime::format_rfc3339_seconds(soon).to_string();
        h.insert("retry-after", stamp.parse().unwrap());
        let wait = retry_after(&h).expect("a future date");
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        // An HTTP date reads as the same instant as its RFC 3339 form.
        assert_eq!(
            httpdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            humantime::parse_rfc3339("1994-11-06T08:49:37Z").ok()
        );
        assert_eq!(httpdate("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(httpdate("06 Nov 1994"), None);
    }
}
