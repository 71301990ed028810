//! The Markdown that completion and hover show for a method and for a param.

use odp_analysis::{Input, Method, MethodKind, Ty, escape_control_in_lines};
use serde_json::Value;

/// A method's documentation: summary, description and a table of its params. Like all hover text here, it quotes
/// the registry or the file, so its control characters are escaped (`odp_analysis::escape`).
pub fn method_markdown(m: &Method) -> String {
    let kind = kind_name(m);
    let mut out = format!(
        "**{}** ({kind}) — {}\n\n{}\n",
        m.id(),
        m.spec.summary,
        m.spec.description.trim()
    );
    let required: Vec<&str> = m.required_params().collect();
    let params: Vec<(&str, &Value)> = m.params().collect();
    if !params.is_empty() {
        out.push_str("\n| param | type | required | description |\n|---|---|---|---|\n");
        for (name, schema) in params {
            out.push_str(&format!(
                "| `{name}` | {} | {} | {} |\n",
                Ty::from_schema(schema),
                if required.contains(&name) { "yes" } else { "" },
                schema
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .replace('|', "\\|")
                    .replace('\n', " ")
            ));
        }
    }
    out.push_str(&format!("\nOutput: `{}`\n", m.output));
    escape_control_in_lines(&out).into_owned()
}

/// A method's documentation in a signature, whose label already lists the params: summary, description, output.
pub(crate) fn signature_markdown(m: &Method) -> String {
    let out = format!(
        "{} — {}\n\n{}\n\nOutput: `{}`\n",
        kind_name(m),
        m.spec.summary,
        m.spec.description.trim(),
        m.output
    );
    escape_control_in_lines(&out).into_owned()
}

fn kind_name(m: &Method) -> &'static str {
    match m.spec.kind {
        MethodKind::Source => "source",
        MethodKind::Transform => "transform",
    }
}

pub(crate) fn param_markdown(name: &str, schema: &Value, required: bool) -> String {
    let mut out = format!(
        "**{name}**: `{}`{}\n",
        Ty::from_schema(schema),
        if required { " (required)" } else { "" }
    );
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        out.push_str(&format!("\n{d}\n"));
    }
    if let Some(v) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = v.iter().map(|v| format!("`{}`", render_value(v))).collect();
        out.push_str(&format!("\nOne of {}.\n", values.join(", ")));
    }
    if let Some(d) = schema.get("default") {
        out.push_str(&format!("\nDefault: `{}`\n", render_value(d)));
    }
    escape_control_in_lines(&out).into_owned()
}

/// A declared input: its type, whether it is required, its description and default.
pub(crate) fn input_markdown(input: &Input) -> String {
    let ty = input
        .type_name
        .clone()
        .unwrap_or_else(|| input.ty.to_string());
    let mut out = format!(
        "**input `{}`**: `{ty}`{}\n",
        input.name.value,
        if input.required { " (required)" } else { "" }
    );
    if let Some(d) = &input.description {
        out.push_str(&format!("\n{d}\n"));
    }
    if let Some(d) = &input.default {
        out.push_str(&format!("\nDefault: `{}`\n", render_value(d)));
    }
    escape_control_in_lines(&out).into_owned()
}

/// A JSON value as written in a pipeline: strings without their quotes.
pub(crate) fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
