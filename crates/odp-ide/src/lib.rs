//! Editor features of odp over the analysis core: completion, hover, definition, references, rename, code actions,
//! document symbols, folding and semantic tokens. Results use byte ranges; the server converts them to LSP.
//! Nothing here knows about LSP, and nothing here does IO.

mod context;

use odp_analysis::template::Accessor;
use odp_analysis::ty::FieldLookup;
use odp_analysis::{
    Analysis, Applicability, Diagnostic, Environment, Method, MethodKind, Section, Target,
    TextEdit, TextRange, Ty, escape_control_in_lines,
};
use odp_syntax::{Node, NodeKind};
use serde_json::Value;

pub use context::{CursorContext, PathPart, cursor_context};

/// What the features work on: a text, its analysis and the environment it was analysed in.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    pub text: &'a str,
    pub analysis: &'a Analysis,
    pub env: &'a Environment<'a>,
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    pub range: TextRange,
    pub markdown: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CodeAction {
    pub title: String,
    pub edits: Vec<TextEdit>,
    /// The diagnostic it addresses, by index into the analysis' diagnostics.
    pub diagnostic: Option<usize>,
    pub preferred: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Pipeline,
    Section,
    Step,
    Input,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    pub range: TextRange,
    pub selection_range: TextRange,
    pub children: Vec<Symbol>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoldKind {
    Region,
    Comment,
}

/// A foldable range of lines (0-based, inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    pub start_line: u32,
    pub end_line: u32,
    pub kind: FoldKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `inputs`.
    Namespace,
    /// A step name in a template.
    Variable,
    /// A field, an index or `[*]` in a template.
    Property,
    /// A method id.
    Function,
    /// `{{` and `}}`.
    Operator,
}

