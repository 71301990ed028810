//! The checker: walks the syntax tree of a pipeline, builds the [`Pipeline`] model and reports diagnostics.

use std::collections::HashSet;

// FxHash: the checker hashes every step name and input several times per analysis; SipHash's DoS resistance buys
// nothing for names from the user's own file.
use rustc_hash::{FxHashMap, FxHashSet};

use odp_syntax::{
    Entry, Node, NodeKind, Scalar, ScalarStyle, ScalarValue, SyntaxErrorKind, TextRange,
};
use serde_json::Value;

use crate::codes::Code;
use crate::diagnostic::{Applicability, Diagnostic, TextEdit};
use crate::model::{Input, Pipeline, Reference, RetryPolicy, Section, Spanned, Step, Target};
use crate::registry::{Method, MethodKind, node_to_serde};
use crate::scalar_place::ScalarPlace;
use crate::schema::{InputType, parse_duration_ms};
use crate::template::{self, Accessor, Template};
use crate::ty::{FieldLookup, Ty};
use crate::{Environment, suggest};

const PIPELINE_KEYS: &[&str] = &["name", "description", "inputs", "sources", "transforms"];
const STEP_KEYS: &[&str] = &[
    "name",
    "description",
    "method",
    "params",
    "retry",
    "timeout",
];
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

/// What an analysis keeps for the next version of the same document, so that an edit costs work in proportion to
/// what it touched (see [`crate::analyze_incremental`]):
///
/// - the previous text and its tree: an edit inside one step re-parses only that step's lines
///   ([`odp_syntax::reparse_change`]);
/// - the results of checking each step's body (its method's kind, its params against the method's schema, its
///   templates and their types). A body is reused when the step sits at the same index of the same section, the
///   edit did not touch its lines (from the start of its first line to its end), and every name it looked up
///   outside itself (a step it references and that step's method, an input and its type) answers the same. The
///   rest of the check (the document, step headers, names, unused steps) always runs. Bodies whose diagnostics
///   point outside the step (to the step a forward reference names, to an input's declaration) or that looked at
///   every name (did-you-mean) are not kept.
#[derive(Debug, Default)]
pub struct CheckCache {
    context: Option<CacheContext>,
    /// By step index; positions in `previous_text`.
    bodies: Vec<Option<CachedBody>>,
    hits: usize,
    /// The last text analysed (empty before the first) and its tree, which the next analysis re-parses in place
    /// if nobody else holds it by then.
    previous_text: String,
    previous_parse: Option<std::sync::Arc<odp_syntax::Parse>>,
    reparsed: bool,
    /// The scope hash of the last check (see [`Checker::scope_hash`]).
    scope: u64,
    /// How many references the last check found.
    references: usize,
}

impl CheckCache {
    /// Parses `text`, re-parsing the previous tree in place where the edit allows and this cache holds the only
    /// reference to it. Also returns the change since the previous text (`None` before the first analysis) and
    /// whether the tree was re-parsed.
    pub(crate) fn parse(
        &mut self,
        text: &str,
    ) -> (odp_syntax::Parse, Option<odp_syntax::Change>, bool) {
        let previous = self
            .previous_parse
            .take()
            .and_then(|p| std::sync::Arc::try_unwrap(p).ok());
        if self.context.is_none() && previous.is_none() {
            return (odp_syntax::parse(text), None, false); // nothing analysed yet
        }
        let Some(change) = odp_syntax::diff(&self.previous_text, text) else {
            let unchanged = odp_syntax::Change {
                start: text.len(),
                old_end: text.len(),
                new_end: text.len(),
            };
            return match previous {
                Some(parse) => (parse, Some(unchanged), true),
                None => (odp_syntax::parse(text), Some(unchanged), false),
            };
        };
        if let Some(mut parse) = previous
            && odp_syntax::reparse_change(&mut parse, &self.previous_text, text, change)
        {
            return (parse, Some(change), true);
        }
        (odp_syntax::parse(text), Some(change), false)
    }

    pub(crate) fn keep_parse(
        &mut self,
        text: &str,
        parse: &std::sync::Arc<odp_syntax::Parse>,
        reparsed: bool,
    ) {
        // The buffer is reused: a fresh half-megabyte allocation costs page faults on every edit.
        self.previous_text.clear();
        self.previous_text.push_str(text);
        self.previous_parse = Some(parse.clone());
        self.reparsed = reparsed;
    }

    /// Whether the last analysis re-parsed the previous tree instead of the whole text.
    pub fn last_reparsed(&self) -> bool {
        self.reparsed
    }

    /// How many step bodies the last analysis reused.
    pub fn last_hits(&self) -> usize {
        self.hits
    }

    /// How many step bodies are kept.
    pub fn len(&self) -> usize {
        self.bodies.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What every cached body also depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CacheContext {
    registry: u64,
    crlf: bool,
    fragment: bool,
}

#[derive(Debug)]
struct CachedBody {
    section: Section,
    /// Where the step's lines start in the previous text, and how long they are.
    start: usize,
    len: usize,
    /// Where they started in the text the ranges below are positions in.
    origin: usize,
    lookups: Vec<Lookup>,
    diagnostics: Vec<Diagnostic>,
    references: Vec<Reference>,
    params: std::sync::Arc<serde_json::Map<String, Value>>,
    params_range: Option<TextRange>,
    used_steps: Vec<usize>,
    used_inputs: Vec<String>,
}

/// A name a step body looked up outside its own text, and the answer that shaped its result.
#[derive(Clone, Debug, PartialEq)]
enum Lookup {
    /// A step by name: its index and method id (which fixes its output type), or absent.
    Step {
        name: String,
        found: Option<(usize, Option<String>)>,
    },
    /// An input by name: its type, or absent.
    Input { name: String, ty: Option<Ty> },
    /// A step's live result type by name (see [`crate::LiveType`]), or absent.
    Live { name: String, ty: Option<Ty> },
}

/// What the step body being checked looks up and marks used, while a cache is being filled.
#[derive(Debug)]
struct Recording {
    lookups: Vec<Lookup>,
    used_steps: Vec<usize>,
    used_inputs: Vec<String>,
    /// False once the body depended on something a lookup list cannot describe (every name, for a suggestion).
    cacheable: bool,
}

/// The cached bodies during one check, updated in place.
struct CacheState {
    context: CacheContext,
    bodies: Vec<Option<CachedBody>>,
    /// The change from the previous text; `None`: no body can be trusted.
    change: Option<odp_syntax::Change>,
    /// The previous text (moved out of the cache for the check's duration).
    previous_text: String,
    hits: usize,
    /// Bodies below this index were looked at (reused or replaced) in this check.
    visited: usize,
    /// A hash of every name a body can look up and its answer (see [`Checker::scope_hash`]), and whether it is
    /// the same as when the cache was last filled: then every lookup answers as before.
    scope: u64,
    same_scope: bool,
    /// How many references the previous check found.
    references_hint: usize,
}

/// What stands for a param's value in the instance its schema validates.
enum ParamValue {
    /// The value as written.
    Value(Value),
    /// A template (checked by type): a placeholder of its type, if the instance needs one.
    Template(Ty),
}

impl ParamValue {
    fn into_value(self) -> Value {
        match self {
            ParamValue::Value(value) => value,
            ParamValue::Template(ty) => ty.placeholder(),
        }
    }
}

struct Checker<'a> {
    text: &'a str,
    env: &'a Environment<'a>,
    diags: Vec<Diagnostic>,
    pipeline: Pipeline,
    refs: Vec<Reference>,
    /// First definition of each step name.
    step_index: FxHashMap<&'a str, usize>,
    used_steps: Vec<bool>,
    used_inputs: FxHashSet<String>,
    cache: Option<CacheState>,
    recording: Option<Recording>,
    /// The environment's steps and inputs by name (first of each), so that each reference looks them up in
    /// constant time: a notebook session may hold thousands of steps.
    external_step_index: FxHashMap<&'a str, usize>,
    external_input_index: FxHashMap<&'a str, usize>,
    /// The live result types by step name (first of each).
    live_index: FxHashMap<&'a str, usize>,
}

/// The index of the first of each name.
fn first_by_name<'a>(names: impl Iterator<Item = &'a str>) -> FxHashMap<&'a str, usize> {
    let mut index = FxHashMap::default();
    for (i, name) in names.enumerate() {
        index.entry(name).or_insert(i);
    }
    index
}

