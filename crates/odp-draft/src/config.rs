//! How drafts are made: which model to ask and how the loop runs, from the environment and the `[draft]` section
//! of `odp.toml` ([`DraftSettings::resolve`], the one loader; `odp.toml`'s section itself is
//! [`odp_workspace::DraftSection`], the file's shape).
//!
//! Precedence, as everywhere in odp: environment variable, then `odp.toml`, then the default. API keys come only
//! from the environment; `odp.toml` may name the variable (`api-key-env`), never hold the key.

use std::fmt;
use std::time::Duration;

use odp_secret::{Secret, SecretError};
use odp_workspace::DraftSection;
use odp_workspace::base_url::{BaseUrlError, parse_base_url};

/// The default model of the OpenAI-compatible provider.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
/// The default model of the Anthropic provider.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The longest one model call may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Answers asked of the model for one draft by default: the first draft and up to two repairs.
pub const DEFAULT_ROUNDS: usize = 3;
/// Registry methods offered to the model by default.
pub const DEFAULT_METHODS: usize = 8;
/// The most tokens one answer may have (Anthropic needs a limit; OpenAI-compatible servers get none).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The kind of API spoken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// `POST {base}/chat/completions`: OpenAI, Ollama, vLLM, llama.cpp server, ... (through async-openai).
    OpenAi,
    /// Anthropic's Messages API, `POST {base}/v1/messages`.
    Anthropic,
}

