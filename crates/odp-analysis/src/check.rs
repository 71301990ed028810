//! The checker: walks the syntax tree of a pipeline, builds the [`Pipeline`] model and reports diagnostics.

use std::collections::{HashMap, HashSet};

use odp_syntax::{Entry, Node, NodeKind, Scalar, ScalarStyle, ScalarValue, SyntaxErrorKind, TextRange};
use serde_json::Value;

use crate::codes::Code;
use crate::diagnostic::{Applicability, Diagnostic, TextEdit};
use crate::model::{Input, Pipeline, Reference, RetryPolicy, Section, Spanned, Step, Target};
use crate::registry::{Method, MethodKind, to_serde};
use crate::schema::{InputType, parse_duration_ms};
use crate::template::{self, Accessor, Template};
use crate::ty::{FieldLookup, Ty};
use crate::{Environment, suggest};

const PIPELINE_KEYS: &[&str] = &["name", "description", "inputs", "sources", "transforms"];
const STEP_KEYS: &[&str] = &["name", "description", "method", "params", "retry", "timeout"];
const INPUT_KEYS: &[&str] = &["type", "default", "description", "required"];
const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "backoff_coefficient",
    "initial_interval",
    "maximum_interval",
];

pub(crate) struct Checked {
    pub pipeline: Pipeline,
    pub references: Vec<Reference>,
    pub diagnostics: Vec<Diagnostic>,
}

struct Checker<'a> {
    text: &'a str,
    env: &'a Environment<'a>,
    diags: Vec<Diagnostic>,
    pipeline: Pipeline,
    refs: Vec<Reference>,
    /// First definition of each step name.
    step_index: HashMap<&'a str, usize>,
    used_steps: Vec<bool>,
    used_inputs: HashSet<String>,
}

