//! Where the registry comes from: a flag, `ODP_REGISTRY`, `odp.toml`, or the bundled one. URLs are fetched and
//! cached under the state directory; when a fetch fails, the cached copy serves (with a warning).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use odp_analysis::{LineIndex, PositionEncoding, Registry};

use crate::{MAX_RESPONSE_BYTES, WorkspaceError, state_dir};

/// A registry location as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegistrySource {
    Bundled,
    File(PathBuf),
    Url(String),
}

impl RegistrySource {
    /// Reads a location: an http(s) URL, or a path resolved against `base`.
    pub fn parse(spec: &str, base: &Path) -> RegistrySource {
        if spec.starts_with("http://") || spec.starts_with("https://") {
            RegistrySource::Url(spec.to_string())
        } else if spec == "bundled" {
            RegistrySource::Bundled
        } else {
            RegistrySource::File(base.join(spec))
        }
    }
}

impl std::fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistrySource::Bundled => f.write_str("the bundled registry"),
            RegistrySource::File(p) => write!(f, "{}", p.display()),
            RegistrySource::Url(u) => f.write_str(u),
        }
    }
}

/// A registry with the warnings its loading produced.
pub struct LoadedRegistry {
    pub registry: Arc<Registry>,
    pub warnings: Vec<String>,
}

/// Loads a registry. A registry with errors still loads its valid methods; the errors come back as warnings
/// with positions, except when nothing at all could be loaded.
pub fn load_registry(source: &RegistrySource) -> Result<LoadedRegistry, WorkspaceError> {
    let (text, origin, mut warnings) = match source {
        RegistrySource::Bundled => {
            return Ok(LoadedRegistry {
                registry: Registry::bundled(),
                warnings: Vec::new(),
            });
        }
        RegistrySource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| WorkspaceError::Io {
                path: path.clone(),
                source,
            })?;
            (text, path.display().to_string(), Vec::new())
        }
        RegistrySource::Url(url) => {
            let (text, warnings) = fetch_cached(url)?;
            (text, url.clone(), warnings)
        }
    };
    let (registry, errors) = Registry::from_yaml(&text);
    let index = LineIndex::new(&text);
    let located: Vec<String> = errors
        .iter()
        .map(|e| {
            let lc = index.line_col(&text, e.range.start(), PositionEncoding::Utf32);
            format!("{origin}:{}:{}: {}", lc.line + 1, lc.col + 1, e.message)
        })
        .collect();
    if registry.is_empty() {
        return Err(WorkspaceError::Registry {
            origin,
            message: if located.is_empty() {
                "it defines no methods".into()
            } else {
                located.join("\n")
            },
        });
    }
    warnings.extend(located);
    Ok(LoadedRegistry {
        registry: Arc::new(registry),
        warnings,
    })
}

fn cache_path(url: &str) -> PathBuf {
    let safe: String = url
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    state_dir().join("registries").join(format!("{safe}.yaml"))
}

fn fetch_cached(url: &str) -> Result<(String, Vec<String>), WorkspaceError> {
    let cache = cache_path(url);
    match fetch(url, MAX_RESPONSE_BYTES) {
        Ok(text) => {
            if let Some(dir) = cache.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = std::fs::write(&cache, &text) {
                tracing::warn!(path = %cache.display(), error = %e, "could not cache the registry");
            }
            Ok((text, Vec::new()))
        }
        Err(source) => match std::fs::read_to_string(&cache) {
            // A warning for the front end to show beside its results: the registry still loaded.
            Ok(text) => Ok((
                text,
                vec![format!(
                    "could not fetch the registry {url} ({source}); using the copy cached at {}",
                    cache.display()
                )],
            )),
            Err(_) => Err(WorkspaceError::RegistryFetch {
                url: url.to_string(),
                source,
            }),
        },
    }
}

/// Why a registry URL could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The client could not be built, or the request failed (connection, timeout, ...).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("the registry is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error("the registry is not UTF-8 text")]
    NotUtf8,
}

/// The body of `url`, refused as soon as it passes `limit` bytes (whatever `Content-Length` says or does not).
fn fetch(url: &str, limit: usize) -> Result<String, FetchError> {
    use std::io::Read;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let response = client.get(url).send()?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status));
    }
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(FetchError::TooLarge { limit });
    }
    let mut body = Vec::new();
    response.take(limit as u64 + 1).read_to_end(&mut body)?;
    if body.len() > limit {
        return Err(FetchError::TooLarge { limit });
    }
    String::from_utf8(body).map_err(|_| FetchError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// Serves one request on loopback: `body_bytes` bytes of YAML comment in chunks of 64 KiB, announced by
    /// `Content-Length` or chunk-encoded. Returns the URL and the server thread, which ends with the count of body
    /// bytes written before the client hung up.
    fn serve(chunked: bool, body_bytes: usize) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/registry.yaml", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut count = 0;
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = if chunked {
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_string()
            } else {
                format!("HTTP/1.1 200 OK\r\ncontent-length: {body_bytes}\r\n\r\n")
            };
            if stream.write_all(head.as_bytes()).is_err() {
                return count;
            }
            let chunk = [b'#'; 64 * 1024];
            let mut left = body_bytes;
            while left > 0 {
                let n = left.min(chunk.len());
                let sent = if chunked {
                    stream
                        .write_all(format!("{n:x}\r\n").as_bytes())
                        .and_then(|()| stream.write_all(&chunk[..n]))
                        .and_then(|()| stream.write_all(b"\r\n"))
                } else {
                    stream.write_all(&chunk[..n])
                };
                if sent.is_err() {
                    return count;
                }
                count += n;
                left -= n;
            }
            if chunked {
                let _ = stream.write_all(b"0\r\n\r\n");
            }
            count
        });
        (url, server)
    }

    #[test]
    fn a_registry_over_the_limit_is_refused_without_reading_it_whole() {
        let limit = 256 * 1024;
        // Announced by Content-Length: refused before the body is read.
        let (url, _) = serve(false, 4 * limit);
        assert_eq!(
            fetch(&url, limit).map_err(|e| e.to_string()),
            Err(format!(
                "the registry is larger than the limit of {limit} bytes"
            ))
        );
        // Streamed without a length: refused once the limit is passed; the server is stopped well before its
        // 64 MiB are out (what is in flight in the socket buffers aside).
        let (url, server) = serve(true, 64 * 1024 * 1024);
        assert_eq!(
            fetch(&url, limit).map_err(|e| e.to_string()),
            Err(format!(
                "the registry is larger than the limit of {limit} bytes"
            ))
        );
        let sent = server.join().unwrap();
        assert!(sent < 16 * 1024 * 1024, "{sent} bytes were sent");
        // At the limit exactly, it is read.
        let (url, _) = serve(true, limit);
        assert_eq!(
            fetch(&url, limit)
                .map(|t| t.len())
                .map_err(|e| e.to_string()),
            Ok(limit)
        );
    }
}
