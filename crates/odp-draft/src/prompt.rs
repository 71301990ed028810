//! What the model is told: the language rules, the offered methods (params and output shapes only), the JSON
//! Schema its structured answer must follow, and the checker's findings when a draft needs repair.

use std::fmt::Write as _;

use odp_analysis::{
    Diagnostic, ExternalInput, ExternalStep, LineIndex, Method, MethodKind, PositionEncoding,
    Severity, Ty,
};
use serde_json::{Value, json};

/// The rules of the pipeline language, condensed from docs/language.md.
pub const LANGUAGE_RULES: &str = r#"You write ODP data pipelines: YAML files checked by a strict checker.

Layout. Top-level keys: `name` (required, 3 to 100 characters), `description` (optional), `inputs` (optional),
`sources` (required, a list of steps that fetch data), `transforms` (optional, a list of steps that process
results). No other top-level keys.

Inputs: a mapping of identifier → {type: string|integer|number|boolean|array|object, default, description,
required}. A default must fit its type. Declare only inputs that some template uses.

Steps: each step has `name` (an identifier: letters, digits, `_`; unique across sources and transforms; never
`inputs`), `method` (a method id from the list below, exactly as written), and `params` (a mapping of the
method's params). Use only the params a method lists; give every required param. Source methods go under
`sources`, transform methods under `transforms`.

Execution: sources run in parallel and may reference only `inputs`. Transforms run in the order written and may
reference inputs, any source and transforms above them, never themselves or later ones. When a pipeline has
transforms, every source should be used by some transform.

Templates: `{{root.path}}` inside a string value of params. `root` is `inputs` or a step name; the path walks the
step's output with `.field`, `[0]`, `[-1]` and `[*]` (a projection over every item of a list):
`{{tweets.results[*].text}}` is the list of every post's text. A field must exist in the step's output shape.
Use `[*].field` (not `.field`) on a list. A string that is exactly one template keeps the referenced value's type
(a list stays a list, a number a number); any other string is interpolated text. So a param that takes a list
of strings gets a projection such as "{{posts.results[*].text}}", a param that takes a list of lists of records
gets ["{{a.results}}", "{{b.results}}"], and a number param gets a literal or a whole-value template.

YAML: always double-quote strings containing templates ("{{inputs.topic}}"), and strings starting with `#`,
`@`, `*`, `&`, `!`, `%` or containing `: `. Plain block style, two-space indentation, no anchors or tags.

Example:
name: tweet mood
inputs:
  query: {type: string, default: rust lang}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
      limit: 50
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
"#;

/// How to answer under the JSON Schema.
pub const JSON_INSTRUCTIONS: &str = "Answer with one JSON object that follows the given JSON Schema: the pipeline, \
with `inputs` as a list of {name, type, default, description, required} and each step's params as an object \
(null for a param you leave out). Write templates as JSON strings. No prose.";

/// How to answer without a schema.
pub const TEXT_INSTRUCTIONS: &str = "Answer with the pipeline YAML only, in one ```yaml fenced block, and nothing \
else.";

/// The system prompt: the rules and the offered methods.
pub fn system_prompt(methods: &[&Method]) -> String {
    let mut out = String::from(LANGUAGE_RULES);
    out.push_str("\nMethods you may use (use no other method ids):\n");
    for m in methods {
        out.push('\n');
        out.push_str(&describe_method(m));
    }
    out
}

/// What the draft may use besides its own steps: earlier steps and inputs (a notebook's cells). Empty when
/// there are none.
pub fn context_section(steps: &[ExternalStep], inputs: &[ExternalInput]) -> String {
    if steps.is_empty() && inputs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nAlready defined (do not define them again; templates in transforms may use them):\n",
    );
    for s in steps {
        let _ = write!(out, "- step `{}`", s.name);
        if let Some(m) = &s.method {
            let _ = write!(out, " ({m})");
        }
        let _ = writeln!(out, ": output {}", ty_shape(&s.output, 0));
    }
    for i in inputs {
        let _ = writeln!(out, "- input `{}`: {}", i.name, ty_shape(&i.ty, 0));
    }
    out
}

