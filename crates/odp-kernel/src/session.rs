//! A notebook session: the steps run so far with their results, the inputs, the history, and everything a cell
//! does apart from talking to services. Nothing here knows about ZeroMQ; the server calls it and publishes what
//! it returns.
//!
//! The session's state is here, and what a cell does with it is in one module per concern: `jobs` (a cell's two
//! halves: [`Session::begin`] runs the magics, checks and plans; the server runs the job; [`Session::finish`] keeps
//! what completed), `magics`, `export` (`%export`), `graph` (`%graph`), `completion` (completion, inspection, completeness), `history`,
//! and `outputs` (what a cell shows). Their public items are re-exported here, the paths other crates use.

use std::path::PathBuf;
use std::sync::Arc;

use odp_analysis::{Analysis, Environment, ExternalInput, ExternalStep, Registry, Section, Ty};
use serde_json::{Value, json};

mod completion;
mod export;
mod graph;
mod history;
mod jobs;
mod magics;
mod outputs;
mod rust;

pub use completion::{Completeness, Completion, byte_to_char, char_to_byte};
pub use history::{HistoryItem, glob_match, history_matcher};
pub use jobs::{Begin, DraftJob, RunJob};
pub use magics::{parse_assignments, request_of};
pub use outputs::{CellError, CellOutput, Output, render};
pub use rust::{Published, RustJob, check_published_name};

/// The pipeline name in events and plans of notebook cells.
pub const PIPELINE: &str = "notebook";

/// The history's session number (one session per kernel process).
pub const HISTORY_SESSION: usize = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct SessionInput {
    pub name: String,
    pub value: Value,
    /// `string`, `integer`, `number`, `boolean`, `array` or `object`.
    pub type_name: String,
}

/// A step that ran in this session, with its result.
#[derive(Clone, Debug)]
pub struct SessionStep {
    pub name: String,
    pub method: String,
    pub section: Section,
    /// The step's YAML as a mapping of its own (what `%export` writes).
    pub text: String,
    /// The line of `text` that holds the step's `name`.
    pub name_line: usize,
    /// The steps its templates use.
    pub deps: Vec<String>,
    /// The inputs its templates use.
    pub inputs_used: Vec<String>,
    /// What its templates read, for `%graph`.
    pub uses: Vec<Use>,
    /// The execution count of the cell that ran it.
    pub cell: usize,
    pub result: Value,
    pub attempts: u32,
    pub duration_ms: u64,
    /// Which version of the session's results this one is (counts up each time a result is kept): Rust cells
    /// rewrite a step's file and variable only when it changed.
    pub revision: u64,
}

/// What one of a step's templates reads: an input or a step, and the field path after it (`results[*].text`).
#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    pub name: String,
    pub input: bool,
    pub path: String,
}

/// The last time a cell ran a step, however it went (`%graph` shows it).
#[derive(Clone, Debug)]
struct Tried {
    def: jobs::StepDef,
    status: odp_graph::RunStatus,
}

/// A session's state.
pub struct Session {
    registry: Arc<Registry>,
    inputs: Vec<SessionInput>,
    steps: Vec<SessionStep>,
    /// Each step's last run, by name, in the order first run (`%graph`).
    tried: Vec<Tried>,
    /// Values Rust cells published (`odp::publish`): results later cells use like a step's.
    published: Vec<Published>,
    /// The last revision given to a result ([`SessionStep::revision`]).
    revision: u64,
    history: Vec<HistoryItem>,
    execution_count: usize,
    /// Where `%export` writes relative paths.
    cwd: PathBuf,
    /// ANSI colours in rendered diagnostics (Jupyter renders them in tracebacks and streams).
    pub color: bool,
    /// One line about where calls go, shown by `%steps`.
    pub services: String,
}

/// The type of an input's declared type name.
fn input_ty(type_name: &str) -> Ty {
    Ty::from_schema(&json!({ "type": type_name }))
}

/// The input type name of a value.
pub fn type_name_of(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) | Value::Null => "string",
    }
}

impl Session {
    pub fn new(registry: Arc<Registry>, cwd: PathBuf) -> Session {
        Session {
            registry,
            inputs: Vec::new(),
            steps: Vec::new(),
            tried: Vec::new(),
            published: Vec::new(),
            revision: 0,
            history: Vec::new(),
            execution_count: 0,
            cwd,
            color: false,
            services: String::new(),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn steps(&self) -> &[SessionStep] {
        &self.steps
    }

    pub fn inputs(&self) -> &[SessionInput] {
        &self.inputs
    }

    pub fn execution_count(&self) -> usize {
        self.execution_count
    }

    pub fn step(&self, name: &str) -> Option<&SessionStep> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The values Rust cells published.
    pub fn published(&self) -> &[Published] {
        &self.published
    }

    /// The result a later cell sees under `name`: a step's, or a value a Rust cell published.
    pub fn value_of(&self, name: &str) -> Option<&Value> {
        match self.step(name) {
            Some(s) => Some(&s.result),
            None => self
                .published
                .iter()
                .find(|p| p.name == name)
                .map(|p| &p.value),
        }
    }

    /// Every result by name with its revision: the steps' and the published values.
    pub fn result_revisions(&self) -> Vec<(String, u64)> {
        self.steps
            .iter()
            .map(|s| (s.name.clone(), s.revision))
            .chain(self.published.iter().map(|p| (p.name.clone(), p.revision)))
            .collect()
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    pub fn input(&self, name: &str) -> Option<&SessionInput> {
        self.inputs.iter().find(|i| i.name == name)
    }

    fn set_input(&mut self, name: &str, value: Value, type_name: String) {
        match self.inputs.iter_mut().find(|i| i.name == name) {
            Some(i) => {
                i.value = value;
                i.type_name = type_name;
            }
            None => self.inputs.push(SessionInput {
                name: name.to_string(),
                value,
                type_name,
            }),
        }
    }

    fn external_inputs(&self) -> Vec<ExternalInput> {
        self.inputs
            .iter()
            .map(|i| ExternalInput {
                name: i.name.clone(),
                ty: input_ty(&i.type_name),
            })
            .collect()
    }

    /// Earlier steps as the checker sees them: `live` takes each result's own type (what completion offers);
    /// otherwise the method's output type, so that what a cell accepts `%export` writes as a valid pipeline (a
    /// `dynamic` output is unknown to the registry, so its live type is used either way).
    fn external_steps(&self, live: bool) -> Vec<ExternalStep> {
        self.steps
            .iter()
            .map(|s| {
                let declared = self
                    .registry
                    .get(&s.method)
                    .map_or(Ty::Any, |m| m.output.clone());
                let output = if live || declared == Ty::Any {
                    Ty::of_value(&s.result)
                } else {
                    declared
                };
                ExternalStep {
                    name: s.name.clone(),
                    method: Some(s.method.clone()),
                    output,
                }
            })
            // A published value has no method: its type is its value's, like a live result.
            .chain(self.published.iter().map(|p| ExternalStep {
                name: p.name.clone(),
                method: None,
                output: Ty::of_value(&p.value),
            }))
            .collect()
    }

    fn analyze(&self, text: &str, live: bool) -> Analysis {
        let steps = self.external_steps(live);
        let inputs = self.external_inputs();
        let env = Environment {
            registry: &self.registry,
            external_steps: &steps,
            external_inputs: &inputs,
            fragment: true,
            live: &[],
        };
        odp_analysis::analyze(text, &env)
    }
}

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod rust_tests;
#[cfg(test)]
mod tests;
