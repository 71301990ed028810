//! Writing a pipeline given as JSON (the model's structured answer) as pipeline YAML.
//!
//! The output is plain block YAML in the order pipelines are usually written (name, description, inputs, sources,
//! transforms; in a step: name, description, method, params, retry, timeout: the order of
//! [`odp_analysis::keys`]). A string is written plain only when
//! our own parser reads it back as that very string; everything else, every template included, is double-quoted.
//! Nulls in params and inputs (the schema's way of saying "not set") are left out.

use odp_analysis::keys::Place;
use odp_syntax::{NodeKind, ScalarStyle, ScalarValue};
use serde_json::{Map, Value};

/// A JSON pipeline as YAML text (ends with a newline).
pub fn pipeline_to_yaml(pipeline: &Value) -> String {
    let normalized = normalize(pipeline);
    let mut out = String::new();
    match &normalized {
        Value::Object(map) if !map.is_empty() => {
            write_mapping(&mut out, map, 0);
        }
        other => {
            out.push_str(&scalar_or_flow(other));
            out.push('\n');
        }
    }
    out
}

/// Puts keys in the usual order, turns an `inputs` list (`[{name, type, ...}]`, as the JSON Schema asks for) into
/// a mapping, and drops nulls where they mean "not set".
fn normalize(pipeline: &Value) -> Value {
    let Value::Object(map) = pipeline else {
        return pipeline.clone();
    };
    let mut out = Map::new();
    for key in ordered_keys(map, Place::Pipeline) {
        let value = &map[key];
        let value = match key {
            "description" if value.is_null() => continue,
            "inputs" => match normalize_inputs(value) {
                Some(v) => v,
                None => continue,
            },
            "sources" | "transforms" => match value {
                Value::Array(steps) => Value::Array(steps.iter().map(normalize_step).collect()),
                Value::Null if key == "transforms" => continue,
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.to_string(), value);
    }
    Value::Object(out)
}

fn normalize_inputs(value: &Value) -> Option<Value> {
    let mut out = Map::new();
    match value {
        Value::Null => return None,
        Value::Array(items) => {
            for item in items {
                let Some(obj) = item.as_object() else {
                    continue;
                };
                let Some(name) = obj.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let mut decl = Map::new();
                for key in ordered_keys(obj, Place::Input) {
                    if key == "name" || obj[key].is_null() {
                        continue;
                    }
                    decl.insert(key.to_string(), obj[key].clone());
                }
                out.insert(name.to_string(), Value::Object(decl));
            }
        }
        Value::Object(map) => {
            for (name, decl) in map {
                let decl = match decl {
                    Value::Object(obj) => {
                        let mut d = Map::new();
                        for key in ordered_keys(obj, Place::Input) {
                            if !obj[key].is_null() {
                                d.insert(key.to_string(), obj[key].clone());
                            }
                        }
                        Value::Object(d)
                    }
                    other => other.clone(),
                };
                out.insert(name.clone(), decl);
            }
        }
        other => return Some(other.clone()),
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn normalize_step(step: &Value) -> Value {
    let Value::Object(obj) = step else {
        return step.clone();
    };
    let mut out = Map::new();
    for key in ordered_keys(obj, Place::Step) {
        let value = &obj[key];
        if value.is_null() {
            continue;
        }
        let value = match (key, value) {
            ("params", Value::Object(params)) => {
                let kept: Map<String, Value> = params
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if kept.is_empty() {
                    continue;
                }
                Value::Object(kept)
            }
            ("retry", Value::Object(retry)) => Value::Object(
                ordered_keys(retry, Place::Retry)
                    .into_iter()
                    .filter(|k| !retry[*k].is_null())
                    .map(|k| (k.to_string(), retry[k].clone()))
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(key.to_string(), value);
    }
    Value::Object(out)
}

/// The keys of `map`: first those of the place that are present, in the language's order, then the others as
/// they come.
fn ordered_keys(map: &Map<String, Value>, place: Place) -> Vec<&str> {
    let mut keys: Vec<&str> = place
        .names()
        .filter_map(|k| map.get_key_value(k).map(|(k, _)| k.as_str()))
        .collect();
    keys.extend(
        map.keys()
            .map(String::as_str)
            .filter(|k| place.key(k).is_none()),
    );
    keys
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Writes the entries of a mapping at `level` spaces; the first entry's indentation is written by the caller when
/// `first_inline` (after `- `).
fn write_mapping(out: &mut String, map: &Map<String, Value>, level: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        out.push_str(&key_text(key));
        out.push(':');
        write_value_after_key(out, value, level);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_mapping(out, m, level + 2);
        }
        Value::Array(items) if !items.is_empty() && !is_flow_list(items) => {
            out.push('\n');
            write_sequence(out, items, level + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar_or_flow(other));
            out.push('\n');
        }
    }
}

fn write_sequence(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_mapping(out, m, level + 2),
            Value::Array(inner) if !inner.is_empty() && !is_flow_list(inner) => {
                out.push('\n');
                write_sequence(out, inner, level + 2);
            }
            other => {
                out.push_str(&scalar_or_flow(other));
                out.push('\n');
            }
        }
    }
}

/// Lists of scalars (and of such lists) are written in flow style: `["{{a.results}}", "{{b.results}}"]`.
fn is_flow_list(items: &[Value]) -> bool {
    items.iter().all(|v| match v {
        Value::Array(inner) => is_flow_list(inner),
        Value::Object(m) => m.is_empty(),
        _ => true,
    })
}

/// A scalar, or a flow collection of scalars.
fn scalar_or_flow(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s, false),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(flow_item).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", key_text(k), flow_item(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn flow_item(value: &Value) -> String {
    match value {
        Value::String(s) => string_text(s, true),
        other => scalar_or_flow(other),
    }
}

fn key_text(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && reads_back_plain(key, false)
    {
        key.to_string()
    } else {
        double_quoted(key)
    }
}

/// A string as YAML: plain when that reads back as the same string, else double-quoted.
fn string_text(s: &str, in_flow: bool) -> String {
    if plain_is_safe(s, in_flow) && reads_back_plain(s, in_flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// Cheap rules first: no templates, no indicators, no edge white space, nothing YAML would read as another type.
fn plain_is_safe(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.contains("{{")
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace)
        || s.chars().any(|c| c.is_control())
        || "-?:,[]{}#&*!|>'\"%@`\\".contains(first)
    {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    true
}

/// Whether our parser reads `s` written plain back as exactly the string `s`.
fn reads_back_plain(s: &str, in_flow: bool) -> bool {
    let text = if in_flow {
        format!("k: [{s}]\n")
    } else {
        format!("k: {s}\n")
    };
    let parse = odp_syntax::parse(&text);
    if !parse.errors.is_empty() {
        return false;
    }
    let Some(root) = &parse.root else {
        return false;
    };
    let Some(entry) = root.get("k") else {
        return false;
    };
    let node = if in_flow {
        match entry.value.items() {
            Some([only]) => only,
            _ => return false,
        }
    } else {
        &entry.value
    };
    match &node.kind {
        NodeKind::Scalar(scalar) => {
            scalar.style == ScalarStyle::Plain
                && matches!(scalar.resolve(), ScalarValue::Str(v) if v == s)
        }
        _ => false,
    }
}

/// A double-quoted YAML string. A backslash is doubled, so a template escape `\{{` stays one.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use odp_analysis::{Registry, analyze_with_bundled_registry};
    use serde_json::json;

    fn reads_back(yaml: &str) -> Value {
        let parse = odp_syntax::parse(yaml);
        assert!(parse.errors.is_empty(), "{yaml}\n{:?}", parse.errors);
        odp_analysis::registry::to_serde(&parse.root.expect("a document").to_json())
    }

    #[test]
    fn writes_a_checked_pipeline_with_quoted_templates() {
        let json = json!({
            "name": "ai mood",
            "description": null,
            "inputs": [{"name": "topic", "type": "string", "default": "AI", "description": null, "required": null}],
            "sources": [
                {"name": "tweets", "method": "social.twitter.search",
                 "params": {"query": "{{inputs.topic}}", "limit": 50, "language": null}},
                {"name": "posts", "method": "social.reddit.search",
                 "params": {"query": "{{inputs.topic}} lang:en", "sort": "top"}}
            ],
            "transforms": [
                {"name": "all_posts", "method": "data.records.merge",
                 "params": {"lists": ["{{tweets.results}}", "{{posts.results}}"]}},
                {"name": "mood", "method": "nlp.sentiment.analyze",
                 "params": {"texts": "{{all_posts.results[*].text}}"}}
            ]
        });
        let yaml = pipeline_to_yaml(&json);
        expect_test::expect![[r#"
            name: ai mood
            inputs:
              topic:
                type: string
                default: AI
            sources:
              - name: tweets
                method: social.twitter.search
                params:
                  query: "{{inputs.topic}}"
                  limit: 50
              - name: posts
                method: social.reddit.search
                params:
                  query: "{{inputs.topic}} lang:en"
                  sort: top
            transforms:
              - name: all_posts
                method: data.records.merge
                params:
                  lists: ["{{tweets.results}}", "{{posts.results}}"]
              - name: mood
                method: nlp.sentiment.analyze
                params:
                  texts: "{{all_posts.results[*].text}}"
        "#]]
        .assert_eq(&yaml);
        let analysis = analyze_with_bundled_registry(&yaml);
        assert!(
            analysis.diagnostics.is_empty(),
            "{:?}",
            analysis.diagnostics
        );
        let _ = Registry::bundled();
    }

    #[test]
    fn every_string_reads_back_as_itself() {
        let tricky = [
            "",
            " leading",
            "trailing ",
            "true",
            "False",
            "null",
            "~",
            "42",
            "-7",
            "0x1f",
            "1e3",
            ".inf",
            "2024-01-01",
            "yes",
            "#rustlang",
            "a #b",
            "focus: pricing",
            "ends:",
            "- item",
            "? q",
            "[x]",
            "{y}",
            "{{inputs.q}}",
            "q={{inputs.q}}",
            "\\{{not a template}}",
            "quote \" inside",
            "single ' inside",
            "back\\slash",
            "line\nbreak",
            "tab\there",
            "ünïcödé ✓",
            "@handle",
            "`tick`",
            "%percent",
            "!bang",
            "&anchor",
            "*alias",
            "|pipe",
            ">fold",
            "a, b",
            "plain words",
            "https://example.com/a?b=c#d",
            "lang:en",
        ];
        for s in tricky {
            let json = json!({"name": s, "sources": [{"name": "x", "method": "a.b.c", "params": {"p": s, "l": [s, s]}}]});
            let yaml = pipeline_to_yaml(&json);
            let back = reads_back(&yaml);
            assert_eq!(back["name"], json!(s), "{yaml}");
            assert_eq!(back["sources"][0]["params"]["p"], json!(s), "{yaml}");
            assert_eq!(back["sources"][0]["params"]["l"], json!([s, s]), "{yaml}");
        }
    }

    #[test]
    fn values_of_every_type_read_back() {
        let json = json!({
            "name": "types",
            "sources": [{"name": "s", "method": "a.b.c", "params": {
                "i": 3, "f": 2.5, "neg": -1, "t": true, "n": [1, 2.5, "x", false],
                "nested": {"deep": {"x": "{{inputs.a}}"}, "list": [{"k": "v"}, {"k": "w", "j": [1]}]},
                "empty_list": [], "empty_map": {}, "lists": [["a"], ["b", "c"]]
            }}],
            "extra_key": "kept, so the checker can report it"
        });
        let yaml = pipeline_to_yaml(&json);
        let back = reads_back(&yaml);
        assert_eq!(
            back["sources"][0]["params"], json["sources"][0]["params"],
            "{yaml}"
        );
        assert_eq!(back["extra_key"], json["extra_key"]);
    }

    #[test]
    fn inputs_as_a_mapping_are_accepted_too() {
        let json = json!({"name": "abc", "inputs": {"q": {"type": "string", "default": null}}, "sources": []});
        let yaml = pipeline_to_yaml(&json);
        assert!(yaml.contains("inputs:\n  q:\n    type: string\n"), "{yaml}");
        reads_back(&yaml);
    }
}
