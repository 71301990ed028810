//! [`Redactor`]: removes every configured secret from texts and JSON values that came from a server.
//!
//! A server may quote a key as it got it, or inside a JSON document (`\"`, `\\`, `\/`, `\u0041`), or inside a
//! URL (`%2F`), or cut short ("Incorrect API key provided: sk-abc123***"). One regular expression per secret
//! matches all of these: each of its characters written plainly (after any backslashes), as a `\uXXXX` escape or
//! percent-encoded, in any mix, and any prefix of [`PREFIX_CHARS`] characters or more.

use std::borrow::Cow;
use std::fmt;

use regex::{NoExpand, Regex, RegexBuilder};
use serde_json::Value;

use crate::secret::Secret;

/// What a redacted secret becomes.
pub const REDACTED: &str = "[redacted]";

/// A quoted prefix of a secret this long or longer is redacted as the secret itself.
pub const PREFIX_CHARS: usize = 12;

/// A quoted prefix is matched up to this many characters; a longer partial quote loses only its first
/// `MAX_PREFIX_CHARS` characters. Bounds the nesting of the pattern (each further character is one more level).
const MAX_PREFIX_CHARS: usize = 200;

/// Removes secrets from texts. Built once from every secret a component sends; cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    pattern: Option<Regex>,
    secrets: usize,
}

