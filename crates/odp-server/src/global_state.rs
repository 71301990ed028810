//! The state the main loop owns: open documents, workspaces (loaded on threads of their own), the analysis cache,
//! and the channels to the client and the workers. Handlers of notifications change it; requests get snapshots.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use lsp_server::{Message, Notification, Request, RequestId};
use lsp_types as lsp;
use odp_analysis::Registry;
use odp_syntax::PositionEncoding;
use odp_workspace::{
    Ignores, LoadOptions, LoadedConfig, Loader, PipelineMatcher, RegistrySource, find_config,
};

use crate::document::Document;
use crate::snapshot::{Cache, DocSnapshot};
use crate::{draft, from_proto, to_proto};

/// Per-workspace settings derived from odp.toml and the client's options.
pub(crate) struct Workspace {
    pub(crate) matcher: PipelineMatcher,
    pub(crate) ignores: Ignores,
    pub(crate) registry: Arc<Registry>,
    pub(crate) registry_path: Option<PathBuf>,
    /// The `[draft]` section of odp.toml: the model behind `odp.generateDraft`.
    pub(crate) draft: odp_workspace::DraftSection,
    /// The `[services]` section of odp.toml: where runs from the editor go.
    pub(crate) services_config: odp_workspace::config::ServicesConfig,
    /// The `[engine]` section of odp.toml: which engine runs from the editor use.
    pub(crate) engine_config: odp_workspace::engine::EngineSection,
    /// The `[format]` section of odp.toml: how formatting requests format.
    pub(crate) format: odp_fmt::FormatOptions,
    /// The engine and services of runs from the editor, started with the first run.
    pub(crate) services: tokio::sync::OnceCell<Arc<odp_exec::wiring::Services>>,
    /// The Temporal engine of runs from the editor (`[engine] kind = "temporal"`), connected with the first run.
    #[cfg(feature = "temporal")]
    pub(crate) temporal: tokio::sync::OnceCell<Arc<odp_temporal::TemporalEngine>>,
}

/// A workspace by the `odp.toml` that configures it: ready, or loading on a thread of its own (a registry at a URL
/// takes up to its 10 s timeout, which must never hold up edits).
enum WorkspaceSlot {
    Loading {
        /// The documents whose diagnostics wait for it.
        waiting: HashSet<String>,
    },
    Ready(Arc<Workspace>),
}

/// Messages from workers and loaders to the main loop.
pub(crate) enum Internal {
    Publish {
        uri: lsp::Uri,
        version: i32,
        diagnostics: Vec<lsp::Diagnostic>,
    },
    /// A draft (`odp.generateDraft`) ended.
    Draft(draft::DraftDone),
    /// A run from the editor ended.
    Run(crate::runs::RunDone),
    /// A workspace finished loading; `generation` tells a load from before a reload.
    WorkspaceLoaded {
        key: PathBuf,
        generation: u64,
        workspace: Arc<Workspace>,
        messages: Vec<(lsp::MessageType, String)>,
    },
}

pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// What a request about a document is answered from.
pub(crate) enum RequestTarget {
    /// An open pipeline, in sync with the client.
    Snapshot(DocSnapshot),
    /// Not open, not a pipeline, or out of sync: there is nothing to offer.
    Nothing,
    /// Its workspace is loading: the request waits for it.
    Wait,
}