/// A type with every field spelt out (to a depth), for the prompt.
fn ty_shape(ty: &Ty, depth: usize) -> String {
    match ty {
        Ty::List(item) => format!("list<{}>", ty_shape(item, depth + 1)),
        Ty::Object { fields, .. } if !fields.is_empty() && depth < 4 => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", ty_shape(v, depth + 1)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Ty::Union(members) => members
            .iter()
            .map(|m| ty_shape(m, depth))
            .collect::<Vec<_>>()
            .join(" | "),
        other => other.to_string(),
    }
}

/// The first user message.
pub fn request_message(request: &str) -> String {
    format!("Write a pipeline for this request:\n\n{}", request.trim())
}

/// The message asking for a repair: the draft as YAML (line numbers refer to it) and the findings.
pub fn repair_message(yaml: &str, findings: &str, json: bool) -> String {
    let answer_as = if json {
        "Answer with the whole corrected pipeline as one JSON object following the schema."
    } else {
        "Answer with the whole corrected pipeline YAML in one ```yaml block."
    };
    format!(
        "The checker found problems in your draft. The draft, as YAML:\n\n```yaml\n{yaml}```\n\nFindings:\n{findings}\n\nFix every error (warnings too if you can) and keep what was right. {answer_as}"
    )
}

/// The message after an answer that was not a pipeline at all.
pub fn unreadable_message(reason: &str, json: bool) -> String {
    let answer_as = if json {
        "Answer with one JSON object following the schema, and nothing else."
    } else {
        "Answer with the pipeline YAML in one ```yaml block, and nothing else."
    };
    format!("Your answer could not be read: {reason}. {answer_as}")
}

/// Diagnostics compactly, one per line: `line 12 (`texts: ...`): error ODP405 message (help: ...)`.
pub fn render_findings(text: &str, diagnostics: &[Diagnostic]) -> String {
    let index = LineIndex::new(text);
    let mut out = String::new();
    for d in diagnostics {
        let lc = index.line_col(text, d.range.start(), PositionEncoding::Utf32);
        let line_text = index
            .line_range(text, lc.line as usize)
            .map(|r| text[r.as_range()].trim().to_string())
            .unwrap_or_default();
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(out, "- line {}", lc.line + 1);
        if !line_text.is_empty() {
            let shown: String = line_text.chars().take(100).collect();
            let _ = write!(out, " (`{shown}`)");
        }
        let _ = write!(out, ": {severity} {} {}", d.code.id(), d.message);
        if let Some(help) = &d.help {
            let _ = write!(out, " (help: {help})");
        }
        out.push('\n');
    }
    out
}

