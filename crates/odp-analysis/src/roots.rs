//! What the root of a template names: an input (the pipeline's, else the environment's), a step (the pipeline's
//! first of that name, else the environment's: an earlier notebook cell) and a step's live result type. The
//! checker (through its recording scope) and the editor features (completion, hover) resolve roots here, so that
//! they cannot disagree on which definition a name means.

use rustc_hash::FxHashMap;

use crate::Environment;
use crate::model::{Pipeline, Section};
use crate::ty::Ty;

/// A step a template's root names.
#[derive(Clone, Debug, PartialEq)]
pub enum StepRoot {
    /// A step of this pipeline, by index into [`Pipeline::steps`].
    Own(usize),
    /// A step of the environment, by index into [`Environment::external_steps`].
    External(usize),
}

/// The names a template can start with, indexed (first definition of each name) so that each lookup takes
/// constant time: a notebook session may hold thousands of steps.
pub struct Roots<'a> {
    env: &'a Environment<'a>,
    steps: FxHashMap<&'a str, usize>,
    external_steps: FxHashMap<&'a str, usize>,
    external_inputs: FxHashMap<&'a str, usize>,
    live: FxHashMap<&'a str, usize>,
}

/// The index of the first of each name.
fn first_by_name<'a>(names: impl Iterator<Item = &'a str>) -> FxHashMap<&'a str, usize> {
    let mut index = FxHashMap::default();
    for (i, name) in names.enumerate() {
        index.entry(name).or_insert(i);
    }
    index
}

impl<'a> Roots<'a> {
    /// The roots of a checked pipeline in an environment.
    pub fn new(pipeline: &'a Pipeline, env: &'a Environment<'a>) -> Self {
        let mut roots = Self::of_environment(env);
        for (i, step) in pipeline.steps.iter().enumerate() {
            if let Some(name) = &step.name {
                roots.define_step(&name.value, i);
            }
        }
        roots
    }

    /// The environment's roots, before the pipeline's steps are defined one by one ([`Roots::define_step`]).
    pub(crate) fn of_environment(env: &'a Environment<'a>) -> Self {
        Roots {
            env,
            steps: FxHashMap::default(),
            external_steps: first_by_name(env.external_steps.iter().map(|e| e.name.as_str())),
            external_inputs: first_by_name(env.external_inputs.iter().map(|i| i.name.as_str())),
            live: first_by_name(env.live.iter().map(|l| l.step.as_str())),
        }
    }

    /// Defines a step name at `index`; returns the index of an earlier step of the same name, if there is one
    /// (which keeps the name).
    pub(crate) fn define_step(&mut self, name: &'a str, index: usize) -> Option<usize> {
        match self.steps.get(name) {
            Some(&first) => Some(first),
            None => {
                self.steps.insert(name, index);
                None
            }
        }
    }

    /// The pipeline's step of this name (the first), only.
    pub fn own_step(&self, name: &str) -> Option<usize> {
        self.steps.get(name).copied()
    }

    /// The step a root names: the pipeline's first of that name, else the environment's.
    pub fn step(&self, name: &str) -> Option<StepRoot> {
        match self.steps.get(name) {
            Some(&i) => Some(StepRoot::Own(i)),
            None => self
                .external_steps
                .get(name)
                .map(|&i| StepRoot::External(i)),
        }
    }

    /// The declared output type of the step a root names.
    pub fn step_output(&self, pipeline: &Pipeline, name: &str) -> Option<Ty> {
        match self.step(name)? {
            StepRoot::Own(i) => Some(pipeline.steps[i].output.clone()),
            StepRoot::External(i) => Some(self.env.external_steps[i].output.clone()),
        }
    }

    /// The type of the input `{{inputs.NAME}}` names: the pipeline's, else the environment's.
    pub fn input(&self, pipeline: &Pipeline, name: &str) -> Option<Ty> {
        pipeline
            .input(name)
            .map(|i| i.ty.clone())
            .or_else(|| self.external_input(name))
    }

    /// The type of an input of the environment (a notebook's `%inputs`).
    pub fn external_input(&self, name: &str) -> Option<Ty> {
        self.external_inputs
            .get(name)
            .map(|&i| self.env.external_inputs[i].ty.clone())
    }

    /// The type of a step's live result (see [`crate::LiveType`]).
    pub fn live(&self, name: &str) -> Option<&'a Ty> {
        self.live.get(name).map(|&i| &self.env.live[i].ty)
    }

    /// The steps a template in step `from` (or outside any step: `None`) may use without a diagnostic, the
    /// environment's first, with the pipeline's index where it has one: a source uses none; a transform uses the
    /// sources and the transforms before it.
    pub fn visible_steps(
        &self,
        pipeline: &'a Pipeline,
        from: Option<usize>,
    ) -> Vec<(&'a str, Option<usize>)> {
        let steps = &pipeline.steps;
        if from.is_some_and(|f| steps[f].section == Section::Sources) {
            return Vec::new();
        }
        let mut out: Vec<(&str, Option<usize>)> = self
            .env
            .external_steps
            .iter()
            .map(|e| (e.name.as_str(), None))
            .collect();
        for (i, s) in steps.iter().enumerate() {
            let visible = match from {
                Some(f) => i != f && (s.section == Section::Sources || i < f),
                None => true,
            };
            if visible && let Some(n) = &s.name {
                out.push((n.value.as_str(), Some(i)));
            }
        }
        out
    }

    /// The environment's step names (for a suggestion).
    pub(crate) fn external_step_names(&self) -> impl Iterator<Item = &'a str> {
        self.env.external_steps.iter().map(|e| e.name.as_str())
    }

    /// The environment's input names (for a suggestion).
    pub(crate) fn external_input_names(&self) -> impl Iterator<Item = &'a str> {
        self.env.external_inputs.iter().map(|i| i.name.as_str())
    }
}
