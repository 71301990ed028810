//! The formatter's last step: the output is parsed again and refused unless it is the same YAML (the same values
//! under the core schema, so the same pipeline) with the same comments. With keys reordered, mappings are compared
//! as sets of keys and comments as a multiset; otherwise both in order.

use odp_syntax::{JsonValue, SyntaxErrorKind};

use crate::FormatError;

/// `old` is the parse of `before`.
pub(crate) fn same_meaning(
    before: &str,
    old: &odp_syntax::Parse,
    after: &str,
    reordered: bool,
) -> Result<(), FormatError> {
    let new = odp_syntax::parse(after);
    // Templates left unquoted outside a formatted range are still what the author meant; nothing else may fail.
    let unquoted = |p: &odp_syntax::Parse| {
        p.errors
            .iter()
            .filter(|e| e.kind == SyntaxErrorKind::UnquotedTemplate)
            .count()
    };
    if unquoted(&new) != new.errors.len() || unquoted(&new) > unquoted(old) {
        return Err(FormatError::WouldChangeMeaning { what: "its syntax" });
    }
    let json = |p: &odp_syntax::Parse| {
        let value = p.root.as_ref().map_or(JsonValue::Null, |r| r.to_json());
        if reordered { sorted(value) } else { value }
    };
    if json(old) != json(&new) {
        return Err(FormatError::WouldChangeMeaning {
            what: "its meaning",
        });
    }
    let comments = |text: &str, p: &odp_syntax::Parse| {
        let mut c: Vec<String> = p
            .comments
            .iter()
            .map(|c| text[c.range.as_range()].trim_end().to_string())
            .collect();
        if reordered {
            c.sort();
        }
        c
    };
    if comments(before, old) != comments(after, &new) {
        return Err(FormatError::WouldChangeMeaning {
            what: "its comments",
        });
    }
    Ok(())
}

/// The value with every mapping's keys sorted (a mapping's key order carries no meaning in a pipeline).
fn sorted(value: JsonValue) -> JsonValue {
    match value {
        JsonValue::Object(entries) => {
            let mut entries: Vec<(String, JsonValue)> =
                entries.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            JsonValue::Object(entries)
        }
        JsonValue::Array(items) => JsonValue::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
