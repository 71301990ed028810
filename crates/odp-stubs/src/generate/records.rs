//! Record transforms, applied for real to the records they are given.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Value, json};

use super::params::{int_param, str_param};
use super::words::words;

fn records(p: &Value) -> Vec<Value> {
    p.get("records")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn results(results: Vec<Value>) -> Value {
    let count = results.len();
    json!({"results": results, "count": count})
}

/// A field of a record: the key itself, else a dotted path into nested objects.
fn field<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(record, |v, key| v.get(key))
}

pub(super) fn merge(p: &Value) -> Value {
    let tag = str_param(p, "tag_field");
    let mut out = Vec::new();
    for (i, list) in p
        .get("lists")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for record in list.as_array().into_iter().flatten() {
            let mut record = record.clone();
            if let (Some(tag), Some(map)) = (tag, record.as_object_mut()) {
                map.insert(tag.to_string(), json!(i));
            }
            out.push(record);
        }
    }
    results(out)
}

/// Lower-cased with collapsed whitespace; for URLs also without scheme, `www.`, tracking parameters and a
/// trailing `/`.
fn normalize(value: &Value) -> String {
    let Some(s) = value.as_str() else {
        return value.to_string();
    };
    let s = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let Some((_, rest)) = s.split_once("://") else {
        return s;
    };
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let tracking = |kv: &&str| {
        let key = kv.split('=').next().unwrap_or("");
        key.starts_with("utm_") || ["fbclid", "gclid", "ref", "mc_cid", "mc_eid"].contains(&key)
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !tracking(kv))
        .collect();
    let path = path.trim_end_matches('/');
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// Word-set (Jaccard) similarity of two normalized values.
fn similarity(a: &str, b: &str) -> f64 {
    let set = |s: &str| -> HashSet<String> { words(s).map(str::to_lowercase).collect() };
    let (a, b) = (set(a), set(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

pub(super) fn dedupe(p: &Value) -> Value {
    let key = str_param(p, "key").unwrap_or("id");
    let strategy = str_param(p, "strategy").unwrap_or("normalized");
    let threshold = p.get("threshold").and_then(Value::as_f64).unwrap_or(0.9);
    let input = records(p);
    let total = input.len();
    // Every kept key, and for `fuzzy` also in order, to compare with each.
    let mut seen: HashSet<String> = HashSet::new();
    let mut kept_keys: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for record in input {
        let Some(value) = field(&record, key) else {
            kept.push(record);
            continue;
        };
        let id = match strategy {
            "exact" => value.to_string(),
            _ => normalize(value),
        };
        let fuzzy = strategy == "fuzzy";
        let duplicate = seen.contains(&id)
            || (fuzzy && kept_keys.iter().any(|k| similarity(k, &id) >= threshold));
        if !duplicate {
            if fuzzy {
                kept_keys.push(id.clone());
            }
            seen.insert(id);
            kept.push(record);
        }
    }
    let removed = total - kept.len();
    json!({"results": kept, "removed": removed, "count": total - removed})
}

fn fold(s: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}

fn equal(a: &Value, b: &Value, case_sensitive: bool) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => fold(a, case_sensitive) == fold(b, case_sensitive),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

/// Numbers numerically, strings lexicographically; other pairs do not compare.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

pub(super) fn filter(p: &Value) -> Result<Value, String> {
    let path = str_param(p, "field").unwrap_or("");
    let op = str_param(p, "op").unwrap_or("eq");
    let value = p.get("value").unwrap_or(&Value::Null);
    let case_sensitive = p.get("case_sensitive").and_then(Value::as_bool) != Some(false);
    if op == "in" && !value.is_array() {
        return Err("`value` must be a list for `op: in`".into());
    }
    let matches = |v: &Value| match op {
        "eq" => equal(v, value, case_sensitive),
        "ne" => !equal(v, value, case_sensitive),
        "gt" => compare(v, value) == Some(Ordering::Greater),
        "lt" => compare(v, value) == Some(Ordering::Less),
        "contains" => match (v, value) {
            (Value::String(s), Value::String(sub)) => {
                fold(s, case_sensitive).contains(&fold(sub, case_sensitive))
            }
            (Value::Array(items), _) => items.iter().any(|i| equal(i, value, case_sensitive)),
            _ => false,
        },
        "in" => value
            .as_array()
            .is_some_and(|options| options.iter().any(|o| equal(v, o, case_sensitive))),
        _ => false,
    };
    let kept: Vec<Value> = records(p)
        .into_iter()
        .filter(|r| field(r, path).is_some_and(matches))
        .collect();
    Ok(results(kept))
}

pub(super) fn sort(p: &Value) -> Value {
    let path = str_param(p, "field").unwrap_or("");
    let descending = str_param(p, "order").unwrap_or("desc") == "desc";
    // Type rank first, so that mixed types sort in groups: numbers, strings, then the rest; missing last.
    let rank = |v: Option<&Value>| match v {
        Some(Value::Number(_)) => 0,
        Some(Value::String(_)) => 1,
        Some(_) => 2,
        None => 3,
    };
    let mut list = records(p);
    list.sort_by(|a, b| {
        let (va, vb) = (field(a, path), field(b, path));
        let (ra, rb) = (rank(va), rank(vb));
        if ra != rb || ra >= 2 {
            return ra.cmp(&rb);
        }
        let ord = va
            .zip(vb)
            .and_then(|(x, y)| compare(x, y))
            .unwrap_or(Ordering::Equal);
        if descending { ord.reverse() } else { ord }
    });
    if let Some(limit) = int_param(p, "limit") {
        list.truncate(limit.max(0) as usize);
    }
    results(list)
}
