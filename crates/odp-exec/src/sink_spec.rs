//! What may name the sink of lifecycle events (`--events`, else `ODP_REDIS_URL`, else `[services] redis-url` in
//! `odp.toml`): a Redis URL (`redis://`, `rediss://`, `unix://`), `none`, or a file path that contains `/` or ends
//! in `.jsonl`. Anything else is refused before a run starts, so a mistyped address (`127.0.0.1:6379`) never
//! becomes a file of that name.

use std::fmt;
use std::path::PathBuf;

use odp_workspace::config::ServicesConfig;

/// The environment variable that names the sink when no flag does.
pub const ENV: &str = "ODP_REDIS_URL";

/// Where events go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSinkSpec {
    None,
    /// A Redis URL, as given.
    Redis(String),
    /// A JSON-lines file, appended to.
    File(PathBuf),
}

/// Where a spec came from, for the error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecOrigin {
    Flag,
    Env,
    Config,
}

impl fmt::Display for SpecOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpecOrigin::Flag => "--events",
            SpecOrigin::Env => ENV,
            SpecOrigin::Config => "`redis-url` in odp.toml [services]",
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "events: `{shown}` (from {origin}) names no event sink: use redis://HOST[:PORT], rediss://…, unix:///PATH/redis.sock, \
     a file path that contains `/` or ends in `.jsonl`, or `none`"
)]
pub struct SpecError {
    /// The spec, without anything before an `@` (a password, in a URL with a mistyped scheme).
    shown: String,
    origin: SpecOrigin,
}

const REDIS_SCHEMES: [&str; 3] = ["redis://", "rediss://", "unix://"];

impl EventSinkSpec {
    pub fn parse(spec: &str, origin: SpecOrigin) -> Result<EventSinkSpec, SpecError> {
        let is_redis = REDIS_SCHEMES.iter().any(|scheme| {
            spec.get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        });
        if spec == "none" {
            Ok(EventSinkSpec::None)
        } else if is_redis {
            Ok(EventSinkSpec::Redis(spec.to_string()))
        } else if (spec.contains('/') || spec.ends_with(".jsonl")) && !has_other_scheme(spec) {
            Ok(EventSinkSpec::File(PathBuf::from(spec)))
        } else {
            let shown = match spec.rsplit_once('@') {
                Some((_, host)) => format!("…@{host}"),
                None => spec.to_string(),
            };
            Err(SpecError { shown, origin })
        }
    }

    /// The sink by precedence: the flag, then `ODP_REDIS_URL` (blank counts as unset), then `odp.toml`, else none.
    pub fn resolve(
        flag: Option<&str>,
        services: &ServicesConfig,
    ) -> Result<EventSinkSpec, SpecError> {
        let env = std::env::var(ENV).ok().filter(|s| !s.trim().is_empty());
        match (flag, env, services.redis_url.as_deref()) {
            (Some(flag), _, _) => EventSinkSpec::parse(flag, SpecOrigin::Flag),
            (None, Some(env), _) => EventSinkSpec::parse(&env, SpecOrigin::Env),
            (None, None, Some(file)) => EventSinkSpec::parse(file, SpecOrigin::Config),
            (None, None, None) => Ok(EventSinkSpec::None),
        }
    }
}

/// Whether `spec` starts like a URL (`http://…`, `redis:/…`, `redis+unix://…`) of a scheme not taken here: a
/// mistyped URL, not a path. One letter is a Windows drive (`C:/…`), not a scheme.
fn has_other_scheme(spec: &str) -> bool {
    let Some((scheme, rest)) = spec.split_once(':') else {
        return false;
    };
    scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && rest.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<EventSinkSpec, SpecError> {
        EventSinkSpec::parse(spec, SpecOrigin::Flag)
    }

    #[test]
    fn accepted_specs() {
        assert_eq!(parse("none"), Ok(EventSinkSpec::None));
        for url in [
            "redis://127.0.0.1:6379/",
            "rediss://cache.example:6380",
            "unix:///run/redis.sock",
            "REDIS://host",
        ] {
            assert_eq!(parse(url), Ok(EventSinkSpec::Redis(url.into())), "{url}");
        }
        for path in [
            "run.jsonl",
            "out/events",
            "/dev/full",
            "./x",
            "C:/logs/run.jsonl",
            "logs:old/run.jsonl",
        ] {
            assert_eq!(parse(path), Ok(EventSinkSpec::File(path.into())), "{path}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_where_it_came_from() {
        for spec in [
            "127.0.0.1:6379",
            "localhost",
            "",
            "events.json",
            "None",
            "redis:/x",
            "http://127.0.0.1:6379",
            "redis+unix:///run/redis.sock",
        ] {
            assert!(parse(spec).is_err(), "{spec:?} is accepted");
        }
        let err = EventSinkSpec::parse("127.0.0.1:6379", SpecOrigin::Env).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`127.0.0.1:6379` (from ODP_REDIS_URL)"),
            "{text}"
        );
        assert!(text.contains("redis://"), "says what would do: {text}");
        // A password in a mistyped URL stays out of the message.
        let err = parse("redis:user:s3cret@cache:6379")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("…@cache:6379"), "{err}");
    }

    #[test]
    fn the_flag_comes_before_the_file() {
        let services = ServicesConfig {
            redis_url: Some("127.0.0.1:6379".into()),
            ..Default::default()
        };
        assert!(
            std::env::var_os(ENV).is_none(),
            "the tests run without {ENV} (the test command unsets it)"
        );
        // The flag wins even over a bad file value.
        assert_eq!(
            EventSinkSpec::resolve(Some("none"), &services),
            Ok(EventSinkSpec::None)
        );
        let err = EventSinkSpec::resolve(None, &services).unwrap_err();
        assert_eq!(err.origin, SpecOrigin::Config);
        assert_eq!(
            EventSinkSpec::resolve(None, &ServicesConfig::default()),
            Ok(EventSinkSpec::None)
        );
    }
}
