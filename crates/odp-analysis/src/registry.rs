//! The method registry: which methods exist, their params schema, output schema and endpoint.
//!
//! A registry is a YAML file (schemas/registry.schema.json). It is read with the same parser as pipelines, so its
//! errors have positions too. Param schemas are compiled once, when the registry is loaded.

use std::sync::{Arc, OnceLock};

use odp_syntax::{JsonValue, Node, TextRange};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ty::Ty;

/// Whether a method fetches data (runs as a source) or processes results (runs as a transform).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    Source,
    Transform,
}

/// Which service answers a method: the crawler API or the ML-model API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Crawler,
    Model,
}

/// A method's output: a JSON Schema, or `dynamic` when its shape is known only at run time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OutputSpec {
    Dynamic(DynamicOutput),
    Schema(SchemaObject),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DynamicOutput {
    Dynamic,
}

/// A JSON Schema in the documented subset (docs/registry.md): `type`, `description`, `default`, `enum`,
/// `examples`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`, `format`, `items`, `properties`,
/// `required`, `additionalProperties` (boolean), `minItems`, `maxItems`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SchemaObject(#[schemars(with = "serde_json::Map<String, Value>")] pub Value);

/// One method of the registry, as written in the registry file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// `domain.provider.action`.
    #[schemars(regex(pattern = r"^\w+\.\w+\.\w+$"))]
    pub id: String,
    pub kind: MethodKind,
    pub service: Service,
    /// One line, shown in completion lists.
    pub summary: String,
    /// Markdown, shown on hover.
    #[serde(default)]
    pub description: String,
    /// The HTTP path the executor POSTs the params to, on the service's base URL.
    #[schemars(regex(pattern = r"^/"))]
    pub endpoint: String,
    /// JSON Schema of the params object.
    pub params: SchemaObject,
    /// JSON Schema of the result object, or `dynamic`.
    pub output: OutputSpec,
}

/// A registry file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ODP method registry")]
pub struct RegistryFile {
    /// The format version; 1.
    pub version: u32,
    pub methods: Vec<MethodSpec>,
}

/// A method ready for checking: its spec, the types of its output and params, and its compiled params schema.
#[derive(Debug)]
pub struct Method {
    pub spec: MethodSpec,
    pub output: Ty,
    validator: OnceLock<Option<Arc<jsonschema::Validator>>>,
    /// See [`Method::param_validator`].
    param_validators: Option<Vec<jsonschema::Validator>>,
    /// The declared params' positions in the schema's `properties`, by name: looked up for every param of every
    /// step (FxHash: the names come from the registry file).
    param_positions: rustc_hash::FxHashMap<String, usize>,
    /// The declared params' schemas, in the order of `properties` (copies: found without hashing twice).
    param_schemas: Vec<Value>,
}

impl Method {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn params_schema(&self) -> &Value {
        &self.spec.params.0
    }

    /// The schema of the declared param `name`.
    pub fn param_schema(&self, name: &str) -> Option<&Value> {
        let position = *self.param_positions.get(name)?;
        self.param_schemas.get(position)
    }

    /// The names and schemas of the declared params.
    pub fn params(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.params_schema()
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }

    pub fn required_params(&self) -> impl Iterator<Item = &str> {
        self.params_schema()
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flat_map(|a| a.iter().filter_map(Value::as_str))
    }

    /// Whether each param can be validated on its own ([`Method::param_validator`]): the schema's top level only
    /// declares properties (which exist, which are required, whether others may appear, annotations), so that no
    /// top-level keyword but `required` reads a param's presence or value, and nothing refers across params
    /// (`$ref`). The checker reports missing and unknown params itself, with fixes.
    pub fn validates_params_one_by_one(&self) -> bool {
        self.param_validators.is_some()
    }

    /// The compiled schema of the declared param `name`, when [`Method::validates_params_one_by_one`].
    pub fn param_validator(&self, name: &str) -> Option<&jsonschema::Validator> {
        let position = *self.param_positions.get(name)?;
        self.param_validators.as_ref()?.get(position)
    }

    /// Whether params other than the declared ones are refused.
    pub fn closed_params(&self) -> bool {
        matches!(
            self.params_schema().get("additionalProperties"),
            Some(Value::Bool(false))
        )
    }

    /// The compiled params schema (compiled at load; `None` if it does not compile, which loading reported).
    pub fn validator(&self) -> Option<&jsonschema::Validator> {
        self.validator
            .get_or_init(|| {
                jsonschema::validator_for(self.params_schema())
                    .ok()
                    .map(Arc::new)
            })
            .as_deref()
    }
}

