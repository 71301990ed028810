//! The names a step body may look up outside its own lines: the pipeline's steps and inputs, the environment's
//! steps and inputs (a notebook's earlier cells) and live result types. Its fields are private to this module, so
//! the rules cannot read them except through the accessors below, and every accessor records what it answered
//! while a body is being recorded for reuse ([`super::incremental`]). A rule therefore cannot depend on a name
//! without the cache knowing; [`super::incremental`] can also check that claim on each reuse (see
//! [`super::CheckCache::verify_reuse`]).

use odp_syntax::TextRange;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::Environment;
use crate::model::{Input, Pipeline};
use crate::ty::Ty;

/// A name a step body looked up outside its own text, and the answer that shaped its result.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Lookup {
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

/// What the step body being checked looked up and marked used.
#[derive(Debug, Default)]
pub(super) struct Recording {
    pub(super) lookups: Vec<Lookup>,
    pub(super) used_steps: Vec<usize>,
    pub(super) used_inputs: Vec<String>,
    /// False once the body depended on something a lookup list cannot describe (every name, for a suggestion; a
    /// declaration outside the step).
    pub(super) cacheable: bool,
}

/// A step of this pipeline found by name: what a body may know of it.
pub(super) struct FoundStep {
    pub(super) index: usize,
    /// Its declared output type (fixed by its method, which the lookup records).
    pub(super) output: Ty,
    /// Where its name is written: a diagnostic pointing there makes the body depend on more than the lookup (see
    /// [`Scope::declaration_of_step`]).
    name_range: TextRange,
}

pub(super) struct Scope<'a> {
    env: &'a Environment<'a>,
    /// First definition of each step name.
    steps: FxHashMap<&'a str, usize>,
    used_steps: Vec<bool>,
    used_inputs: FxHashSet<String>,
    recording: Option<Recording>,
    /// The environment's steps and inputs by name (first of each), so that each reference looks them up in
    /// constant time: a notebook session may hold thousands of steps. (An environment with any of them disables
    /// reuse altogether, so their lookups need no recording.)
    external_steps: FxHashMap<&'a str, usize>,
    external_inputs: FxHashMap<&'a str, usize>,
    /// The live result types by step name (first of each).
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

impl<'a> Scope<'a> {
    pub(super) fn new(env: &'a Environment<'a>) -> Self {
        Scope {
            env,
            steps: FxHashMap::default(),
            used_steps: Vec::new(),
            used_inputs: FxHashSet::default(),
            recording: None,
            external_steps: first_by_name(env.external_steps.iter().map(|e| e.name.as_str())),
            external_inputs: first_by_name(env.external_inputs.iter().map(|i| i.name.as_str())),
            live: first_by_name(env.live.iter().map(|l| l.step.as_str())),
        }
    }

    // ---- the header pass: defining names (before any body is checked) ----------------------------------------

    /// Defines a step name at `index`; returns the index of an earlier step of the same name, if there is one
    /// (which keeps the name).
    pub(super) fn define_step(&mut self, name: &'a str, index: usize) -> Option<usize> {
        match self.steps.get(name) {
            Some(&first) => Some(first),
            None => {
                self.steps.insert(name, index);
                None
            }
        }
    }

    /// Called once every step is defined, before the bodies.
    pub(super) fn steps_defined(&mut self, count: usize) {
        self.used_steps = vec![false; count];
    }

    // ---- the bodies: lookups, each recorded ------------------------------------------------------------------

    /// The first step with this name, recorded as a dependency of the body being checked.
    pub(super) fn lookup_step(&mut self, pipeline: &Pipeline, name: &str) -> Option<FoundStep> {
        let index = self.steps.get(name).copied();
        #[cfg(test)]
        let forget = tests_only::FORGET_STEP_LOOKUPS.get();
        #[cfg(not(test))]
        let forget = false;
        if let Some(r) = &mut self.recording
            && !forget
        {
            r.lookups.push(Lookup::Step {
                name: name.to_string(),
                found: index.map(|i| {
                    (
                        i,
                        pipeline.steps[i].method.as_ref().map(|m| m.value.clone()),
                    )
                }),
            });
        }
        index.map(|i| {
            let step = &pipeline.steps[i];
            FoundStep {
                index: i,
                output: step.output.clone(),
                name_range: step.name.as_ref().map_or(step.range, |n| n.range),
            }
        })
    }

    /// Where a found step's name is written, for a diagnostic's related information: the body now depends on
    /// text outside it and is not kept.
    pub(super) fn declaration_of_step(&mut self, step: &FoundStep) -> TextRange {
        self.depends_on_every_name();
        step.name_range
    }

    /// The live result type of a step, recorded as a dependency of the body being checked.
    pub(super) fn lookup_live(&mut self, name: &str) -> Option<Ty> {
        let ty = self.live_type(name).cloned();
        if let Some(r) = &mut self.recording {
            r.lookups.push(Lookup::Live {
                name: name.to_string(),
                ty: ty.clone(),
            });
        }
        ty
    }

    /// The type of a declared input, recorded as a dependency of the body being checked.
    pub(super) fn lookup_input(&mut self, pipeline: &Pipeline, name: &str) -> Option<Ty> {
        let ty = pipeline.input(name).map(|i| i.ty.clone());
        if let Some(r) = &mut self.recording {
            r.lookups.push(Lookup::Input {
                name: name.to_string(),
                ty: ty.clone(),
            });
        }
        ty
    }

