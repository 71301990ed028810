//! Reuse of step bodies between analyses of the same document ([`CheckCache`]): what is kept, when a kept body
//! may stand for a fresh check, and the check of that claim on each reuse (when asked for).

use super::*;

impl CacheState {
    /// Takes what `cache` kept for a check of `text` (nothing when the environment or the context changed).
    pub(super) fn begin(
        cache: Option<&mut CheckCache>,
        text: &str,
        env: &Environment<'_>,
        change: Option<odp_syntax::Change>,
    ) -> Option<CacheState> {
        let cache = cache?;
        // Steps defined outside the text change between analyses without the text changing: no reuse then.
        if !(env.external_steps.is_empty() && env.external_inputs.is_empty()) {
            // Nothing is kept, and nothing kept from before stays valid.
            cache.bodies.clear();
            cache.context = None;
            return None;
        }
        let context = CacheContext {
            registry: env.registry.generation(),
            crlf: text.contains("\r\n"),
            fragment: env.fragment,
        };
        let same = cache.context == Some(context);
        Some(CacheState {
            context,
            bodies: if same {
                std::mem::take(&mut cache.bodies)
            } else {
                Vec::new()
            },
            change: change.filter(|_| same),
            previous_text: std::mem::take(&mut cache.previous_text),
            hits: 0,
            visited: 0,
            scope: if same { cache.scope } else { 0 },
            same_scope: false,
            references_hint: cache.references,
            verify: cache.verify,
        })
    }

    /// Gives the bodies back to the cache after the check.
    pub(super) fn finish(self, cache: &mut CheckCache, references: usize) {
        let mut bodies = self.bodies;
        // Steps not looked at (gone from the text) keep no body.
        bodies.truncate(self.visited);
        cache.context = Some(self.context);
        cache.scope = self.scope;
        cache.references = references;
        cache.bodies = bodies;
        cache.previous_text = self.previous_text;
        cache.hits = self.hits;
    }

    /// How many references the previous check found (to size the list once).
    pub(super) fn references_hint(&self) -> usize {
        self.references_hint
    }
}

impl<'a> Checker<'a> {
    /// Called when every step is defined, before the bodies: whether every name answers as when the cache was
    /// filled.
    pub(super) fn bodies_begin(&mut self) {
        if let Some(mut state) = self.cache.take() {
            let scope = self.scope_hash();
            state.same_scope = scope == state.scope && state.change.is_some();
            state.scope = scope;
            self.cache = Some(state);
        }
    }