impl TokenKind {
    /// The legend, in the order the server announces it.
    pub const LEGEND: &'static [TokenKind] = &[
        TokenKind::Namespace,
        TokenKind::Variable,
        TokenKind::Property,
        TokenKind::Function,
        TokenKind::Operator,
    ];

    pub fn lsp_name(self) -> &'static str {
        match self {
            TokenKind::Namespace => "namespace",
            TokenKind::Variable => "variable",
            TokenKind::Property => "property",
            TokenKind::Function => "function",
            TokenKind::Operator => "operator",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemanticToken {
    pub range: TextRange,
    pub kind: TokenKind,
}

const PIPELINE_KEYS: &[(&str, &str)] = &[
    ("name", "The pipeline's name (3 to 100 characters)."),
    ("description", "What the pipeline does."),
    (
        "inputs",
        "Typed parameters of a run, used as `{{inputs.NAME}}`.",
    ),
    (
        "sources",
        "Steps that fetch data; they run in parallel and may use only `inputs`.",
    ),
    (
        "transforms",
        "Steps that process results, in the order written.",
    ),
];
const STEP_KEYS: &[(&str, &str)] = &[
    (
        "name",
        "Unique step name; other steps use the result as `{{NAME.field}}`.",
    ),
    ("description", "What the step does."),
    ("method", "A registry method: `domain.provider.action`."),
    (
        "params",
        "The method's parameters; values may hold `{{...}}` templates.",
    ),
    (
        "retry",
        "Retry policy: `max_attempts` (3), `backoff_coefficient` (2.0), `initial_interval` (1s), `maximum_interval` (60s).",
    ),
    (
        "timeout",
        "Start-to-close timeout of one attempt: `500ms`, `30s`, `5m`.",
    ),
];
const INPUT_KEYS: &[(&str, &str)] = &[
    (
        "type",
        "`string`, `integer`, `number`, `boolean`, `array` or `object`.",
    ),
    ("default", "The value a run uses when it does not set one."),
    ("description", "What the input means."),
    (
        "required",
        "Whether every run must set it (when it has no default).",
    ),
];
const RETRY_KEYS: &[(&str, &str)] = &[
    (
        "max_attempts",
        "Attempts in all, the first included (default 3).",
    ),
    (
        "backoff_coefficient",
        "Each wait is this many times the previous one (default 2.0).",
    ),
    ("initial_interval", "The first wait (default `1s`)."),
    ("maximum_interval", "The longest wait (default `60s`)."),
];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// The word around `offset` that a completion replaces.
fn word_range(text: &str, offset: usize, word: impl Fn(char) -> bool) -> TextRange {
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

/// A method's documentation: summary, description and a table of its params. Like all hover text here, it quotes
/// the registry or the file, so its control characters are escaped (`odp_analysis::escape`).
pub fn method_markdown(m: &Method) -> String {
    let kind = match m.spec.kind {
        MethodKind::Source => "source",
        MethodKind::Transform => "transform",
    };
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

fn param_markdown(name: &str, schema: &Value, required: bool) -> String {
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

fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl<'a> Snapshot<'a> {
    /// The step an item offset (from a cursor path) or an offset belongs to.
    fn step_at(&self, path: &[PathPart], offset: usize) -> Option<usize> {
        let steps = &self.analysis.pipeline.steps;
        let item = path.iter().rev().find_map(|p| match p {
            PathPart::Item(at) => Some(*at),
            PathPart::Key(_) => None,
        });
        if let Some(at) = item
            && let Some(i) = steps.iter().position(|s| s.range.start() == at)
        {
            return Some(i);
        }
        steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.range.start() <= offset)
            .max_by_key(|(_, s)| s.range.start())
            .map(|(i, _)| i)
    }

    fn method_of(&self, step: usize) -> Option<&'a Method> {
        let id = &self
            .analysis
            .pipeline
            .steps
            .get(step)?
            .method
            .as_ref()?
            .value;
        self.env.registry.get(id)
    }

    fn section_of(path: &[PathPart]) -> Option<Section> {
        match path.first() {
            Some(PathPart::Key(k)) if k == "sources" => Some(Section::Sources),
            Some(PathPart::Key(k)) if k == "transforms" => Some(Section::Transforms),
            _ => None,
        }
    }

    // ---- completion -------------------------------------------------------------------------------------------

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
        keys: &[(&str, &str)],
        present: &[String],
        replace: TextRange,
    ) -> Vec<CompletionItem> {
        keys.iter()
            .filter(|(k, _)| !present.iter().any(|p| p == k))
            .map(|(k, doc)| CompletionItem {
                label: k.to_string(),
                kind: CompletionKind::Key,
                detail: None,
                documentation: Some(doc.to_string()),
                insert_text: format!("{k}: "),
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
            [] => self.keys_item(PIPELINE_KEYS, present, replace),
            ["sources" | "transforms", "-"] => self.keys_item(STEP_KEYS, present, replace),
            ["sources" | "transforms", "-", "retry"] => {
                self.keys_item(RETRY_KEYS, present, replace)
            }
            ["inputs", _] => self.keys_item(INPUT_KEYS, present, replace),
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
                ["500ms", "5s", "30s", "1m", "5m"]
                    .iter()
                    .map(|v| value_item(v.to_string(), None, replace))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The steps a template in step `from` may use, with their indices (or `None` for external steps).
    fn visible_steps(&self, from: Option<usize>) -> Vec<(String, Option<usize>)> {
        let steps = &self.analysis.pipeline.steps;
        let from_section = from.map(|i| steps[i].section);
        let mut out: Vec<(String, Option<usize>)> = Vec::new();
        if from_section == Some(Section::Sources) {
            return out;
        }
        for e in self.env.external_steps {
            out.push((e.name.clone(), None));
        }
        for (i, s) in steps.iter().enumerate() {
            let visible = match from {
                Some(f) => i != f && (s.section == Section::Sources || i < f),
                None => true,
            };
            if visible && let Some(n) = &s.name {
                out.push((n.value.clone(), Some(i)));
            }
        }
        out
    }

    fn template_completions(
        &self,
        path: &[PathPart],
        parent: &[String],
        offset: usize,
    ) -> Vec<CompletionItem> {
        let replace = word_range(self.text, offset, |c| c.is_alphanumeric() || c == '_');
        let from = Self::section_of(path).and_then(|_| self.step_at(path, offset));
        let item = |label: &str, kind, detail: String, doc: Option<String>| CompletionItem {
            label: label.to_string(),
            kind,
            detail: Some(detail),
            documentation: doc,
            insert_text: label.to_string(),
            snippet: false,
            replace,
            sort_text: String::new(),
        };
        let Some((root, rest)) = parent.split_first() else {
            // Roots: inputs and the steps visible from here.
            let mut items = vec![item(
                "inputs",
                CompletionKind::Input,
                "the pipeline's inputs".into(),
                None,
            )];
            for (name, index) in self.visible_steps(from) {
                let (detail, doc) = match index {
                    Some(i) => {
                        let step = &self.analysis.pipeline.steps[i];
                        let method = step.method.as_ref().map_or("?", |m| m.value.as_str());
                        (
                            format!("{method} → {}", step.output),
                            self.env.registry.get(method).map(method_markdown),
                        )
                    }
                    None => ("an earlier cell".to_string(), None),
                };
                items.push(item(&name, CompletionKind::Step, detail, doc));
            }
            return items;
        };
        let ty = if root == "inputs" {
            let Some((name, rest)) = rest.split_first() else {
                return self
                    .analysis
                    .pipeline
                    .inputs
                    .iter()
                    .map(|i| {
                        item(
                            &i.name.value,
                            CompletionKind::Input,
                            i.type_name.clone().unwrap_or_else(|| i.ty.to_string()),
                            i.description.clone(),
                        )
                    })
                    .chain(
                        self.env
                            .external_inputs
                            .iter()
                            .map(|i| item(&i.name, CompletionKind::Input, i.ty.to_string(), None)),
                    )
                    .collect();
            };
            let base = self
                .analysis
                .pipeline
                .input(name)
                .map(|i| i.ty.clone())
                .or_else(|| {
                    self.env
                        .external_inputs
                        .iter()
                        .find(|i| i.name == *name)
                        .map(|i| i.ty.clone())
                });
            base.and_then(|t| walk(t, rest))
        } else {
            let base = self
                .analysis
                .pipeline
                .step(root)
                .map(|s| s.output.clone())
                .or_else(|| {
                    self.env
                        .external_steps
                        .iter()
                        .find(|e| e.name == *root)
                        .map(|e| e.output.clone())
                });
            let declared = base.and_then(|t| walk(t, rest));
            // Where the declared output knows no fields, the live result's type does.
            match declared {
                Some(t) if !fields_of(&t).is_empty() => Some(t),
                declared => self
                    .env
                    .live
                    .iter()
                    .find(|live| live.step == *root)
                    .and_then(|live| walk(live.ty.clone(), rest))
                    .or(declared),
            }
        };
        let Some(ty) = ty else {
            return Vec::new();
        };
        fields_of(&ty)
            .into_iter()
            .map(|(name, t)| item(&name, CompletionKind::Field, t.to_string(), None))
            .collect()
    }

    // ---- hover ------------------------------------------------------------------------------------------------

    pub fn hover(&self, offset: usize) -> Option<Hover> {
        let analysis = self.analysis;
        // A template.
        if let Some(r) = analysis
            .references
            .iter()
            .find(|r| r.range.contains_inclusive(offset) && !r.range.is_empty())
        {
            let origin = match &r.target {
                Target::Input(name) => {
                    let input = analysis.pipeline.input(name);
                    format!(
                        "input `{name}`{}",
                        input
                            .and_then(|i| i.description.as_ref())
                            .map(|d| format!(" — {d}"))
                            .unwrap_or_default()
                    )
                }
                Target::Step(i) => {
                    let step = &analysis.pipeline.steps[*i];
                    format!(
                        "step `{}` ({})",
                        step.name.as_ref().map_or("?", |n| n.value.as_str()),
                        step.method
                            .as_ref()
                            .map_or("no method", |m| m.value.as_str())
                    )
                }
                Target::External(name) => format!("`{name}` from an earlier cell"),
                Target::Unresolved => "unresolved".into(),
            };
            return Some(Hover {
                range: r.range,
                markdown: escape_control_in_lines(&format!(
                    "`{{{{{}}}}}`: `{}`\n\nfrom {origin}",
                    r.path, r.ty
                ))
                .into_owned(),
            });
        }
        // A method id.
        for step in &analysis.pipeline.steps {
            if let Some(m) = &step.method
                && m.range.contains_inclusive(offset)
            {
                let method = self.env.registry.get(&m.value)?;
                return Some(Hover {
                    range: m.range,
                    markdown: method_markdown(method),
                });
            }
        }
        // A key: a param, a step key or a pipeline key.
        let root = analysis.parse.root.as_ref()?;
        let chain = root.path_to(offset);
        for (depth, node) in chain.iter().enumerate().rev() {
            let Some(entries) = node.entries() else {
                continue;
            };
            let Some(entry) = entries
                .iter()
                .find(|e| e.key_range.contains_inclusive(offset))
            else {
                continue;
            };
            // A param key: its mapping is the `params` of a step.
            if let Some(step) = analysis
                .pipeline
                .steps
                .iter()
                .position(|s| s.params_range == Some(node.range))
                && let Some(m) = self.method_of(step)
            {
                let (_, schema) = m.params().find(|(n, _)| *n == entry.key)?;
                let required = m.required_params().any(|r| r == entry.key);
                return Some(Hover {
                    range: entry.key_range,
                    markdown: param_markdown(&entry.key, schema, required),
                });
            }
            let table = match depth {
                0 => PIPELINE_KEYS,
                _ if analysis
                    .pipeline
                    .steps
                    .iter()
                    .any(|s| s.range == node.range) =>
                {
                    STEP_KEYS
                }
                _ => return None,
            };
            let (_, doc) = table.iter().find(|(k, _)| *k == entry.key)?;
            return Some(Hover {
                range: entry.key_range,
                markdown: format!("**{}**\n\n{doc}", entry.key),
            });
        }
        None
    }

    // ---- navigation -------------------------------------------------------------------------------------------

    /// The name of a step as written, without quotes.
    fn name_range(&self, range: TextRange) -> TextRange {
        let raw = &self.text[range.as_range()];
        if raw.len() >= 2 && (raw.starts_with('"') || raw.starts_with('\'')) {
            TextRange::new(range.start() + 1, range.end() - 1)
        } else {
            range
        }
    }

    /// The source range of the input name in `{{inputs.NAME...}}`, when positions are exact.
    fn input_name_range(&self, r: &odp_analysis::Reference) -> Option<TextRange> {
        let Target::Input(name) = &r.target else {
            return None;
        };
        let start = r.root_range.end() + 1;
        let end = start + name.len();
        (self.text.get(r.root_range.as_range()) == Some("inputs")
            && self.text.get(start..end) == Some(&**name))
        .then(|| TextRange::new(start, end))
    }

    /// What the cursor names: a step (index) or an input (name), and the range of the name under the cursor.
    fn symbol_at(&self, offset: usize) -> Option<(Symbol_, TextRange)> {
        let p = &self.analysis.pipeline;
        for (i, s) in p.steps.iter().enumerate() {
            if let Some(n) = &s.name
                && n.range.contains_inclusive(offset)
            {
                return Some((Symbol_::Step(i), self.name_range(n.range)));
            }
        }
        for input in &p.inputs {
            if input.name.range.contains_inclusive(offset) {
                return Some((
                    Symbol_::Input(input.name.value.clone()),
                    self.name_range(input.name.range),
                ));
            }
        }
        for r in &self.analysis.references {
            match &r.target {
                Target::Step(i)
                    if r.root_range.contains_inclusive(offset)
                        && self.text.get(r.root_range.as_range()) == Some(r.path.root.as_str()) =>
                {
                    return Some((Symbol_::Step(*i), r.root_range));
                }
                Target::Input(name) => {
                    if let Some(range) = self.input_name_range(r)
                        && range.contains_inclusive(offset)
                    {
                        return Some((Symbol_::Input(name.to_string()), range));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Where the step or input under the cursor is defined.
    pub fn definition(&self, offset: usize) -> Option<TextRange> {
        let (symbol, _) = self.symbol_at(offset)?;
        self.definition_of(&symbol)
    }

    fn definition_of(&self, symbol: &Symbol_) -> Option<TextRange> {
        let p = &self.analysis.pipeline;
        match symbol {
            Symbol_::Step(i) => p.steps[*i].name.as_ref().map(|n| self.name_range(n.range)),
            Symbol_::Input(name) => p.input(name).map(|i| self.name_range(i.name.range)),
        }
    }

    fn uses_of(&self, symbol: &Symbol_) -> Vec<TextRange> {
        self.analysis
            .references
            .iter()
            .filter_map(|r| match (&r.target, symbol) {
                (Target::Step(i), Symbol_::Step(j))
                    if i == j
                        && self.text.get(r.root_range.as_range()) == Some(r.path.root.as_str()) =>
                {
                    Some(r.root_range)
                }
                (Target::Input(a), Symbol_::Input(b)) if **a == **b => self.input_name_range(r),
                _ => None,
            })
            .collect()
    }

    /// Every use of the step or input under the cursor, with its definition when asked.
    pub fn references(&self, offset: usize, include_declaration: bool) -> Vec<TextRange> {
        let Some((symbol, _)) = self.symbol_at(offset) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if include_declaration && let Some(d) = self.definition_of(&symbol) {
            out.push(d);
        }
        out.extend(self.uses_of(&symbol));
        out
    }

    /// The range a rename at `offset` would change, or why there is nothing to rename.
    pub fn prepare_rename(&self, offset: usize) -> Result<TextRange, String> {
        self.symbol_at(offset)
            .map(|(_, range)| range)
            .ok_or_else(|| "only step and input names can be renamed".to_string())
    }

    /// The edits renaming the step or input under the cursor, its definition and every template using it.
    pub fn rename(&self, offset: usize, new_name: &str) -> Result<Vec<TextEdit>, String> {
        let (symbol, _) = self
            .symbol_at(offset)
            .ok_or_else(|| "only step and input names can be renamed".to_string())?;
        let mut chars = new_name.chars();
        let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`{new_name}` is not a valid name: use letters, digits and `_`, not starting with a digit"
            ));
        }
        let p = &self.analysis.pipeline;
        let taken = match &symbol {
            Symbol_::Step(_) => new_name == "inputs" || p.step(new_name).is_some(),
            Symbol_::Input(_) => p.input(new_name).is_some(),
        };
        if taken {
            return Err(format!("`{new_name}` is already used"));
        }
        let mut edits: Vec<TextEdit> = self
            .definition_of(&symbol)
            .into_iter()
            .chain(self.uses_of(&symbol))
            .map(|range| TextEdit {
                range,
                new_text: new_name.to_string(),
            })
            .collect();
        edits.sort_by_key(|e| e.range.start);
        edits.dedup_by_key(|e| e.range.start);
        Ok(edits)
    }

    // ---- code actions -----------------------------------------------------------------------------------------

    /// The fixes of the diagnostics touching `range`, and a suppression for each.
    pub fn code_actions(&self, range: TextRange) -> Vec<CodeAction> {
        let mut out = Vec::new();
        for (i, d) in self.analysis.diagnostics.iter().enumerate() {
            let touches = d.range.start <= range.end && range.start <= d.range.end;
            if !touches {
                continue;
            }
            if let Some(fix) = &d.fix {
                out.push(CodeAction {
                    title: fix.title.clone(),
                    edits: fix.edits.clone(),
                    diagnostic: Some(i),
                    preferred: fix.applicability == Applicability::Safe,
                });
            }
            if let Some(edit) = self.suppression_edit(d) {
                out.push(CodeAction {
                    title: format!("Suppress {} ({}) on this line", d.code.id(), d.code.name()),
                    edits: vec![edit],
                    diagnostic: Some(i),
                    preferred: false,
                });
            }
        }
        out
    }

    /// `# odp: ignore[CODE]` at the end of the diagnostic's line, or the code added to the line's suppression.
    fn suppression_edit(&self, d: &Diagnostic) -> Option<TextEdit> {
        if d.code == odp_analysis::Code::UnusedSuppression {
            return None;
        }
        let start = self.text[..d.range.start()]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let mut end = self.text[d.range.start()..]
            .find('\n')
            .map_or(self.text.len(), |i| d.range.start() + i);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        let line = &self.text[start..end];
        if let Some(at) = line.find("# odp: ignore[")
            && let Some(close) = line[at..].find(']')
        {
            let insert = start + at + close;
            return Some(TextEdit {
                range: TextRange::empty(insert),
                new_text: format!(", {}", d.code.id()),
            });
        }
        // A multi-line value (an open flow collection, a block scalar) cannot take a comment at the end of its
        // first line safely; the line above can.
        Some(TextEdit {
            range: TextRange::empty(end),
            new_text: format!("  # odp: ignore[{}]", d.code.id()),
        })
    }

    // ---- structure --------------------------------------------------------------------------------------------

    pub fn symbols(&self) -> Vec<Symbol> {
        let p = &self.analysis.pipeline;
        let Some(root) = self.analysis.parse.root.as_ref() else {
            return Vec::new();
        };
        let mut sections = Vec::new();
        if let Some(entry) = root.get("inputs") {
            sections.push(Symbol {
                name: "inputs".into(),
                detail: None,
                kind: SymbolKind::Section,
                range: entry.range(),
                selection_range: entry.key_range,
                children: p
                    .inputs
                    .iter()
                    .map(|i| Symbol {
                        name: i.name.value.clone(),
                        detail: i.type_name.clone(),
                        kind: SymbolKind::Input,
                        range: i.range,
                        selection_range: i.name.range,
                        children: Vec::new(),
                    })
                    .collect(),
            });
        }
        for (section, range) in &p.sections {
            let key = root.get(section.key()).map_or(*range, |e| e.key_range);
            sections.push(Symbol {
                name: section.key().into(),
                detail: None,
                kind: SymbolKind::Section,
                range: *range,
                selection_range: key,
                children: p
                    .steps
                    .iter()
                    .filter(|s| s.section == *section)
                    .map(|s| Symbol {
                        name: s
                            .name
                            .as_ref()
                            .map_or("(unnamed)".into(), |n| n.value.clone()),
                        detail: s.method.as_ref().map(|m| m.value.clone()),
                        kind: SymbolKind::Step,
                        range: s.range,
                        selection_range: s.name.as_ref().map_or(s.range, |n| n.range),
                        children: Vec::new(),
                    })
                    .collect(),
            });
        }
        vec![Symbol {
            name: p
                .name
                .as_ref()
                .map_or("pipeline".into(), |n| n.value.clone()),
            detail: p.description.as_ref().map(|d| {
                let first = d.value.lines().next().unwrap_or("");
                first.chars().take(80).collect()
            }),
            kind: SymbolKind::Pipeline,
            range: root.range,
            selection_range: p.name.as_ref().map_or(root.range, |n| n.range),
            children: sections,
        }]
    }

    pub fn folds(&self) -> Vec<Fold> {
        let index = odp_syntax::LineIndex::new(self.text);
        let line = |offset: usize| index.line_of(offset) as u32;
        let mut out = Vec::new();
        if let Some(root) = &self.analysis.parse.root {
            collect_folds(root, &line, &mut out);
        }
        // Runs of two or more comment lines.
        let mut run: Option<(u32, u32)> = None;
        for c in &self.analysis.parse.comments {
            let l = line(c.range.start());
            let own_line = self.text[..c.range.start()]
                .rsplit('\n')
                .next()
                .is_some_and(|before| before.trim().is_empty());
            if !own_line {
                continue;
            }
            run = match run {
                Some((s, e)) if e + 1 == l => Some((s, l)),
                Some((s, e)) => {
                    if e > s {
                        out.push(Fold {
                            start_line: s,
                            end_line: e,
                            kind: FoldKind::Comment,
                        });
                    }
                    Some((l, l))
                }
                None => Some((l, l)),
            };
        }
        if let Some((s, e)) = run
            && e > s
        {
            out.push(Fold {
                start_line: s,
                end_line: e,
                kind: FoldKind::Comment,
            });
        }
        out.sort_by_key(|f| (f.start_line, f.end_line));
        out.dedup_by_key(|f| (f.start_line, f.end_line));
        out
    }

    /// Templates (braces, roots, fields) and method ids, sorted and without overlaps.
    pub fn semantic_tokens(&self) -> Vec<SemanticToken> {
        let mut out = Vec::new();
        for step in &self.analysis.pipeline.steps {
            if let Some(m) = &step.method
                && !self.text[m.range.as_range()].contains('\n')
            {
                out.push(SemanticToken {
                    range: self.name_range(m.range),
                    kind: TokenKind::Function,
                });
            }
        }
        for r in &self.analysis.references {
            // Only where positions are exact: the root is written where the reference says.
            if self.text.get(r.root_range.as_range()) != Some(r.path.root.as_str()) {
                continue;
            }
            let value_start = r.root_range.start() - r.path.root_span.start;
            if self.text.get(r.range.start()..r.range.start() + 2) == Some("{{") {
                out.push(SemanticToken {
                    range: TextRange::new(r.range.start(), r.range.start() + 2),
                    kind: TokenKind::Operator,
                });
            }
            out.push(SemanticToken {
                range: r.root_range,
                kind: if r.path.root == "inputs" {
                    TokenKind::Namespace
                } else {
                    TokenKind::Variable
                },
            });
            for seg in &r.path.segments {
                let (start, end) = match &seg.accessor {
                    // Skip the `.`.
                    Accessor::Field(_)
                        if self.text.as_bytes().get(value_start + seg.span.start)
                            == Some(&b'.') =>
                    {
                        (value_start + seg.span.start + 1, value_start + seg.span.end)
                    }
                    _ => (value_start + seg.span.start, value_start + seg.span.end),
                };
                if end <= self.text.len() && start < end {
                    out.push(SemanticToken {
                        range: TextRange::new(start, end),
                        kind: TokenKind::Property,
                    });
                }
            }
            if r.range.end() >= 2 && self.text.get(r.range.end() - 2..r.range.end()) == Some("}}") {
                out.push(SemanticToken {
                    range: TextRange::new(r.range.end() - 2, r.range.end()),
                    kind: TokenKind::Operator,
                });
            }
        }
        out.sort_by_key(|t| (t.range.start, t.range.end));
        let mut last_end = 0;
        out.retain(|t| {
            let keep = t.range.start() >= last_end;
            if keep {
                last_end = t.range.end();
            }
            keep
        });
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Symbol_ {
    Step(usize),
    Input(String),
}

fn collect_folds(node: &Node, line: &dyn Fn(usize) -> u32, out: &mut Vec<Fold>) {
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for e in entries {
                let (s, end) = (line(e.key_range.start()), line(e.value.range.end()));
                if end > s {
                    out.push(Fold {
                        start_line: s,
                        end_line: end,
                        kind: FoldKind::Region,
                    });
                }
                collect_folds(&e.value, line, out);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                let (s, end) = (line(item.range.start()), line(item.range.end()));
                if end > s {
                    out.push(Fold {
                        start_line: s,
                        end_line: end,
                        kind: FoldKind::Region,
                    });
                }
                collect_folds(item, line, out);
            }
        }
        _ => {}
    }
}

/// Follows a typed template path (`results`, `[*]`, `[0]`).
fn walk(mut ty: Ty, segments: &[String]) -> Option<Ty> {
    for seg in segments {
        ty = if seg.starts_with('[') {
            ty.item()?
        } else {
            match ty.field(seg) {
                FieldLookup::Found(t) => t,
                _ => return None,
            }
        };
    }
    Some(ty)
}

/// What can follow a value of this type in a template: its fields, or `[*]`/`[0]` for a list.
fn fields_of(ty: &Ty) -> Vec<(String, Ty)> {
    match ty {
        Ty::Object { fields, .. } => fields.iter().map(|(k, t)| (k.clone(), t.clone())).collect(),
        Ty::Union(members) => members.iter().flat_map(fields_of).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