impl ProviderKind {
    pub fn parse(s: &str) -> Option<ProviderKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "ollama" | "vllm" | "llamacpp" | "llama.cpp" => {
                Some(ProviderKind::OpenAi)
            }
            "anthropic" | "claude" => Some(ProviderKind::Anthropic),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything a front end configures about drafts: the model to talk to and how the draft loop runs. `Debug` never
/// shows the key.
#[derive(Clone, Debug)]
pub struct DraftSettings {
    pub provider: ProviderKind,
    /// Without a trailing slash. OpenAI-compatible: includes `/v1`; Anthropic: without it.
    pub base_url: String,
    pub api_key: Option<Secret>,
    /// The variable the key was read from (or would be), for messages.
    pub api_key_var: String,
    pub model: String,
    /// The longest one model call may take, answer streamed to the end included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Ask for JSON under a strict JSON Schema first (falls back to YAML text if the server refuses).
    pub structured_output: bool,
    /// Stream answers (progress while the model writes).
    pub stream: bool,
    /// The most answers asked of the model: the first draft and its repairs (at least 1).
    pub max_rounds: usize,
    /// How many methods are offered to the model (methods named in the request come on top).
    pub methods: usize,
    /// The most tokens one answer may have (Anthropic needs a limit; OpenAI-compatible servers get none).
    pub max_tokens: u32,
}

impl DraftSettings {
    /// Settings for an OpenAI-compatible server at `base_url` (tests, the scripted stub).
    pub fn openai_compatible(
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> DraftSettings {
        DraftSettings {
            provider: ProviderKind::OpenAi,
            base_url: trim_base(base_url.into()),
            api_key: None,
            api_key_var: "OPENAI_API_KEY".into(),
            model: model.into(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            structured_output: true,
            stream: true,
            max_rounds: DEFAULT_ROUNDS,
            methods: DEFAULT_METHODS,
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    /// Settings for the Anthropic Messages API at `base_url`.
    pub fn anthropic(base_url: impl Into<String>, model: impl Into<String>) -> DraftSettings {
        DraftSettings {
            provider: ProviderKind::Anthropic,
            base_url: trim_base(base_url.into()),
            api_key: None,
            api_key_var: "ANTHROPIC_API_KEY".into(),
            model: model.into(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            structured_output: true,
            stream: true,
            max_rounds: DEFAULT_ROUNDS,
            methods: DEFAULT_METHODS,
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    /// From the process environment and an `odp.toml` `[draft]` section.
    pub fn from_environment(section: &DraftSection) -> Result<DraftSettings, ConfigError> {
        DraftSettings::resolve(&|name| std::env::var(name).ok(), section)
    }

    /// From an environment lookup (tests pass their own) and an `odp.toml` `[draft]` section.
    pub fn resolve(
        env: &dyn Fn(&str) -> Option<String>,
        section: &DraftSection,
    ) -> Result<DraftSettings, ConfigError> {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if section.api_key.is_some() {
            return Err(ConfigError::KeyInConfigFile);
        }
        let chosen = match var("ODP_LLM_PROVIDER") {
            Some(p) => Some(
                ProviderKind::parse(&p).ok_or_else(|| ConfigError::UnknownProvider(p.clone()))?,
            ),
            None => match &section.provider {
                Some(p) => Some(
                    ProviderKind::parse(p)
                        .ok_or_else(|| ConfigError::UnknownProvider(p.clone()))?,
                ),
                None => None,
            },
        };
        let key_var_for = |kind: ProviderKind| -> String {
            section.api_key_env.clone().unwrap_or_else(|| match kind {
                ProviderKind::OpenAi => "OPENAI_API_KEY".into(),
                ProviderKind::Anthropic => "ANTHROPIC_API_KEY".into(),
            })
        };
        let provider = match chosen {
            Some(p) => p,
            None => {
                let openai = var("OPENAI_BASE_URL").is_some()
                    || var(&key_var_for(ProviderKind::OpenAi)).is_some();
                let anthropic = var("ANTHROPIC_BASE_URL").is_some()
                    || var(&key_var_for(ProviderKind::Anthropic)).is_some();
                let configured_in_file = section.base_url.is_some() || section.model.is_some();
                if openai || configured_in_file {
                    ProviderKind::OpenAi
                } else if anthropic {
                    ProviderKind::Anthropic
                } else {
                    return Err(ConfigError::NotConfigured);
                }
            }
        };
        let api_key_var = key_var_for(provider);
        let api_key = Secret::from_var(&api_key_var, env(&api_key_var).as_deref())?;
        let (base_var, default_base, default_model) = match provider {
            ProviderKind::OpenAi => (
                "OPENAI_BASE_URL",
                DEFAULT_OPENAI_BASE_URL,
                DEFAULT_OPENAI_MODEL,
            ),
            ProviderKind::Anthropic => (
                "ANTHROPIC_BASE_URL",
                DEFAULT_ANTHROPIC_BASE_URL,
                DEFAULT_ANTHROPIC_MODEL,
            ),
        };
        let (base_url, origin) = match (var(base_var), &section.base_url) {
            (Some(url), _) => (url, base_var.to_string()),
            (None, Some(url)) => (url.clone(), "odp.toml [draft] base-url".to_string()),
            (None, None) => (default_base.to_string(), "the default".to_string()),
        };
        let base_url = parse_base_url(&base_url).map_err(|reason| ConfigError::BadUrl {
            origin,
            url: odp_workspace::base_url::shown_url(&base_url),
            reason,
        })?;
        if provider == ProviderKind::Anthropic && api_key.is_none() {
            return Err(ConfigError::MissingKey(api_key_var));
        }
        if provider == ProviderKind::OpenAi
            && api_key.is_none()
            && base_url.trim_end_matches('/') == DEFAULT_OPENAI_BASE_URL
        {
            return Err(ConfigError::MissingKey(api_key_var));
        }
        let model = var("ODP_LLM_MODEL")
            .or_else(|| section.model.clone())
            .unwrap_or_else(|| default_model.to_string());
        let timeout = match var("ODP_LLM_TIMEOUT").or_else(|| section.timeout.clone()) {
            Some(t) => parse_duration(&t).ok_or(ConfigError::BadTimeout(t))?,
            None => DEFAULT_TIMEOUT,
        };
        Ok(DraftSettings {
            provider,
            base_url,
            api_key,
            api_key_var,
            model,
            timeout,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT.min(timeout),
            structured_output: section.structured_output.unwrap_or(true),
            stream: section.stream.unwrap_or(true),
            max_rounds: section
                .rounds
                .map_or(DEFAULT_ROUNDS, |r| (r as usize).max(1)),
            methods: section
                .methods
                .map_or(DEFAULT_METHODS, |k| (k as usize).max(1)),
            max_tokens: DEFAULT_MAX_TOKENS,
        })
    }

    /// One line for humans: provider, model and server (never the key).
    pub fn describe(&self) -> String {
        format!(
            "{} at {} ({}{})",
            self.model,
            self.base_url,
            self.provider,
            if self.api_key.is_some() {
                format!(", key from {}", self.api_key_var)
            } else {
                String::new()
            }
        )
    }
}

fn trim_base(s: String) -> String {
    s.trim().trim_end_matches('/').to_string()
}

/// `30s`, `2m`, `1500ms`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return (secs > 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(s).ok().filter(|d| !d.is_zero())
}

/// A configuration that cannot work. Messages name variables, never their values.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no language model is configured: set OPENAI_BASE_URL (an OpenAI-compatible server such as Ollama's \
         http://localhost:11434/v1) or OPENAI_API_KEY, or ANTHROPIC_API_KEY; or add a [draft] section to odp.toml \
         (see docs/drafts.md)"
    )]
    NotConfigured,
    #[error(
        "unknown model provider `{0}`: use `openai` (any OpenAI-compatible server) or `anthropic`"
    )]
    UnknownProvider(String),
    #[error("{0} is not set: the model server needs an API key")]
    MissingKey(String),
    /// An API key that cannot be used (too short, or not visible ASCII).
    #[error(transparent)]
    Key(#[from] SecretError),
    /// `origin` says where the URL was set: an environment variable or `odp.toml`.
    #[error("{origin}: `{url}` is not a usable base URL for the model server: {reason}")]
    BadUrl {
        origin: String,
        url: String,
        reason: BaseUrlError,
    },
    #[error("invalid model timeout `{0}`: write a duration such as `90s` or `2m`")]
    BadTimeout(String),
    #[error(
        "odp.toml: API keys never go in odp.toml; remove `api-key` from [draft] and name the environment \
         variable that holds the key with `api-key-env`"
    )]
    KeyInConfigFile,
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)], section: DraftSection) -> Result<DraftSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DraftSettings::resolve(&|name| map.get(name).cloned(), &section)
    }

    #[test]
    fn nothing_configured_is_a_clear_error() {
        let e = resolve(&[], DraftSection::default()).unwrap_err();
        assert!(e.to_string().contains("OPENAI_BASE_URL"), "{e}");
    }

    #[test]
    fn openai_compatible_from_the_environment() {
        let s = resolve(
            &[
                ("OPENAI_BASE_URL", "http://localhost:11434/v1/"),
                ("ODP_LLM_MODEL", "qwen2.5-coder:7b"),
            ],
            DraftSection::default(),
        )
        .unwrap();
        assert_eq!(s.provider, ProviderKind::OpenAi);
        assert_eq!(s.base_url, "http://localhost:11434/v1");
        assert_eq!(s.model, "qwen2.5-coder:7b");
        assert!(s.api_key.is_none());
        // OpenAI itself needs a key.
        let e = resolve(
            &[("OPENAI_BASE_URL", "https://api.openai.com/v1")],
            DraftSection::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::MissingKey(_)));
    }

    #[test]
    fn provider_chooses_when_both_are_configured() {
        let vars = [
            ("OPENAI_API_KEY", "sk-openai-secret-value"),
            ("ANTHROPIC_API_KEY", "sk-ant-secret-value"),
        ];
        let s = resolve(&vars, DraftSection::default()).unwrap();
        assert_eq!(s.provider, ProviderKind::OpenAi);
        assert_eq!(s.model, DEFAULT_OPENAI_MODEL);
        let mut with_choice = vars.to_vec();
        with_choice.push(("ODP_LLM_PROVIDER", "anthropic"));
        let s = resolve(&with_choice, DraftSection::default()).unwrap();
        assert_eq!(s.provider, ProviderKind::Anthropic);
        assert_eq!(s.model, DEFAULT_ANTHROPIC_MODEL);
        assert_eq!(s.base_url, DEFAULT_ANTHROPIC_BASE_URL);
        assert_eq!(s.api_key.as_ref().unwrap().expose(), "sk-ant-secret-value");
        let shown = format!("{s:?} {}", s.describe());
        assert!(!shown.contains("sk-ant-secret-value"), "{shown}");
    }

    #[test]
    fn odp_toml_settings_and_key_by_reference() {
        let section = DraftSection {
            provider: Some("openai".into()),
            base_url: Some("http://127.0.0.1:8000/v1".into()),
            model: Some("local".into()),
            api_key_env: Some("MY_LLM_KEY".into()),
            timeout: Some("5s".into()),
            ..DraftSection::default()
        };
        let s = resolve(&[("MY_LLM_KEY", "abcd-secret-1234")], section.clone()).unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(s.model, "local");
        assert_eq!(s.api_key_var, "MY_LLM_KEY");
        assert_eq!(s.timeout, Duration::from_secs(5));
        // The environment wins over the file.
        let s = resolve(&[("ODP_LLM_MODEL", "other")], section).unwrap();
        assert_eq!(s.model, "other");
        // A key written in the file is refused.
        let e = resolve(
            &[],
            DraftSection {
                api_key: Some(odp_workspace::config::KeyWrittenInline),
                ..DraftSection::default()
            },
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::KeyInConfigFile));
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(matches!(
            resolve(&[("ODP_LLM_PROVIDER", "gemini")], DraftSection::default()),
            Err(ConfigError::UnknownProvider(_))
        ));
        assert!(matches!(
            resolve(
                &[
                    ("OPENAI_BASE_URL", "http://x/v1"),
                    ("ODP_LLM_TIMEOUT", "soon")
                ],
                DraftSection::default()
            ),
            Err(ConfigError::BadTimeout(_))
        ));
        assert!(matches!(
            resolve(
                &[("OPENAI_BASE_URL", "localhost:1234")],
                DraftSection::default()
            ),
            Err(ConfigError::BadUrl { .. })
        ));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn keys_and_base_urls_that_cannot_work_are_refused_naming_their_variable() {
        // A key too short to be redacted reliably: refused, naming the variable and never the value.
        let e = resolve(
            &[
                ("OPENAI_BASE_URL", "http://x/v1"),
                ("OPENAI_API_KEY", "sk-12"),
            ],
            DraftSection::default(),
        )
        .unwrap_err();
        let shown = e.to_string();
        assert!(
            matches!(e, ConfigError::Key(SecretError::TooShort { .. })),
            "{shown}"
        );
        assert!(
            shown.starts_with("OPENAI_API_KEY is shorter than 8"),
            "{shown}"
        );
        assert!(!shown.contains("sk-12"), "{shown}");
        let section = DraftSection {
            api_key_env: Some("MY_LLM_KEY".into()),
            base_url: Some("http://127.0.0.1:8000/v1".into()),
            ..DraftSection::default()
        };
        let shown = resolve(&[("MY_LLM_KEY", "abc")], section)
            .unwrap_err()
            .to_string();
        assert!(shown.starts_with("MY_LLM_KEY is shorter"), "{shown}");
        let shown = resolve(
            &[("ANTHROPIC_API_KEY", "sk ant key 12345")],
            DraftSection::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            shown.contains("cannot be sent in an HTTP header"),
            "{shown}"
        );
        assert!(!shown.contains("sk ant"), "{shown}");

        for (url, why) in [
            ("ftp://models.example.com/v1", "its scheme is `ftp`"),
            ("http://localhost:99999/v1", "invalid port number"),
            ("http://localhost:11434/v1?key=1", "query"),
            ("http://localhost:11434/v1#chat", "fragment"),
        ] {
            let e = resolve(&[("OPENAI_BASE_URL", url)], DraftSection::default()).unwrap_err();
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!(
                    "OPENAI_BASE_URL: `{}` is not a usable base URL",
                    odp_workspace::base_url::shown_url(url)
                )),
                "{shown}"
            );
            assert!(shown.contains(why), "{shown}");
        }
    }
}