    /// The step's body from the cache when nothing it depends on changed; else checked, and kept if it can be.
    pub(super) fn step_body_cached(&mut self, index: usize, node: &'a Node) {
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
                    && (state.same_scope
                        || body
                            .lookups
                            .iter()
                            .all(|l| self.scope.answers_same(&self.pipeline, l)))
            }
            _ => false,
        };
        if reusable {
            let fresh = state.verify.then(|| self.fresh_body(index, node, start));
            let body = state.bodies[index].as_mut().expect("checked above");
            let (diags_before, refs_before) = (self.diags.len(), self.refs.len());
            self.replay(index, body, start);
            if let Some(fresh) = fresh {
                self.assert_same_as_fresh(index, body, fresh, diags_before, refs_before);
            }
            body.start = start;
            state.hits += 1;
            self.cache = Some(state);
            return;
        }
        self.scope.start_recording();
        let (diags_before, refs_before) = (self.diags.len(), self.refs.len());
        self.step_body(index, node);
        let recording = self.scope.finish_recording();
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

    /// Checks a body afresh and takes its results back out of the check (for [`CheckCache::verify_reuse`]).
    fn fresh_body(&mut self, index: usize, node: &'a Node, start: usize) -> CachedBody {
        let (diags_before, refs_before) = (self.diags.len(), self.refs.len());
        let (params, params_range) = {
            let step = &self.pipeline.steps[index];
            (step.params.clone(), step.params_range)
        };
        self.scope.start_recording();
        self.step_body(index, node);
        let recording = self.scope.finish_recording();
        let step = &mut self.pipeline.steps[index];
        let fresh = CachedBody {
            section: step.section,
            start,
            len: node.range.end() - start,
            origin: start,
            lookups: recording.lookups,
            diagnostics: self.diags.split_off(diags_before),
            references: self.refs.split_off(refs_before),
            params: std::mem::replace(&mut step.params, params),
            params_range: std::mem::replace(&mut step.params_range, params_range),
            used_steps: recording.used_steps,
            used_inputs: recording.used_inputs,
        };
        // (Its uses stay marked: a reused body that marks fewer fails the comparison below.)
        fresh
    }

    /// Panics when a reused body's results differ from a fresh check's: some rule depended on something its
    /// lookups do not describe (see [`super::scope`]).
    fn assert_same_as_fresh(
        &self,
        index: usize,
        body: &CachedBody,
        fresh: CachedBody,
        diags_before: usize,
        refs_before: usize,
    ) {
        let step = &self.pipeline.steps[index];
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v.dedup();
            v
        };
        let sorted_steps = |mut v: Vec<usize>| {
            v.sort_unstable();
            v.dedup();
            v
        };
        let name = step.name.as_ref().map_or("?", |n| n.value.as_str());
        assert_eq!(
            self.diags[diags_before..],
            fresh.diagnostics[..],
            "step {index} (`{name}`): reused diagnostics differ from a fresh check"
        );
        assert_eq!(
            self.refs[refs_before..],
            fresh.references[..],
            "step {index} (`{name}`): reused references differ from a fresh check"
        );
        assert_eq!(step.params, fresh.params, "step {index} (`{name}`): params");
        assert_eq!(
            step.params_range, fresh.params_range,
            "step {index} (`{name}`): params range"
        );
        assert_eq!(
            sorted_steps(body.used_steps.clone()),
            sorted_steps(fresh.used_steps),
            "step {index} (`{name}`): steps used"
        );
        assert_eq!(
            sorted(body.used_inputs.clone()),
            sorted(fresh.used_inputs),
            "step {index} (`{name}`): inputs used"
        );
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
        self.scope.replay_uses(&body.used_steps, &body.used_inputs);
    }
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
    /// The scope hash of the last check (see `Checker::scope_hash`).
    scope: u64,
    /// How many references the last check found.
    references: usize,
    /// Whether each reuse of a body is checked against a fresh check (see [`CheckCache::verify_reuse`]).
    verify: bool,
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

    /// For tests: from now on, each reused body is also checked afresh, and a difference panics, naming the step.
    /// A reused body must be what a fresh check gives; it is only if every rule reads names through
    /// the checker's scope (its recording accessors). This turns a miss into a failure of any test that edits a
    /// document, instead of a wrong diagnostic only some edit would show.
    pub fn verify_reuse(&mut self) {
        self.verify = true;
    }
}

/// What every cached body also depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CacheContext {
    registry: u64,
    crlf: bool,
    fragment: bool,
}

#[derive(Debug)]
pub(super) struct CachedBody {
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

/// The cached bodies during one check, updated in place.
pub(super) struct CacheState {
    context: CacheContext,
    bodies: Vec<Option<CachedBody>>,
    /// The change from the previous text; `None`: no body can be trusted.
    change: Option<odp_syntax::Change>,
    /// The previous text (moved out of the cache for the check's duration).
    previous_text: String,
    hits: usize,
    /// Bodies below this index were looked at (reused or replaced) in this check.
    visited: usize,
    /// A hash of every name a body can look up and its answer (see `Checker::scope_hash`), and whether it is
    /// the same as when the cache was last filled: then every lookup answers as before.
    scope: u64,
    same_scope: bool,
    /// How many references the previous check found.
    references_hint: usize,
    verify: bool,
}
