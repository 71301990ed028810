//! What the generators read from their params.

use serde_json::Value;

/// The params' texts: `texts` as strings (other items are skipped).
pub(crate) fn texts(p: &Value) -> Vec<&str> {
    p.get("texts")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub(crate) fn str_param<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

pub(crate) fn int_param(p: &Value, key: &str) -> Option<i64> {
    p.get(key).and_then(Value::as_i64)
}
