//! Completion: keys, methods, params and values, by the cursor context read from the text around the cursor.

mod template;

use odp_analysis::{MethodKind, Section, TextRange, Ty};
use serde_json::Value;

use crate::Snapshot;
use crate::context::{CursorContext, PathPart, cursor_context};
use crate::keys::DURATION_SUGGESTIONS;
use crate::markdown::{method_markdown, param_markdown, render_value};
use odp_analysis::keys::Place;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Key,
    Method,
    Param,
    Value,
    Step,
    Input,
    Field,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompletionItem {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    /// Markdown.
    pub documentation: Option<String>,
    pub insert_text: String,
    /// `insert_text` is an LSP snippet (`$1`, `${1|a,b|}`).
    pub snippet: bool,
    /// The text the item replaces (the word being typed).
    pub replace: TextRange,
    pub sort_text: String,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// The word around `offset` that a completion replaces.
pub(crate) fn word_range(text: &str, offset: usize, word: impl Fn(char) -> bool) -> TextRange {
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| word(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|(_, c)| !word(*c))
        .map_or(text.len(), |(i, _)| offset + i);
    TextRange::new(start, end)
}

impl Snapshot<'_> {
    fn section_of(path: &[PathPart]) -> Option<Section> {
        match path.first() {
            Some(PathPart::Key(k)) if k == "sources" => Some(Section::Sources),
            Some(PathPart::Key(k)) if k == "transforms" => Some(Section::Transforms),
            _ => None,
        }
    }

    /// What may be typed at `offset`: keys, methods, params, values or template paths.
    pub fn completions(&self, offset: usize) -> Vec<CompletionItem> {
        let offset = offset.min(self.text.len());
        let mut items = match cursor_context(self.text, offset) {
            CursorContext::Template {
                path,
                parent,
                partial: _,
            } => self.template_completions(&path, &parent, offset),
            CursorContext::Key { path, present } => self.key_completions(&path, &present, offset),
            CursorContext::Value { path, key } => {
                let mut items = self.value_completions(&path, &key, offset);
                // Right after `key:` with no space (`method:|`), a value needs its space, else the line reads as
                // the plain scalar `method:data.records.dedupe` (ODP100) and not as a key and its value.
                for item in &mut items {
                    if self.text[..item.replace.start()].ends_with(':') {
                        item.insert_text.insert(0, ' ');
                    }
                }
                items
            }
            CursorContext::None => Vec::new(),
        };
        for (i, item) in items.iter_mut().enumerate() {
            if item.sort_text.is_empty() {
                item.sort_text = format!("{i:04}");
            }
        }
        items
    }

    fn keys_item(
        &self,
        place: Place,
        present: &[String],
        replace: TextRange,
    ) -> Vec<CompletionItem> {
        place
            .keys()
            .iter()
            .filter(|k| !present.iter().any(|p| p == k.name))
            .map(|k| CompletionItem {
                label: k.name.to_string(),
                kind: CompletionKind::Key,
                detail: None,
                documentation: Some(k.documentation()),
                insert_text: format!("{}: ", k.name),
                snippet: false,
                replace,
                sort_text: String::new(),
            })
            .collect()
    }

    fn key_completions(
        &self,
        path: &[PathPart],
        present: &[String],
        offset: usize,
    ) -> Vec<CompletionItem> {
        let replace = word_range(self.text, offset, |c| c.is_alphanumeric() || c == '_');
        let keys: Vec<&str> = path
            .iter()
            .map(|p| match p {
                PathPart::Key(k) => k.as_str(),
                PathPart::Item(_) => "-",
            })
            .collect();
        match keys.as_slice() {
            [] => self.keys_item(Place::Pipeline, present, replace),
            ["sources" | "transforms", "-"] => self.keys_item(Place::Step, present, replace),
            ["sources" | "transforms", "-", "retry"] => {
                self.keys_item(Place::Retry, present, replace)
            }
            ["inputs", _] => self.keys_item(Place::Input, present, replace),
            ["sources" | "transforms", "-", "params"] => {
                let Some(m) = self.step_at(path, offset).and_then(|s| self.method_of(s)) else {
                    return Vec::new();
                };
                let required: Vec<&str> = m.required_params().collect();
                let mut items: Vec<CompletionItem> = m
                    .params()
                    .filter(|(name, _)| !present.iter().any(|p| p == name))
                    .map(|(name, schema)| {
                        let is_required = required.contains(&name);
                        let insert_text = match schema.get("enum").and_then(Value::as_array) {
                            Some(values) if !values.is_empty() => {
                                let choices: Vec<String> = values
                                    .iter()
                                    .map(|v| render_value(v).replace([',', '|'], "\\$0"))
                                    .collect();
                                format!("{name}: ${{1|{}|}}", choices.join(","))
                            }
                            _ => format!("{name}: $1"),
                        };
                        CompletionItem {
                            label: name.to_string(),
                            kind: CompletionKind::Param,
                            detail: Some(format!(
                                "{}{}",
                                Ty::from_schema(schema),
                                if is_required { " (required)" } else { "" }
                            )),
                            documentation: Some(param_markdown(name, schema, is_required)),
                            insert_text,
                            snippet: true,
                            replace,
                            // Required params first.
                            sort_text: format!("{}{name}", if is_required { 0 } else { 1 }),
                        }
                    })
                    .collect();
                items.sort_by(|a, b| a.sort_text.cmp(&b.sort_text));
                items
            }
            _ => Vec::new(),
        }
    }

    fn value_completions(
        &self,
        path: &[PathPart],
        key: &str,
        offset: usize,
    ) -> Vec<CompletionItem> {
        let keys: Vec<&str> = path
            .iter()
            .map(|p| match p {
                PathPart::Key(k) => k.as_str(),
                PathPart::Item(_) => "-",
            })
            .collect();
        let value_item = |label: String, doc: Option<String>, replace: TextRange| CompletionItem {
            insert_text: label.clone(),
            label,
            kind: CompletionKind::Value,
            detail: None,
            documentation: doc,
            snippet: false,
            replace,
            sort_text: String::new(),
        };
        match (keys.as_slice(), key) {
            (["sources" | "transforms", "-"], "method") => {
                let replace = word_range(self.text, offset, is_word_char);
                let wanted = match Self::section_of(path) {
                    Some(Section::Sources) => MethodKind::Source,
                    _ => MethodKind::Transform,
                };
                self.env
                    .registry
                    .methods()
                    .iter()
                    .map(|m| CompletionItem {
                        label: m.id().to_string(),
                        kind: CompletionKind::Method,
                        detail: Some(m.spec.summary.clone()),
                        documentation: Some(method_markdown(m)),
                        insert_text: m.id().to_string(),
                        snippet: false,
                        replace,
                        // The methods that belong in this section first.
                        sort_text: format!(
                            "{}{}",
                            if m.spec.kind == wanted { 0 } else { 1 },
                            m.id()
                        ),
                    })
                    .collect()
            }
            (["sources" | "transforms", "-", "params"], param) => {
                let replace = word_range(self.text, offset, is_word_char);
                let Some(m) = self.step_at(path, offset).and_then(|s| self.method_of(s)) else {
                    return Vec::new();
                };
                let Some((_, schema)) = m.params().find(|(n, _)| *n == param) else {
                    return Vec::new();
                };
                if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                    return values
                        .iter()
                        .map(|v| value_item(render_value(v), None, replace))
                        .collect();
                }
                match Ty::from_schema(schema) {
                    Ty::Bool => ["true", "false"]
                        .iter()
                        .map(|v| value_item(v.to_string(), None, replace))
                        .collect(),
                    _ => schema
                        .get("default")
                        .map(|d| {
                            vec![value_item(
                                render_value(d),
                                Some("the default".into()),
                                replace,
                            )]
                        })
                        .unwrap_or_default(),
                }
            }
            (["inputs", _], "type") => {
                let replace = word_range(self.text, offset, is_word_char);
                odp_analysis::schema::InputType::NAMES
                    .iter()
                    .map(|t| value_item(t.to_string(), None, replace))
                    .collect()
            }
            (["sources" | "transforms", "-"], "timeout")
            | (["sources" | "transforms", "-", "retry"], "initial_interval" | "maximum_interval") =>
            {
                let replace = word_range(self.text, offset, is_word_char);
                DURATION_SUGGESTIONS
                    .iter()
                    .map(|v| value_item(v.to_string(), None, replace))
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}