/// A method for the prompt: id, kind, summary, params with their constraints, and the output shape.
pub fn describe_method(m: &Method) -> String {
    let mut out = String::new();
    let kind = match m.spec.kind {
        MethodKind::Source => "source",
        MethodKind::Transform => "transform",
    };
    let _ = writeln!(out, "## {} ({kind})", m.id());
    let _ = writeln!(out, "{}", m.spec.summary.trim());
    let required: Vec<&str> = m.required_params().collect();
    let params: Vec<(&str, &Value)> = m.params().collect();
    if params.is_empty() {
        out.push_str("params: none\n");
    } else {
        out.push_str("params:\n");
        for (name, schema) in params {
            let mut line = format!("  {name}: {}", schema_type(schema, 0));
            if required.contains(&name) {
                line.push_str(", required");
            }
            if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                let vs: Vec<String> = values.iter().map(compact).collect();
                let _ = write!(line, ", one of {}", vs.join("|"));
            }
            if let Some(items_enum) = schema
                .get("items")
                .and_then(|i| i.get("enum"))
                .and_then(Value::as_array)
            {
                let vs: Vec<String> = items_enum.iter().map(compact).collect();
                let _ = write!(line, ", items one of {}", vs.join("|"));
            }
            for (key, label) in [
                ("minimum", "min"),
                ("maximum", "max"),
                ("minItems", "min items"),
                ("maxItems", "max items"),
                ("pattern", "pattern"),
                ("default", "default"),
            ] {
                if let Some(v) = schema.get(key) {
                    let _ = write!(line, ", {label} {}", compact(v));
                }
            }
            if let Some(d) = schema.get("description").and_then(Value::as_str) {
                let first = d.lines().next().unwrap_or("").trim();
                if !first.is_empty() {
                    let _ = write!(line, " — {first}");
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    match &m.spec.output {
        odp_analysis::registry::OutputSpec::Dynamic(_) => {
            out.push_str("output: dynamic (any shape; templates on it are not checked)\n")
        }
        odp_analysis::registry::OutputSpec::Schema(s) => {
            let _ = writeln!(out, "output: {}", schema_type(&s.0, 0));
        }
    }
    out
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A schema as a short type: `list<{id: string, text: string}>`.
fn schema_type(schema: &Value, depth: usize) -> String {
    let ty = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema.get("properties").is_some() => vec!["object"],
        _ if schema.get("items").is_some() => vec!["array"],
        _ => vec![],
    };
    if ty.is_empty() {
        return "any".into();
    }
    let parts: Vec<String> = ty
        .iter()
        .map(|t| match *t {
            "array" => match schema.get("items") {
                Some(items) => format!("list<{}>", schema_type(items, depth + 1)),
                None => "list".into(),
            },
            "object" => match schema.get("properties").and_then(Value::as_object) {
                Some(props) if !props.is_empty() && depth < 4 => {
                    let fields: Vec<String> = props
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", schema_type(v, depth + 1)))
                        .collect();
                    format!("{{{}}}", fields.join(", "))
                }
                _ => "object".into(),
            },
            other => other.to_string(),
        })
        .collect();
    parts.join(" | ")
}

/// The strict JSON Schema of an answer, narrowed to the offered methods: each step is one of the methods, with
/// exactly its params. Every property is required (optional ones may be null) and no object admits others, as
/// strict structured output requires. Template strings are allowed wherever a value is.
pub fn answer_schema(methods: &[&Method]) -> Value {
    let steps = |kind: MethodKind| -> Value {
        let variants: Vec<Value> = methods
            .iter()
            .filter(|m| m.spec.kind == kind)
            .map(|m| step_schema(m))
            .collect();
        match variants.len() {
            0 => {
                json!({"type": "array", "items": {"type": "object", "properties": {}, "required": [], "additionalProperties": false}})
            }
            1 => json!({"type": "array", "items": variants[0]}),
            _ => json!({"type": "array", "items": {"anyOf": variants}}),
        }
    };
    let input = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["string", "integer", "number", "boolean", "array", "object"]},
            "default": {"type": ["string", "number", "boolean", "null"]},
            "description": {"type": ["string", "null"]},
            "required": {"type": ["boolean", "null"]}
        },
        "required": ["name", "type", "default", "description", "required"],
        "additionalProperties": false
    });
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "inputs": {"type": "array", "items": input},
            "sources": steps(MethodKind::Source),
            "transforms": steps(MethodKind::Transform)
        },
        "required": ["name", "description", "inputs", "sources", "transforms"],
        "additionalProperties": false
    })
}

fn step_schema(m: &Method) -> Value {
    let mut properties = serde_json::Map::new();
    let mut names = Vec::new();
    for (name, schema) in m.params() {
        properties.insert(name.to_string(), param_schema(schema));
        names.push(Value::String(name.to_string()));
    }
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "method": {"type": "string", "enum": [m.id()]},
            "params": {
                "type": "object",
                "properties": properties,
                "required": names,
                "additionalProperties": false
            }
        },
        "required": ["name", "method", "params"],
        "additionalProperties": false
    })
}

/// A param's value: its own scalar type or a template string, or null (left out). Lists take a template or a
/// list of scalars/templates. Enums are kept for strings.
fn param_schema(schema: &Value) -> Value {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"array") {
        let item = match schema
            .get("items")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
        {
            Some("integer") | Some("number") => json!({"type": ["string", "number"]}),
            Some("boolean") => json!({"type": ["string", "boolean"]}),
            _ => json!({"type": "string"}),
        };
        return json!({"anyOf": [
            {"type": "string"},
            {"type": "array", "items": item},
            {"type": "null"}
        ]});
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && values.iter().all(Value::is_string)
    {
        let mut vs = values.clone();
        vs.push(Value::Null);
        return json!({"type": ["string", "null"], "enum": vs});
    }
    let mut out: Vec<&str> = Vec::new();
    for t in &types {
        match *t {
            "integer" | "number" | "boolean" | "string" => out.push(t),
            _ => {}
        }
    }
    if !out.contains(&"string") {
        out.push("string");
    }
    out.push("null");
    json!({"type": out})
}

#[cfg(test)]
mod tests {
    use super::*;
    use odp_analysis::Registry;

