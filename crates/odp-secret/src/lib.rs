//! Secrets (API keys) for every odp crate: [`Secret`] never shows its value, and a [`Redactor`] removes every
//! configured secret from a text or a JSON value derived from a server's answer (error messages that quote the
//! request, results that echo it) before anything stores, prints or publishes it.

mod redact;
mod secret;

pub use redact::{PREFIX_CHARS, REDACTED, Redactor};
pub use secret::{MAX_CHARS, MIN_CHARS, Secret, SecretError};
