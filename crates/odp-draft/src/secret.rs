//! API keys: a type that never shows its value, and scrubbing of texts that might (a server echoing the key in an
//! error message). The same shape as `odp_exec::Secret`, kept here so drafts do not pull in the executor.

use std::fmt;

/// A secret value, such as an API key. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The value, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the secret (and of any long prefix of it, as servers sometimes quote
    /// keys cut short) replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let key = self.0.as_str();
        if key.len() < 4 {
            return text.to_string();
        }
        let mut out = text.replace(key, "[redacted]");
        // "Incorrect API key provided: sk-abc123***..." — a prefix of 12 or more characters is still a secret.
        if key.len() > 12 {
            for len in (12..key.len()).rev() {
                let prefix = &key[..len];
                if key.is_char_boundary(len) && out.contains(prefix) {
                    out = out.replace(prefix, "[redacted]");
                }
            }
        }
        out
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Scrubs `text` of an optional secret.
pub(crate) fn scrub(secret: Option<&Secret>, text: &str) -> String {
    match secret {
        Some(s) => s.scrub(text),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_its_value() {
        let s = Secret::new("sk-test-0123456789abcdef");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(
            s.scrub("bad key sk-test-0123456789abcdef!"),
            "bad key [redacted]!"
        );
        assert_eq!(
            s.scrub("Incorrect API key provided: sk-test-012345****"),
            "Incorrect API key provided: [redacted]****"
        );
        assert_eq!(s.scrub("nothing here"), "nothing here");
    }
}
