//! Base URLs of the servers odp calls (the crawler and model APIs, the language model server), checked where they
//! are configured: a URL that cannot work is a configuration error before anything runs, not a network error
//! retried at every call.

use serde::{Deserialize, Deserializer};

/// Why a base URL cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    /// Not an absolute URL, or a part of it is malformed (the reason is the URL parser's, e.g. "invalid port number").
    #[error("it is not an absolute URL ({0})")]
    Malformed(String),
    #[error("its scheme is `{0}`: services are called over http or https")]
    Scheme(String),
    #[error("it has a query (`?…`), which would swallow the endpoint path appended to it")]
    Query,
    #[error("it has a fragment (`#…`), which would swallow the endpoint path appended to it")]
    Fragment,
    #[error(
        "it carries credentials (`user:password@`): API keys come from the environment (ODP_CRAWLER_API_KEY, ODP_MODEL_API_KEY, or the variable `api-key-env` names)"
    )]
    Credentials,
}

/// Checks a base URL: an absolute `http` or `https` URL with a host and a valid port, and no query or fragment
/// (endpoint paths are appended to it). Returns it without surrounding whitespace and trailing `/` (endpoints
/// start with `/`).
pub fn parse_base_url(text: &str) -> Result<String, BaseUrlError> {
    let text = text.trim();
    let url = url::Url::parse(text).map_err(|e| BaseUrlError::Malformed(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BaseUrlError::Scheme(url.scheme().to_string()));
    }
    if url.query().is_some() {
        return Err(BaseUrlError::Query);
    }
    if url.fragment().is_some() {
        return Err(BaseUrlError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// A base URL as it may be shown in a message: without credentials, query or fragment, which is where a URL
/// carries keys (`https://user:key@host`, `?api_key=…`). Works on text that is not a URL too.
pub fn shown_url(text: &str) -> String {
    let text = text.trim();
    let (head, cut) = match text.find(['?', '#']) {
        Some(i) => (
            &text[..i],
            Some(if text.as_bytes()[i] == b'?' {
                "?…"
            } else {
                "#…"
            }),
        ),
        None => (text, None),
    };
    let mut shown = match head.find("://") {
        Some(i) => {
            let (scheme, rest) = head.split_at(i + 3);
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}…@{}", &rest[at + 1..]),
                None => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    shown.push_str(cut.unwrap_or(""));
    shown
}

/// For `#[serde(deserialize_with)]` on an `Option<String>`: a base URL checked by [`parse_base_url`]; blank counts
/// as unset. The error names the value, and the TOML reader adds its position.
pub fn deserialize_optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_base_url(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{}` is not a usable base URL: {e}",
            shown_url(&text)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_taken_without_trailing_slashes() {
        assert_eq!(
            parse_base_url(" http://127.0.0.1:8002/ "),
            Ok("http://127.0.0.1:8002".into())
        );
        assert_eq!(
            parse_base_url("https://api.example.com/v1//"),
            Ok("https://api.example.com/v1".into())
        );
        assert_eq!(
            parse_base_url("http://[::1]:65535"),
            Ok("http://[::1]:65535".into())
        );
    }

    #[test]
    fn urls_are_shown_without_credentials_query_or_fragment() {
        assert_eq!(
            shown_url("https://user:sk-secret-key@api.example.com/v1?api_key=sk-other#frag"),
            "https://…@api.example.com/v1?…"
        );
        assert_eq!(shown_url("http://h:99999/x#sk-key"), "http://h:99999/x#…");
        assert_eq!(shown_url("not a url"), "not a url");
        assert_eq!(shown_url("http://127.0.0.1:8002"), "http://127.0.0.1:8002");
        assert_eq!(
            parse_base_url("https://user:sk-secret-key@api.example.com"),
            Err(BaseUrlError::Credentials)
        );
    }

    #[test]
    fn urls_that_cannot_work_are_refused_with_the_reason() {
        let refused = |text: &str| parse_base_url(text).unwrap_err();
        assert_eq!(
            refused("ftp://files.example.com"),
            BaseUrlError::Scheme("ftp".into())
        );
        assert_eq!(
            refused("file:///srv/api"),
            BaseUrlError::Scheme("file".into())
        );
        assert_eq!(
            refused("not a url").to_string(),
            "it is not an absolute URL (relative URL without a base)"
        );
        assert_eq!(
            refused("http://127.0.0.1:99999").to_string(),
            "it is not an absolute URL (invalid port number)"
        );
        assert!(matches!(refused("http://"), BaseUrlError::Malformed(_)));
        assert!(matches!(refused("localhost:8002"), BaseUrlError::Scheme(_)));
        assert_eq!(
            refused("http://api.example.com/v1?key=1"),
            BaseUrlError::Query
        );
        assert_eq!(refused("http://api.example.com/v1?"), BaseUrlError::Query);
        assert_eq!(
            refused("http://api.example.com/v1#top"),
            BaseUrlError::Fragment
        );
    }
}