    fn walk(schema: &Value, path: &str, problems: &mut Vec<String>) {
        if let Some(obj) = schema.as_object() {
            if obj.get("type") == Some(&json!("object")) {
                let props = obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let required: Vec<&str> = obj
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if obj.get("additionalProperties") != Some(&json!(false)) {
                    problems.push(format!("{path}: additionalProperties is not false"));
                }
                for k in props.keys() {
                    if !required.contains(&k.as_str()) {
                        problems.push(format!("{path}.{k}: not required"));
                    }
                }
            }
            for (k, v) in obj {
                match v {
                    Value::Object(_) => walk(v, &format!("{path}/{k}"), problems),
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            walk(item, &format!("{path}/{k}[{i}]"), problems);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn the_answer_schema_is_strict_and_narrow() {
        let registry = Registry::bundled();
        let methods: Vec<&Method> = [
            "social.twitter.search",
            "nlp.sentiment.analyze",
            "data.records.merge",
        ]
        .iter()
        .map(|id| registry.get(id).unwrap())
        .collect();
        let schema = answer_schema(&methods);
        let mut problems = Vec::new();
        walk(&schema, "", &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
        let text = schema.to_string();
        assert!(text.contains("social.twitter.search"));
        assert!(!text.contains("social.reddit.search"));
        // Small enough to send every round.
        assert!(text.len() < 6000, "{}", text.len());
        // The schema compiles, and a good answer fits it.
        let validator = jsonschema::validator_for(&schema).unwrap();
        let answer = json!({
            "name": "mood", "description": null,
            "inputs": [{"name": "q", "type": "string", "default": "ai", "description": null, "required": null}],
            "sources": [{"name": "tweets", "method": "social.twitter.search", "params": {
                "query": "{{inputs.q}}", "limit": 50, "language": null, "include_retweets": null, "min_likes": null}}],
            "transforms": [{"name": "mood", "method": "nlp.sentiment.analyze", "params": {
                "texts": "{{tweets.results[*].text}}", "language": "en", "neutral_threshold": null}}]
        });
        let errors: Vec<String> = validator
            .iter_errors(&answer)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        // A method not offered does not fit.
        let mut wrong = answer.clone();
        wrong["sources"][0]["method"] = json!("social.reddit.search");
        assert!(!validator.is_valid(&wrong));
    }

    #[test]
    fn methods_are_described_with_params_and_output() {
        let registry = Registry::bundled();
        let text = describe_method(registry.get("social.twitter.search").unwrap());
        assert!(
            text.starts_with("## social.twitter.search (source)\n"),
            "{text}"
        );
        assert!(text.contains("  query: string, required"), "{text}");
        assert!(
            text.contains("limit: integer, min 1, max 1000, default 100"),
            "{text}"
        );
        assert!(
            text.contains("output: {results: list<{id: string, text: string"),
            "{text}"
        );
        let prompt = system_prompt(&[registry.get("nlp.sentiment.analyze").unwrap()]);
        assert!(prompt.contains("## nlp.sentiment.analyze (transform)"));
        assert!(!prompt.contains("## social.reddit.search"));
    }

    #[test]
    fn earlier_steps_are_described_in_full() {
        let registry = Registry::bundled();
        let tweets = registry.get("social.twitter.search").unwrap();
        let text = context_section(
            &[ExternalStep {
                name: "tweets".into(),
                method: Some(tweets.id().into()),
                output: tweets.output.clone(),
            }],
            &[ExternalInput {
                name: "topic".into(),
                ty: Ty::String,
            }],
        );
        assert!(text.contains("- step `tweets` (social.twitter.search): output {count: integer, results: list<{author: string, author_name: string"), "{text}");
        assert!(text.contains("- input `topic`: string"), "{text}");
        assert_eq!(context_section(&[], &[]), "");
    }

    #[test]
    fn findings_are_compact() {
        let text = "name: x1y\nsources:\n  - name: a\n    method: social.twiter.search\n    params: {query: q}\n";
        let analysis = odp_analysis::analyze_with_bundled_registry(text);
        let rendered = render_findings(text, &analysis.diagnostics);
        assert!(
            rendered.starts_with("- line 4 (`method: social.twiter.search`): error ODP300 unknown method `social.twiter.search` (help: did you mean `social.twitter.search`?)"),
            "{rendered}"
        );
    }
}