pub(crate) struct GlobalState {
    pub(crate) sender: Sender<Message>,
    pub(crate) internal_tx: Sender<Internal>,
    pub(crate) jobs: Sender<Job>,
    pub(crate) encoding: PositionEncoding,
    pub(crate) snippets: bool,
    pub(crate) docs: HashMap<String, (lsp::Uri, Document)>,
    workspaces: HashMap<PathBuf, WorkspaceSlot>,
    /// Bumped by every reload: loads started before it are not used.
    generation: u64,
    pub(crate) registry_override: Option<String>,
    pub(crate) root: Option<PathBuf>,
    pub(crate) cache: Cache,
    /// The latest version of each open document, so workers skip analyses that are already stale.
    pub(crate) latest: Arc<Mutex<HashMap<String, i32>>>,
    pub(crate) cancelled: Arc<Mutex<HashSet<RequestId>>>,
    /// Requests waiting for a workspace to load, dispatched again when one has.
    pub(crate) deferred: Vec<Request>,
    /// `initializationOptions.testing`: the test hooks answer, and drafts ignore the process environment.
    pub(crate) testing: bool,
    pub(crate) shutdown: bool,
    pub(crate) drafts: draft::Drafts,
    /// The client takes `window/workDoneProgress/create` and `$/progress`.
    pub(crate) progress_support: bool,
    /// The client takes `workspace/applyEdit`.
    pub(crate) apply_edit_support: bool,
    /// The client takes `workspace/codeLens/refresh` and `workspace/inlayHint/refresh`.
    pub(crate) refresh_support: (bool, bool),
    /// Runs under way, by document.
    pub(crate) running: HashMap<String, crate::runs::Running>,
    /// The results of runs, by document (dropped on close).
    pub(crate) results: HashMap<String, Arc<crate::runs::DocResults>>,
    /// Where runs' step events go.
    pub(crate) router: Arc<crate::runs::ProgressRouter>,
    /// Whether inlay hints show each step's last result (the client's `odp.inlayHints.results`, on by default).
    pub(crate) result_hints: bool,
    /// Whether inlay hints show the types templates resolve to (the client's `odp.inlayHints.types`, on by
    /// default).
    pub(crate) type_hints: bool,
    /// The client reads a signature's parameters as offsets into its label.
    pub(crate) label_offsets: bool,
    /// How many `workspace/inlayHint/refresh` requests a settings change sent (their ids).
    hint_refreshes: u64,
    /// The runtime runs from the editor run on, started with the first.
    runtime: Option<tokio::runtime::Runtime>,
}

/// What the client said in `initialize` that the state keeps.
pub(crate) struct ClientSettings {
    pub(crate) encoding: PositionEncoding,
    pub(crate) snippets: bool,
    pub(crate) registry_override: Option<String>,
    pub(crate) root: Option<PathBuf>,
    pub(crate) testing: bool,
    pub(crate) progress_support: bool,
    pub(crate) apply_edit_support: bool,
    pub(crate) refresh_support: (bool, bool),
    pub(crate) result_hints: bool,
    pub(crate) type_hints: bool,
    pub(crate) label_offsets: bool,
}

impl GlobalState {
    pub(crate) fn new(
        sender: Sender<Message>,
        internal_tx: Sender<Internal>,
        jobs: Sender<Job>,
        client: ClientSettings,
    ) -> GlobalState {
        GlobalState {
            sender,
            internal_tx,
            jobs,
            encoding: client.encoding,
            snippets: client.snippets,
            docs: HashMap::new(),
            workspaces: HashMap::new(),
            generation: 0,
            registry_override: client.registry_override,
            root: client.root,
            cache: Arc::default(),
            latest: Arc::default(),
            cancelled: Arc::default(),
            deferred: Vec::new(),
            testing: client.testing,
            shutdown: false,
            drafts: draft::Drafts::default(),
            progress_support: client.progress_support,
            apply_edit_support: client.apply_edit_support,
            refresh_support: client.refresh_support,
            running: HashMap::new(),
            results: HashMap::new(),
            router: Arc::default(),
            result_hints: client.result_hints,
            type_hints: client.type_hints,
            label_offsets: client.label_offsets,
            hint_refreshes: 0,
            runtime: None,
        }
    }