impl Redactor {
    /// A redactor for these secrets (empty ones are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let mut values: Vec<&str> = secrets
            .into_iter()
            .map(Secret::expose)
            .filter(|s| !s.is_empty())
            .collect();
        // The longest first: where two secrets start alike, the longer one is the match.
        values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        values.dedup();
        if values.is_empty() {
            return Redactor::default();
        }
        let full: Vec<String> = values.iter().map(|s| secret_pattern(s)).collect();
        let pattern = build(&full.join("|")).or_else(|| {
            // Only a pattern too large for the regex engine gets here (secrets far longer than any API key):
            // the exact values are still redacted.
            let exact: Vec<String> = values.iter().map(|s| regex::escape(s)).collect();
            build(&exact.join("|"))
        });
        Redactor {
            pattern,
            secrets: values.len(),
        }
    }

    /// Whether it has no secret to redact.
    pub fn is_empty(&self) -> bool {
        self.pattern.is_none()
    }

    /// `text` with every secret, in every form, replaced by `[redacted]`.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.pattern {
            Some(p) => p.replace_all(text, NoExpand(REDACTED)),
            None => Cow::Borrowed(text),
        }
    }

    /// Redacts, in place, every string of a JSON value: object keys and string values at any depth.
    pub fn redact_json(&self, value: &mut Value) {
        let Some(pattern) = &self.pattern else {
            return;
        };
        match value {
            Value::String(s) => {
                if pattern.is_match(s) {
                    *s = pattern.replace_all(s, NoExpand(REDACTED)).into_owned();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                if map.keys().any(|k| pattern.is_match(k)) {
                    let entries = std::mem::take(map);
                    *map = entries
                        .into_iter()
                        .map(|(k, v)| (self.redact(&k).into_owned(), v))
                        .collect();
                }
                map.values_mut().for_each(|v| self.redact_json(v));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets)
            .finish()
    }
}

fn build(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(pattern)
        .nest_limit(4 * MAX_PREFIX_CHARS as u32)
        .size_limit(256 << 20)
        .dfa_size_limit(16 << 20)
        .build()
        .ok()
}

/// The whole secret in any of its forms, or (for secrets longer than [`PREFIX_CHARS`]) a prefix of at least
/// [`PREFIX_CHARS`] characters: `c1…c12(?:c13(?:c14(?:…)?)?)?`, greedy, so the longest prefix quoted is taken.
fn secret_pattern(secret: &str) -> String {
    let chars: Vec<String> = secret.chars().map(char_pattern).collect();
    let whole = chars.concat();
    if chars.len() <= PREFIX_CHARS {
        return format!("(?:{whole})");
    }
    let last = chars.len().min(MAX_PREFIX_CHARS);
    let mut tail = String::new();
    for c in chars[PREFIX_CHARS..last].iter().rev() {
        tail = format!("(?:{c}{tail})?");
    }
    format!("(?:{whole}|{}{tail})", chars[..PREFIX_CHARS].concat())
}

/// One character of a secret: plain (after any backslashes, as JSON escapes `"`, `\` and `/`), as a `\uXXXX`
/// escape, or percent-encoded (its UTF-8 bytes), hex digits in either case.
fn char_pattern(c: char) -> String {
    let plain = regex::escape(c.encode_utf8(&mut [0; 4]));
    let unicode: String = c
        .encode_utf16(&mut [0; 2])
        .iter()
        .map(|unit| format!("\\\\u{unit:04x}"))
        .collect();
    let percent: String = c
        .encode_utf8(&mut [0; 4])
        .bytes()
        .map(|b| format!("%{b:02x}"))
        .collect();
    format!("(?:(?:\\\\)*{plain}|(?i:{unicode})|(?i:{percent}))")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-test/\"quoted\"+back\\slash-0123456789";

    fn redactor(keys: &[&str]) -> Redactor {
        let secrets: Vec<Secret> = keys.iter().map(|k| Secret::new(*k)).collect();
        Redactor::new(&secrets)
    }

    /// Every character percent-encoded, as `encodeURIComponent` does for the special ones and some encoders do
    /// for all.
    fn percent_all(s: &str, upper: bool) -> String {
        s.bytes()
            .map(|b| {
                if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    /// Percent-encoding of what a URL query cannot hold plainly (letters, digits and `-._~` stay).
    fn percent_special(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let r = redactor(&[KEY]);
        let json = serde_json::to_string(KEY).unwrap();
        let json = &json[1..json.len() - 1];
        let forms = [
            KEY.to_string(),
            json.to_string(),
            // PHP's json_encode also escapes `/`.
            json.replace('/', "\\/"),
            // A JSON document quoted inside another JSON string: escapes escaped again.
            serde_json::to_string(json)
                .unwrap()
                .trim_matches('"')
                .to_string(),
            // Every character as a \u escape, as some encoders write ASCII-safe JSON.
            KEY.chars()
                .map(|c| format!("\\u{:04X}", c as u32))
                .collect(),
            percent_special(KEY),
            percent_all(KEY, true),
            percent_all(KEY, false),
        ];
        for form in forms {
            assert_ne!(form, "");
            let text = format!("invalid token: Bearer {form} (see the docs)");
            assert_eq!(
                r.redact(&text),
                "invalid token: Bearer [redacted] (see the docs)",
                "the form `{form}`"
            );
        }
    }

    #[test]
    fn quoted_prefixes_of_twelve_characters_or_more_are_redacted() {
        let r = redactor(&["sk-test-0123456789abcdef"]);
        assert_eq!(
            r.redact("Incorrect API key provided: sk-test-012345****"),
            "Incorrect API key provided: [redacted]****"
        );
        assert_eq!(
            r.redact("key sk-test-0123456789abcdeX"),
            "key [redacted]X",
            "the longest prefix quoted"
        );
        assert_eq!(
            r.redact("key sk%2Dtest%2D012345***"),
            "key [redacted]***",
            "a percent-encoded prefix"
        );
        // Eleven characters are no secret: ordinary text that starts like a key is left alone.
        assert_eq!(r.redact("sk-test-012 is fine"), "sk-test-012 is fine");
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn several_secrets_and_none() {
        let r = redactor(&["crawler-key-1234", "model-key-98765"]);
        assert_eq!(
            r.redact("a crawler-key-1234 b model-key-98765 c"),
            "a [redacted] b [redacted] c"
        );
        let none = Redactor::new(&[]);
        assert!(none.is_empty());
        assert_eq!(none.redact("crawler-key-1234"), "crawler-key-1234");
        assert!(!r.is_empty());
        assert_eq!(format!("{r:?}"), "Redactor { secrets: 2 }");
    }

    #[test]
    fn json_values_are_redacted_in_keys_and_strings_at_any_depth() {
        let r = redactor(&[KEY]);
        let mut v = serde_json::json!({
            "results": [{"text": format!("echo {KEY}"), "n": 1}],
            "request": {"url": format!("/auth?token={}", percent_special(KEY))},
            KEY: true,
        });
        r.redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "results": [{"text": "echo [redacted]", "n": 1}],
                "request": {"url": "/auth?token=[redacted]"},
                "[redacted]": true,
            })
        );
    }

    #[test]
    fn the_longest_keys_allowed_are_redacted_whole() {
        let key: String = (0..crate::MAX_CHARS)
            .map(|i| (b'!' + (i % 94) as u8) as char)
            .collect();
        let r = redactor(&[&key]);
        let text = format!("<{key}> <{}>", percent_special(&key));
        assert_eq!(r.redact(&text), "<[redacted]> <[redacted]>");
    }
}