pub(crate) fn check(text: &str, parse: &odp_syntax::Parse, env: &Environment<'_>) -> Checked {
    let mut c = Checker {
        text,
        env,
        diags: Vec::new(),
        pipeline: Pipeline::default(),
        refs: Vec::new(),
        step_index: HashMap::new(),
        used_steps: Vec::new(),
        used_inputs: HashSet::new(),
    };
    c.syntax_errors(parse);
    match &parse.root {
        None => c.diags.push(
            Diagnostic::new(Code::MissingKey, TextRange::empty(0), "the pipeline is empty")
                .with_help("a pipeline needs at least `name` and `sources`"),
        ),
        Some(root) => c.root(root),
    }
    Checked {
        pipeline: c.pipeline,
        references: c.refs,
        diagnostics: c.diags,
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_method_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// The text of a string scalar; `None` for other nodes.
fn string_of(node: &Node) -> Option<&str> {
    match node.scalar()?.resolve() {
        ScalarValue::Str(s) => Some(s),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn col_of(&self, offset: usize) -> usize {
        offset - self.text[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The end of the line holding `offset` (before its line break).
    fn line_end(&self, offset: usize) -> usize {
        let end = self.text[offset..].find('\n').map_or(self.text.len(), |i| offset + i);
        if end > offset && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// The line break this file uses.
    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") { "\r\n" } else { "\n" }
    }

    // ---- syntax ---------------------------------------------------------------------------------------------

    fn syntax_errors(&mut self, parse: &odp_syntax::Parse) {
        for e in &parse.errors {
            let d = match e.kind {
                SyntaxErrorKind::Invalid => Diagnostic::new(Code::YamlSyntax, e.range, &e.message),
                SyntaxErrorKind::Unsupported => {
                    Diagnostic::new(Code::UnsupportedYaml, e.range, &e.message)
                }
                SyntaxErrorKind::UnquotedTemplate => {
                    let raw = &self.text[e.range.as_range()];
                    let quoted = quote_yaml(raw);
                    Diagnostic::new(Code::UnquotedTemplate, e.range, &e.message)
                        .with_help(format!("write {quoted}"))
                        .with_fix(
                            "Quote the template",
                            Applicability::Safe,
                            vec![TextEdit {
                                range: e.range,
                                new_text: quoted,
                            }],
                        )
                }
            };
            self.push(d);
        }
    }

    /// Reports keys a mapping holds twice (the first one stays in effect for the checker).
    fn duplicate_keys(&mut self, node: &Node) {
        let Some(entries) = node.entries() else {
            return;
        };
        if entries.len() < 2 {
            return;
        }
        let mut seen: HashMap<&str, TextRange> = HashMap::with_capacity(entries.len());
        for e in entries {
            if let Some(first) = seen.get(e.key.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        e.key_range,
                        format!("`{}` is already set in this mapping", e.key),
                    )
                    .with_related(*first, "first set here"),
                );
            } else {
                seen.insert(&e.key, e.key_range);
            }
        }
    }

    fn unknown_key(&mut self, entry: &Entry, allowed: &[&str], place: &str) {
        let mut d = Diagnostic::new(
            Code::UnknownKey,
            entry.key_range,
            format!("unknown key `{}` in {place}", entry.key),
        );
        match suggest(&entry.key, allowed.iter().copied()) {
            Some(s) => {
                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                    format!("Replace with `{s}`"),
                    Applicability::Unsafe,
                    vec![TextEdit {
                        range: entry.key_range,
                        new_text: s.to_string(),
                    }],
                );
            }
            None => d = d.with_help(format!("expected one of {}", backticked(allowed))),
        }
        self.push(d);
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.push(Diagnostic::new(
            Code::WrongType,
            node_range_or_line(node),
            format!("{what} must be {expected}, found {}", node.kind_name()),
        ));
    }

    // ---- the document ---------------------------------------------------------------------------------------

    fn root(&mut self, root: &'a Node) {
        let Some(entries) = root.entries() else {
            if !matches!(root.kind, NodeKind::Error) {
                self.wrong_type(
                    root,
                    "a pipeline",
                    "a mapping with `name`, `description`, `inputs`, `sources` and `transforms`",
                );
            }
            return;
        };
        self.duplicate_keys(root);
        let mut seen = HashSet::new();
        for entry in entries {
            if !seen.insert(entry.key.as_str()) {
                continue;
            }
            match entry.key.as_str() {
                "name" => {
                    if let Some(s) = self.string_value(&entry.value, "`name`") {
                        let chars = s.chars().count();
                        if !(3..=100).contains(&chars) {
                            self.push(Diagnostic::new(
                                Code::InvalidValue,
                                entry.value.range,
                                format!(
                                    "a pipeline name has 3 to 100 characters; this one has {chars}"
                                ),
                            ));
                        }
                        self.pipeline.name = Some(Spanned {
                            value: s.to_string(),
                            range: entry.value.range,
                        });
                    }
                }
                "description" => {
                    if let Some(s) = self.string_value(&entry.value, "`description`") {
                        self.pipeline.description = Some(Spanned {
                            value: s.to_string(),
                            range: entry.value.range,
                        });
                    }
                }
                "inputs" => self.inputs(&entry.value),
                "sources" | "transforms" => {}
                _ => self.unknown_key(entry, PIPELINE_KEYS, "a pipeline"),
            }
        }
        if !self.env.fragment {
            for key in ["name", "sources"] {
                if !seen.contains(key) {
                    let at = TextRange::empty(root.range.start());
                    self.push(
                        Diagnostic::new(Code::MissingKey, at, format!("the pipeline has no `{key}`"))
                            .with_help("a pipeline needs at least `name` and `sources`"),
                    );
                }
            }
        }
        // Steps: first their names and methods, so that every template can see every step.
        let mut step_nodes: Vec<&'a Node> = Vec::new();
        for section in [Section::Sources, Section::Transforms] {
            let Some(entry) = root.get(section.key()) else {
                continue;
            };
            self.pipeline
                .sections
                .push((section, entry.key_range.cover(entry.value.range)));
            let value = &entry.value;
            if value.is_null() {
                continue;
            }
            let Some(items) = value.items() else {
                self.wrong_type(value, &format!("`{}`", section.key()), "a list of steps");
                continue;
            };
            for item in items {
                self.step_header(item, section);
                step_nodes.push(item);
            }
        }
        self.used_steps = vec![false; self.pipeline.steps.len()];
        for (index, node) in step_nodes.iter().enumerate() {
            self.step_body(index, node);
        }
        self.unused();
    }

    fn string_value<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        match string_of(node) {
            Some(s) => Some(s),
            None => {
                if !matches!(node.kind, NodeKind::Error) {
                    self.wrong_type(node, what, "a string");
                }
                None
            }
        }
    }

    fn inputs(&mut self, node: &Node) {
        if node.is_null() {
            return;
        }
        let Some(entries) = node.entries() else {
            self.wrong_type(node, "`inputs`", "a mapping of input names to declarations");
            return;
        };
        self.duplicate_keys(node);
        for entry in entries {
            if self.pipeline.input(&entry.key).is_some() {
                continue;
            }
            if !is_identifier(&entry.key) {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    entry.key_range,
                    format!(
                        "`{}` is not a valid input name: use letters, digits and `_`, not starting with a digit",
                        entry.key
                    ),
                ));
            }
            let mut input = Input {
                name: Spanned {
                    value: entry.key.clone(),
                    range: entry.key_range,
                },
                ty: Ty::Any,
                type_name: None,
                default: None,
                description: None,
                required: false,
                range: entry.range(),
            };
            let decl = &entry.value;
            match decl.entries() {
                None => self.wrong_type(
                    decl,
                    &format!("input `{}`", entry.key),
                    "a mapping with `type`, `default`, `description`",
                ),
                Some(fields) => {
                    self.duplicate_keys(decl);
                    for f in fields {
                        match f.key.as_str() {
                            "type" => match string_of(&f.value).map(|s| (s, InputType::parse(s))) {
                                Some((name, Some(t))) => {
                                    input.ty = input_ty(t);
                                    input.type_name = Some(name.to_string());
                                }
                                Some((name, None)) => {
                                    let mut d = Diagnostic::new(
                                        Code::InvalidValue,
                                        f.value.range,
                                        format!("unknown input type `{name}`"),
                                    );
                                    if let Some(s) = suggest(name, InputType::NAMES.iter().copied()) {
                                        d = d.with_fix(
                                            format!("Replace with `{s}`"),
                                            Applicability::Unsafe,
                                            vec![TextEdit {
                                                range: f.value.range,
                                                new_text: s.to_string(),
                                            }],
                                        );
                                    }
                                    self.push(d.with_help(format!(
                                        "expected one of {}",
                                        backticked(InputType::NAMES)
                                    )));
                                }
                                None => self.wrong_type(&f.value, "`type`", "a type name"),
                            },
                            "default" => input.default = Some(to_serde(&f.value.to_json())),
                            "description" => {
                                input.description =
                                    self.string_value(&f.value, "`description`").map(str::to_string)
                            }
                            "required" => match f.value.scalar().map(Scalar::resolve) {
                                Some(ScalarValue::Bool(b)) => input.required = b,
                                _ => self.wrong_type(&f.value, "`required`", "true or false"),
                            },
                            _ => self.unknown_key(f, INPUT_KEYS, "an input"),
                        }
                    }
                    if decl.get("type").is_none() {
                        self.push(Diagnostic::new(
                            Code::MissingKey,
                            entry.key_range,
                            format!("input `{}` has no `type`", entry.key),
                        ).with_help(format!("add `type:` with one of {}", backticked(InputType::NAMES))));
                    }
                    if let (Some(default), Some(default_node)) =
                        (&input.default, decl.get("default"))
                    {
                        if !default.is_null() && !Ty::of_value(default).fits(&input.ty) {
                            self.push(Diagnostic::new(
                                Code::InvalidValue,
                                default_node.value.range,
                                format!(
                                    "the default of `{}` is {}, but its type is {}",
                                    entry.key,
                                    default_node.value.kind_name(),
                                    input.ty
                                ),
                            ));
                        }
                    }
                }
            }
            self.pipeline.inputs.push(input);
        }
    }

    /// Reads a step's name and method, so that templates of any step can refer to it.
    fn step_header(&mut self, node: &'a Node, section: Section) {
        let index = self.pipeline.steps.len();
        let mut step = Step {
            section,
            range: node.range,
            name: None,
            description: None,
            method: None,
            params: serde_json::Map::new(),
            params_range: None,
            retry: RetryPolicy::default(),
            timeout_ms: None,
            output: Ty::Any,
        };
        let Some(entries) = node.entries() else {
            if !matches!(node.kind, NodeKind::Error) {
                self.wrong_type(node, "a step", "a mapping with `name`, `method` and `params`");
            }
            self.pipeline.steps.push(step);
            return;
        };
        self.duplicate_keys(node);
        let mut missing_method = true;
        for entry in entries {
            match entry.key.as_str() {
                "name" if step.name.is_none() => {
                    let Some(name) = self.string_value(&entry.value, "a step's `name`") else {
                        continue;
                    };
                    if !is_identifier(name) {
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            entry.value.range,
                            format!(
                                "`{name}` is not a valid step name: use letters, digits and `_`, not starting with a digit"
                            ),
                        ).with_help("templates address steps by name, e.g. `{{my_step.results}}`"));
                    }
                    if let Some(&first) = self.step_index.get(name) {
                        let first_range = self.pipeline.steps[first]
                            .name
                            .as_ref()
                            .map_or(TextRange::empty(0), |n| n.range);
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateStep,
                                entry.value.range,
                                format!("a step named `{name}` already exists"),
                            )
                            .with_related(first_range, "first defined here")
                            .with_help("step names are unique across sources and transforms"),
                        );
                    } else if self.env.external_steps.iter().any(|s| s.name == name) {
                        // A notebook cell that defines an existing step again replaces its result: no diagnostic.
                    }
                    if !self.step_index.contains_key(name) {
                        self.step_index.insert(name, index);
                    }
                    step.name = Some(Spanned {
                        value: name.to_string(),
                        range: entry.value.range,
                    });
                }
                "method" if step.method.is_none() => {
                    missing_method = false;
                    if let Some(id) = self.string_value(&entry.value, "`method`") {
                        step.method = Some(Spanned {
                            value: id.to_string(),
                            range: entry.value.range,
                        });
                        if let Some(m) = self.env.registry.get(id) {
                            step.output = m.output.clone();
                        }
                    }
                }
                "description" => {
                    step.description = self
                        .string_value(&entry.value, "`description`")
                        .map(str::to_string);
                }
                "params" | "name" | "method" => {}
                "retry" => step.retry = self.retry(&entry.value),
                "timeout" => step.timeout_ms = self.duration(&entry.value, "`timeout`"),
                _ => self.unknown_key(entry, STEP_KEYS, "a step"),
            }
        }
        let at = TextRange::new(node.range.start(), node.range.start());
        if step.name.is_none() && node.get("name").is_none() {
            self.push(
                Diagnostic::new(Code::MissingKey, at, "the step has no `name`")
                    .with_help("give it a unique name, e.g. `name: tweets`"),
            );
        }
        if missing_method {
            self.push(
                Diagnostic::new(Code::MissingKey, at, "the step has no `method`")
                    .with_help("name a registry method, e.g. `method: social.twitter.search`"),
            );
        }
        self.pipeline.steps.push(step);
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<u64> {
        let raw = match node.scalar() {
            Some(s) if !s.value.is_empty() => s.value.as_str(),
            _ => {
                self.wrong_type(node, what, "a duration such as `30s`");
                return None;
            }
        };
        match parse_duration_ms(raw) {
            Some(ms) => Some(ms),
            None => {
                let mut d = Diagnostic::new(
                    Code::InvalidValue,
                    node.range,
                    format!("{what} must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `{raw}`"),
                );
                if raw.bytes().all(|b| b.is_ascii_digit()) {
                    d = d
                        .with_help(format!("did you mean `{raw}s`?"))
                        .with_fix(
                            format!("Use `{raw}s`"),
                            Applicability::Unsafe,
                            vec![TextEdit {
                                range: node.range,
                                new_text: format!("{raw}s"),
                            }],
                        );
                }
                self.push(d);
                None
            }
        }
    }

    fn retry(&mut self, node: &Node) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        let Some(entries) = node.entries() else {
            self.wrong_type(node, "`retry`", "a mapping");
            return policy;
        };
        self.duplicate_keys(node);
        for f in entries {
            match f.key.as_str() {
                "max_attempts" => match f.value.scalar().map(Scalar::resolve) {
                    Some(ScalarValue::Int(n)) if n >= 1 && n <= u32::MAX as i64 => {
                        policy.max_attempts = n as u32
                    }
                    Some(ScalarValue::Int(n)) => self.push(Diagnostic::new(
                        Code::InvalidValue,
                        f.value.range,
                        format!("`max_attempts` must be at least 1, found {n}"),
                    )),
                    _ => self.wrong_type(&f.value, "`max_attempts`", "an integer"),
                },
                "backoff_coefficient" => match f.value.scalar().map(Scalar::resolve) {
                    Some(ScalarValue::Int(n)) if n >= 1 => policy.backoff_coefficient = n as f64,
                    Some(ScalarValue::Float(x)) if x >= 1.0 && x.is_finite() => {
                        policy.backoff_coefficient = x
                    }
                    Some(ScalarValue::Int(_) | ScalarValue::Float(_)) => self.push(Diagnostic::new(
                        Code::InvalidValue,
                        f.value.range,
                        "`backoff_coefficient` must be a number of at least 1.0",
                    )),
                    _ => self.wrong_type(&f.value, "`backoff_coefficient`", "a number"),
                },
                "initial_interval" => {
                    if let Some(ms) = self.duration(&f.value, "`initial_interval`") {
                        policy.initial_interval_ms = ms;
                    }
                }
                "maximum_interval" => {
                    if let Some(ms) = self.duration(&f.value, "`maximum_interval`") {
                        policy.maximum_interval_ms = ms;
                    }
                }
                _ => self.unknown_key(f, RETRY_KEYS, "`retry`"),
            }
        }
        policy
    }

    /// Checks a step's method and params, and the templates in them.
    fn step_body(&mut self, index: usize, node: &'a Node) {
        let Some(entries) = node.entries() else {
            return;
        };
        let section = self.pipeline.steps[index].section;
        let method = self.pipeline.steps[index].method.clone();
        let method_entry = entries.iter().find(|e| e.key == "method");
        let registry = self.env.registry;
        let resolved: Option<&Method> = match &method {
            Some(id) if !is_method_id(&id.value) => {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    id.range,
                    format!("`{}` is not a method id: expected `domain.provider.action`", id.value),
                ).with_help(self.method_help(&id.value)));
                None
            }
            Some(id) => match registry.get(&id.value) {
                Some(m) => Some(m),
                None => {
                    let candidates = registry.methods().iter().map(Method::id);
                    let mut d = Diagnostic::new(
                        Code::UnknownMethod,
                        id.range,
                        format!("unknown method `{}`", id.value),
                    );
                    if let Some(s) = suggest(&id.value, candidates) {
                        d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                            format!("Replace with `{s}`"),
                            Applicability::Unsafe,
                            vec![TextEdit {
                                range: id.range,
                                new_text: s.to_string(),
                            }],
                        );
                    } else {
                        d = d.with_help(self.method_help(&id.value));
                    }
                    self.push(d);
                    None
                }
            },
            None => None,
        };
        if let (Some(m), Some(id)) = (resolved, &method) {
            let expected = match section {
                Section::Sources => MethodKind::Source,
                Section::Transforms => MethodKind::Transform,
            };
            if m.spec.kind != expected {
                let (is, belongs) = match m.spec.kind {
                    MethodKind::Source => ("a source", "`sources`"),
                    MethodKind::Transform => ("a transform", "`transforms`"),
                };
                self.push(
                    Diagnostic::new(
                        Code::MethodKindMismatch,
                        id.range,
                        format!("`{}` is {is} method; it belongs under {belongs}", id.value),
                    ),
                );
            }
        }
        let _ = method_entry;
        let params_entry = entries.iter().find(|e| e.key == "params");
        match params_entry {
            None => {
                if let Some(m) = resolved {
                    let required: Vec<&str> = m.required_params().collect();
                    if !required.is_empty() {
                        let at = method.as_ref().map_or(node.range, |m| m.range);
                        let indent = " ".repeat(self.col_of(node.entries().map_or(node.range.start(), |e| e[0].key_range.start())));
                        let nl = self.newline();
                        let anchor = self.line_end(at.end());
                        let mut text = format!("{nl}{indent}params:");
                        for r in &required {
                            text.push_str(&format!("{nl}{indent}  {r}: "));
                        }
                        self.push(
                            Diagnostic::new(
                                Code::MissingParam,
                                at,
                                format!(
                                    "`{}` needs the param{} {}",
                                    m.id(),
                                    if required.len() > 1 { "s" } else { "" },
                                    backticked(&required)
                                ),
                            )
                            .with_fix(
                                "Add the required params",
                                Applicability::Unsafe,
                                vec![TextEdit {
                                    range: TextRange::empty(anchor),
                                    new_text: text,
                                }],
                            ),
                        );
                    }
                }
            }
            Some(entry) => {
                self.pipeline.steps[index].params_range = Some(entry.value.range);
                if entry.value.is_null() {
                    if let Some(m) = resolved {
                        self.missing_params(m, entry, &[]);
                    }
                } else if entry.value.entries().is_none() {
                    self.wrong_type(&entry.value, "`params`", "a mapping of param names to values");
                } else {
                    self.params(index, section, resolved, entry);
                }
            }
        }
    }

    fn method_help(&self, id: &str) -> String {
        // Offer the methods of the same domain, or the first few of the registry.
        let domain = id.split('.').next().unwrap_or("");
        let mut same: Vec<&str> = self
            .env
            .registry
            .methods()
            .iter()
            .map(Method::id)
            .filter(|m| m.split('.').next() == Some(domain))
            .collect();
        if same.is_empty() {
            same = self.env.registry.methods().iter().map(Method::id).take(6).collect();
        }
        if same.is_empty() {
            return "the registry has no methods".into();
        }
        format!("known methods include {}", backticked(&same))
    }

    fn missing_params(&mut self, m: &Method, entry: &Entry, present: &[&str]) {
        let missing: Vec<&str> = m.required_params().filter(|r| !present.contains(r)).collect();
        if missing.is_empty() {
            return;
        }
        let nl = self.newline();
        let (anchor, indent) = match entry.value.entries() {
            Some(entries) if !entries.is_empty() && !matches!(entry.value.kind, NodeKind::Mapping { flow: true, .. }) => {
                let last = entries.last().expect("not empty");
                (self.line_end(last.value.range.end().max(last.key_range.end())), self.col_of(entries[0].key_range.start()))
            }
            _ => (self.line_end(entry.key_range.end()), self.col_of(entry.key_range.start()) + 2),
        };
        let flow = matches!(entry.value.kind, NodeKind::Mapping { flow: true, .. });
        let edits = if flow {
            // `params: {a: 1}` → `params: {a: 1, b: }`
            let close = entry.value.range.end() - 1;
            let has_items = entry.value.entries().is_some_and(|e| !e.is_empty());
            let text: Vec<String> = missing.iter().map(|r| format!("{r}: ")).collect();
            vec![TextEdit {
                range: TextRange::empty(close),
                new_text: format!("{}{}", if has_items { ", " } else { "" }, text.join(", ")),
            }]
        } else if entry.value.is_null() {
            let pad = " ".repeat(indent);
            let mut text = String::new();
            for r in &missing {
                text.push_str(&format!("{nl}{pad}{r}: "));
            }
            vec![TextEdit {
                range: TextRange::empty(anchor),
                new_text: text,
            }]
        } else {
            let pad = " ".repeat(indent);
            let mut text = String::new();
            for r in &missing {
                text.push_str(&format!("{nl}{pad}{r}: "));
            }
            vec![TextEdit {
                range: TextRange::empty(anchor),
                new_text: text,
            }]
        };
        self.push(
            Diagnostic::new(
                Code::MissingParam,
                entry.key_range,
                format!(
                    "missing required param{} {} of `{}`",
                    if missing.len() > 1 { "s" } else { "" },
                    backticked(&missing),
                    m.id()
                ),
            )
            .with_fix("Add the required params", Applicability::Unsafe, edits),
        );
    }

    fn params(&mut self, index: usize, section: Section, method: Option<&'a Method>, entry: &'a Entry) {
        let node = &entry.value;
        self.duplicate_keys(node);
        let entries = node.entries().unwrap_or_default();
        if let Some(m) = method {
            let present: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            self.missing_params(m, entry, &present);
            let declared: Vec<&str> = m.params().map(|(k, _)| k).collect();
            if m.closed_params() {
                for e in entries {
                    if !declared.contains(&e.key.as_str()) {
                        let mut d = Diagnostic::new(
                            Code::UnknownParam,
                            e.key_range,
                            format!("`{}` has no param `{}`", m.id(), e.key),
                        );
                        match suggest(&e.key, declared.iter().copied().filter(|d| !present.contains(d))) {
                            Some(s) => {
                                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                                    format!("Replace with `{s}`"),
                                    Applicability::Unsafe,
                                    vec![TextEdit {
                                        range: e.key_range,
                                        new_text: s.to_string(),
                                    }],
                                );
                            }
                            None if declared.is_empty() => d = d.with_help("it takes no params"),
                            None => d = d.with_help(format!("its params are {}", backticked(&declared))),
                        }
                        self.push(d);
                    }
                }
            }
        }
        // Templates: resolve each, then validate the params with each template replaced by a placeholder of its
        // type. Places that hold templates are checked by type only.
        let mut templated: Vec<(String, bool)> = Vec::new();
        let mut instance = serde_json::Map::with_capacity(entries.len());
        let mut params_json = serde_json::Map::with_capacity(entries.len());
        for e in entries {
            let mut pointer = String::from("/");
            pointer.push_str(&escape_pointer(&e.key));
            let expected = method
                .and_then(|m| m.params_schema().get("properties"))
                .and_then(|p| p.get(&e.key));
            let value = self.param_value(index, section, &e.value, &mut pointer, expected, &e.key, &mut templated);
            instance.insert(e.key.clone(), value);
            params_json.insert(e.key.clone(), to_serde(&e.value.to_json()));
        }
        self.pipeline.steps[index].params = params_json;
        let Some(m) = method else {
            return;
        };
        let Some(validator) = m.validator() else {
            return;
        };
        let instance = Value::Object(instance);
        for err in validator.iter_errors(&instance) {
            let pointer = err.instance_path().as_str().to_string();
            let kind = err.kind();
            if pointer.is_empty()
                && matches!(
                    kind,
                    jsonschema::error::ValidationErrorKind::Required { .. }
                        | jsonschema::error::ValidationErrorKind::AdditionalProperties { .. }
                )
            {
                continue; // reported above, with fixes
            }
            if templated.iter().any(|(t, _)| pointer == *t || pointer.starts_with(&format!("{t}/"))) {
                continue;
            }
            let target = node_at_pointer(node, &pointer).unwrap_or(node);
            let label = param_label(&pointer);
            let message = match kind {
                jsonschema::error::ValidationErrorKind::Type { kind } => format!(
                    "`{label}` must be {}, found {}",
                    describe_type_kind(kind),
                    target.kind_name()
                ),
                _ => format!("`{label}`: {}", err.masked()),
            };
            self.push(Diagnostic::new(Code::InvalidParam, node_range_or_line(target), message));
        }
    }

    /// Converts a param value to the JSON it is validated as, checking every template in it.
    #[allow(clippy::too_many_arguments)]
    fn param_value(
        &mut self,
        index: usize,
        section: Section,
        node: &Node,
        pointer: &mut String,
        expected: Option<&Value>,
        label: &str,
        templated: &mut Vec<(String, bool)>,
    ) -> Value {
        match &node.kind {
            NodeKind::Mapping { entries, .. } => {
                self.duplicate_keys(node);
                let mut map = serde_json::Map::with_capacity(entries.len());
                for e in entries {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&escape_pointer(&e.key));
                    let sub = expected
                        .and_then(|s| s.get("properties"))
                        .and_then(|p| p.get(&e.key));
                    let v = self.param_value(index, section, &e.value, pointer, sub, label, templated);
                    pointer.truncate(len);
                    map.insert(e.key.clone(), v);
                }
                Value::Object(map)
            }
            NodeKind::Sequence { items, .. } => {
                let sub = expected.and_then(|s| s.get("items"));
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    out.push(self.param_value(index, section, item, pointer, sub, label, templated));
                    pointer.truncate(len);
                }
                Value::Array(out)
            }
            NodeKind::Scalar(s) if (s.style != ScalarStyle::Plain || s.unquoted_template || matches!(s.resolve(), ScalarValue::Str(_))) && template::may_contain_template(&s.value) => {
                let parsed = template::parse(&s.value);
                for e in &parsed.errors {
                    let range = self.span_range(node, s, e.span.clone());
                    self.push(Diagnostic::new(Code::TemplateSyntax, range, &e.message));
                }
                let mut whole_ty = None;
                for t in &parsed.templates {
                    let ty = self.reference(index, section, node, s, t);
                    if parsed.whole {
                        whole_ty = Some(ty);
                    }
                }
                if !parsed.has_templates() {
                    return to_serde(&node.to_json());
                }
                templated.push((pointer.clone(), parsed.whole));
                match whole_ty {
                    Some(ty) => {
                        if let Some(expected_schema) = expected {
                            let expected_ty = Ty::from_schema(expected_schema);
                            if !ty.fits(&expected_ty) {
                                let t = &parsed.templates[0];
                                let mut d = Diagnostic::new(
                                    Code::TypeMismatch,
                                    self.span_range(node, s, t.span.clone()),
                                    format!(
                                        "`{{{{{}}}}}` is {ty}, but `{}` expects {expected_ty}",
                                        t.path,
                                        param_label(pointer)
                                    ),
                                );
                                if let Some(fix) = projection_hint(&t.path, &ty, &expected_ty) {
                                    let new_text = format!("{{{{{fix}}}}}");
                                    d = d.with_help(format!("did you mean `{new_text}`?"));
                                    let range = self.span_range(node, s, t.span.clone());
                                    if range != node.range || s.style == ScalarStyle::Plain {
                                        d = d.with_fix(
                                            format!("Use `{new_text}`"),
                                            Applicability::Unsafe,
                                            vec![TextEdit { range, new_text }],
                                        );
                                    }
                                }
                                self.push(d);
                            }
                        }
                        ty.placeholder()
                    }
                    None => Value::String(String::new()),
                }
            }
            _ => to_serde(&node.to_json()),
        }
    }

    /// The source range of a span of a scalar's value: exact when the value is written as it reads (plain or
    /// quoted without escapes, on one line), else the whole scalar.
    fn span_range(&self, node: &Node, s: &Scalar, span: std::ops::Range<usize>) -> TextRange {
        let raw = &self.text[node.range.as_range()];
        let inner_start = match s.style {
            ScalarStyle::Plain => Some(0),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Some(1),
            _ => None,
        };
        if let Some(offset) = inner_start {
            let inner_end = raw.len() - if offset == 1 && raw.len() >= 2 { 1 } else { 0 };
            if raw.get(offset..inner_end) == Some(s.value.as_str()) {
                let start = node.range.start() + offset;
                return TextRange::new(start + span.start, start + span.end);
            }
        }
        node.range
    }

    /// Resolves a template's root and path, records the reference and returns its type.
    fn reference(&mut self, index: usize, section: Section, node: &Node, s: &Scalar, t: &Template) -> Ty {
        let range = self.span_range(node, s, t.span.clone());
        let root_range = self.span_range(node, s, t.path.root_span.clone());
        let path = &t.path;
        let mut reference = Reference {
            range,
            root_range,
            path: path.clone(),
            target: Target::Unresolved,
            from_step: Some(index),
            ty: Ty::Any,
        };
        let (base_ty, segments, shown_root) = if path.root == "inputs" {
            let Some((first, rest)) = path.segments.split_first() else {
                self.push(Diagnostic::new(
                    Code::TemplateSyntax,
                    range,
                    "`{{inputs}}` needs an input name: `{{inputs.NAME}}`",
                ));
                self.refs.push(reference);
                return Ty::Any;
            };
            let Accessor::Field(name) = &first.accessor else {
                self.push(Diagnostic::new(
                    Code::TemplateSyntax,
                    self.span_range(node, s, first.span.clone()),
                    "inputs are addressed by name: `{{inputs.NAME}}`",
                ));
                self.refs.push(reference);
                return Ty::Any;
            };
            let name_range = self.span_range(node, s, first.span.start + 1..first.span.end);
            let declared = self.pipeline.input(name).map(|i| i.ty.clone());
            let external = self.env.external_inputs.iter().find(|i| i.name == *name).map(|i| i.ty.clone());
            match declared.or(external) {
                Some(ty) => {
                    self.used_inputs.insert(name.clone());
                    reference.target = Target::Input(name.clone());
                    (ty, rest, format!("inputs.{name}"))
                }
                None => {
                    let names: Vec<&str> = self
                        .pipeline
                        .inputs
                        .iter()
                        .map(|i| i.name.value.as_str())
                        .chain(self.env.external_inputs.iter().map(|i| i.name.as_str()))
                        .collect();
                    let mut d = Diagnostic::new(
                        Code::UnknownReference,
                        name_range,
                        format!("unknown input `{name}`"),
                    );
                    let suggestion = suggest(name, names.iter().copied());
                    // The misspelt reference most likely meant the suggestion: count it as used, so that no
                    // "unused input" warning follows from the same typo.
                    if let Some(sug) = suggestion {
                        self.used_inputs.insert(sug.to_string());
                    }
                    d = match suggestion {
                        Some(sug) => d.with_help(format!("did you mean `{sug}`?")).with_fix(
                            format!("Replace with `{sug}`"),
                            Applicability::Unsafe,
                            vec![TextEdit {
                                range: name_range,
                                new_text: sug.to_string(),
                            }],
                        ),
                        None if names.is_empty() => d.with_help("declare it under `inputs:`"),
                        None => d.with_help(format!("the inputs are {}", backticked(&names))),
                    };
                    self.push(d);
                    self.refs.push(reference);
                    return Ty::Any;
                }
            }
        } else {
            let name = path.root.as_str();
            let here = self.pipeline.steps[index].name.as_ref().map(|n| n.range);
            if let Some(&target) = self.step_index.get(name) {
                reference.target = Target::Step(target);
                let target_step = &self.pipeline.steps[target];
                let target_range = target_step.name.as_ref().map_or(target_step.range, |n| n.range);
                if target == index {
                    self.push(Diagnostic::new(
                        Code::SelfReference,
                        root_range,
                        format!("step `{name}` refers to its own result"),
                    ));
                } else if section == Section::Sources {
                    self.push(
                        Diagnostic::new(
                            Code::SourceReferencesStep,
                            root_range,
                            format!("a source can only use `inputs`, but this one uses step `{name}`"),
                        )
                        .with_related(target_range, format!("`{name}` is defined here"))
                        .with_help("sources run in parallel; move this step to `transforms` if it needs another step's result"),
                    );
                } else if target > index {
                    self.push(
                        Diagnostic::new(
                            Code::ForwardReference,
                            root_range,
                            format!("`{name}` runs after this step"),
                        )
                        .with_related(target_range, format!("`{name}` is defined here"))
                        .with_help("transforms run in the order written: move one of the steps"),
                    );
                }
                self.used_steps[target] = true;
                let _ = here;
                (self.pipeline.steps[target].output.clone(), &path.segments[..], name.to_string())
            } else if let Some(ext) = self.env.external_steps.iter().find(|e| e.name == name) {
                reference.target = Target::External(name.to_string());
                if section == Section::Sources {
                    self.push(Diagnostic::new(
                        Code::SourceReferencesStep,
                        root_range,
                        format!("a source can only use `inputs`, but this one uses step `{name}`"),
                    ));
                }
                (ext.output.clone(), &path.segments[..], name.to_string())
            } else {
                let names: Vec<&str> = self
                    .pipeline
                    .steps
                    .iter()
                    .filter_map(|s| s.name.as_ref().map(|n| n.value.as_str()))
                    .chain(self.env.external_steps.iter().map(|e| e.name.as_str()))
                    .chain(std::iter::once("inputs"))
                    .collect();
                let mut d = Diagnostic::new(
                    Code::UnknownReference,
                    root_range,
                    format!("unknown step `{name}`"),
                );
                let suggestion = suggest(name, names.iter().copied());
                if let Some(&target) = suggestion.and_then(|sug| self.step_index.get(sug)) {
                    self.used_steps[target] = true;
                }
                d = match suggestion {
                    Some(sug) => d.with_help(format!("did you mean `{sug}`?")).with_fix(
                        format!("Replace with `{sug}`"),
                        Applicability::Unsafe,
                        vec![TextEdit {
                            range: root_range,
                            new_text: sug.to_string(),
                        }],
                    ),
                    None => d.with_help("a template starts with `inputs` or the name of a step"),
                };
                self.push(d);
                self.refs.push(reference);
                return Ty::Any;
            }
        };
        let ty = self.walk_path(node, s, base_ty, segments, shown_root);
        reference.ty = ty.clone();
        self.refs.push(reference);
        ty
    }

    /// The type at the end of a path, reporting the first segment that does not exist.
    fn walk_path(&mut self, node: &Node, s: &Scalar, ty: Ty, segments: &[template::Segment], mut shown: String) -> Ty {
        let Some((seg, rest)) = segments.split_first() else {
            return ty;
        };
        match &seg.accessor {
            Accessor::Field(field) => match ty.field(field) {
                FieldLookup::Found(next) => {
                    shown.push('.');
                    shown.push_str(field);
                    self.walk_path(node, s, next, rest, shown)
                }
                FieldLookup::Missing(fields) => {
                    let range = self.span_range(node, s, seg.span.start + 1..seg.span.end);
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        range,
                        format!("`{shown}` has no field `{field}`"),
                    );
                    d = match suggest(field, fields.iter().copied()) {
                        Some(sug) => d.with_help(format!("did you mean `{sug}`?")).with_fix(
                            format!("Replace with `{sug}`"),
                            Applicability::Unsafe,
                            vec![TextEdit {
                                range,
                                new_text: sug.to_string(),
                            }],
                        ),
                        None => d.with_help(format!("its fields are {}", backticked(&fields))),
                    };
                    self.push(d);
                    Ty::Any
                }
                FieldLookup::NotAnObject => {
                    let range = self.span_range(node, s, seg.span.clone());
                    let help = if ty.is_list() {
                        format!("`{shown}` is a list: use `{shown}[*].{field}` for the `{field}` of every item, or `{shown}[0].{field}` for the first")
                    } else {
                        format!("`{shown}` is {ty}")
                    };
                    self.push(
                        Diagnostic::new(
                            Code::UnknownField,
                            range,
                            format!("`{shown}` is {ty}, which has no fields"),
                        )
                        .with_help(help),
                    );
                    Ty::Any
                }
            },
            Accessor::Index(i) => match ty.item() {
                Some(item) => {
                    shown.push_str(&format!("[{i}]"));
                    self.walk_path(node, s, item, rest, shown)
                }
                None => {
                    self.push(Diagnostic::new(
                        Code::UnknownField,
                        self.span_range(node, s, seg.span.clone()),
                        format!("`{shown}` is {ty}, not a list: it cannot be indexed"),
                    ));
                    Ty::Any
                }
            },
            Accessor::Wildcard => match ty.item() {
                Some(item) => {
                    shown.push_str("[*]");
                    Ty::list(self.walk_path(node, s, item, rest, shown))
                }
                None => {
                    self.push(Diagnostic::new(
                        Code::UnknownField,
                        self.span_range(node, s, seg.span.clone()),
                        format!("`{shown}` is {ty}, not a list: `[*]` needs a list"),
                    ));
                    Ty::Any
                }
            },
        }
    }

    fn unused(&mut self) {
        let has_transforms = self.pipeline.steps.iter().any(|s| s.section == Section::Transforms);
        if has_transforms {
            for (i, step) in self.pipeline.steps.iter().enumerate() {
                if step.section == Section::Sources && !self.used_steps[i] {
                    if let Some(name) = &step.name {
                        self.diags.push(
                            Diagnostic::new(
                                Code::UnusedSource,
                                name.range,
                                format!("no transform uses the result of source `{}`", name.value),
                            )
                            .with_help(format!("use it as `{{{{{}.…}}}}` in a transform, or remove it", name.value)),
                        );
                    }
                }
            }
        }
        for input in &self.pipeline.inputs {
            if !self.used_inputs.contains(&input.name.value) {
                self.diags.push(
                    Diagnostic::new(
                        Code::UnusedInput,
                        input.name.range,
                        format!("no template uses input `{}`", input.name.value),
                    )
                    .with_help(format!("use it as `{{{{inputs.{}}}}}`, or remove it", input.name.value)),
                );
            }
        }
    }
}

