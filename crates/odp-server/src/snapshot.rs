//! What a worker thread answers from: an immutable snapshot of one document version and its workspace, and the
//! analyses shared between workers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use lsp_types as lsp;
use odp_analysis::{Analysis, Environment, LiveType, analyze_incremental};
use ropey::Rope;

use crate::global_state::Workspace;

/// What a worker needs to answer about one document version.
#[derive(Clone)]
pub(crate) struct DocSnapshot {
    pub(crate) uri: lsp::Uri,
    pub(crate) version: i32,
    /// The text, made from the rope on a worker (not on the main loop) when first needed.
    pub(crate) text: Arc<OnceLock<String>>,
    pub(crate) rope: Rope,
    pub(crate) workspace: Arc<Workspace>,
    pub(crate) path: Option<PathBuf>,
    /// The document's step bodies checked in earlier versions (shared by all its snapshots).
    pub(crate) checks: Arc<Mutex<odp_analysis::CheckCache>>,
    /// The results of its runs from the editor.
    pub(crate) results: Option<Arc<crate::runs::DocResults>>,
    /// Whether a run of it is under way.
    pub(crate) running: bool,
    /// Whether inlay hints show the results.
    pub(crate) result_hints: bool,
    /// Whether inlay hints show the templates' types.
    pub(crate) type_hints: bool,
}

/// Analyses shared between workers, by URI: the latest version analysed.
/// The workspace is part of the key: after a reload, an analysis made with the old registry is not reused; so are
/// the document's results (their generation): an analysis made with older live types is not reused either.
pub(crate) type Cache = Arc<Mutex<HashMap<String, CachedAnalysis>>>;

pub(crate) struct CachedAnalysis {
    version: i32,
    workspace: usize,
    results: u64,
    analysis: Arc<Analysis>,
}

impl DocSnapshot {
    pub(crate) fn text(&self) -> &str {
        self.text.get_or_init(|| self.rope.to_string())
    }

    /// The types of the steps' results from the document's runs: an input of its analysis (completion and hover
    /// see them; diagnostics do not depend on them).
    pub(crate) fn live_types(&self) -> Vec<LiveType> {
        let Some(results) = &self.results else {
            return Vec::new();
        };
        let mut live: Vec<LiveType> = results
            .steps
            .iter()
            .filter_map(|(name, r)| {
                Some(LiveType {
                    step: name.clone(),
                    ty: r.ty.clone()?,
                })
            })
            .collect();
        // In a fixed order: the analysis's cache hashes them.
        live.sort_by(|a, b| a.step.cmp(&b.step));
        live
    }

    fn results_generation(&self) -> u64 {
        self.results.as_ref().map_or(0, |r| r.generation())
    }

    pub(crate) fn analysis(&self, cache: &Cache) -> Arc<Analysis> {
        self.analysis_keeping_old(cache).0
    }

    /// The analysis, and the one it replaced in the cache: dropping a large analysis takes milliseconds, so the
    /// caller drops it after publishing.
    pub(crate) fn analysis_keeping_old(
        &self,
        cache: &Cache,
    ) -> (Arc<Analysis>, Option<Arc<Analysis>>) {
        let key = self.uri.as_str().to_string();
        let workspace_id = Arc::as_ptr(&self.workspace) as usize;
        let results = self.results_generation();
        if let Some(cached) = cache.lock().expect("cache lock").get(&key)
            && cached.version == self.version
            && cached.workspace == workspace_id
            && cached.results == results
        {
            return (cached.analysis.clone(), None);
        }
        let live = self.live_types();
        let env = Environment {
            live: &live,
            ..Environment::new(&self.workspace.registry)
        };
        // The previous version's analysis leaves the cache now, and its tree goes back to the document's
        // `CheckCache`, which re-parses only the steps the edit touched. The rest is dropped by the caller after
        // publishing.
        let previous = {
            let mut cache = cache.lock().expect("cache lock");
            match cache.get(&key) {
                Some(cached) if cached.version < self.version => {
                    cache.remove(&key).map(|cached| cached.analysis)
                }
                _ => None,
            }
        };
        let previous = previous.map(|a| match Arc::try_unwrap(a) {
            Ok(mut a) => {
                a.parse = Arc::default();
                Arc::new(a)
            }
            Err(shared) => shared, // a request still reads it: the text is parsed in full
        });
        let mut analysis = {
            // A panic while the lock was held (answered as an error elsewhere) leaves a cache that may be half
            // updated: start it afresh.
            let mut checks = self.checks.lock().unwrap_or_else(|poisoned| {
                let mut checks = poisoned.into_inner();
                *checks = odp_analysis::CheckCache::default();
                checks
            });
            let started = std::time::Instant::now();
            let analysis = analyze_incremental(self.text(), &env, &mut checks);
            tracing::debug!(
                version = self.version,
                micros = started.elapsed().as_micros() as u64,
                reparsed = checks.last_reparsed(),
                reused_steps = checks.last_hits(),
                "analysed"
            );
            analysis
        };
        if let Some(path) = &self.path {
            self.workspace
                .ignores
                .filter(path, &mut analysis.diagnostics);
        }
        let analysis = Arc::new(analysis);
        let mut cache = cache.lock().expect("cache lock");
        let newer = cache.get(&key).is_some_and(|c| c.version > self.version);
        let old = if newer {
            None
        } else {
            let cached = CachedAnalysis {
                version: self.version,
                workspace: workspace_id,
                results,
                analysis: analysis.clone(),
            };
            cache.insert(key, cached).map(|c| c.analysis)
        };
        (analysis, old.or(previous))
    }
}
