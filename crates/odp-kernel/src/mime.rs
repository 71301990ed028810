//! MIME bundles: what a cell shows. [`RESULT_MIME`] carries the value itself (for programs: nbclient, papermill,
//! `%show`), `text/html` a table when the value holds a list of records, `text/plain` a short summary.
//!
//! The value goes under a vendor type, not `application/json`: JupyterLab ranks `application/json` above
//! `text/html` and would show a collapsed JSON tree instead of the table. It has no renderer for the vendor
//! type, so it picks `text/html`.

use serde_json::{Map, Value};

/// The MIME type of a step's value (and of `%inputs`' values) in a bundle.
pub const RESULT_MIME: &str = "application/vnd.odp.result+json";

/// A MIME bundle: type → data.
pub type Bundle = Map<String, Value>;

/// How many rows an HTML table shows.
pub const MAX_ROWS: usize = 20;
/// How many columns an HTML table shows.
pub const MAX_COLUMNS: usize = 10;
const MAX_CELL_CHARS: usize = 120;

pub fn escape(s: &str) -> String {
    odp_graph::escape::xml_entities(s)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// A value as one short line of text.
pub fn short(v: &Value, max: usize) -> String {
    let text = match v {
        Value::String(s) => s.replace(['\n', '\r'], " "),
        Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => items
            .iter()
            .map(|i| short(i, max))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    truncate(&text, max)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn is_record_list(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(Value::is_object)
}

/// What a value is, in a few words: `50 records {id, text, …}`, `3 strings`, `"a text"`, `42`.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Array(items) if is_record_list(items) => {
            let cols = columns(items);
            let shown: Vec<&str> = cols.iter().take(6).map(String::as_str).collect();
            format!(
                "{} {{{}{}}}",
                plural(items.len(), "record", "records"),
                shown.join(", "),
                if cols.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            )
        }
        Value::Array(items) if items.is_empty() => "an empty list".into(),
        Value::Array(items) => {
            let kind = match &items[0] {
                Value::String(_) => ("string", "strings"),
                Value::Number(_) => ("number", "numbers"),
                Value::Bool(_) => ("boolean", "booleans"),
                Value::Array(_) => ("list", "lists"),
                _ => ("value", "values"),
            };
            format!("{}: {}", plural(items.len(), kind.0, kind.1), short(v, 60))
        }
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().take(6).map(String::as_str).collect();
            format!(
                "an object {{{}{}}}",
                keys.join(", "),
                if map.len() > keys.len() { ", …" } else { "" }
            )
        }
        Value::String(s) => format!("\"{}\"", truncate(&s.replace('\n', " "), 80)),
        other => other.to_string(),
    }
}

/// The lines of a text/plain summary of a step's result.
pub fn summary(name: &str, method: &str, v: &Value) -> String {
    let mut out = format!("{name} ← {method}\n");
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, field) in map {
                out.push_str(&format!("  {k}: {}\n", describe(field)));
            }
        }
        other => out.push_str(&format!("  {}\n", describe(other))),
    }
    out
}

