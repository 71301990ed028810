//! [`Secret`]: an API key that never shows its value, read from the environment and checked there.

use std::fmt;

/// The fewest characters a secret may have. A shorter one would have to be redacted wherever its characters
/// happen to occur (a 4-character key matches inside ordinary words), so it is refused instead.
pub const MIN_CHARS: usize = 8;

/// The most characters a secret may have: bounds the work of redacting it.
pub const MAX_CHARS: usize = 4096;

/// A secret value, such as an API key. `Debug` and `Display` print `[redacted]`; [`Secret::expose`] gives the
/// value to the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// A secret in the environment that cannot be used. Messages name the variable, never its value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{var} is shorter than {MIN_CHARS} characters: set it to the whole API key (a key that short cannot be \
         kept out of logs and error messages)"
    )]
    TooShort { var: String },
    #[error("{var} is longer than {MAX_CHARS} characters: is it really an API key?")]
    TooLong { var: String },
    #[error(
        "{var} holds characters that cannot be sent in an HTTP header (an API key is visible ASCII: no spaces, \
         line breaks or accents)"
    )]
    NotVisibleAscii { var: String },
}

impl Secret {
    /// A secret as it is, unchecked (tests, and values checked elsewhere). Read keys with [`Secret::from_var`].
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The value, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret held by the environment variable `var`, whose value is `value`: `None` when unset or blank.
    /// Surrounding whitespace is dropped; what remains must be 8 to 4096 visible ASCII characters.
    pub fn from_var(var: &str, value: Option<&str>) -> Result<Option<Secret>, SecretError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let var = var.to_string();
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SecretError::NotVisibleAscii { var });
        }
        if value.len() < MIN_CHARS {
            return Err(SecretError::TooShort { var });
        }
        if value.len() > MAX_CHARS {
            return Err(SecretError::TooLong { var });
        }
        Ok(Some(Secret(value.to_string())))
    }

    /// The secret held by the process environment's variable `var`, checked as [`Secret::from_var`] does.
    pub fn from_env(var: &str) -> Result<Option<Secret>, SecretError> {
        match std::env::var(var) {
            Ok(value) => Secret::from_var(var, Some(&value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::NotVisibleAscii {
                var: var.to_string(),
            }),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_its_value() {
        let s = Secret::new("sk-test-0123456789abcdef");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "sk-test-0123456789abcdef");
    }

    #[test]
    fn keys_from_the_environment_are_checked() {
        let read = |v: &str| Secret::from_var("MY_KEY", Some(v));
        assert_eq!(Secret::from_var("MY_KEY", None), Ok(None));
        assert_eq!(read("  "), Ok(None), "blank is unset");
        assert_eq!(
            read(" sk-12345678 \n").unwrap().unwrap().expose(),
            "sk-12345678"
        );
        assert_eq!(read("12345678").unwrap().unwrap().expose(), "12345678");
        // Too short: refused, naming the variable and never the value.
        let err = read("abc1234").unwrap_err();
        assert_eq!(
            err,
            SecretError::TooShort {
                var: "MY_KEY".into()
            }
        );
        let shown = err.to_string();
        assert!(
            shown.starts_with("MY_KEY is shorter than 8 characters"),
            "{shown}"
        );
        assert!(!shown.contains("abc1234"), "{shown}");
        assert!(matches!(
            read("sk with space"),
            Err(SecretError::NotVisibleAscii { .. })
        ));
        assert!(matches!(
            read("sk-clé-0123456"),
            Err(SecretError::NotVisibleAscii { .. })
        ));
        assert!(matches!(
            read(&"k".repeat(MAX_CHARS + 1)),
            Err(SecretError::TooLong { .. })
        ));
        assert!(read(&"k".repeat(MAX_CHARS)).unwrap().is_some());
    }

    #[test]
    fn an_unset_variable_is_no_secret() {
        assert_eq!(Secret::from_env("ODP_TEST_SECRET_NEVER_SET_7C2E"), Ok(None));
    }
}