/// `change` is the change from the text `cache` was last filled from to `text`.
pub(crate) fn check(
    text: &str,
    parse: &odp_syntax::Parse,
    env: &Environment<'_>,
    cache: Option<&mut CheckCache>,
    change: Option<odp_syntax::Change>,
) -> Checked {
    // Steps defined outside the text change between analyses without the text changing: no reuse then.
    let cacheable_env = env.external_steps.is_empty() && env.external_inputs.is_empty();
    let context = CacheContext {
        registry: env.registry.generation(),
        crlf: text.contains("\r\n"),
        fragment: env.fragment,
    };
    let mut cache = match cache {
        Some(c) if !cacheable_env => {
            // Nothing is kept, and nothing kept from before stays valid.
            c.bodies.clear();
            c.context = None;
            None
        }
        cache => cache,
    };
    let state = cache.as_deref_mut().map(|c| {
        let same = c.context == Some(context);
        CacheState {
            context,
            bodies: if same {
                std::mem::take(&mut c.bodies)
            } else {
                Vec::new()
            },
            change: change.filter(|_| same),
            previous_text: std::mem::take(&mut c.previous_text),
            hits: 0,
            visited: 0,
            scope: if same { c.scope } else { 0 },
            same_scope: false,
            references_hint: c.references,
        }
    });
    let mut c = Checker {
        text,
        env,
        diags: Vec::new(),
        pipeline: Pipeline::default(),
        refs: Vec::new(),
        step_index: FxHashMap::default(),
        used_steps: Vec::new(),
        used_inputs: FxHashSet::default(),
        cache: state,
        recording: None,
        external_step_index: first_by_name(env.external_steps.iter().map(|e| e.name.as_str())),
        external_input_index: first_by_name(env.external_inputs.iter().map(|i| i.name.as_str())),
        live_index: first_by_name(env.live.iter().map(|l| l.step.as_str())),
    };
    c.syntax_errors(parse);
    match &parse.root {
        None => c.diags.push(
            Diagnostic::new(
                Code::MissingKey,
                TextRange::empty(0),
                "the pipeline is empty",
            )
            .with_help("a pipeline needs at least `name` and `sources`"),
        ),
        Some(root) => c.root(root),
    }
    c.drop_after_syntax_errors(parse);
    if let (Some(cache), Some(state)) = (cache, c.cache.take()) {
        let mut bodies = state.bodies;
        // Steps not looked at (gone from the text) keep no body.
        bodies.truncate(state.visited);
        cache.context = Some(state.context);
        cache.scope = state.scope;
        cache.references = c.refs.len();
        cache.bodies = bodies;
        cache.previous_text = state.previous_text;
        cache.hits = state.hits;
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
        let end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        if end > offset && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// The line break this file uses.
    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    // ---- syntax ---------------------------------------------------------------------------------------------

    fn syntax_errors(&mut self, parse: &odp_syntax::Parse) {
        let mut starts = HashSet::new();
        for e in &parse.errors {
            // One diagnostic per place: the parser may explain the same character twice (a tab that is also an
            // indentation mismatch).
            if !starts.insert(e.range.start()) {
                continue;
            }
            let d = match e.kind {
                SyntaxErrorKind::Invalid => Diagnostic::new(Code::YamlSyntax, e.range, &e.message),
                SyntaxErrorKind::Unsupported => {
                    Diagnostic::new(Code::UnsupportedYaml, e.range, &e.message)
                }
                SyntaxErrorKind::UnquotedTemplate | SyntaxErrorKind::NeedsQuotes => {
                    let (code, title) = if e.kind == SyntaxErrorKind::UnquotedTemplate {
                        (Code::UnquotedTemplate, "Quote the template")
                    } else {
                        (Code::YamlSyntax, "Quote the value")
                    };
                    let raw = &self.text[e.range.as_range()];
                    let d = Diagnostic::new(code, e.range, &e.message);
                    // A value over several lines folds them; quoting it as written would keep the breaks.
                    if raw.contains('\n') {
                        d
                    } else {
                        let quoted = quote_yaml(raw);
                        d.with_help(format!("write {quoted}")).with_fix(
                            title,
                            Applicability::Safe,
                            vec![TextEdit {
                                range: e.range,
                                new_text: quoted,
                            }],
                        )
                    }
                }
            };
            self.push(d);
        }
    }

    /// After invalid YAML, the rest of its line is a guess of the parser's: a key it placed in another mapping, a
    /// list cut short. Checking that guess would report the same mistake again, so the checker's own diagnostics
    /// there are dropped.
    fn drop_after_syntax_errors(&mut self, parse: &odp_syntax::Parse) {
        let spans: Vec<(usize, usize)> = parse
            .errors
            .iter()
            .filter(|e| e.kind == SyntaxErrorKind::Invalid)
            .map(|e| (e.range.start(), self.line_end(e.range.start())))
            .collect();
        if spans.is_empty() {
            return;
        }
        self.diags.retain(|d| {
            matches!(
                d.code,
                Code::YamlSyntax | Code::UnsupportedYaml | Code::UnquotedTemplate
            ) || !spans
                .iter()
                .any(|&(start, end)| (start..=end).contains(&d.range.start()))
        });
    }

    /// Where to show a problem with a node: its range, or for an empty value (`name:` with nothing after it) the
    /// key or `-` before it, so that editors underline something.
    fn shown_range(&self, node: &Node) -> TextRange {
        let range = node.range;
        if !range.is_empty() {
            return range;
        }
        let at = range.start().min(self.text.len());
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = self.text[line_start..at].trim_end();
        let end = line_start + before.len();
        if before.ends_with('-') {
            return TextRange::new(end - 1, end);
        }
        if let Some(key) = before.strip_suffix(':') {
            let key = key.trim_end();
            let key_end = line_start + key.len();
            let key_start = match key.chars().last() {
                Some(q @ ('"' | '\'')) => key[..key.len() - 1]
                    .rfind(q)
                    .map_or(line_start, |i| line_start + i),
                _ => key
                    .rfind(|c: char| c.is_whitespace() || matches!(c, '{' | ',' | '[' | '-'))
                    .map_or(line_start, |i| line_start + i + 1),
            };
            if key_start < key_end {
                return TextRange::new(key_start, key_end);
            }
        }
        range
    }

    /// Reports keys a mapping holds twice (the first one stays in effect for the checker).
    /// Reports keys set twice in a mapping; returns whether there were any.
    fn duplicate_keys(&mut self, node: &Node) -> bool {
        let Some(entries) = node.entries() else {
            return false;
        };
        if entries.len() < 2 {
            return false;
        }
        let mut any = false;
        // Most mappings have a handful of keys: comparing with the earlier ones beats hashing.
        let first_of = |i: usize| -> Option<TextRange> {
            let key = entries[i].key.as_str();
            entries[..i]
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.key_range)
        };
        let mut seen: FxHashMap<&str, TextRange> = FxHashMap::default();
        for (i, e) in entries.iter().enumerate() {
            let first = if entries.len() <= 16 {
                first_of(i)
            } else {
                seen.get(e.key.as_str()).copied()
            };
            if let Some(first) = first {
                any = true;
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        e.key_range,
                        format!("`{}` is already set in this mapping", e.key),
                    )
                    .with_related(first, "first set here"),
                );
            } else if entries.len() > 16 {
                seen.insert(&e.key, e.key_range);
            }
        }
        any
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
        if matches!(node.kind, NodeKind::Error) {
            return; // its syntax error is reported already
        }
        let message = if node.range.is_empty() && node.is_null() {
            format!("{what} is empty: it must be {expected}")
        } else {
            format!("{what} must be {expected}, found {}", node.kind_name())
        };
        self.push(Diagnostic::new(
            Code::WrongType,
            self.shown_range(node),
            message,
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
        let mut seen = FxHashSet::default();
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
                // `sorces:` is reported as a misspelling; its missing `sources` is the same mistake.
                if !seen.contains(key) && !misspelt(entries, PIPELINE_KEYS, key) {
                    let at = TextRange::empty(root.range.start());
                    self.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            at,
                            format!("the pipeline has no `{key}`"),
                        )
                        .with_help("a pipeline needs at least `name` and `sources`"),
                    );
                }
            }
        }
        // Steps: first their names and methods, so that every template can see every step.
        let step_count: usize = [Section::Sources, Section::Transforms]
            .iter()
            .filter_map(|s| root.get(s.key())?.value.items().map(<[Node]>::len))
            .sum();
        // (Sized once: growing a vector of thousands of steps copies it and touches fresh pages each time.)
        self.pipeline.steps.reserve(step_count);
        if let Some(state) = &self.cache {
            self.refs.reserve(state.references_hint);
        }
        let mut step_nodes: Vec<&'a Node> = Vec::with_capacity(step_count);
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
        if !self.env.fragment
            && let Some(entry) = root.get("sources")
            && !self
                .pipeline
                .steps
                .iter()
                .any(|s| s.section == Section::Sources)
            && (entry.value.is_null() || entry.value.items().is_some())
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    entry.key_range,
                    "the pipeline has no sources: it would fetch nothing",
                )
                .with_help("add a step under `sources:`, e.g. `- name: tweets` with `method: social.twitter.search`"),
            );
        }
        self.used_steps = vec![false; self.pipeline.steps.len()];
        if let Some(mut state) = self.cache.take() {
            let scope = self.scope_hash();
            state.same_scope = scope == state.scope && state.change.is_some();
            state.scope = scope;
            self.cache = Some(state);
        }
        for (index, node) in step_nodes.iter().enumerate() {
            self.step_body_cached(index, node);
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
                    value: entry.key.to_string(),
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
                                    if let Some(s) = suggest(name, InputType::NAMES.iter().copied())
                                    {
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
                            "default" => input.default = Some(node_to_serde(&f.value)),
                            "description" => {
                                input.description = self
                                    .string_value(&f.value, "`description`")
                                    .map(str::to_string)
                            }
                            "required" => match f.value.scalar().map(Scalar::resolve) {
                                Some(ScalarValue::Bool(b)) => input.required = b,
                                Some(ScalarValue::Str(word)) if yaml11_bool(word).is_some() => {
                                    let b = yaml11_bool(word).unwrap_or_default();
                                    self.push(
                                        Diagnostic::new(
                                            Code::WrongType,
                                            f.value.range,
                                            format!("`required` must be true or false, found the string `{word}`"),
                                        )
                                        .with_help(format!("YAML 1.2 reads `{word}` as a string: write `{b}`"))
                                        .with_fix(
                                            format!("Use `{b}`"),
                                            Applicability::Safe,
                                            vec![TextEdit {
                                                range: f.value.range,
                                                new_text: b.to_string(),
                                            }],
                                        ),
                                    );
                                }
                                _ => self.wrong_type(&f.value, "`required`", "true or false"),
                            },
                            _ => self.unknown_key(f, INPUT_KEYS, "an input"),
                        }
                    }
                    if decl.get("type").is_none() && !misspelt(fields, INPUT_KEYS, "type") {
                        self.push(
                            Diagnostic::new(
                                Code::MissingKey,
                                entry.key_range,
                                format!("input `{}` has no `type`", entry.key),
                            )
                            .with_help(format!(
                                "add `type:` with one of {}",
                                backticked(InputType::NAMES)
                            )),
                        );
                    }
                    if let (Some(default), Some(default_node)) =
                        (&input.default, decl.get("default"))
                        && !default.is_null()
                        && !Ty::of_value(default).fits(&input.ty)
                    {
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            default_node.value.range,
                            format!(
                                "the default of `{}` is {}, but its type is `{}`",
                                entry.key,
                                default_node.value.kind_name(),
                                input.type_name.as_deref().unwrap_or("?")
                            ),
                        ));
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
            params: Default::default(),
            params_range: None,
            retry: RetryPolicy::default(),
            timeout_ms: None,
            output: Ty::Any,
        };
        let Some(entries) = node.entries() else {
            if !matches!(node.kind, NodeKind::Error) {
                self.wrong_type(
                    node,
                    "a step",
                    "a mapping with `name`, `method` and `params`",
                );
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
                    if name == "inputs" {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                entry.value.range,
                                "a step cannot be named `inputs`: `{{inputs.…}}` means the pipeline's inputs",
                            )
                            .with_help("choose another name"),
                        );
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
                    } else if self.external_step_index.contains_key(name) {
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
                "timeout" => {
                    step.timeout_ms = self.duration(&entry.value, "`timeout`");
                    if step.timeout_ms == Some(0) {
                        step.timeout_ms = None;
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            entry.value.range,
                            "a timeout of zero would fail every attempt; leave `timeout` out for the default",
                        ));
                    }
                }
                _ => self.unknown_key(entry, STEP_KEYS, "a step"),
            }
        }
        // The step's `-`, where it has one, else its first character.
        let at = {
            let before = self.text[..node.range.start()].trim_end_matches(' ');
            if before.ends_with('-') {
                TextRange::new(before.len() - 1, before.len())
            } else {
                TextRange::empty(node.range.start())
            }
        };
        if step.name.is_none()
            && node.get("name").is_none()
            && !misspelt(entries, STEP_KEYS, "name")
        {
            self.push(
                Diagnostic::new(Code::MissingKey, at, "the step has no `name`")
                    .with_help("give it a unique name, e.g. `name: tweets`"),
            );
        }
        if missing_method && !misspelt(entries, STEP_KEYS, "method") {
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
                    format!(
                        "{what} must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `{raw}`"
                    ),
                );
                if let Some(fixed) = duration_suggestion(raw) {
                    d = d.with_help(format!("did you mean `{fixed}`?")).with_fix(
                        format!("Use `{fixed}`"),
                        Applicability::Unsafe,
                        vec![TextEdit {
                            range: node.range,
                            new_text: fixed,
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
                    Some(ScalarValue::Int(n)) if n >= 1 && n <= i128::from(u32::MAX) => {
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
                    Some(ScalarValue::Int(_) | ScalarValue::Float(_)) => self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            f.value.range,
                            format!(
                                "`backoff_coefficient` must be at least 1.0, found {}",
                                &self.text[f.value.range.as_range()]
                            ),
                        )
                        .with_help("each wait is this many times the previous one; 1.0 keeps the waits equal"),
                    ),
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
        if policy.initial_interval_ms > policy.maximum_interval_ms
            && let Some(at) = node
                .get("initial_interval")
                .or_else(|| node.get("maximum_interval"))
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    at.value.range,
                    format!(
                        "`initial_interval` ({} ms) is longer than `maximum_interval` ({} ms)",
                        policy.initial_interval_ms, policy.maximum_interval_ms
                    ),
                )
                .with_help(
                    "the waits grow from `initial_interval` up to `maximum_interval` (default 60s)",
                ),
            );
        }
        policy
    }

    // ---- reuse of step bodies (CheckCache) -------------------------------------------------------------------

    /// The step's body from the cache when nothing it depends on changed; else checked, and kept if it can be.
    fn step_body_cached(&mut self, index: usize, node: &'a Node) {
        let Some(mut state) = self.cache.take() else {
            return self.step_body(index, node);
        };
        let start = self.text[..node.range.start()]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let len = node.range.end() - start;
        let section = self.pipeline.steps[index].section;
        state.visited = index + 1;
        if state.bodies.len() <= index {
            state.bodies.resize_with(index + 1, || None);
        }
        let reusable = match (&state.bodies[index], state.change) {
            (Some(body), Some(change)) => {
                // Where the body's lines are now, if the edit left them alone.
                let now = if body.start + body.len <= change.start {
                    Some(body.start)
                } else if body.start >= change.old_end {
                    Some(change.moved(body.start))
                } else {
                    None
                };
                // Lines the change overlaps may still read the same (an insertion is placed where the texts
                // first differ, which can be inside the lines before it): compare those.
                let same_text = || {
                    state.previous_text.get(body.start..body.start + body.len)
                        == self.text.get(start..start + len)
                };
                body.section == section
                    && body.len == len
                    && (now == Some(start) || (now.is_none() && same_text()))
                    && (state.same_scope || body.lookups.iter().all(|l| self.answers_same(l)))
            }
            _ => false,
        };
        if reusable {
            let body = state.bodies[index].as_mut().expect("checked above");
            self.replay(index, body, start);
            body.start = start;
            state.hits += 1;
            self.cache = Some(state);
            return;
        }
        self.recording = Some(Recording {
            lookups: Vec::new(),
            used_steps: Vec::new(),
            used_inputs: Vec::new(),
            cacheable: true,
        });
        let (diags_before, refs_before) = (self.diags.len(), self.refs.len());
        self.step_body(index, node);
        let recording = self.recording.take().expect("recording");
        let step = &self.pipeline.steps[index];
        let bounds = TextRange::new(start, node.range.end());
        let diagnostics = &self.diags[diags_before..];
        let references = &self.refs[refs_before..];
        let inside = |r: TextRange| bounds.contains_range(r);
        let self_contained = diagnostics.iter().all(|d| {
            inside(d.range)
                && d.related.iter().all(|r| inside(r.range))
                && d.fix
                    .iter()
                    .all(|f| f.edits.iter().all(|e| inside(e.range)))
        }) && references
            .iter()
            .all(|r| inside(r.range) && inside(r.root_range))
            && step.params_range.is_none_or(inside);
        state.bodies[index] = (recording.cacheable && self_contained).then(|| CachedBody {
            section,
            start,
            len,
            origin: start,
            lookups: recording.lookups,
            diagnostics: diagnostics.to_vec(),
            references: references.to_vec(),
            params: step.params.clone(),
            params_range: step.params_range,
            used_steps: recording.used_steps,
            used_inputs: recording.used_inputs,
        });
        self.cache = Some(state);
    }

    /// A hash of what every lookup of a step body can answer: the steps' names and methods in order (a name
    /// answers with its first step's index and method) and the inputs' names and types in order. Equal hashes mean
    /// every recorded lookup answers as before, without checking them one by one (SipHash, 64 bits: a collision
    /// is as likely as in a build system's content hashes).
    fn scope_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for step in &self.pipeline.steps {
            step.name.as_ref().map(|n| n.value.as_str()).hash(&mut h);
            step.method.as_ref().map(|m| m.value.as_str()).hash(&mut h);
        }
        0xff_u8.hash(&mut h);
        for input in &self.pipeline.inputs {
            input.name.value.hash(&mut h);
            format!("{:?}", input.ty).hash(&mut h);
        }
        0xfe_u8.hash(&mut h);
        for live in self.env.live {
            live.step.hash(&mut h);
            live.ty.hash(&mut h);
        }
        h.finish()
    }

    /// Whether a lookup a cached body made gets the same answer in this text.
    fn answers_same(&self, lookup: &Lookup) -> bool {
        match lookup {
            Lookup::Step { name, found } => {
                let now = self
                    .step_index
                    .get(name.as_str())
                    .map(|&i| (i, self.pipeline.steps[i].method.as_ref().map(|m| &m.value)));
                now == found.as_ref().map(|(i, m)| (*i, m.as_ref()))
            }
            Lookup::Input { name, ty } => self.pipeline.input(name).map(|i| &i.ty) == ty.as_ref(),
            Lookup::Live { name, ty } => self.live_type(name) == ty.as_ref(),
        }
    }

    /// Adds a cached body's results, moved to where its step starts now.
    fn replay(&mut self, index: usize, body: &CachedBody, start: usize) {
        let shift = |r: TextRange| -> TextRange {
            TextRange::new(
                r.start() + start - body.origin,
                r.end() + start - body.origin,
            )
        };
        for d in &body.diagnostics {
            let mut d = d.clone();
            d.range = shift(d.range);
            for r in &mut d.related {
                r.range = shift(r.range);
            }
            if let Some(fix) = &mut d.fix {
                for e in &mut fix.edits {
                    e.range = shift(e.range);
                }
            }
            self.diags.push(d);
        }
        for r in &body.references {
            let mut r = r.clone();
            r.range = shift(r.range);
            r.root_range = shift(r.root_range);
            self.refs.push(r);
        }
        let step = &mut self.pipeline.steps[index];
        step.params = body.params.clone();
        step.params_range = body.params_range.map(shift);
        for &i in &body.used_steps {
            self.used_steps[i] = true;
        }
        for name in &body.used_inputs {
            self.used_inputs.insert(name.clone());
        }
    }

    /// The first step with this name, recorded as a dependency of the body being checked.
    fn lookup_step(&mut self, name: &str) -> Option<usize> {
        let found = self.step_index.get(name).copied();
        if let Some(r) = &mut self.recording {
            r.lookups.push(Lookup::Step {
                name: name.to_string(),
                found: found.map(|i| {
                    (
                        i,
                        self.pipeline.steps[i]
                            .method
                            .as_ref()
                            .map(|m| m.value.clone()),
                    )
                }),
            });
        }
        found
    }

    /// The live result type of a step, recorded as a dependency of the body being checked.
    fn lookup_live(&mut self, name: &str) -> Option<Ty> {
        let ty = self.live_type(name).cloned();
        if let Some(r) = &mut self.recording {
            r.lookups.push(Lookup::Live {
                name: name.to_string(),
                ty: ty.clone(),
            });
        }
        ty
    }

    fn live_type(&self, name: &str) -> Option<&Ty> {
        self.live_index.get(name).map(|&i| &self.env.live[i].ty)
    }

    /// The type of a declared input, recorded as a dependency of the body being checked.
    fn lookup_input(&mut self, name: &str) -> Option<Ty> {
        let ty = self.pipeline.input(name).map(|i| i.ty.clone());
        if let Some(r) = &mut self.recording {
            r.lookups.push(Lookup::Input {
                name: name.to_string(),
                ty: ty.clone(),
            });
        }
        ty
    }

    fn use_step(&mut self, index: usize) {
        self.used_steps[index] = true;
        if let Some(r) = &mut self.recording {
            r.used_steps.push(index);
        }
    }

    fn use_input(&mut self, name: &str) {
        self.used_inputs.insert(name.to_string());
        if let Some(r) = &mut self.recording {
            r.used_inputs.push(name.to_string());
        }
    }

    /// The body being checked looked at every name (for a suggestion): it is not kept.
    fn depends_on_every_name(&mut self) {
        if let Some(r) = &mut self.recording {
            r.cacheable = false;
        }
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
                let d = Diagnostic::new(
                    Code::InvalidValue,
                    id.range,
                    format!(
                        "`{}` is not a method id: expected `domain.provider.action`",
                        id.value
                    ),
                );
                let d = self.method_suggestion(d, id);
                self.push(d);
                None
            }
            Some(id) => match registry.get(&id.value) {
                Some(m) => Some(m),
                None => {
                    let d = Diagnostic::new(
                        Code::UnknownMethod,
                        id.range,
                        format!("unknown method `{}`", id.value),
                    );
                    let d = self.method_suggestion(d, id);
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
                self.push(Diagnostic::new(
                    Code::MethodKindMismatch,
                    id.range,
                    format!("`{}` is {is} method; it belongs under {belongs}", id.value),
                ));
            }
        }
        let _ = method_entry;
        let params_entry = entries.iter().find(|e| e.key == "params");
        match params_entry {
            // `parms:` is reported as a misspelling of `params`.
            None if misspelt(entries, STEP_KEYS, "params") => {}
            None => {
                if let Some(m) = resolved {
                    let required: Vec<&str> = m.required_params().collect();
                    if !required.is_empty() {
                        let at = method.as_ref().map_or(node.range, |m| m.range);
                        let edit = if matches!(node.kind, NodeKind::Mapping { flow: true, .. }) {
                            // `- {name: a, method: m}` → `- {name: a, method: m, params: {r: }}`
                            let close = node.range.end().saturating_sub(1);
                            let fields: Vec<String> =
                                required.iter().map(|r| format!("{r}: ")).collect();
                            (self.text.as_bytes().get(close) == Some(&b'}')).then(|| {
                                let at = self.text[..close].trim_end().len();
                                TextEdit {
                                    range: TextRange::empty(at),
                                    new_text: format!(", params: {{{}}}", fields.join(", ")),
                                }
                            })
                        } else {
                            let indent = " ".repeat(self.col_of(entries[0].key_range.start()));
                            let nl = self.newline();
                            let mut text = format!("{nl}{indent}params:");
                            for r in &required {
                                text.push_str(&format!("{nl}{indent}  {r}: "));
                            }
                            Some(TextEdit {
                                range: TextRange::empty(self.line_end(at.end())),
                                new_text: text,
                            })
                        };
                        let mut d = Diagnostic::new(
                            Code::MissingParam,
                            at,
                            format!(
                                "missing required param{} {} of `{}`",
                                if required.len() > 1 { "s" } else { "" },
                                backticked(&required),
                                m.id()
                            ),
                        )
                        .with_help(match param_docs(m, &required) {
                            Some(docs) => format!("the step has no `params`; {docs}"),
                            None => "the step has no `params`".to_string(),
                        });
                        if let Some(edit) = edit {
                            d = d.with_fix(
                                "Add the required params",
                                Applicability::Unsafe,
                                vec![edit],
                            );
                        }
                        self.push(d);
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
                    self.wrong_type(
                        &entry.value,
                        "`params`",
                        "a mapping of param names to values",
                    );
                } else {
                    self.params(index, section, resolved, entry);
                }
            }
        }
    }

    /// A did-you-mean fix for a misspelt method id, or the list of similar methods.
    fn method_suggestion(&self, d: Diagnostic, id: &Spanned<String>) -> Diagnostic {
        let candidates = self.env.registry.methods().iter().map(Method::id);
        match suggest(&id.value, candidates) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                format!("Replace with `{s}`"),
                Applicability::Unsafe,
                vec![TextEdit {
                    range: id.range,
                    new_text: s.to_string(),
                }],
            ),
            None => d.with_help(self.method_help(&id.value)),
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
            same = self
                .env
                .registry
                .methods()
                .iter()
                .map(Method::id)
                .take(6)
                .collect();
        }
        if same.is_empty() {
            return "the registry has no methods".into();
        }
        format!("known methods include {}", backticked(&same))
    }

    fn missing_params(&mut self, m: &Method, entry: &Entry, present: &[&str]) {
        let missing: Vec<&str> = m
            .required_params()
            .filter(|r| !present.contains(r))
            .collect();
        if missing.is_empty() {
            return;
        }
        let nl = self.newline();
        let (anchor, indent) = match entry.value.entries() {
            Some(entries)
                if !entries.is_empty()
                    && !matches!(entry.value.kind, NodeKind::Mapping { flow: true, .. }) =>
            {
                let last = entries.last().expect("not empty");
                (
                    self.line_end(last.value.range.end().max(last.key_range.end())),
                    self.col_of(entries[0].key_range.start()),
                )
            }
            _ => (
                self.line_end(entry.key_range.end()),
                self.col_of(entry.key_range.start()) + 2,
            ),
        };
        let flow = matches!(entry.value.kind, NodeKind::Mapping { flow: true, .. });
        let edits = if flow {
            // `params: {a: 1}` → `params: {a: 1, b: }`
            let close = entry.value.range.end().saturating_sub(1);
            if self.text.as_bytes().get(close) != Some(&b'}') {
                Vec::new() // never closed: its syntax error comes first
            } else {
                let before = self.text[entry.value.range.start()..close].trim_end();
                let at = entry.value.range.start() + before.len();
                let sep = match before.chars().last() {
                    Some('{') => "",
                    Some(',') => " ",
                    _ => ", ",
                };
                let text: Vec<String> = missing.iter().map(|r| format!("{r}: ")).collect();
                let mut new_text = format!("{sep}{}", text.join(", "));
                if self.text[at..].starts_with(' ') {
                    new_text.pop(); // `{a: 1, }` → `{a: 1, b: }`, not `b:  }`
                }
                vec![TextEdit {
                    range: TextRange::empty(at),
                    new_text,
                }]
            }
        } else {
            // Block params, or `params:` without a value: one line per param below the last.
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
        let mut d = Diagnostic::new(
            Code::MissingParam,
            entry.key_range,
            format!(
                "missing required param{} {} of `{}`",
                if missing.len() > 1 { "s" } else { "" },
                backticked(&missing),
                m.id()
            ),
        );
        if let Some(docs) = param_docs(m, &missing) {
            d = d.with_help(docs);
        }
        if !edits.is_empty() {
            d = d.with_fix("Add the required params", Applicability::Unsafe, edits);
        }
        self.push(d);
    }

    fn params(
        &mut self,
        index: usize,
        section: Section,
        method: Option<&'a Method>,
        entry: &'a Entry,
    ) {
        let node = &entry.value;
        let duplicates = self.duplicate_keys(node);
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
                        match suggest(
                            &e.key,
                            declared.iter().copied().filter(|d| !present.contains(d)),
                        ) {
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
                            None => {
                                d = d.with_help(format!("its params are {}", backticked(&declared)))
                            }
                        }
                        self.push(d);
                    }
                }
            }
        }
        // Templates: resolve each, then validate the params with each template replaced by a placeholder of its
        // type. Places that hold templates are checked by type only.
        //
        // When the method's schema only declares properties at its top level, each param is validated on its own
        // (missing and unknown params are reported above, with fixes): a param that is a whole template is then
        // checked by type alone, with no placeholder and no schema errors nobody reads, and a param without
        // templates is converted to JSON once, for both the validation and the step's params.
        let mut templated: Vec<(String, bool)> = Vec::new();
        let mut params_json = serde_json::Map::with_capacity(entries.len());
        // (A param set twice is validated once, with its last value, as the whole instance does.)
        let per_param = !duplicates && method.is_some_and(Method::validates_params_one_by_one);
        let mut instance = (!per_param).then(|| serde_json::Map::with_capacity(entries.len()));
        let mut errors: Vec<(String, jsonschema::ValidationError<'static>)> = Vec::new();
        for e in entries {
            let mut pointer = String::with_capacity(e.key.len() + 16);
            pointer.push('/');
            push_pointer_key(&mut pointer, &e.key);
            let expected = method.and_then(|m| m.param_schema(&e.key));
            let before = templated.len();
            let value = self.param_node(
                index,
                section,
                &e.value,
                &mut pointer,
                expected,
                &mut templated,
            );
            let has_templates = templated.len() > before;
            let value = match (&mut instance, value) {
                (Some(instance), value) => {
                    instance.insert(e.key.to_string(), value.into_value());
                    None
                }
                (None, ParamValue::Template(_)) => None,
                (None, ParamValue::Value(value)) => {
                    if let Some(validator) = method.and_then(|m| m.param_validator(&e.key))
                        && !validator.is_valid(&value)
                    {
                        for err in validator.iter_errors(&value) {
                            let at = format!("{pointer}{}", err.instance_path().as_str());
                            errors.push((at, err.to_owned()));
                        }
                    }
                    (!has_templates).then_some(value)
                }
            };
            let json = value.unwrap_or_else(|| node_to_serde(&e.value));
            params_json.insert(e.key.to_string(), json);
        }
        self.pipeline.steps[index].params = std::sync::Arc::new(params_json);
        let Some(m) = method else {
            return;
        };
        if let Some(instance) = instance
            && let Some(validator) = m.validator()
        {
            let instance = Value::Object(instance);
            // Most steps are valid: the boolean check is far cheaper than collecting (no) errors.
            if !validator.is_valid(&instance) {
                for err in validator.iter_errors(&instance) {
                    errors.push((err.instance_path().as_str().to_string(), err.to_owned()));
                }
            }
        }
        for (pointer, err) in errors {
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
            if templated
                .iter()
                .any(|(t, _)| pointer == *t || pointer.starts_with(&format!("{t}/")))
            {
                continue;
            }
            let target = node_at_pointer(node, &pointer).unwrap_or(node);
            let label = param_label(&pointer);
            let range = self.shown_range(target);
            let schema = schema_at_pointer(m.params_schema(), &pointer);
            let mut d = self.invalid_param(kind, &label, target, range, &err.masked().to_string());
            if d.help.is_none()
                && let Some(about) = schema
                    .and_then(|s| s.get("description"))
                    .and_then(Value::as_str)
            {
                d = d.with_help(format!("`{label}`: {about}"));
            }
            self.push(d);
        }
    }

    /// An ODP304 diagnostic in words a pipeline author reads: the param, what it must be, what it is.
    fn invalid_param(
        &self,
        kind: &jsonschema::error::ValidationErrorKind,
        label: &str,
        target: &Node,
        range: TextRange,
        fallback: &str,
    ) -> Diagnostic {
        use jsonschema::error::ValidationErrorKind as K;
        let found = || -> String {
            match target.scalar() {
                Some(s) => format!("`{}`", s.value),
                None => target.kind_name().to_string(),
            }
        };
        let number = |v: &Value| v.to_string();
        let plural = |n: u64, one: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        let message = match kind {
            K::Type { kind } if range != target.range => {
                format!(
                    "`{label}` is empty: it must be {}",
                    describe_type_kind(kind)
                )
            }
            K::Type { kind } if describe_type_kind(kind).contains("boolean") => {
                let word = target
                    .scalar()
                    .filter(|s| s.style == ScalarStyle::Plain)
                    .map(|s| s.value.as_str());
                let mut d = Diagnostic::new(
                    Code::InvalidParam,
                    range,
                    format!(
                        "`{label}` must be {}, found {}",
                        describe_type_kind(kind),
                        target.kind_name()
                    ),
                );
                if let Some((word, b)) = word.and_then(|w| yaml11_bool(w).map(|b| (w, b))) {
                    d = d
                        .with_help(format!("YAML 1.2 reads `{word}` as a string: write `{b}`"))
                        .with_fix(
                            format!("Use `{b}`"),
                            Applicability::Safe,
                            vec![TextEdit {
                                range,
                                new_text: b.to_string(),
                            }],
                        );
                }
                return d;
            }
            K::Type { kind } => format!(
                "`{label}` must be {}, found {}",
                describe_type_kind(kind),
                target.kind_name()
            ),
            K::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut d = Diagnostic::new(
                    Code::InvalidParam,
                    range,
                    format!(
                        "`{label}` must be one of {}, found {}",
                        backticked(&allowed),
                        found()
                    ),
                );
                let written = target.scalar().map(|s| s.value.as_str()).unwrap_or("");
                if let Some(sug) = suggest(written, allowed.iter().map(String::as_str)) {
                    d = d.with_help(format!("did you mean `{sug}`?")).with_fix(
                        format!("Replace with `{sug}`"),
                        Applicability::Unsafe,
                        vec![TextEdit {
                            range: target.range,
                            new_text: sug.to_string(),
                        }],
                    );
                }
                return d;
            }
            K::Minimum { limit } => format!(
                "`{label}` must be at least {}, found {}",
                number(limit),
                found()
            ),
            K::Maximum { limit } => format!(
                "`{label}` must be at most {}, found {}",
                number(limit),
                found()
            ),
            K::ExclusiveMinimum { limit } => {
                format!(
                    "`{label}` must be greater than {}, found {}",
                    number(limit),
                    found()
                )
            }
            K::ExclusiveMaximum { limit } => {
                format!(
                    "`{label}` must be less than {}, found {}",
                    number(limit),
                    found()
                )
            }
            K::MinLength { limit: 1 } => format!("`{label}` must not be empty"),
            K::MinLength { limit } => format!(
                "`{label}` must have at least {}",
                plural(*limit, "character")
            ),
            K::MaxLength { limit } => {
                let len = target.scalar().map_or(0, |s| s.value.chars().count());
                format!(
                    "`{label}` must have at most {}; this one has {len}",
                    plural(*limit, "character")
                )
            }
            K::Pattern { pattern } => {
                format!("`{label}` must match `{pattern}`, found {}", found())
            }
            K::MinItems { limit } => {
                format!("`{label}` must have at least {}", plural(*limit, "item"))
            }
            K::MaxItems { limit } => {
                format!("`{label}` must have at most {}", plural(*limit, "item"))
            }
            K::Required { property } => format!(
                "`{label}` is missing its required field `{}`",
                property.as_str().unwrap_or_default()
            ),
            K::AdditionalProperties { unexpected } => {
                format!("`{label}` does not accept {}", backticked(unexpected))
            }
            _ => format!("`{label}`: {fallback}"),
        };
        Diagnostic::new(Code::InvalidParam, range, message)
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
        templated: &mut Vec<(String, bool)>,
    ) -> Value {
        self.param_node(index, section, node, pointer, expected, templated)
            .into_value()
    }

    /// Checks a param's value (templates, their types) and returns what validates it: the value itself, or, for a
    /// template, the type whose placeholder stands in for it.
    fn param_node(
        &mut self,
        index: usize,
        section: Section,
        node: &Node,
        pointer: &mut String,
        expected: Option<&Value>,
        templated: &mut Vec<(String, bool)>,
    ) -> ParamValue {
        ParamValue::Value(match &node.kind {
            NodeKind::Mapping { entries, .. } => {
                self.duplicate_keys(node);
                let mut map = serde_json::Map::with_capacity(entries.len());
                for e in entries {
                    let len = pointer.len();
                    pointer.push('/');
                    push_pointer_key(pointer, &e.key);
                    let sub = expected
                        .and_then(|s| s.get("properties"))
                        .and_then(|p| p.get(e.key.as_str()));
                    let v = self.param_value(index, section, &e.value, pointer, sub, templated);
                    pointer.truncate(len);
                    map.insert(e.key.to_string(), v);
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
                    out.push(self.param_value(index, section, item, pointer, sub, templated));
                    pointer.truncate(len);
                }
                Value::Array(out)
            }
            NodeKind::Scalar(s)
                if (s.style != ScalarStyle::Plain
                    || s.unquoted_template
                    || matches!(s.resolve(), ScalarValue::Str(_)))
                    && template::may_contain_template(&s.value) =>
            {
                let parsed = template::parse(&s.value);
                let place = ScalarPlace::new(self.text, node, s);
                for e in &parsed.errors {
                    let range = place.range(e.span.clone());
                    self.push(Diagnostic::new(Code::TemplateSyntax, range, &e.message));
                }
                if !parsed.errors.is_empty() {
                    self.mark_partial_uses(&s.value);
                }
                let mut whole_ty = None;
                for t in &parsed.templates {
                    let ty = self.reference(index, section, &place, t);
                    if parsed.whole {
                        whole_ty = Some(ty);
                    }
                }
                if !parsed.has_templates() {
                    return ParamValue::Value(node_to_serde(node));
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
                                    place.range(t.span.clone()),
                                    format!(
                                        "`{{{{{}}}}}` is {ty}, but `{}` expects {expected_ty}",
                                        t.path,
                                        param_label(pointer)
                                    ),
                                );
                                if let Some(input) = self.input_of(&t.path) {
                                    let declared = input
                                        .type_name
                                        .clone()
                                        .unwrap_or_else(|| input.ty.to_string());
                                    let range = input.name.range;
                                    d = d.with_related(
                                        range,
                                        format!(
                                            "`{}` is declared as `{declared}` here",
                                            input.name.value
                                        ),
                                    );
                                    if let Some(wanted) = input_type_name(&expected_ty) {
                                        d = d.with_help(format!(
                                            "declare input `{}` with `type: {wanted}`",
                                            input.name.value
                                        ));
                                    }
                                }
                                if let Some(fix) = projection_hint(&t.path, &ty, &expected_ty) {
                                    let template = format!("{{{{{fix}}}}}");
                                    d = d.with_help(format!("did you mean `{template}`?"));
                                    if let Some(range) = place.exact(t.span.clone()) {
                                        // An unquoted template is quoted on the way.
                                        let new_text = if range == node.range {
                                            quote_yaml(&template)
                                        } else {
                                            template.clone()
                                        };
                                        d = d.with_fix(
                                            format!("Use `{template}`"),
                                            Applicability::Unsafe,
                                            vec![TextEdit { range, new_text }],
                                        );
                                    }
                                } else if matches!(expected_ty, Ty::String)
                                    && matches!(ty, Ty::Int | Ty::Number | Ty::Bool)
                                {
                                    d = d.with_help(format!(
                                        "a template inside a longer string is rendered as text, e.g. `\"{{{{{}}}}} …\"`",
                                        t.path
                                    ));
                                }
                                self.push(d);
                            }
                        }
                        return ParamValue::Template(ty);
                    }
                    None => {
                        // Text around a template makes a string, whatever the template's type.
                        if parsed.errors.is_empty()
                            && let Some(expected_schema) = expected
                        {
                            let expected_ty = Ty::from_schema(expected_schema);
                            if !Ty::String.fits(&expected_ty) {
                                self.push(
                                    Diagnostic::new(
                                        Code::TypeMismatch,
                                        node.range,
                                        format!(
                                            "text around a template makes a string, but `{}` expects {expected_ty}",
                                            param_label(pointer)
                                        ),
                                    )
                                    .with_help("a template keeps its type only when it is the whole value, e.g. `\"{{inputs.limit}}\"`"),
                                );
                            }
                        }
                        return ParamValue::Template(Ty::String);
                    }
                }
            }
            _ => node_to_serde(node),
        })
    }

    /// The declared input a template is exactly (`{{inputs.NAME}}`).
    fn input_of(&mut self, path: &template::Path) -> Option<&Input> {
        let name = match path.segments.as_slice() {
            [seg] if path.root == "inputs" => match &seg.accessor {
                Accessor::Field(name) => name,
                _ => return None,
            },
            _ => return None,
        };
        if self.lookup_input(name).is_some() {
            // What is said about the input points at its declaration, outside the step.
            self.depends_on_every_name();
        }
        self.pipeline.input(name)
    }

    /// Counts the roots of broken templates (`{{tweets.` being typed) as used, so that a half-written reference
    /// does not also make its source or input "unused".
    fn mark_partial_uses(&mut self, value: &str) {
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        for (at, _) in value.match_indices("{{") {
            let rest = value[at + 2..].trim_start_matches([' ', '\t']);
            let root = ident(rest);
            if root == "inputs" {
                if let Some(after) = rest[root.len()..].strip_prefix('.') {
                    let name = ident(after);
                    if self.lookup_input(&name).is_some() {
                        self.use_input(&name);
                    }
                }
            } else if let Some(target) = self.lookup_step(&root) {
                self.use_step(target);
            }
        }
    }

    /// Resolves a template's root and path, records the reference and returns its type.
    fn reference(
        &mut self,
        index: usize,
        section: Section,
        place: &ScalarPlace,
        t: &Template,
    ) -> Ty {
        let range = place.range(t.span.clone());
        let root_range = place.range(t.path.root_span.clone());
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
                    place.range(first.span.clone()),
                    "inputs are addressed by name: `{{inputs.NAME}}`",
                ));
                self.refs.push(reference);
                return Ty::Any;
            };
            let name_range = place.range(first.span.start + 1..first.span.end);
            let declared = self.lookup_input(name);
            let external = self
                .external_input_index
                .get(name.as_str())
                .map(|&i| self.env.external_inputs[i].ty.clone());
            match declared.or(external) {
                Some(ty) => {
                    self.use_input(name);
                    reference.target = Target::Input(name.as_str().into());
                    (ty, rest, format!("inputs.{name}"))
                }
                None => {
                    self.depends_on_every_name();
                    let names: Vec<&str> = self
                        .pipeline
                        .inputs
                        .iter()
                        .map(|i| i.name.value.as_str())
                        .chain(self.env.external_inputs.iter().map(|i| i.name.as_str()))
                        .filter(|n| is_identifier(n)) // only names a template can address
                        .collect();
                    let mut d = Diagnostic::new(
                        Code::UnknownReference,
                        name_range,
                        format!("unknown input `{name}`"),
                    );
                    let suggestion = suggest(name, names.iter().copied());
                    // The misspelt reference most likely meant the suggestion: count it as used, so that no
                    // "unused input" warning follows from the same typo.
                    // (The body is not kept: no need to record the use.)
                    if let Some(sug) = suggestion {
                        self.used_inputs.insert(sug.to_string());
                    }
                    d = match suggestion {
                        Some(sug) => did_you_mean(
                            d,
                            sug,
                            (name_range != place.node_range).then_some(name_range),
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
            if let Some(target) = self.lookup_step(name) {
                reference.target = Target::Step(target);
                let target_step = &self.pipeline.steps[target];
                let target_range = target_step
                    .name
                    .as_ref()
                    .map_or(target_step.range, |n| n.range);
                if target == index {
                    self.push(
                        Diagnostic::new(
                            Code::SelfReference,
                            root_range,
                            format!("step `{name}` refers to its own result"),
                        )
                        .with_help("a step's result exists only after it ran: use the result of an earlier step"),
                    );
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
                self.use_step(target);
                let _ = here;
                (
                    self.pipeline.steps[target].output.clone(),
                    &path.segments[..],
                    name.to_string(),
                )
            } else if let Some(ext) = self
                .external_step_index
                .get(name)
                .map(|&i| &self.env.external_steps[i])
            {
                reference.target = Target::External(name.into());
                if section == Section::Sources {
                    self.push(
                        Diagnostic::new(
                            Code::SourceReferencesStep,
                            root_range,
                            format!("a source can only use `inputs`, but this one uses step `{name}`"),
                        )
                        .with_help("sources run in parallel; move this step to `transforms` if it needs another step's result"),
                    );
                }
                (ext.output.clone(), &path.segments[..], name.to_string())
            } else {
                self.depends_on_every_name();
                let names: Vec<&str> = self
                    .pipeline
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != index)
                    .filter_map(|(_, s)| s.name.as_ref().map(|n| n.value.as_str()))
                    .chain(self.env.external_steps.iter().map(|e| e.name.as_str()))
                    .filter(|n| is_identifier(n)) // only names a template can address
                    .chain(std::iter::once("inputs"))
                    .collect();
                let mut d = Diagnostic::new(
                    Code::UnknownReference,
                    root_range,
                    format!("unknown step `{name}`"),
                );
                let suggestion = suggest(name, names.iter().copied());
                if let Some(&target) = suggestion.and_then(|sug| self.step_index.get(sug)) {
                    self.used_steps[target] = true; // (the body is not kept)
                }
                d = match suggestion {
                    Some(sug) => did_you_mean(
                        d,
                        sug,
                        (root_range != place.node_range).then_some(root_range),
                    ),
                    None => {
                        let steps: Vec<&str> =
                            names.iter().copied().filter(|n| *n != "inputs").collect();
                        if steps.is_empty() {
                            d.with_help("a template starts with `inputs` or the name of a step")
                        } else {
                            d.with_help(format!(
                                "a template starts with `inputs` or the name of a step: {}",
                                backticked(&steps)
                            ))
                        }
                    }
                };
                self.push(d);
                self.refs.push(reference);
                return Ty::Any;
            }
        };
        let ty = self.walk_path(place, base_ty, segments, shown_root);
        reference.ty = ty.clone();
        // Where the declared output does not know the type, the step's live result may: the reference shows it
        // (completion, hover), while the checks above and the type returned (for the param's checks) stay the
        // declared ones, so diagnostics never depend on a run.
        if knows_nothing(&ty)
            && matches!(reference.target, Target::Step(_))
            && let Some(live) = self.lookup_live(&path.root)
            && let Some(live) = type_at(live, segments)
        {
            reference.ty = live;
        }
        self.refs.push(reference);
        ty
    }

    /// The type at the end of a path, reporting the first segment that does not exist.
    fn walk_path(
        &mut self,
        place: &ScalarPlace,
        ty: Ty,
        segments: &[template::Segment],
        mut shown: String,
    ) -> Ty {
        let Some((seg, rest)) = segments.split_first() else {
            return ty;
        };
        crate::work::add(1);
        match &seg.accessor {
            Accessor::Field(field) => match ty.field(field) {
                FieldLookup::Found(next) => {
                    shown.push('.');
                    shown.push_str(field);
                    self.walk_path(place, next, rest, shown)
                }
                FieldLookup::Missing(fields) => {
                    let range = place.range(seg.span.start + 1..seg.span.end);
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        range,
                        format!("`{shown}` has no field `{field}`"),
                    );
                    d = match suggest(field, fields.iter().copied()) {
                        Some(sug) => {
                            did_you_mean(d, sug, (range != place.node_range).then_some(range))
                        }
                        None => d.with_help(format!("its fields are {}", backticked(&fields))),
                    };
                    self.push(d);
                    Ty::Any
                }
                FieldLookup::NotAnObject => {
                    let range = place.range(seg.span.clone());
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        range,
                        format!("`{shown}` is {ty}, which has no fields"),
                    );
                    let item_has_field = ty
                        .item()
                        .is_some_and(|item| matches!(item.field(field), FieldLookup::Found(_)));
                    if ty.is_list() && item_has_field {
                        d = d.with_help(format!(
                            "`{shown}` is a list: use `{shown}[*].{field}` for the `{field}` of every item, or `{shown}[0].{field}` for the first"
                        ));
                        // Only where the accessor is written as it reads (not inside an escaped scalar).
                        if range != place.node_range {
                            d = d.with_fix(
                                format!("Use `{shown}[*].{field}`"),
                                Applicability::Unsafe,
                                vec![TextEdit {
                                    range,
                                    new_text: format!("[*].{field}"),
                                }],
                            );
                        }
                    } else if ty.is_list() {
                        d = d.with_help(format!(
                            "`{shown}` is a list: address its items with `[*]` or `[0]`"
                        ));
                    }
                    self.push(d);
                    Ty::Any
                }
            },
            Accessor::Index(i) => match ty.item() {
                Some(item) => {
                    shown.push_str(&format!("[{i}]"));
                    self.walk_path(place, item, rest, shown)
                }
                None => {
                    self.push(Diagnostic::new(
                        Code::UnknownField,
                        place.range(seg.span.clone()),
                        format!("`{shown}` is {ty}, not a list: it cannot be indexed"),
                    ));
                    Ty::Any
                }
            },
            Accessor::Wildcard => match ty.item() {
                Some(item) => {
                    shown.push_str("[*]");
                    Ty::list(self.walk_path(place, item, rest, shown))
                }
                None => {
                    self.push(Diagnostic::new(
                        Code::UnknownField,
                        place.range(seg.span.clone()),
                        format!("`{shown}` is {ty}, not a list: `[*]` needs a list"),
                    ));
                    Ty::Any
                }
            },
        }
    }

    fn unused(&mut self) {
        let has_transforms = self
            .pipeline
            .steps
            .iter()
            .any(|s| s.section == Section::Transforms);
        if has_transforms {
            for (i, step) in self.pipeline.steps.iter().enumerate() {
                if step.section == Section::Sources
                    && !self.used_steps[i]
                    && let Some(name) = &step.name
                    // A duplicate's name is reported as such; references go to the first definition.
                    && self.step_index.get(name.value.as_str()) == Some(&i)
                {
                    self.diags.push(
                        Diagnostic::new(
                            Code::UnusedSource,
                            name.range,
                            format!("no transform uses the result of source `{}`", name.value),
                        )
                        .with_help(format!(
                            "use it as `{{{{{}.…}}}}` in a transform, or remove it",
                            name.value
                        )),
                    );
                }
            }
        }
        for input in &self.pipeline.inputs {
            // An input whose name is not an identifier is reported as such already.
            if !self.used_inputs.contains(&input.name.value) && is_identifier(&input.name.value) {
                self.diags.push(
                    Diagnostic::new(
                        Code::UnusedInput,
                        input.name.range,
                        format!("no template uses input `{}`", input.name.value),
                    )
                    .with_help(format!(
                        "use it as `{{{{inputs.{}}}}}`, or remove it",
                        input.name.value
                    )),
                );
            }
        }
    }
}

