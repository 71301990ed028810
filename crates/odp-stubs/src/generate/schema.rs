//! Answers made from a method's output schema, for the methods that have no generator of their own.

use serde_json::{Map, Value, json};

use super::round;
use super::seed::Rng;
use super::time::{NOW, date, rfc3339};
use super::vocab;
use super::words::slug;

const MAX_DEPTH: usize = 6;

/// A value for `schema`: an `enum` member, an example, the default, or a made-up value of the schema's type
/// (strings shaped by `format` and by the property's name). `name` is the property the value is for.
pub(crate) fn from_schema(schema: &Value, name: &str, rng: &mut Rng, depth: usize) -> Value {
    for key in ["enum", "examples"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.is_empty()
        {
            return rng.pick(options).clone();
        }
    }
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("items").is_some() => "array",
        _ => "string",
    };
    let num = |key: &str| schema.get(key).and_then(Value::as_f64);
    match ty {
        "object" => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut map = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    if depth < MAX_DEPTH || required.contains(&key.as_str()) {
                        map.insert(key.clone(), from_schema(sub, key, rng, depth + 1));
                    }
                }
            }
            // Searches and record lists: keep `count` equal to the length of `results`.
            if let (Some(Value::Array(results)), Some(Value::Number(_))) =
                (map.get("results"), map.get("count"))
            {
                let n = results.len();
                map.insert("count".into(), n.into());
            }
            Value::Object(map)
        }
        "array" => {
            let min = num("minItems").unwrap_or(0.0) as usize;
            let max = num("maxItems").map_or(usize::MAX, |m| m as usize);
            let n = if depth >= MAX_DEPTH {
                min
            } else {
                (rng.range(1, 3) as usize).clamp(min, max.max(min))
            };
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            Value::Array(
                (0..n)
                    .map(|_| from_schema(&items, name, rng, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let lo = num("minimum").map_or(0, |m| m.ceil() as i64);
            let hi = num("maximum").map_or(lo.max(0) + 100, |m| m.floor() as i64);
            rng.range(lo, hi).into()
        }
        "number" => {
            let lo = num("minimum").unwrap_or(0.0);
            let hi = num("maximum").unwrap_or(lo.max(0.0) + 100.0);
            json!(round(lo + (hi - lo) * rng.unit(), 2).clamp(lo, hi))
        }
        "boolean" => rng.chance(0.5).into(),
        "null" => Value::Null,
        _ => Value::String(string_for(schema, name, rng)),
    }
}

fn string_for(schema: &Value, name: &str, rng: &mut Rng) -> String {
    let name = name.to_lowercase();
    let n = rng.range(1, 9999);
    let time = NOW - rng.range(0, 30 * 86_400);
    let mut s = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => rfc3339(time),
        Some("date") => date(time),
        Some("uri" | "url" | "iri") => format!("https://example.com/{}/{n}", slug(&name)),
        Some("email") => format!("user{n}@example.com"),
        Some("uuid") => {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                b >> 52,
                b & 0xffff_ffff_ffff
            )
        }
        _ if name == "id" || name.ends_with("_id") => format!("{:012x}", rng.next_u64() >> 16),
        _ if name.contains("url") || name.contains("link") => {
            format!("https://example.com/{}/{n}", slug(&name))
        }
        _ if name.ends_with("_at") || name.contains("time") => rfc3339(time),
        _ if name.contains("date") => date(time),
        _ if name.contains("lang") => "en".into(),
        _ if name.contains("author") || name.contains("user") => {
            format!("{}_{}", rng.word(vocab::FIRST_NAMES), rng.range(1, 99)).to_lowercase()
        }
        _ if ["text", "summary", "description", "content", "body"]
            .iter()
            .any(|k| name.contains(k)) =>
        {
            format!(
                "{} from {} in {} shared an update about {}.",
                rng.word(vocab::FIRST_NAMES),
                rng.word(vocab::ORGS),
                rng.word(vocab::PLACES),
                if name.is_empty() {
                    "the project"
                } else {
                    &name
                }
            )
        }
        _ => format!(
            "{} {}",
            rng.word(&["sample", "example", "demo", "test"]),
            name.replace('_', " ")
        )
        .trim()
        .to_string(),
    };
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max as usize).collect();
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        while (s.chars().count() as u64) < min {
            s.push('x');
        }
    }
    if let Some(pattern) = schema.get("pattern") {
        let check = json!({"type": "string", "pattern": pattern});
        if let Ok(v) = jsonschema::validator_for(&check)
            && !v.is_valid(&json!(s))
        {
            let candidates = [
                "en",
                "abc",
                "x",
                "X",
                "ABC",
                "a_1",
                "https://example.com/",
                "1",
                "2025-06-02",
            ];
            if let Some(c) = candidates.iter().find(|c| v.is_valid(&json!(c))) {
                s = (*c).to_string();
            }
        }
    }
    s
}
