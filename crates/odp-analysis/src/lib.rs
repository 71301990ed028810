//! The analysis core of odp: the pipeline model, the method registry, templates and their types, and the checker.
//!
//! It does no IO. Front ends (the linter, the language server, the executor, the kernel, AI drafts) call
//! [`analyze`] with a text and an [`Environment`] and render the [`Analysis`] it returns.

mod check;
pub mod codes;
pub mod diagnostic;
pub mod escape;
pub mod keys;
pub mod model;
pub mod registry;
pub mod roots;
mod scalar_place;
pub mod schema;
mod suppress;
pub mod template;
pub mod ty;
pub mod work;

use std::sync::Arc;

pub use check::{CheckCache, quote_yaml};
pub use codes::Code;
pub use diagnostic::{Applicability, Diagnostic, Fix, Related, Severity, TextEdit, apply_edits};
pub use escape::{escape_control, escape_control_in_lines};
pub use model::{Input, Pipeline, Reference, RetryPolicy, Section, Spanned, Step, Target};
pub use odp_syntax::{LineCol, LineIndex, Parse, PositionEncoding, TextRange};
pub use registry::{Method, MethodKind, Registry, Service};
pub use ty::Ty;

/// A step defined outside the text, such as an earlier notebook cell. Templates may use it like an earlier step.
#[derive(Clone, Debug)]
pub struct ExternalStep {
    pub name: String,
    pub method: Option<String>,
    /// Its result's type: the method's output type, or the type of the live result.
    pub output: Ty,
}

/// The type of a step's last result, from a run of this text (an editor's run). It refines what a reference resolves
/// to where the step's declared output does not know the field (`dynamic` outputs such as `data.custom.transform`):
/// completion and hover see it, diagnostics never depend on it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveType {
    pub step: String,
    pub ty: Ty,
}

/// An input set outside the text (a notebook's `%inputs`).
#[derive(Clone, Debug)]
pub struct ExternalInput {
    pub name: String,
    pub ty: Ty,
}

/// What a text is checked against.
#[derive(Clone)]
pub struct Environment<'a> {
    pub registry: &'a Registry,
    pub external_steps: &'a [ExternalStep],
    pub external_inputs: &'a [ExternalInput],
    /// A fragment (a notebook cell, a draft being repaired) need not have `name` and `sources`.
    pub fragment: bool,
    /// The types of the steps' live results, by step name (see [`LiveType`]). An incremental analysis re-checks
    /// the bodies that looked one up when it changes.
    pub live: &'a [LiveType],
}

impl<'a> Environment<'a> {
    pub fn new(registry: &'a Registry) -> Self {
        Self {
            registry,
            external_steps: &[],
            external_inputs: &[],
            fragment: false,
            live: &[],
        }
    }
}

/// Everything known about a text.
#[derive(Debug)]
pub struct Analysis {
    /// Shared with the [`CheckCache`] of an incremental analysis, which re-parses it after the next edit.
    pub parse: Arc<Parse>,
    pub pipeline: Pipeline,
    pub references: Vec<Reference>,
    /// Sorted by position; suppressed ones removed.
    pub diagnostics: Vec<Diagnostic>,
    /// How many diagnostics inline suppressions removed.
    pub suppressed: usize,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// Parses and checks a pipeline text.
pub fn analyze(text: &str, env: &Environment<'_>) -> Analysis {
    analyze_with(text, env, None)
}

/// Parses and checks a new version of a text whose earlier versions were analysed with the same `cache`: the
/// bodies of steps an edit did not touch are reused from the cache instead of checked again (see [`CheckCache`]
/// for what "touched" means). The result is the same as [`analyze`]'s; the cache is updated for the next version.
/// Keep one cache per document.
pub fn analyze_incremental(text: &str, env: &Environment<'_>, cache: &mut CheckCache) -> Analysis {
    analyze_with(text, env, Some(cache))
}

fn analyze_with(text: &str, env: &Environment<'_>, mut cache: Option<&mut CheckCache>) -> Analysis {
    let (parse, change, reparsed) = match cache.as_deref_mut() {
        Some(cache) => cache.parse(text),
        None => (odp_syntax::parse(text), None, false),
    };
    let parse = Arc::new(parse);
    let checked = check::check(text, &parse, env, cache.as_deref_mut(), change);
    if let Some(cache) = cache {
        cache.keep_parse(text, &parse, reparsed);
    }
    let mut diagnostics = checked.diagnostics;
    let suppressed = suppress::apply(text, &parse.comments, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.range.start, d.range.end, d.code));
    Analysis {
        parse,
        pipeline: checked.pipeline,
        references: checked.references,
        diagnostics,
        suppressed,
    }
}

/// Checks a text against the bundled registry.
pub fn analyze_with_bundled_registry(text: &str) -> Analysis {
    let registry: Arc<Registry> = Registry::bundled();
    analyze(text, &Environment::new(&registry))
}

/// The closest candidate to a misspelt name, if one is close enough to be a likely typo.
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = strsim::jaro_winkler(name, c);
        let distance = strsim::damerau_levenshtein(name, c);
        let close = distance <= 2.max(name.len() / 4) || score >= 0.9;
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.filter(|(_, s)| *s >= 0.7).map(|(c, _)| c)
}

#[cfg(test)]
mod incremental_tests;
#[cfg(test)]
mod suppress_tests;
#[cfg(test)]
mod tests;