/// What the registry says about some params: "`query`: Search query." for each one it describes (the first
/// sentence of its description).
/// `any`, or a list (of lists ...) of `any`: what a path into a `dynamic` output resolves to.
fn knows_nothing(mut ty: &Ty) -> bool {
    loop {
        match ty {
            Ty::Any => return true,
            Ty::List(item) => ty = item,
            _ => return false,
        }
    }
}

/// The type at the end of a path, or `None` where it does not exist (no diagnostics: see [`Checker::walk_path`]).
fn type_at(mut ty: Ty, segments: &[template::Segment]) -> Option<Ty> {
    // Wildcards wrap what follows them in a list: count them and wrap at the end (no recursion).
    let mut lists = 0;
    for seg in segments {
        ty = match &seg.accessor {
            Accessor::Field(field) => match ty.field(field) {
                FieldLookup::Found(next) => next,
                _ => return None,
            },
            Accessor::Index(_) => ty.item()?,
            Accessor::Wildcard => {
                lists += 1;
                ty.item()?
            }
        };
    }
    for _ in 0..lists {
        ty = Ty::list(ty);
    }
    Some(ty)
}

fn param_docs(m: &Method, names: &[&str]) -> Option<String> {
    let docs: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let about = m
                .params_schema()
                .get("properties")?
                .get(*name)?
                .get("description")?
                .as_str()?;
            let first = match about.find(". ") {
                Some(i) => &about[..=i],
                None => about,
            };
            Some(format!("`{name}`: {first}"))
        })
        .collect();
    (!docs.is_empty()).then(|| docs.join(" "))
}

