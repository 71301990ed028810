//! The pipeline as the checker understood it: what front ends render, navigate and run. Everything is kept even
//! when broken (a step without a method still has its name and range), so editors can work on partial files.

use std::sync::Arc;

use odp_syntax::TextRange;
use serde_json::Value;

use crate::template::Path;
use crate::ty::Ty;

/// A value with the range it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub range: TextRange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    Sources,
    Transforms,
}

impl Section {
    pub fn key(self) -> &'static str {
        match self {
            Section::Sources => "sources",
            Section::Transforms => "transforms",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pipeline {
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub inputs: Vec<Input>,
    /// Sources first, then transforms, each in the order written.
    pub steps: Vec<Step>,
    /// The range of the `sources` / `transforms` keys and their values, where present.
    pub sections: Vec<(Section, TextRange)>,
}

impl Pipeline {
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.name.as_ref().is_some_and(|n| n.value == name))
    }

    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name.value == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub name: Spanned<String>,
    pub ty: Ty,
    /// The declared type's name (`string`, ...), if valid.
    pub type_name: Option<String>,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub required: bool,
    /// The whole declaration.
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub section: Section,
    /// The list item's range.
    pub range: TextRange,
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    pub method: Option<Spanned<String>>,
    /// The params as JSON, templates left as strings (the executor resolves them). Shared, because an
    /// incremental analysis reuses the params of every step an edit did not touch.
    pub params: Arc<serde_json::Map<String, Value>>,
    /// The range of the `params` value, where present.
    pub params_range: Option<TextRange>,
    pub retry: RetryPolicy,
    /// Start-to-close timeout of one attempt.
    pub timeout_ms: Option<u64>,
    /// The type of the step's result (from its method's output schema; `any` when unknown).
    pub output: Ty,
}

/// A step's retry policy, with the defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff_coefficient: f64,
    pub initial_interval_ms: u64,
    pub maximum_interval_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: crate::schema::DEFAULT_MAX_ATTEMPTS,
            backoff_coefficient: crate::schema::DEFAULT_BACKOFF_COEFFICIENT,
            initial_interval_ms: crate::schema::DEFAULT_INITIAL_INTERVAL_MS,
            maximum_interval_ms: crate::schema::DEFAULT_MAXIMUM_INTERVAL_MS,
        }
    }
}

/// What a template's root names.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// An input of the pipeline (or of the environment). Shared, like [`Reference::path`].
    Input(Arc<str>),
    /// A step of this text, by index into [`Pipeline::steps`].
    Step(usize),
    /// A step defined outside the text (an earlier notebook cell).
    External(Arc<str>),
    Unresolved,
}

/// One template use in a param value.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// The whole `{{ ... }}` in the source (the whole scalar when its escapes make exact positions impossible).
    pub range: TextRange,
    /// The root name's range (`tweets` in `{{tweets.results}}`).
    pub root_range: TextRange,
    /// Shared, like [`Step::params`].
    pub path: Arc<Path>,
    pub target: Target,
    /// The step whose params hold it, by index into [`Pipeline::steps`].
    pub from_step: Option<usize>,
    /// What it resolves to (`any` when unknown).
    pub ty: Ty,
}
