//! Serde types of a pipeline file. They generate `schemas/pipeline.schema.json` (for yaml-language-server users
//! and other tools) and give front ends a typed view of a checked pipeline. The checker itself walks the syntax
//! tree, so that its messages have exact positions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::Place;

pub const IDENTIFIER_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";
pub const METHOD_PATTERN: &str = r"^\w+\.\w+\.\w+$";
pub const DURATION_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$";

/// An ODP data pipeline: named inputs, sources that fetch data in parallel, transforms that process it in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ODP pipeline")]
pub struct PipelineDoc {
    // (What each field means is documented once, in the keys table: [`crate::keys`].)
    #[schemars(length(min = 3, max = 100))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputDoc>,
    pub sources: Vec<StepDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<StepDoc>,
}

/// The JSON type of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl InputType {
    pub const NAMES: &'static [&'static str] =
        &["string", "integer", "number", "boolean", "array", "object"];

    pub fn parse(s: &str) -> Option<InputType> {
        Some(match s {
            "string" => InputType::String,
            "integer" => InputType::Integer,
            "number" => InputType::Number,
            "boolean" => InputType::Boolean,
            "array" => InputType::Array,
            "object" => InputType::Object,
            _ => return None,
        })
    }
}

/// A typed parameter of the pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputDoc {
    // (What each field means is documented once, in the keys table: [`crate::keys`].)
    #[serde(rename = "type")]
    pub ty: InputType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// One call of a registry method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    // (What each field means is documented once, in the keys table: [`crate::keys`].)
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[schemars(regex(pattern = r"^\w+\.\w+\.\w+$"))]
    pub method: String,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"))]
    pub timeout: Option<String>,
}

/// How a failed step is retried. Defaults: 3 attempts, backoff ×2.0 from 1s, at most 60s between attempts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryDoc {
    // (What each field means is documented once, in the keys table: [`crate::keys`].)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0))]
    pub backoff_coefficient: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"))]
    pub initial_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"))]
    pub maximum_interval: Option<String>,
}

/// The retry defaults of the original design.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const DEFAULT_BACKOFF_COEFFICIENT: f64 = 2.0;
pub const DEFAULT_INITIAL_INTERVAL_MS: u64 = 1_000;
pub const DEFAULT_MAXIMUM_INTERVAL_MS: u64 = 60_000;

/// Parses a duration with a unit (`500ms`, `30s`, `1.5m`, `1h`) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let (number, factor) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        return None;
    };
    if number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || number.starts_with('.')
        || number.ends_with('.')
        || number.matches('.').count() > 1
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    Some((value * factor).round() as u64)
}

fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("schemas serialize")
}

/// `schemas/pipeline.schema.json`.
///
/// The method ids of the bundled registry are listed as `examples` of `method`, which yaml-language-server offers
/// as completions.
pub fn pipeline_schema() -> Value {
    let mut schema = schema_of::<PipelineDoc>();
    let ids: Vec<Value> = crate::Registry::bundled()
        .methods()
        .iter()
        .map(|m| Value::String(m.id().to_string()))
        .collect();
    if let Some(method) = schema.pointer_mut("/$defs/StepDoc/properties/method") {
        method["examples"] = Value::Array(ids);
    }
    if let Some(inputs) = schema.pointer_mut("/properties/inputs") {
        inputs["propertyNames"] = serde_json::json!({ "pattern": IDENTIFIER_PATTERN });
    }
    for (pointer, place) in [
        ("", Place::Pipeline),
        ("/$defs/StepDoc", Place::Step),
        ("/$defs/InputDoc", Place::Input),
        ("/$defs/RetryDoc", Place::Retry),
    ] {
        let properties = schema
            .pointer_mut(&format!("{pointer}/properties"))
            .and_then(Value::as_object_mut)
            .expect("each place of the table has a type in the schema");
        *properties = keyed_by_table(std::mem::take(properties), place);
    }
    schema
}

/// The properties of a place in the table's order, documented by the table. The serde types above give each
/// property its JSON type; what it means is said once, in [`crate::keys`]. (A key in one and not the other fails
/// the schema's test in odp-cli, which generates it.)
fn keyed_by_table(
    mut properties: serde_json::Map<String, Value>,
    place: Place,
) -> serde_json::Map<String, Value> {
    let mut ordered = serde_json::Map::new();
    for key in place.keys() {
        let mut property = properties
            .shift_remove(key.name)
            .unwrap_or_else(|| panic!("the schema of {} has no `{}`", place.described(), key.name));
        if property == Value::Bool(true) {
            property = Value::Object(serde_json::Map::new()); // (any value: `true` cannot carry a description)
        }
        if let Some(object) = property.as_object_mut() {
            let mut documented = serde_json::Map::new();
            documented.insert("description".into(), Value::String(key.documentation()));
            object.shift_remove("description");
            documented.extend(std::mem::take(object));
            *object = documented;
        }
        ordered.insert(key.name.to_string(), property);
    }
    assert!(
        properties.is_empty(),
        "the keys table has no {:?} in {}",
        properties.keys().collect::<Vec<_>>(),
        place.described()
    );
    ordered
}

/// `schemas/registry.schema.json`.
pub fn registry_schema() -> Value {
    schema_of::<crate::registry::RegistryFile>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("1.5m"), Some(90_000));
        assert_eq!(parse_duration_ms("2h"), Some(7_200_000));
        for bad in ["30", "s", "1.s", ".5s", "1..2s", "-1s", "1 s", "5 minutes"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }
}