    /// A declared input's whole declaration (its default, where it is written): the body now depends on text
    /// outside it and is not kept.
    pub(super) fn input_declaration<'p>(
        &mut self,
        pipeline: &'p Pipeline,
        name: &str,
    ) -> Option<&'p Input> {
        let input = pipeline.input(name);
        if input.is_some() {
            self.depends_on_every_name();
        }
        input
    }

    /// The type of an input of the environment (a notebook's `%inputs`).
    pub(super) fn external_input(&self, name: &str) -> Option<Ty> {
        self.external_inputs
            .get(name)
            .map(|&i| self.env.external_inputs[i].ty.clone())
    }

    /// The declared output type of a step of the environment (a notebook's earlier cell).
    pub(super) fn external_step(&self, name: &str) -> Option<Ty> {
        self.external_steps
            .get(name)
            .map(|&i| self.env.external_steps[i].output.clone())
    }

    /// Every step name a template can address but `except`'s, then the environment's, for a suggestion: the body
    /// now depends on every name and is not kept.
    pub(super) fn every_step_name<'p>(
        &mut self,
        pipeline: &'p Pipeline,
        except: usize,
    ) -> Vec<&'p str>
    where
        'a: 'p,
    {
        self.depends_on_every_name();
        pipeline
            .steps
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != except)
            .filter_map(|(_, s)| s.name.as_ref().map(|n| n.value.as_str()))
            .chain(self.env.external_steps.iter().map(|e| e.name.as_str()))
            .collect()
    }

    /// Every input name, the pipeline's then the environment's, for a suggestion: the body now depends on every
    /// name and is not kept.
    pub(super) fn every_input_name<'p>(&mut self, pipeline: &'p Pipeline) -> Vec<&'p str>
    where
        'a: 'p,
    {
        self.depends_on_every_name();
        pipeline
            .inputs
            .iter()
            .map(|i| i.name.value.as_str())
            .chain(self.env.external_inputs.iter().map(|i| i.name.as_str()))
            .collect()
    }

    /// Marks a step used by the body being checked.
    pub(super) fn use_step(&mut self, index: usize) {
        self.used_steps[index] = true;
        if let Some(r) = &mut self.recording {
            r.used_steps.push(index);
        }
    }

    /// Marks the step a suggestion names as used (a misspelt reference most likely meant it).
    pub(super) fn use_step_named(&mut self, name: &str) {
        if let Some(&index) = self.steps.get(name) {
            self.depends_on_every_name();
            self.use_step(index);
        }
    }

    pub(super) fn use_input(&mut self, name: &str) {
        self.used_inputs.insert(name.to_string());
        if let Some(r) = &mut self.recording {
            r.used_inputs.push(name.to_string());
        }
    }

    /// The body being checked looked at more than its lookups describe: it is not kept.
    fn depends_on_every_name(&mut self) {
        if let Some(r) = &mut self.recording {
            r.cacheable = false;
        }
    }

    // ---- after the bodies ------------------------------------------------------------------------------------

    /// Whether a body used the step at `index`.
    pub(super) fn is_step_used(&self, index: usize) -> bool {
        self.used_steps[index]
    }

    /// Whether the step at `index` is the first of its name (references go to the first definition).
    pub(super) fn is_first_of_its_name(&self, name: &str, index: usize) -> bool {
        self.steps.get(name) == Some(&index)
    }

    pub(super) fn is_input_used(&self, name: &str) -> bool {
        self.used_inputs.contains(name)
    }

    // ---- for the cache ([`super::incremental`]) --------------------------------------------------------------

    pub(super) fn start_recording(&mut self) {
        self.recording = Some(Recording {
            cacheable: true,
            ..Recording::default()
        });
    }

    pub(super) fn finish_recording(&mut self) -> Recording {
        self.recording.take().expect("a recording was started")
    }

    /// Whether a lookup a cached body made gets the same answer now.
    pub(super) fn answers_same(&self, pipeline: &Pipeline, lookup: &Lookup) -> bool {
        match lookup {
            Lookup::Step { name, found } => {
                let now = self
                    .steps
                    .get(name.as_str())
                    .map(|&i| (i, pipeline.steps[i].method.as_ref().map(|m| &m.value)));
                now == found.as_ref().map(|(i, m)| (*i, m.as_ref()))
            }
            Lookup::Input { name, ty } => pipeline.input(name).map(|i| &i.ty) == ty.as_ref(),
            Lookup::Live { name, ty } => self.live_type(name) == ty.as_ref(),
        }
    }

    /// Marks what a reused body used.
    pub(super) fn replay_uses(&mut self, steps: &[usize], inputs: &[String]) {
        for &i in steps {
            self.used_steps[i] = true;
        }
        for name in inputs {
            self.used_inputs.insert(name.clone());
        }
    }

    fn live_type(&self, name: &str) -> Option<&Ty> {
        self.live.get(name).map(|&i| &self.env.live[i].ty)
    }
}

/// A fault to inject in tests: the proof that [`super::CheckCache::verify_reuse`] catches a rule that reads a step
/// without recording it.
#[cfg(test)]
pub(crate) mod tests_only {
    use std::cell::Cell;

    thread_local! {
        /// While set, [`super::Scope::lookup_step`] answers without recording the lookup.
        pub(crate) static FORGET_STEP_LOOKUPS: Cell<bool> = const { Cell::new(false) };
    }
}