/// Whether a mapping has an unknown key that is a misspelling of `key` (reported as such by ODP200).
fn misspelt(entries: &[Entry], allowed: &[&str], key: &str) -> bool {
    entries.iter().any(|e| {
        !allowed.contains(&e.key.as_str()) && suggest(&e.key, allowed.iter().copied()) == Some(key)
    })
}

/// "Did you mean" help, with a fix where the misspelt text has an exact range (not inside an escaped scalar).
fn did_you_mean(d: Diagnostic, suggestion: &str, exact: Option<TextRange>) -> Diagnostic {
    let d = d.with_help(format!("did you mean `{suggestion}`?"));
    match exact {
        Some(range) => d.with_fix(
            format!("Replace with `{suggestion}`"),
            Applicability::Unsafe,
            vec![TextEdit {
                range,
                new_text: suggestion.to_string(),
            }],
        ),
        None => d,
    }
}

/// The input type that declares values of a type, where there is one.
fn input_type_name(ty: &Ty) -> Option<&'static str> {
    Some(match ty {
        Ty::String => "string",
        Ty::Int => "integer",
        Ty::Number => "number",
        Ty::Bool => "boolean",
        Ty::List(_) => "array",
        Ty::Object { .. } => "object",
        _ => return None,
    })
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

/// Appends `key` to a JSON pointer, escaped (`~` → `~0`, `/` → `~1`), without allocating for the usual key.
fn push_pointer_key(pointer: &mut String, key: &str) {
    if !key.bytes().any(|b| b == b'~' || b == b'/') {
        pointer.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
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

/// The schema of the value at a JSON pointer into the params.
fn schema_at_pointer<'s>(schema: &'s Value, pointer: &str) -> Option<&'s Value> {
    let mut cur = schema;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        cur = match cur.get("properties").and_then(|p| p.get(&seg)) {
            Some(s) => s,
            None if seg.parse::<usize>().is_ok() => cur.get("items")?,
            None => return None,
        };
    }
    Some(cur)
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

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(12)
        .map(|s| format!("`{}`", s.as_ref()))
        .collect();
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

/// A YAML 1.1 boolean word, which YAML 1.2 (and odp) reads as a string.
fn yaml11_bool(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "yes" | "y" | "on" => Some(true),
        "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A duration written without a unit or with a spelt-out one (`30`, `5 minutes`, `2 hrs`), as odp writes it.
fn duration_suggestion(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" => "s",
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        _ => return None,
    };
    let fixed = format!("{number}{unit}");
    parse_duration_ms(&fixed).map(|_| fixed)
}
