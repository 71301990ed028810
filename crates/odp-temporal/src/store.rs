//! Results kept out of band. Temporal carries at most 2 MiB per payload, so the one rule for every value odp puts
//! in a payload (a step's result, a known result in the workflow's input, the run's results) is: a value whose
//! JSON is over [`OUT_OF_BAND_BYTES`] goes into a [`ResultStore`] the workers and the clients share, and the
//! payload carries a reference `{"$odp_ref": "sha256:HEX", "size": N}` instead. The step activity loads the
//! references its templates read, and the client loads those of the run's result. Without a store, a value is
//! carried inline as long as it fits ([`MAX_INLINE_BYTES`]), and one that does not fit is a clear error naming the
//! step, its size and the limit.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::activity::MAX_PAYLOAD_BYTES;

/// Values whose JSON is longer go out of band when a store is configured.
pub const OUT_OF_BAND_BYTES: usize = 256 * 1024;
/// The longest value carried inline (without a store): the payload limit less room for the envelope.
pub const MAX_INLINE_BYTES: usize = MAX_PAYLOAD_BYTES - 64 * 1024;
/// The key of a reference.
pub const REF_KEY: &str = "$odp_ref";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the result store {dir}: {message}")]
    Io { dir: String, message: String },
    #[error(
        "the result store has no `{0}` (is the same store configured on every worker and client?)"
    )]
    Missing(String),
    #[error("the stored result `{0}` does not match its hash")]
    Corrupt(String),
    #[error("`{0}` is not a reference to a stored result")]
    BadReference(String),
}

/// Where results kept out of band live: written once by the worker (or client) that has them, read by any other.
pub trait ResultStore: Send + Sync {
    /// Stores `bytes` and returns their key (`sha256:HEX`). Storing the same bytes twice is harmless.
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError>;
    /// The bytes stored under `key`.
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// What a message says about where the store is.
    fn describe(&self) -> String;
}

/// The key of some bytes: `sha256:` and the hex of their SHA-256.
pub fn key_of(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut key = String::with_capacity(7 + 64);
    key.push_str("sha256:");
    for b in digest.as_ref() {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// A directory (a shared filesystem mount for workers on several machines): one file per result, named by its
/// hash, written to a temporary file and renamed into place (a reader never sees half a result).
#[derive(Clone, Debug)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// The store in `dir` (created when the first result is stored).
    pub fn new(dir: impl Into<PathBuf>) -> DirStore {
        DirStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, e: std::io::Error) -> StoreError {
        StoreError::Io {
            dir: self.dir.display().to_string(),
            message: e.to_string(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let hex = key
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| StoreError::BadReference(key.to_string()))?;
        Ok(self.dir.join(format!("sha256-{hex}.json")))
    }
}

impl ResultStore for DirStore {
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let key = key_of(bytes);
        let path = self.path(&key)?;
        if path.exists() {
            return Ok(key);
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| self.io(e))?;
        file.write_all(bytes).map_err(|e| self.io(e))?;
        file.as_file().sync_all().map_err(|e| self.io(e))?;
        file.persist(&path).map_err(|e| self.io(e.error))?;
        Ok(key)
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(key)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing(key.to_string()));
            }
            Err(e) => return Err(self.io(e)),
        };
        if key_of(&bytes) != key {
            return Err(StoreError::Corrupt(key.to_string()));
        }
        Ok(bytes)
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// The reference a value stands for, when it is one: `{"$odp_ref": KEY, "size": N}` and nothing else.
pub fn reference(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    if object.len() != 2 || !object.get("size").is_some_and(Value::is_u64) {
        return None;
    }
    object.get(REF_KEY)?.as_str()
}

/// Why a value cannot be carried.
#[derive(Debug, thiserror::Error)]
pub enum CarryError {
    #[error(
        "is {size} bytes; a value on the Temporal engine is at most {limit} bytes inline (configure a result store, `--result-store DIR`, on the workers and clients to keep larger ones out of band)"
    )]
    TooLarge { size: usize, limit: usize },
    #[error("is {size} bytes and cannot be stored out of band: {source}")]
    Store {
        size: usize,
        #[source]
        source: StoreError,
    },
    #[error("cannot be serialized: {0}")]
    Json(String),
}

