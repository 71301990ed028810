//! The names a step body may look up outside its own lines: the pipeline's steps and inputs, the environment's
//! steps and inputs (a notebook's earlier cells) and live result types. Its fields are private to this module, so
//! the rules cannot read them except through the accessors below, and every accessor records what it answered
//! while a body is being recorded for reuse ([`super::incremental`]). A rule therefore cannot depend on a name
//! without the cache knowing; [`super::incremental`] can also check that claim on each reuse (see
//! [`super::CheckCache::verify_reuse`]).

use odp_syntax::TextRange;
use rustc_hash::FxHashSet;

use crate::Environment;
use crate::model::{Input, Pipeline};
use crate::roots::{Roots, StepRoot};
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

/// A step found by name: what a body may know of it.
pub(super) struct FoundStep {
    pub(super) root: StepRoot,
    /// Its declared output type (fixed by its method, which the lookup records).
    pub(super) output: Ty,
    /// Where its name is written in this pipeline: a diagnostic pointing there makes the body depend on more than
    /// the lookup (see [`Scope::declaration_of_step`]).
    name_range: Option<TextRange>,
}

pub(super) struct Scope<'a> {
    /// What each name means ([`crate::roots`], shared with the editor features).
    roots: Roots<'a>,
    used_steps: Vec<bool>,
    used_inputs: FxHashSet<String>,
    recording: Option<Recording>,
}

impl<'a> Scope<'a> {
    pub(super) fn new(env: &'a Environment<'a>) -> Self {
        Scope {
            roots: Roots::of_environment(env),
            used_steps: Vec::new(),
            used_inputs: FxHashSet::default(),
            recording: None,
        }
    }

    // ---- the header pass: defining names (before any body is checked) ----------------------------------------

    /// Defines a step name at `index`; returns the index of an earlier step of the same name, if there is one
    /// (which keeps the name).
    pub(super) fn define_step(&mut self, name: &'a str, index: usize) -> Option<usize> {
        self.roots.define_step(name, index)
    }

    /// Called once every step is defined, before the bodies.
    pub(super) fn steps_defined(&mut self, count: usize) {
        self.used_steps = vec![false; count];
    }

    // ---- the bodies: lookups, each recorded ------------------------------------------------------------------

    /// The step a root names (this pipeline's first of the name, else the environment's), recorded as a
    /// dependency of the body being checked.
    pub(super) fn lookup_step(&mut self, pipeline: &Pipeline, name: &str) -> Option<FoundStep> {
        let root = self.roots.step(name);
        let own = match root {
            Some(StepRoot::Own(i)) => Some(i),
            _ => None,
        };
        #[cfg(test)]
        let forget = tests_only::FORGET_STEP_LOOKUPS.get();
        #[cfg(not(test))]
        let forget = false;
        // (A step of the environment needs no record: an environment with any disables reuse.)
        if let Some(r) = &mut self.recording
            && !forget
        {
            r.lookups.push(Lookup::Step {
                name: name.to_string(),
                found: own.map(|i| {
                    (
                        i,
                        pipeline.steps[i].method.as_ref().map(|m| m.value.clone()),
                    )
                }),
            });
        }
        Some(FoundStep {
            output: self.roots.step_output(pipeline, name)?,
            root: root?,
            name_range: own.map(|i| {
                let step = &pipeline.steps[i];
                step.name.as_ref().map_or(step.range, |n| n.range)
            }),
        })
    }

    /// Where a found step's name is written, for a diagnostic's related information: the body now depends on
    /// text outside it and is not kept.
    pub(super) fn declaration_of_step(&mut self, step: &FoundStep) -> Option<TextRange> {
        self.depends_on_every_name();
        step.name_range
    }

    /// The live result type of a step, recorded as a dependency of the body being checked.
    pub(super) fn lookup_live(&mut self, name: &str) -> Option<Ty> {
        let ty = self.roots.live(name).cloned();
        if let Some(r) = &mut self.recording {
            r.lookups.push(Lookup::Live {
                name: name.to_string(),
                ty: ty.clone(),
            });
        }
        ty
    }

    /// The type of the input a template names (the pipeline's, else the environment's), recorded as a dependency
    /// of the body being checked.
    pub(super) fn lookup_input(&mut self, pipeline: &Pipeline, name: &str) -> Option<Ty> {
        let ty = self.roots.input(pipeline, name);
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

    /// Every step name but `except`'s, then the environment's, for a suggestion: the body now depends on every
    /// name and is not kept.
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
            .chain(self.roots.external_step_names())
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
            .chain(self.roots.external_input_names())
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
        if let Some(index) = self.roots.own_step(name) {
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
        self.roots.own_step(name) == Some(index)
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
                    .roots
                    .own_step(name)
                    .map(|i| (i, pipeline.steps[i].method.as_ref().map(|m| &m.value)));
                now == found.as_ref().map(|(i, m)| (*i, m.as_ref()))
            }
            Lookup::Input { name, ty } => self.roots.input(pipeline, name) == *ty,
            Lookup::Live { name, ty } => self.roots.live(name) == ty.as_ref(),
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