fn input_ty(t: InputType) -> Ty {
    match t {
        InputType::String => Ty::String,
        InputType::Integer => Ty::Int,
        InputType::Number => Ty::Number,
        InputType::Boolean => Ty::Bool,
        InputType::Array => Ty::list(Ty::Any),
        InputType::Object => Ty::Object {
            fields: Default::default(),
            open: true,
        },
    }
}

/// When a list of objects is given where a list of something else is expected, the projection of a field that
/// fits (`{{tweets.results[*].text}}` for a list of strings).
fn projection_hint(path: &template::Path, actual: &Ty, expected: &Ty) -> Option<String> {
    let expected_item = match expected {
        Ty::List(item) => item,
        _ => return None,
    };
    let Ty::List(item) = actual else {
        return None;
    };
    let Ty::Object { fields, .. } = &**item else {
        return None;
    };
    // Prefer `text`, then any field that fits.
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort_by_key(|n| (*n != "text", *n != "content", (*n).clone()));
    let field = names.into_iter().find(|n| fields[*n].fits(expected_item))?;
    Some(format!("{path}[*].{field}"))
}

fn describe_type_kind(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let name = |t: &jsonschema::JsonType| -> &'static str {
        match t.to_string().as_str() {
            "array" => "a list",
            "boolean" => "a boolean",
            "integer" => "an integer",
            "null" => "null",
            "number" => "a number",
            "object" => "a mapping",
            _ => "a string",
        }
    };
    match kind {
        TypeKind::Single(t) => name(t).to_string(),
        TypeKind::Multiple(ts) => {
            let names: Vec<&str> = ts.iter().map(|t| name(&t)).collect();
            names.join(" or ")
        }
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `/texts/0` → `texts[0]`.
fn param_label(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() { "params".into() } else { out }
}

fn node_at_pointer<'n>(node: &'n Node, pointer: &str) -> Option<&'n Node> {
    let mut cur = node;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        cur = match &cur.kind {
            NodeKind::Mapping { entries, .. } => &entries.iter().find(|e| e.key == seg)?.value,
            NodeKind::Sequence { items, .. } => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A node's range, or one character where the node is empty (so editors show something).
fn node_range_or_line(node: &Node) -> TextRange {
    node.range
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<String> = items.iter().take(12).map(|s| format!("`{}`", s.as_ref())).collect();
    let mut out = shown.join(", ");
    if items.len() > 12 {
        out.push_str(", …");
    }
    out
}

/// Quotes a scalar for YAML: double quotes when that needs no escapes, else single quotes.
pub(crate) fn quote_yaml(raw: &str) -> String {
    if !raw.contains('"') && !raw.contains('\\') {
        format!("\"{raw}\"")
    } else {
        format!("'{}'", raw.replace('\'', "''"))
    }
}
