//! Signature help inside a step's `params:`: the method's params as the parameters of a signature
//! (`social.twitter.search(query: string, limit?: integer = 100, …)`), the one under the cursor active.
//!
//! Where the cursor is comes from the cursor context (read by indentation, so that it works on the line being
//! typed); what the params are comes from the registry.

use std::ops::Range;

use odp_analysis::{Method, Ty, escape_control};
use serde_json::Value;

use crate::Snapshot;
use crate::context::{CursorContext, PathPart, cursor_context};
use crate::markdown::{param_markdown, signature_markdown};

/// A method's signature, with the param under the cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureHelp {
    /// `social.twitter.search(query: string, limit?: integer = 100, …)`.
    pub label: String,
    /// Markdown: the method's summary, description and output.
    pub documentation: String,
    /// In the registry's order.
    pub parameters: Vec<SignatureParam>,
    /// The param being typed, or whose value the cursor is in; on a new line, the first required param not yet
    /// given. `None` when the cursor names no param (an unknown key; every required param already given).
    pub active_parameter: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SignatureParam {
    pub name: String,
    /// Where it is in the signature's label (bytes): `limit?: integer = 100`.
    pub label: Range<usize>,
    /// Markdown: type, description, allowed values, default.
    pub documentation: String,
}

/// What the cursor says about the params.
enum At {
    /// In the value of this param (or typing its value).
    Param(String),
    /// Typing a key: `typed` so far, `present` the params already given.
    Key { typed: String, present: Vec<String> },
}

/// Whether `path` is `sources`/`transforms`, a step, `params`: the params mapping (with what follows it).
fn params_depth(path: &[PathPart]) -> Option<&[PathPart]> {
    match path {
        [
            PathPart::Key(section),
            PathPart::Item(_),
            PathPart::Key(params),
            rest @ ..,
        ] if (section == "sources" || section == "transforms") && params == "params" => Some(rest),
        _ => None,
    }
}

fn is_step(path: &[PathPart]) -> bool {
    matches!(path, [PathPart::Key(section), PathPart::Item(_)] if section == "sources" || section == "transforms")
}

impl Snapshot<'_> {
    /// The signature of the method of the step whose `params:` the cursor is in; `None` elsewhere, and for a step
    /// without a known method.
    pub fn signature_help(&self, offset: usize) -> Option<SignatureHelp> {
        let offset = offset.min(self.text.len());
        let context = cursor_context(self.text, offset);
        let (path, at) = match context {
            CursorContext::Key { path, present } => {
                let at = match params_depth(&path)? {
                    [] => At::Key {
                        typed: self.word_at(offset).to_string(),
                        present,
                    },
                    [PathPart::Key(param), ..] => At::Param(param.clone()),
                    _ => return None,
                };
                (path, at)
            }
            CursorContext::Value { path, key } if is_step(&path) && key == "params" => {
                let at = self.flow_params(offset)?;
                (path, at)
            }
            CursorContext::Value { path, key } => {
                let at = match params_depth(&path)? {
                    [] => At::Param(key),
                    [PathPart::Key(param), ..] => At::Param(param.clone()),
                    _ => return None,
                };
                (path, at)
            }
            CursorContext::Template { path, .. } => match params_depth(&path)? {
                [PathPart::Key(param), ..] => {
                    let at = At::Param(param.clone());
                    (path, at)
                }
                _ => return None,
            },
            CursorContext::None => return None,
        };
        let method = self
            .step_at(&path, offset)
            .and_then(|s| self.method_of(s))?;
        let mut help = signature(method);
        let required: Vec<&str> = method.required_params().collect();
        help.active_parameter = match at {
            At::Param(name) => help.parameters.iter().position(|p| p.name == name),
            At::Key { typed, present } => {
                let missing = |p: &&SignatureParam| !present.contains(&p.name);
                let params = &help.parameters;
                if typed.is_empty() {
                    // A new line: what must still be given comes next.
                    params
                        .iter()
                        .filter(missing)
                        .find(|p| required.contains(&p.name.as_str()))
                } else {
                    params.iter().find(|p| p.name == typed).or_else(|| {
                        params
                            .iter()
                            .filter(missing)
                            .find(|p| p.name.starts_with(&typed))
                    })
                }
                .and_then(|p| params.iter().position(|q| q.name == p.name))
            }
        };
        Some(help)
    }

    /// The key at `offset` (being typed, or one the cursor is on).
    fn word_at(&self, offset: usize) -> &str {
        let range =
            crate::completion::word_range(self.text, offset, |c| c.is_alphanumeric() || c == '_');
        &self.text[range.as_range()]
    }

    /// The cursor after `params:` on its own line: right after the colon (a mapping to come), or inside a flow
    /// mapping `params: {query: x, li|`.
    fn flow_params(&self, offset: usize) -> Option<At> {
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.text[line_start..offset];
        let after = line[line.find("params:")? + "params:".len()..].trim_start();
        if after.is_empty() {
            return Some(At::Key {
                typed: String::new(),
                present: Vec::new(),
            });
        }
        let inner = after.strip_prefix('{')?;
        let pieces = split_flow(inner)?;
        let (last, given) = pieces.split_last()?;
        let key = |piece: &str| -> Option<String> {
            let (key, _) = piece.split_once(':')?;
            Some(key.trim().trim_matches(['"', '\'']).to_string())
        };
        Some(match key(last) {
            Some(param) => At::Param(param),
            None => At::Key {
                typed: last.trim().to_string(),
                present: given.iter().filter_map(|p| key(p)).collect(),
            },
        })
    }
}