    /// The runtime of runs from the editor, started when first needed.
    pub(crate) fn runtime(&mut self) -> std::io::Result<tokio::runtime::Handle> {
        if self.runtime.is_none() {
            self.runtime = Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("odp-run")
                    .enable_all()
                    .build()?,
            );
        }
        Ok(self
            .runtime
            .as_ref()
            .expect("just started")
            .handle()
            .clone())
    }

    /// Cancels the runs under way and stops their runtime without waiting for them.
    pub(crate) fn stop_runs(&mut self) {
        for running in self.running.values() {
            running.cancel.cancel();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    pub(crate) fn send(&self, message: Message) {
        if self.sender.send(message).is_err() {
            tracing::warn!("the client connection is gone");
        }
    }

    /// Asks the client to ask for inlay hints again, when it can (a setting of them changed).
    pub(crate) fn refresh_inlay_hints(&mut self) {
        if !self.refresh_support.1 {
            return;
        }
        self.hint_refreshes += 1;
        let id = RequestId::from(format!("odp-inlay-hint-refresh-{}", self.hint_refreshes));
        self.send(Message::Request(Request::new(
            id,
            "workspace/inlayHint/refresh".into(),
            serde_json::Value::Null,
        )));
    }

    pub(crate) fn notify<N: lsp::notification::Notification>(&self, params: N::Params) {
        self.send(Message::Notification(Notification::new(
            N::METHOD.into(),
            params,
        )));
    }

    pub(crate) fn show_message(&self, typ: lsp::MessageType, message: String) {
        tracing::warn!("{message}");
        self.notify::<lsp::notification::ShowMessage>(lsp::ShowMessageParams { typ, message });
    }

    pub(crate) fn register_watchers(&self, params: &lsp::InitializeParams) {
        let dynamic = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        if !dynamic {
            return;
        }
        let options = lsp::DidChangeWatchedFilesRegistrationOptions {
            watchers: ["**/odp.toml", "**/*.yaml", "**/*.yml"]
                .iter()
                .map(|g| lsp::FileSystemWatcher {
                    glob_pattern: lsp::GlobPattern::String((*g).into()),
                    kind: None,
                })
                .collect(),
        };
        let registration = lsp::Registration {
            id: "odp-watched-files".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: Some(serde_json::to_value(options).expect("serializes")),
        };
        self.send(Message::Request(Request::new(
            RequestId::from("odp-register-watchers".to_string()),
            "client/registerCapability".into(),
            lsp::RegistrationParams {
                registrations: vec![registration],
            },
        )));
    }

    // ---- workspaces -------------------------------------------------------------------------------------------

    /// The workspace of a file, if it is loaded. If not, its load starts on a thread of its own (once) and `None`
    /// says to wait for [`Internal::WorkspaceLoaded`]; `waiting` is the document to analyse then.
    pub(crate) fn workspace_for(
        &mut self,
        path: Option<&Path>,
        waiting: Option<&str>,
    ) -> Option<Arc<Workspace>> {
        let dir = path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .or_else(|| self.root.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        let config_path = find_config(&dir);
        let key = config_path.clone().unwrap_or_default();
        match self.workspaces.get_mut(&key) {
            Some(WorkspaceSlot::Ready(w)) => return Some(w.clone()),
            Some(WorkspaceSlot::Loading { waiting: list }) => {
                list.extend(waiting.map(str::to_string));
                return None;
            }
            None => {}
        }
        self.workspaces.insert(
            key.clone(),
            WorkspaceSlot::Loading {
                waiting: waiting.map(str::to_string).into_iter().collect(),
            },
        );
        // Paths in the settings and ODP_REGISTRY are relative to the workspace root (without one: the directory of
        // odp.toml, else of the file).
        let cwd = self.root.clone().unwrap_or_else(|| {
            config_path
                .as_deref()
                .and_then(Path::parent)
                .map_or_else(|| dir.clone(), Path::to_path_buf)
        });
        let registry = self.registry_override.clone();
        let (tx, generation) = (self.internal_tx.clone(), self.generation);
        let spawned = std::thread::Builder::new()
            .name("odp-workspace".into())
            .spawn(move || {
                let (workspace, messages) = load_workspace(&dir, cwd, registry);
                let _ = tx.send(Internal::WorkspaceLoaded {
                    key,
                    generation,
                    workspace: Arc::new(workspace),
                    messages,
                });
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread to load the workspace: {e}");
        }
        None
    }

    /// A workspace is loaded: its messages are shown and the documents that waited for it analysed.
    pub(crate) fn workspace_loaded(
        &mut self,
        key: PathBuf,
        generation: u64,
        workspace: Arc<Workspace>,
        messages: Vec<(lsp::MessageType, String)>,
    ) {
        if generation != self.generation {
            return; // loaded before a reload: the reload started a fresh load
        }
        for (typ, message) in messages {
            self.show_message(typ, message);
        }
        let waiting = match self.workspaces.insert(key, WorkspaceSlot::Ready(workspace)) {
            Some(WorkspaceSlot::Loading { waiting }) => waiting,
            _ => HashSet::new(),
        };
        for key in waiting {
            if let Some(uri) = self.docs.get(&key).map(|(u, _)| u.clone()) {
                self.schedule_diagnostics(&uri);
            }
        }
    }

    /// Whether a file is the configured registry of a loaded workspace (editing it reloads).
    pub(crate) fn is_registry_file(&self, path: &Path) -> bool {
        self.workspaces.values().any(|w| match w {
            WorkspaceSlot::Ready(w) => w.registry_path.as_deref() == Some(path),
            WorkspaceSlot::Loading { .. } => false,
        })
    }

    /// Drops the loaded configurations and registries, and checks every open document again.
    pub(crate) fn reload(&mut self) {
        self.workspaces.clear();
        self.generation += 1;
        self.cache.lock().expect("cache lock").clear();
        let uris: Vec<lsp::Uri> = self.docs.values().map(|(u, _)| u.clone()).collect();
        for uri in uris {
            self.schedule_diagnostics(&uri);
        }
    }

    // ---- documents --------------------------------------------------------------------------------------------

    /// Whether an open document is a pipeline (by name, `include` globs, or the modeline); `None` while its
    /// workspace loads.
    fn is_pipeline(&mut self, uri: &lsp::Uri, doc: &Document) -> Option<bool> {
        if doc.language_id == "odp-pipeline" {
            return Some(true);
        }
        let path = from_proto::file_path(uri);
        let workspace = self.workspace_for(path.as_deref(), Some(uri.as_str()))?;
        let head = || doc.rope.slice(..doc.rope.len_chars().min(4096)).to_string();
        Some(match &path {
            Some(p) => workspace.matcher.is_pipeline(p, || Some(head())),
            None => odp_workspace::has_modeline(&head()),
        })
    }

    /// What a request about a document is answered from.
    pub(crate) fn request_target(&mut self, uri: &lsp::Uri) -> RequestTarget {
        let key = uri.as_str().to_string();
        let Some((u, d)) = self.docs.remove(&key) else {
            return RequestTarget::Nothing;
        };
        // An out-of-sync text is answered like a document that is not open.
        let pipeline = if d.out_of_sync.is_none() {
            self.is_pipeline(&u, &d)
        } else {
            Some(false)
        };
        self.docs.insert(key, (u, d));
        match pipeline {
            None => RequestTarget::Wait,
            Some(false) => RequestTarget::Nothing,
            Some(true) => self
                .snapshot(uri)
                .map_or(RequestTarget::Wait, RequestTarget::Snapshot),
        }
    }

    /// A snapshot of an open document; `None` while its workspace loads (the document is analysed then).
    pub(crate) fn snapshot(&mut self, uri: &lsp::Uri) -> Option<DocSnapshot> {
        let key = uri.as_str().to_string();
        let (_, doc) = self.docs.get(&key)?;
        let (version, rope, checks) = (doc.version, doc.rope.clone(), doc.checks.clone());
        let path = from_proto::file_path(uri);
        let workspace = self.workspace_for(path.as_deref(), Some(&key))?;
        Some(DocSnapshot {
            uri: uri.clone(),
            version,
            text: Arc::default(),
            rope,
            workspace,
            path,
            checks,
            results: self.results.get(&key).cloned(),
            running: self.running.contains_key(&key),
            result_hints: self.result_hints,
            type_hints: self.type_hints,
        })
    }

    /// Schedules the analysis of a document's current version; its diagnostics are published if it is still the
    /// latest when done. While its workspace loads, the document waits for it.
    pub(crate) fn schedule_diagnostics(&mut self, uri: &lsp::Uri) {
        let key = uri.as_str().to_string();
        let Some((u, d)) = self.docs.remove(&key) else {
            return;
        };
        let in_sync = d.out_of_sync.is_none();
        let pipeline = if in_sync {
            self.is_pipeline(&u, &d)
        } else {
            Some(false)
        };
        self.docs.insert(key.clone(), (u, d));
        let Some(pipeline) = pipeline else {
            return; // analysed when its workspace is loaded
        };
        if !pipeline {
            // Not (or no longer) a pipeline, or a text that may not be the client's: clear anything published
            // before, and let no analysis under way publish.
            self.latest.lock().expect("lock").remove(&key);
            let version = self.docs.get(&key).map(|(_, d)| d.version);
            self.notify::<lsp::notification::PublishDiagnostics>(lsp::PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics: Vec::new(),
                version,
            });
            return;
        }
        let Some(snapshot) = self.snapshot(uri) else {
            return;
        };
        let cache = self.cache.clone();
        let tx = self.internal_tx.clone();
        let encoding = self.encoding;
        let latest = self.latest.clone();
        latest
            .lock()
            .expect("lock")
            .insert(key.clone(), snapshot.version);
        let job: Job = Box::new(move || {
            if latest.lock().expect("lock").get(&key) != Some(&snapshot.version) {
                return; // a newer version is on its way
            }
            let started = std::time::Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let (analysis, old) = snapshot.analysis_keeping_old(&cache);
                (
                    to_proto::diagnostics(&snapshot.uri, &snapshot.rope, &analysis, encoding),
                    old,
                )
            }));
            tracing::debug!(
                version = snapshot.version,
                micros = started.elapsed().as_micros() as u64,
                "diagnostics ready"
            );
            match result {
                Ok((diagnostics, old)) => {
                    let _ = tx.send(Internal::Publish {
                        uri: snapshot.uri.clone(),
                        version: snapshot.version,
                        diagnostics,
                    });
                    // Only now, with the diagnostics on their way.
                    drop(old);
                }
                Err(_) => tracing::error!(uri = snapshot.uri.as_str(), "analysis panicked"),
            }
        });
        let _ = self.jobs.send(job);
    }

    /// Publishes a worker's diagnostics if they are of the document's latest version and its text is the client's.
    pub(crate) fn publish(&self, uri: lsp::Uri, version: i32, diagnostics: Vec<lsp::Diagnostic>) {
        let current = self
            .docs
            .get(uri.as_str())
            .filter(|(_, d)| d.out_of_sync.is_none())
            .map(|(_, d)| d.version);
        if current == Some(version) {
            self.notify::<lsp::notification::PublishDiagnostics>(lsp::PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: Some(version),
            });
        }
    }

    /// A change could not be applied: the text may differ from the client's, so its diagnostics are withdrawn
    /// (they would point at the wrong places) and the user is told how to recover.
    pub(crate) fn lost_sync(&mut self, uri: &lsp::Uri) {
        let Some((_, doc)) = self.docs.get(uri.as_str()) else {
            return;
        };
        let reason = doc.out_of_sync.as_ref().map(ToString::to_string);
        let name = from_proto::file_path(uri)
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_else(|| uri.as_str().to_string());
        self.show_message(
            lsp::MessageType::ERROR,
            format!(
                "odp: lost track of the text of {name} ({}); its diagnostics are off until you close and reopen it",
                reason.unwrap_or_default()
            ),
        );
        self.schedule_diagnostics(uri);
    }
}