/// A problem in a registry file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryError {
    pub range: TextRange,
    pub message: String,
}

/// The loaded registry.
#[derive(Debug, Default)]
pub struct Registry {
    methods: Vec<Method>,
    /// FxHash: looked up for every step of every analysis; ids come from the registry file, not an attacker.
    by_id: rustc_hash::FxHashMap<String, usize>,
    /// Tells loaded registries apart (0 for an empty default one), so that cached checks made against one
    /// registry are never reused against another, even one allocated at the same address.
    generation: u64,
}

const BUNDLED: &str = include_str!("../registry/default.registry.yaml");

const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "default",
    "enum",
    "examples",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "minItems",
    "maxItems",
    "title",
];

impl Registry {
    /// The registry that ships with odp.
    pub fn bundled() -> Arc<Registry> {
        static BUNDLED_REGISTRY: OnceLock<Arc<Registry>> = OnceLock::new();
        BUNDLED_REGISTRY
            .get_or_init(|| {
                let (registry, errors) = Registry::from_yaml(BUNDLED);
                debug_assert!(errors.is_empty(), "bundled registry: {errors:?}");
                Arc::new(registry)
            })
            .clone()
    }

    /// The bundled registry's text.
    pub fn bundled_text() -> &'static str {
        BUNDLED
    }

    /// Reads a registry file. Methods with errors are left out and reported; the rest load.
    pub fn from_yaml(text: &str) -> (Registry, Vec<RegistryError>) {
        let parse = odp_syntax::parse(text);
        let mut errors: Vec<RegistryError> = parse
            .errors
            .iter()
            .map(|e| RegistryError {
                range: e.range,
                message: e.message.clone(),
            })
            .collect();
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut registry = Registry {
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ..Registry::default()
        };
        let Some(root) = parse.root else {
            errors.push(RegistryError {
                range: TextRange::empty(0),
                message: "the registry is empty: expected `version` and `methods`".into(),
            });
            return (registry, errors);
        };
        if root.entries().is_none() {
            errors.push(RegistryError {
                range: root.range,
                message: "a registry is a mapping with `version` and `methods`".into(),
            });
            return (registry, errors);
        }
        for entry in root.entries().unwrap_or_default() {
            match entry.key.as_str() {
                "version" => {
                    if entry.value.to_json() != JsonValue::Int(1) {
                        errors.push(RegistryError {
                            range: entry.value.range,
                            message: "unsupported registry version: expected 1".into(),
                        });
                    }
                }
                "methods" => {}
                other => errors.push(RegistryError {
                    range: entry.key_range,
                    message: format!("unknown key `{other}`: expected `version` or `methods`"),
                }),
            }
        }
        let Some(methods) = root.get("methods").map(|e| &e.value) else {
            errors.push(RegistryError {
                range: root.range,
                message: "missing `methods`".into(),
            });
            return (registry, errors);
        };
        let Some(items) = methods.items() else {
            errors.push(RegistryError {
                range: methods.range,
                message: "`methods` must be a list".into(),
            });
            return (registry, errors);
        };
        for item in items {
            match Self::load_method(item) {
                Ok(method) => {
                    if registry.by_id.contains_key(&method.spec.id) {
                        errors.push(RegistryError {
                            range: item.range,
                            message: format!("method `{}` is defined twice", method.spec.id),
                        });
                        continue;
                    }
                    registry
                        .by_id
                        .insert(method.spec.id.clone(), registry.methods.len());
                    registry.methods.push(method);
                }
                Err(e) => errors.push(e),
            }
        }
        (registry, errors)
    }

    fn load_method(item: &Node) -> Result<Method, RegistryError> {
        let id = item
            .get("id")
            .and_then(|e| e.value.scalar())
            .map(|s| s.value.clone())
            .unwrap_or_else(|| "?".into());
        let fail = |range: TextRange, message: String| RegistryError {
            range,
            message: format!("method `{id}`: {message}"),
        };
        let json = to_serde(&item.to_json());
        let spec: MethodSpec =
            serde_json::from_value(json).map_err(|e| fail(item.range, e.to_string()))?;
        let id_ok = {
            let parts: Vec<&str> = spec.id.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        };
        if !id_ok {
            return Err(fail(
                item.range,
                "the id must have the form `domain.provider.action`".into(),
            ));
        }
        let range_of = |key: &str| item.get(key).map(|e| e.value.range).unwrap_or(item.range);
        check_schema_subset(&spec.params.0, "params").map_err(|m| fail(range_of("params"), m))?;
        if spec.params.0.get("type").and_then(Value::as_str) != Some("object") {
            return Err(fail(
                range_of("params"),
                "`params` must be a schema with `type: object`".into(),
            ));
        }
        if !spec.endpoint.starts_with('/') || spec.endpoint.contains("://") {
            return Err(fail(
                range_of("endpoint"),
                "`endpoint` is a path on the service's base URL and starts with `/`".into(),
            ));
        }
        if let OutputSpec::Schema(schema) = &spec.output
            && schema.0.get("type").and_then(Value::as_str) != Some("object")
        {
            return Err(fail(
                range_of("output"),
                "`output` must be `dynamic` or a schema with `type: object` (a step's result is an object)".into(),
            ));
        }
        let validator = jsonschema::validator_for(&spec.params.0)
            .map_err(|e| fail(range_of("params"), format!("invalid params schema: {e}")))?;
        let output = match &spec.output {
            OutputSpec::Dynamic(_) => Ty::Any,
            OutputSpec::Schema(schema) => {
                check_schema_subset(&schema.0, "output")
                    .map_err(|m| fail(range_of("output"), m))?;
                Ty::from_schema(&schema.0)
            }
        };
        let cell = OnceLock::new();
        let _ = cell.set(Some(Arc::new(validator)));
        let param_validators = param_schemas(&spec.params.0).and_then(|schemas| {
            schemas
                .iter()
                .map(|schema| jsonschema::validator_for(schema).ok())
                .collect::<Option<Vec<_>>>()
        });
        let properties = spec.params.0.get("properties").and_then(Value::as_object);
        let param_positions = properties
            .map(|p| p.keys().enumerate().map(|(i, k)| (k.clone(), i)).collect())
            .unwrap_or_default();
        let param_schemas = properties
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default();
        Ok(Method {
            spec,
            output,
            validator: cell,
            param_validators,
            param_positions,
            param_schemas,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Method> {
        self.by_id.get(id).map(|i| &self.methods[*i])
    }

    /// Unique to this loaded registry (0 for an empty default one).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

/// Checks that a schema uses only the documented keywords.
fn check_schema_subset(schema: &Value, at: &str) -> Result<(), String> {
    let Some(obj) = schema.as_object() else {
        return Err(format!("`{at}` must be a schema (a mapping)"));
    };
    for (k, v) in obj {
        if !SCHEMA_KEYWORDS.contains(&k.as_str()) {
            return Err(format!(
                "`{at}` uses `{k}`, which is outside the supported schema subset (docs/registry.md)"
            ));
        }
        match k.as_str() {
            "items" => check_schema_subset(v, &format!("{at}.items"))?,
            "properties" => {
                let Some(props) = v.as_object() else {
                    return Err(format!("`{at}.properties` must be a mapping"));
                };
                for (name, prop) in props {
                    check_schema_subset(prop, &format!("{at}.{name}"))?;
                }
            }
            "additionalProperties" if !v.is_boolean() => {
                return Err(format!("`{at}.additionalProperties` must be true or false"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Converts a syntax node straight to serde_json's value under the core schema (error nodes become null).
pub fn node_to_serde(node: &Node) -> Value {
    use odp_syntax::{NodeKind, ScalarValue};
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            let mut map = serde_json::Map::with_capacity(entries.len());
            for e in entries {
                map.insert(e.key.to_string(), node_to_serde(&e.value));
            }
            Value::Object(map)
        }
        NodeKind::Sequence { items, .. } => Value::Array(items.iter().map(node_to_serde).collect()),
        NodeKind::Scalar(s) => match s.resolve() {
            ScalarValue::Null => Value::Null,
            ScalarValue::Bool(b) => Value::Bool(b),
            ScalarValue::Int(i) => int_to_serde(i),
            ScalarValue::Float(f) => {
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            ScalarValue::Str(s) => Value::String(s.to_owned()),
        },
        NodeKind::Error => Value::Null,
    }
}

/// An integer of the parser ([`odp_syntax::INT_RANGE`]: `i64` or `u64`) as a JSON number, exactly.
fn int_to_serde(i: i128) -> Value {
    i64::try_from(i)
        .map(Value::from)
        .or_else(|_| u64::try_from(i).map(Value::from))
        // Outside INT_RANGE, which the parser never resolves to an integer.
        .unwrap_or_else(|_| {
            serde_json::Number::from_f64(i as f64).map_or(Value::Null, Value::Number)
        })
}

/// Converts the parser's JSON value to serde_json's.
pub fn to_serde(v: &JsonValue) -> Value {
    match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Int(i) => int_to_serde(*i),
        JsonValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        JsonValue::String(s) => Value::String(s.clone()),
        JsonValue::Array(items) => Value::Array(items.iter().map(to_serde).collect()),
        JsonValue::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_serde(v)))
                .collect(),
        ),
    }
}

/// The schemas of the declared params, in order, if each can be validated on its own: the top level only
/// declares properties (and annotations) and nothing in the schema refers elsewhere (`$ref`, `$dynamicRef`).
fn param_schemas(schema: &Value) -> Option<Vec<&Value>> {
    const STRUCTURAL: &[&str] = &[
        "type",
        "properties",
        "required",
        "additionalProperties",
        "description",
        "title",
        "$schema",
        "$comment",
        "default",
        "examples",
    ];
    let object = schema.as_object()?;
    if !object.keys().all(|k| STRUCTURAL.contains(&k.as_str()))
        || object.get("type").is_some_and(|t| t != "object")
        || object
            .get("additionalProperties")
            .is_some_and(|a| !a.is_boolean())
        || refers_elsewhere(schema)
    {
        return None;
    }
    Some(match object.get("properties") {
        Some(Value::Object(properties)) => properties.values().collect(),
        Some(_) => return None,
        None => Vec::new(),
    })
}

/// Whether a schema holds a reference (`$ref`, `$dynamicRef`, `$recursiveRef`), at any depth. Iterative: the
/// depth comes from a registry file.
fn refers_elsewhere(schema: &Value) -> bool {
    let mut stack = vec![schema];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if map
                    .keys()
                    .any(|k| matches!(k.as_str(), "$ref" | "$dynamicRef" | "$recursiveRef"))
                {
                    return true;
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_registry_loads_without_errors() {
        let (registry, errors) = Registry::from_yaml(Registry::bundled_text());
        assert_eq!(errors, vec![]);
        assert!(
            registry.methods().len() >= 12,
            "{}",
            registry.methods().len()
        );
        let tw = registry
            .get("social.twitter.search")
            .expect("twitter search");
        assert_eq!(tw.spec.kind, MethodKind::Source);
        assert!(tw.validator().is_some());
    }

    #[test]
    fn params_are_validated_one_by_one_only_when_the_top_level_just_declares_them() {
        let schema = serde_json::json!({
            "type": "object",
            "required": ["texts"],
            "additionalProperties": false,
            "description": "d",
            "properties": {"texts": {"type": "array", "minItems": 1}, "lang": {"type": "string"}},
        });
        assert_eq!(
            param_schemas(&schema),
            Some(vec![
                &serde_json::json!({"type": "array", "minItems": 1}),
                &serde_json::json!({"type": "string"}),
            ])
        );
        // Any other top-level keyword may read a param's presence or value, and a reference may reach across
        // params: the whole schema validates the params then.
        for other in [
            serde_json::json!({"type": "object", "minProperties": 1}),
            serde_json::json!({"type": "object", "anyOf": [{"required": ["a"]}]}),
            serde_json::json!({"type": "object", "additionalProperties": {"type": "string"}}),
            serde_json::json!({"type": "object", "properties": {"a": {"items": [{"$ref": "#/properties/b"}]}}}),
            serde_json::json!({"type": "array"}),
            serde_json::json!(true),
        ] {
            assert_eq!(param_schemas(&other), None, "{other}");
        }
        let registry = Registry::bundled();
        for method in registry.methods() {
            assert!(method.validates_params_one_by_one(), "{}", method.id());
            for (name, _) in method.params() {
                assert!(
                    method.param_validator(name).is_some(),
                    "{} {name}",
                    method.id()
                );
            }
        }
    }

    #[test]
    fn reports_bad_methods_with_positions_and_keeps_the_rest() {
        let text = "version: 1\nmethods:\n  - id: a.b.c\n    kind: source\n    service: crawler\n    summary: s\n    endpoint: /x\n    params: {type: object, oneOf: []}\n    output: dynamic\n  - id: a.b.d\n    kind: transform\n    service: model\n    summary: s\n    endpoint: /y\n    params: {type: object}\n    output: {type: object}\n    colour: red\n  - id: ok.ok.ok\n    kind: transform\n    service: model\n    summary: s\n    endpoint: /z\n    params: {type: object}\n    output: dynamic\n";
        let (registry, errors) = Registry::from_yaml(text);
        assert_eq!(registry.methods().len(), 1);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].message.contains("`oneOf`"),
            "{}",
            errors[0].message
        );
        assert_eq!(
            &text[errors[0].range.as_range()],
            "{type: object, oneOf: []}"
        );
        assert!(
            errors[1].message.contains("unknown field `colour`"),
            "{}",
            errors[1].message
        );
    }
}