/// The entries of an unclosed flow mapping's text so far, split at its own commas (not those in nested brackets
/// or quotes); `None` once it is closed (the cursor is after it).
fn split_flow(inner: &str) -> Option<Vec<&str>> {
    let mut pieces = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') if depth == 0 => return None,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                pieces.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&inner[start..]);
    Some(pieces)
}

/// At most this many characters of a default value in the label.
const DEFAULT_WIDTH: usize = 24;

/// The method's signature, no param active.
fn signature(m: &Method) -> SignatureHelp {
    let required: Vec<&str> = m.required_params().collect();
    let mut label = format!("{}(", escape_control(m.id()));
    let mut parameters = Vec::new();
    for (i, (name, schema)) in m.params().enumerate() {
        if i > 0 {
            label.push_str(", ");
        }
        let start = label.len();
        let is_required = required.contains(&name);
        label.push_str(&escape_control(name));
        if !is_required {
            label.push('?');
        }
        label.push_str(": ");
        label.push_str(&type_label(schema));
        if let Some(default) = schema.get("default") {
            label.push_str(" = ");
            label.push_str(&short(&escape_control(&default.to_string())));
        }
        parameters.push(SignatureParam {
            name: name.to_string(),
            label: start..label.len(),
            documentation: param_markdown(name, schema, is_required),
        });
    }
    label.push(')');
    SignatureHelp {
        label,
        documentation: signature_markdown(m),
        parameters,
        active_parameter: None,
    }
}

/// A param's type as the label shows it: a short enum as its values (`"recent" | "popular"`), else its type.
fn type_label(schema: &Value) -> String {
    match schema.get("enum").and_then(Value::as_array) {
        Some(values) if !values.is_empty() && values.len() <= 5 => {
            let shown: Vec<String> = values.iter().map(|v| short(&v.to_string())).collect();
            escape_control(&shown.join(" | ")).into_owned()
        }
        _ => escape_control(&Ty::from_schema(schema).to_string()).into_owned(),
    }
}

fn short(text: &str) -> String {
    if text.chars().count() <= DEFAULT_WIDTH {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(DEFAULT_WIDTH - 1).collect();
    cut.push('…');
    cut
}