/// The value as a payload carries it: itself, or (over [`OUT_OF_BAND_BYTES`], with a store) a reference to it.
pub fn carry(value: Value, store: Option<&dyn ResultStore>) -> Result<Value, CarryError> {
    let bytes = serde_json::to_vec(&value).map_err(|e| CarryError::Json(e.to_string()))?;
    let size = bytes.len();
    match store {
        Some(store) if size > OUT_OF_BAND_BYTES => {
            let key = store
                .put(&bytes)
                .map_err(|source| CarryError::Store { size, source })?;
            Ok(json!({ REF_KEY: key, "size": size }))
        }
        _ if size > MAX_INLINE_BYTES => Err(CarryError::TooLarge {
            size,
            limit: MAX_INLINE_BYTES,
        }),
        _ => Ok(value),
    }
}

/// Every value of a map as a payload carries it; the first that cannot be carried is named.
pub fn carry_all(
    values: Map<String, Value>,
    store: Option<&dyn ResultStore>,
) -> Result<Map<String, Value>, (String, CarryError)> {
    let mut out = Map::with_capacity(values.len());
    for (name, value) in values {
        match carry(value, store) {
            Ok(v) => {
                out.insert(name, v);
            }
            Err(e) => return Err((name, e)),
        }
    }
    Ok(out)
}

/// Why a reference cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "it is kept out of band (`{0}`), but no result store is configured here (`--result-store DIR`, the same as the workers')"
    )]
    NoStore(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored result `{key}` is not JSON: {message}")]
    Json { key: String, message: String },
}

/// The value a payload's value stands for: loaded from the store when it is a reference, else itself.
pub fn load(value: Value, store: Option<&dyn ResultStore>) -> Result<Value, LoadError> {
    let Some(key) = reference(&value) else {
        return Ok(value);
    };
    let Some(store) = store else {
        return Err(LoadError::NoStore(key.to_string()));
    };
    let bytes = store.get(key)?;
    serde_json::from_slice(&bytes).map_err(|e| LoadError::Json {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// Every value of a map loaded; the first that cannot be loaded is named.
pub fn load_all(
    values: Map<String, Value>,
    store: Option<&dyn ResultStore>,
) -> Result<Map<String, Value>, (String, LoadError)> {
    let mut out = Map::with_capacity(values.len());
    for (name, value) in values {
        match load(value, store) {
            Ok(v) => {
                out.insert(name, v);
            }
            Err(e) => return Err((name, e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: usize) -> Value {
        json!({ "text": "x".repeat(n) })
    }

    #[test]
    fn small_values_stay_inline_and_large_ones_become_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        let small = big(10);
        assert_eq!(carry(small.clone(), Some(&store)).unwrap(), small);
        let large = big(OUT_OF_BAND_BYTES + 1);
        let carried = carry(large.clone(), Some(&store)).unwrap();
        let key = reference(&carried).expect("a reference").to_string();
        assert!(key.starts_with("sha256:"), "{key}");
        assert_eq!(carried["size"], serde_json::to_vec(&large).unwrap().len());
        assert_eq!(load(carried, Some(&store)).unwrap(), large);
        // Content-addressed: the same value is the same file, and nothing else is left in the directory.
        carry(large.clone(), Some(&store)).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn without_a_store_only_what_fits_is_carried() {
        let fits = big(OUT_OF_BAND_BYTES + 1);
        assert_eq!(carry(fits.clone(), None).unwrap(), fits);
        let err = carry(big(MAX_INLINE_BYTES), None).unwrap_err().to_string();
        assert!(err.contains(&MAX_INLINE_BYTES.to_string()), "{err}");
        assert!(err.contains("--result-store"), "{err}");
        let reference = json!({ REF_KEY: key_of(b"{}"), "size": 2 });
        let err = load(reference, None).unwrap_err().to_string();
        assert!(err.contains("no result store"), "{err}");
    }

    #[test]
    fn a_tampered_or_missing_result_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        let carried = carry(big(OUT_OF_BAND_BYTES + 1), Some(&store)).unwrap();
        let key = reference(&carried).unwrap().to_string();
        let path = store.path(&key).unwrap();
        std::fs::write(&path, b"{\"text\": \"other\"}").unwrap();
        assert!(matches!(
            load(carried.clone(), Some(&store)),
            Err(LoadError::Store(StoreError::Corrupt(_)))
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            load(carried, Some(&store)),
            Err(LoadError::Store(StoreError::Missing(_)))
        ));
        assert!(matches!(
            store.get("sha256:../../etc/passwd"),
            Err(StoreError::BadReference(_))
        ));
    }
}