/// Loads a workspace with the one loader and its fallback for the language server: a broken odp.toml or registry
/// is shown (the same message as every command prints) and the defaults serve. Runs on a loader thread.
fn load_workspace(
    dir: &Path,
    cwd: PathBuf,
    registry: Option<String>,
) -> (Workspace, Vec<(lsp::MessageType, String)>) {
    let mut messages = Vec::new();
    let loader = Loader::new(LoadOptions {
        cwd,
        registry,
        config_file: None,
    });
    let (loaded, fallbacks) = loader.load_or_fallback(dir);
    for fallback in &fallbacks {
        messages.push((lsp::MessageType::ERROR, format!("odp: {fallback}")));
    }
    for w in &loaded.warnings {
        messages.push((lsp::MessageType::WARNING, format!("odp: {w}")));
    }
    // The configured registry file, also when it could not be loaded: editing it reloads.
    let registry_path = match loader.registry_source(&loaded.config) {
        RegistrySource::File(p) => Some(p.clone()),
        _ => None,
    };
    let config = &*loaded.config;
    let matcher = PipelineMatcher::new(config).unwrap_or_else(|e| {
        messages.push((lsp::MessageType::ERROR, format!("odp: {e}")));
        PipelineMatcher::new(&LoadedConfig::default()).expect("an empty config is valid")
    });
    let (ignores, warnings) = Ignores::new(config).unwrap_or_default();
    for w in warnings {
        messages.push((lsp::MessageType::WARNING, format!("odp: {w}")));
    }
    let workspace = Workspace {
        matcher,
        ignores,
        registry: loaded.registry,
        registry_path,
        draft: config.config.draft.clone(),
        services_config: config.config.services.clone(),
        engine_config: config.config.engine.clone(),
        format: config.config.format.options(),
        services: tokio::sync::OnceCell::new(),
        #[cfg(feature = "temporal")]
        temporal: tokio::sync::OnceCell::new(),
    };
    (workspace, messages)
}