/// The columns of a list of records: their keys in order of first appearance (the first rows decide).
pub fn columns(items: &[Value]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for item in items.iter().take(50) {
        if let Value::Object(map) = item {
            for k in map.keys() {
                if !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    cols
}

/// The list of records a value holds: the value itself, or its first field that is one. Returns the field's name
/// (empty for the value itself).
pub fn records(v: &Value) -> Option<(String, &[Value])> {
    match v {
        Value::Array(items) if is_record_list(items) => Some((String::new(), items)),
        Value::Object(map) => map.iter().find_map(|(k, f)| match f {
            Value::Array(items) if is_record_list(items) => Some((k.clone(), items.as_slice())),
            _ => None,
        }),
        _ => None,
    }
}

/// An HTML table of rows of cells (already text).
pub fn table(headers: &[&str], rows: &[Vec<String>], more: usize) -> String {
    let mut html = String::from("<table class=\"odp-table\">\n<thead><tr>");
    for h in headers {
        html.push_str(&format!("<th style=\"text-align:left\">{}</th>", escape(h)));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!(
                "<td style=\"text-align:left\">{}</td>",
                escape(cell)
            ));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    if more > 0 {
        html.push_str(&format!(
            "<p><em>… {} more (every row is in the application/vnd.odp.result+json output)</em></p>\n",
            more
        ));
    }
    html
}

/// An HTML table of a list of records.
pub fn records_table(items: &[Value]) -> String {
    let cols = columns(items);
    let shown: Vec<&str> = cols.iter().take(MAX_COLUMNS).map(String::as_str).collect();
    let mut headers = vec!["#"];
    headers.extend(&shown);
    let rows: Vec<Vec<String>> = items
        .iter()
        .take(MAX_ROWS)
        .enumerate()
        .map(|(i, item)| {
            let mut row = vec![i.to_string()];
            row.extend(shown.iter().map(|c| {
                item.get(*c)
                    .map_or(String::new(), |v| short(v, MAX_CELL_CHARS))
            }));
            row
        })
        .collect();
    table(&headers, &rows, items.len().saturating_sub(MAX_ROWS))
}

/// The HTML view of a step's result: a table of its records, or its JSON.
pub fn html(name: &str, method: &str, v: &Value) -> String {
    let mut html = format!(
        "<div class=\"odp-result\">\n<p><strong>{}</strong> ← <code>{}</code>",
        escape(name),
        escape(method)
    );
    match records(v) {
        Some((field, items)) => {
            if !field.is_empty() {
                html.push_str(&format!(" · <code>{}</code>", escape(&field)));
            }
            html.push_str(&format!(
                ": {}</p>\n",
                plural(items.len(), "record", "records")
            ));
            html.push_str(&records_table(items));
            if let Value::Object(map) = v {
                let others: Vec<String> = map
                    .iter()
                    .filter(|(k, _)| **k != field)
                    .map(|(k, f)| format!("<code>{}</code>: {}", escape(k), escape(&describe(f))))
                    .collect();
                if !others.is_empty() {
                    html.push_str(&format!("<p>{}</p>\n", others.join(" · ")));
                }
            }
        }
        None => {
            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
            html.push_str(&format!(
                "</p>\n<pre>{}</pre>\n",
                escape(&truncate(&pretty, 20_000))
            ));
        }
    }
    html.push_str("</div>\n");
    html
}

/// The bundle of a step's result.
pub fn result_bundle(name: &str, method: &str, v: &Value, plain: String) -> Bundle {
    let mut b = Bundle::new();
    b.insert("text/plain".into(), Value::String(plain));
    b.insert("text/html".into(), Value::String(html(name, method, v)));
    b.insert(RESULT_MIME.into(), v.clone());
    b
}

/// A bundle of a table with a text/plain fallback.
pub fn table_bundle(title: &str, headers: &[&str], rows: &[Vec<String>], plain: String) -> Bundle {
    let mut b = Bundle::new();
    b.insert("text/plain".into(), Value::String(plain));
    let mut html = String::new();
    if !title.is_empty() {
        html.push_str(&format!("<p><strong>{}</strong></p>\n", escape(title)));
    }
    html.push_str(&table(headers, rows, 0));
    b.insert("text/html".into(), Value::String(html));
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_become_a_table() {
        let v = json!({"results": [{"id": "1", "text": "<b>hi</b>", "tags": ["a", "b"]}, {"id": "2", "text": "yo", "score": 3}], "count": 2});
        let (field, items) = records(&v).unwrap();
        assert_eq!(field, "results");
        assert_eq!(columns(items), ["id", "text", "tags", "score"]);
        let html = html("tweets", "social.twitter.search", &v);
        assert!(
            html.contains("<th style=\"text-align:left\">text</th>"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;hi&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("<td style=\"text-align:left\">a, b</td>"),
            "{html}"
        );
        assert!(html.contains("<code>count</code>: 2"), "{html}");
        assert_eq!(
            summary("tweets", "social.twitter.search", &v),
            "tweets ← social.twitter.search\n  results: 2 records {id, text, tags, score}\n  count: 2\n"
        );
    }

    #[test]
    fn other_values_show_their_json() {
        let v = json!({"summary": "Short.\nText", "words": 2});
        assert!(records(&v).is_none());
        let html = html("brief", "nlp.summary.generate", &v);
        assert!(html.contains("<pre>{"), "{html}");
        assert_eq!(
            summary("brief", "nlp.summary.generate", &v),
            "brief ← nlp.summary.generate\n  summary: \"Short. Text\"\n  words: 2\n"
        );
        assert_eq!(describe(&json!(["a", "b"])), "2 strings: a, b");
        assert_eq!(describe(&json!([])), "an empty list");
        let many: Vec<Value> = (0..25).map(|i| json!({"n": i})).collect();
        assert!(records_table(&many).contains("… 5 more"));
    }
}
