//! The ODP language server. It is the only crate that knows about LSP: every feature comes from `odp-ide` and
//! `odp-analysis`; this crate converts positions, owns the documents and schedules the work.
//!
//! The main loop owns the state and applies notifications in the order they arrive (so edits can never be
//! reordered); analysis and requests run on worker threads with immutable snapshots. Diagnostics are published only
//! for the version they were computed for, and only while it is still the latest. Every handler runs behind
//! `catch_unwind`: a bug answers its request with an error and the server lives on. A malformed message is answered
//! (or logged) by the transport, which reads on; a change that cannot be applied leaves its document out of sync
//! (no diagnostics, no answers about it) until the client sends the whole text again.

mod document;
mod draft;
mod surrogates;
mod transport;

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, select, unbounded};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use odp_analysis::{Analysis, Environment, Registry, analyze_incremental};
use odp_ide::{CompletionKind, FoldKind, Snapshot, SymbolKind, TokenKind};
use odp_workspace::{
    Ignores, LoadOptions, LoadedConfig, Loader, PipelineMatcher, RegistrySource, find_config,
};
use ropey::Rope;
use serde_json::{Value, json};

pub use document::Encoding;
use document::{
    ChangeError, Document, offset_to_position, position_to_offset, range_from_lsp, range_to_lsp,
};
pub use transport::StreamError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("LSP protocol error: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("the connection closed: {0}")]
    Closed(String),
    #[error("IO error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Stream(#[from] StreamError),
}

/// Serves LSP on stdin/stdout until the client shuts the server down.
pub fn run_stdio() -> Result<(), ServerError> {
    serve(std::io::BufReader::new(std::io::stdin()), std::io::stdout())
}

/// Serves LSP on a byte stream (stdio, or pipes in tests) until the client shuts the server down.
pub fn serve(
    input: impl std::io::BufRead + Send + 'static,
    output: impl std::io::Write + Send + 'static,
) -> Result<(), ServerError> {
    let (connection, transport) = transport::spawn(input, output);
    let served = run(connection);
    let input_ended = match &served {
        Err(ServerError::Closed(_)) => true,
        Err(ServerError::Protocol(e)) => e.channel_is_disconnected(),
        _ => false,
    };
    if input_ended {
        // The reader stopped before `exit`: at the end of the input (the client hung up), or at a stream it could
        // not frame, which is the true reason to report.
        transport.join_reader()?;
        return served;
    }
    served?;
    transport.join()?;
    Ok(())
}

/// Per-workspace settings derived from odp.toml and the client's options.
struct Workspace {
    matcher: PipelineMatcher,
    ignores: Ignores,
    registry: Arc<Registry>,
    registry_path: Option<PathBuf>,
    /// The `[draft]` section of odp.toml: the model behind `odp.generateDraft`.
    draft: odp_workspace::DraftSection,
}

/// What a worker needs to answer about one document version.
#[derive(Clone)]
struct DocSnapshot {
    uri: lsp::Uri,
    version: i32,
    /// The text, made from the rope on a worker (not on the main loop) when first needed.
    text: Arc<std::sync::OnceLock<String>>,
    rope: Rope,
    workspace: Arc<Workspace>,
    path: Option<PathBuf>,
    /// The document's step bodies checked in earlier versions (shared by all its snapshots).
    checks: Arc<Mutex<odp_analysis::CheckCache>>,
}

/// Analyses shared between workers, by URI: the latest version analysed.
/// The workspace is part of the key: after a reload, an analysis made with the old registry is not reused.
type Cache = Arc<Mutex<HashMap<String, (i32, usize, Arc<Analysis>)>>>;

impl DocSnapshot {
    fn text(&self) -> &str {
        self.text.get_or_init(|| self.rope.to_string())
    }

    fn analysis(&self, cache: &Cache) -> Arc<Analysis> {
        self.analysis_keeping_old(cache).0
    }

    /// The analysis, and the one it replaced in the cache: dropping a large analysis takes milliseconds, so the
    /// caller drops it after publishing.
    fn analysis_keeping_old(&self, cache: &Cache) -> (Arc<Analysis>, Option<Arc<Analysis>>) {
        let key = self.uri.as_str().to_string();
        let workspace_id = Arc::as_ptr(&self.workspace) as usize;
        if let Some((v, w, a)) = cache.lock().expect("cache lock").get(&key)
            && *v == self.version
            && *w == workspace_id
        {
            return (a.clone(), None);
        }
        let env = Environment::new(&self.workspace.registry);
        // The previous version's analysis leaves the cache now, and its tree goes back to the document's
        // `CheckCache`, which re-parses only the steps the edit touched. The rest is dropped by the caller after
        // publishing.
        let previous = {
            let mut cache = cache.lock().expect("cache lock");
            match cache.get(&key) {
                Some((v, _, _)) if *v < self.version => cache.remove(&key).map(|(_, _, a)| a),
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
        let newer = cache.get(&key).is_some_and(|(v, _, _)| *v > self.version);
        let old = if newer {
            None
        } else {
            cache
                .insert(key, (self.version, workspace_id, analysis.clone()))
                .map(|(_, _, a)| a)
        };
        (analysis, old.or(previous))
    }
}

/// Messages from workers to the main loop.
enum Internal {
    Publish {
        uri: lsp::Uri,
        version: i32,
        diagnostics: Vec<lsp::Diagnostic>,
    },
    /// A draft (`odp.generateDraft`) ended.
    Draft(draft::DraftDone),
}

type Job = Box<dyn FnOnce() + Send>;

struct Server {
    sender: Sender<Message>,
    internal_tx: Sender<Internal>,
    jobs: Sender<Job>,
    encoding: Encoding,
    snippets: bool,
    docs: HashMap<String, (lsp::Uri, Document)>,
    workspaces: HashMap<PathBuf, Arc<Workspace>>,
    registry_override: Option<String>,
    root: Option<PathBuf>,
    cache: Cache,
    /// The latest version of each open document, so workers skip analyses that are already stale.
    latest: Arc<Mutex<HashMap<String, i32>>>,
    cancelled: Arc<Mutex<HashSet<RequestId>>>,
    testing: bool,
    shutdown: bool,
    drafts: draft::Drafts,
    /// The client takes `window/workDoneProgress/create` and `$/progress`.
    progress_support: bool,
    /// The client takes `workspace/applyEdit`.
    apply_edit_support: bool,
}

fn uri_to_path(uri: &lsp::Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    let mut bytes = Vec::with_capacity(rest.len());
    let raw = rest.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let Some(b) = std::str::from_utf8(&raw[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            bytes.push(b);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Runs the server on a connection (stdio, or in memory for tests) until shutdown and exit.
pub fn run(connection: Connection) -> Result<(), ServerError> {
    let (id, params) = connection.initialize_start()?;
    let params: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let encoding = negotiate_encoding(&params);
    let snippets = params
        .capabilities
        .text_document
        .as_ref()
        .and_then(|t| t.completion.as_ref())
        .and_then(|c| c.completion_item.as_ref())
        .and_then(|i| i.snippet_support)
        .unwrap_or(false);
    let options = params.initialization_options.clone().unwrap_or(Value::Null);
    let registry_override = options
        .get("registry")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let testing = options
        .get("testing")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let progress_support = params
        .capabilities
        .window
        .as_ref()
        .and_then(|w| w.work_done_progress)
        .unwrap_or(false);
    let apply_edit_support = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.apply_edit)
        .unwrap_or(false);
    #[allow(deprecated)]
    let root = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| uri_to_path(&f.uri))
        .or_else(|| params.root_uri.as_ref().and_then(uri_to_path));
    let result = lsp::InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(lsp::ServerInfo {
            name: "odp-lsp".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    connection.initialize_finish(id, serde_json::to_value(result).expect("serializes"))?;
    tracing::info!(?encoding, snippets, "initialized");

    let (internal_tx, internal_rx) = unbounded();
    let (jobs_tx, jobs_rx) = unbounded::<Job>();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let rx = jobs_rx.clone();
            std::thread::spawn(move || {
                for job in rx {
                    job();
                }
            })
        })
        .collect();
    let mut server = Server {
        sender: connection.sender.clone(),
        internal_tx,
        jobs: jobs_tx,
        encoding,
        snippets,
        docs: HashMap::new(),
        workspaces: HashMap::new(),
        registry_override,
        root,
        cache: Arc::default(),
        latest: Arc::default(),
        cancelled: Arc::default(),
        testing,
        shutdown: false,
        drafts: draft::Drafts::default(),
        progress_support,
        apply_edit_support,
    };
    server.register_watchers(&params);
    let result = server.main_loop(&connection.receiver, &internal_rx);
    drop(server);
    for w in workers {
        let _ = w.join();
    }
    result
}

fn negotiate_encoding(params: &lsp::InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list) if list.contains(&lsp::PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

fn capabilities(encoding: Encoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
            Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                ..Default::default()
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec!["{".into(), ".".into(), ":".into()]),
            ..Default::default()
        }),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![
                    lsp::CodeActionKind::QUICKFIX,
                    lsp::CodeActionKind::REFACTOR_REWRITE,
                ]),
                ..Default::default()
            },
        )),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        folding_range_provider: Some(lsp::FoldingRangeProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(
            lsp::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp::SemanticTokensOptions {
                    legend: lsp::SemanticTokensLegend {
                        token_types: TokenKind::LEGEND
                            .iter()
                            .map(|k| lsp::SemanticTokenType::new(k.lsp_name()))
                            .collect(),
                        token_modifiers: Vec::new(),
                    },
                    full: Some(lsp::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    ..Default::default()
                },
            ),
        ),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: vec!["odp.generateDraft".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Server {
    fn send(&self, message: Message) {
        if self.sender.send(message).is_err() {
            tracing::warn!("the client connection is gone");
        }
    }

    fn register_watchers(&self, params: &lsp::InitializeParams) {
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

    fn main_loop(
        &mut self,
        receiver: &Receiver<Message>,
        internal: &Receiver<Internal>,
    ) -> Result<(), ServerError> {
        loop {
            select! {
                recv(receiver) -> msg => {
                    let Ok(msg) = msg else {
                        return Err(ServerError::Closed("the client hung up".into()));
                    };
                    match msg {
                        Message::Request(req) => {
                            if self.shutdown {
                                self.send(Message::Response(Response::new_err(
                                    req.id,
                                    ErrorCode::InvalidRequest as i32,
                                    "the server is shutting down".into(),
                                )));
                                continue;
                            }
                            if req.method == "shutdown" {
                                self.shutdown = true;
                                self.drafts.cancel_all();
                                self.send(Message::Response(Response::new_ok(req.id, ())));
                                continue;
                            }
                            self.on_request(req);
                        }
                        Message::Notification(n) => {
                            if n.method == "exit" {
                                return Ok(());
                            }
                            let method = n.method.clone();
                            if catch_unwind(AssertUnwindSafe(|| self.on_notification(n))).is_err() {
                                tracing::error!(method, "a notification handler panicked");
                            }
                        }
                        Message::Response(response) => self.on_response(response),
                    }
                }
                recv(internal) -> msg => match msg {
                    Ok(Internal::Publish { uri, version, diagnostics }) => {
                        // Only the latest version's diagnostics are published, and never an out-of-sync text's.
                        let current = self
                            .docs
                            .get(uri.as_str())
                            .filter(|(_, d)| d.out_of_sync.is_none())
                            .map(|(_, d)| d.version);
                        if current == Some(version) {
                            self.send(Message::Notification(Notification::new(
                                "textDocument/publishDiagnostics".into(),
                                lsp::PublishDiagnosticsParams { uri, diagnostics, version: Some(version) },
                            )));
                        }
                    }
                    Ok(Internal::Draft(done)) => self.draft_done(done),
                    Err(_) => {}
                }
            }
        }
    }

    // ---- workspaces ---------------------------------------------------------------------------------------------

    fn workspace_for(&mut self, path: Option<&Path>) -> Arc<Workspace> {
        let dir = path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .or_else(|| self.root.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        let config_path = find_config(&dir);
        let key = config_path.clone().unwrap_or_default();
        if let Some(w) = self.workspaces.get(&key) {
            return w.clone();
        }
        // The one loader, with its fallback for the language server: a broken odp.toml or registry is shown (the
        // same message as every command prints) and the defaults serve. Paths in the settings and ODP_REGISTRY are
        // relative to the workspace root (without one: the directory of odp.toml, else of the file).
        let cwd = self.root.clone().unwrap_or_else(|| {
            config_path
                .as_deref()
                .and_then(Path::parent)
                .map_or_else(|| dir.clone(), Path::to_path_buf)
        });
        let loader = Loader::new(LoadOptions {
            cwd,
            registry: self.registry_override.clone(),
            config_file: None,
        });
        let (loaded, fallbacks) = loader.load_or_fallback(&dir);
        for fallback in &fallbacks {
            self.show_message(lsp::MessageType::ERROR, format!("odp: {fallback}"));
        }
        for w in &loaded.warnings {
            self.show_message(lsp::MessageType::WARNING, format!("odp: {w}"));
        }
        // The configured registry file, also when it could not be loaded: editing it reloads.
        let registry_path = match loader.registry_source(&loaded.config) {
            RegistrySource::File(p) => Some(p.clone()),
            _ => None,
        };
        let registry = loaded.registry;
        let config = &*loaded.config;
        let matcher = PipelineMatcher::new(config).unwrap_or_else(|e| {
            self.show_message(lsp::MessageType::ERROR, format!("odp: {e}"));
            PipelineMatcher::new(&LoadedConfig::default()).expect("an empty config is valid")
        });
        let (ignores, warnings) = Ignores::new(config).unwrap_or_default();
        for w in warnings {
            self.show_message(lsp::MessageType::WARNING, format!("odp: {w}"));
        }
        let workspace = Arc::new(Workspace {
            matcher,
            ignores,
            registry,
            registry_path,
            draft: config.config.draft.clone(),
        });
        self.workspaces.insert(key, workspace.clone());
        workspace
    }

    fn show_message(&self, typ: lsp::MessageType, message: String) {
        tracing::warn!("{message}");
        self.send(Message::Notification(Notification::new(
            "window/showMessage".into(),
            lsp::ShowMessageParams { typ, message },
        )));
    }

    /// Whether an open document is a pipeline: by name, `include` globs, or the modeline.
    fn is_pipeline(&mut self, uri: &lsp::Uri, doc: &Document) -> bool {
        if doc.language_id == "odp-pipeline" {
            return true;
        }
        let path = uri_to_path(uri);
        let workspace = self.workspace_for(path.as_deref());
        match &path {
            Some(p) => workspace.matcher.is_pipeline(p, || {
                Some(doc.rope.slice(..doc.rope.len_chars().min(4096)).to_string())
            }),
            None => odp_workspace::has_modeline(
                &doc.rope.slice(..doc.rope.len_chars().min(4096)).to_string(),
            ),
        }
    }

    fn snapshot(&mut self, uri: &lsp::Uri) -> Option<DocSnapshot> {
        let key = uri.as_str().to_string();
        let (_, doc) = self.docs.get(&key)?;
        let (version, rope, checks) = (doc.version, doc.rope.clone(), doc.checks.clone());
        let path = uri_to_path(uri);
        let workspace = self.workspace_for(path.as_deref());
        Some(DocSnapshot {
            uri: uri.clone(),
            version,
            text: Arc::default(),
            rope,
            workspace,
            path,
            checks,
        })
    }

    /// Schedules the analysis of a document's current version; its diagnostics are published if it is still the
    /// latest when done.
    fn schedule_diagnostics(&mut self, uri: &lsp::Uri) {
        let key = uri.as_str().to_string();
        let Some((u, d)) = self.docs.remove(&key) else {
            return;
        };
        let pipeline = d.out_of_sync.is_none() && self.is_pipeline(&u, &d);
        self.docs.insert(key.clone(), (u, d));
        if !pipeline {
            // Not (or no longer) a pipeline, or a text that may not be the client's: clear anything published
            // before, and let no analysis under way publish.
            self.latest.lock().expect("lock").remove(&key);
            let version = self.docs.get(&key).map(|(_, d)| d.version);
            self.send(Message::Notification(Notification::new(
                "textDocument/publishDiagnostics".into(),
                lsp::PublishDiagnosticsParams {
                    uri: uri.clone(),
                    diagnostics: Vec::new(),
                    version,
                },
            )));
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
            let result = catch_unwind(AssertUnwindSafe(|| {
                let (analysis, old) = snapshot.analysis_keeping_old(&cache);
                (to_lsp_diagnostics(&snapshot, &analysis, encoding), old)
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

    // ---- notifications ------------------------------------------------------------------------------------------

    fn on_notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params)
                else {
                    return;
                };
                let doc = Document::new(
                    &p.text_document.text,
                    p.text_document.version,
                    p.text_document.language_id,
                );
                let uri = p.text_document.uri;
                self.docs
                    .insert(uri.as_str().to_string(), (uri.clone(), doc));
                self.schedule_diagnostics(&uri);
            }
            "textDocument/didChange" => {
                let uri = text_document_uri(&n.params);
                match serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params) {
                    Ok(p) => self.did_change(p),
                    Err(e) => {
                        let Some(uri) = uri else {
                            tracing::warn!("a didChange without a document: {e}");
                            return;
                        };
                        if let Some((_, doc)) = self.docs.get_mut(uri.as_str())
                            && doc.out_of_sync.is_none()
                        {
                            doc.out_of_sync = Some(ChangeError::Unreadable(e.to_string()));
                            self.lost_sync(&uri);
                        }
                    }
                }
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params)
                else {
                    return;
                };
                let key = p.text_document.uri.as_str().to_string();
                self.docs.remove(&key);
                self.latest.lock().expect("lock").remove(&key);
                self.cache.lock().expect("cache lock").remove(&key);
                self.send(Message::Notification(Notification::new(
                    "textDocument/publishDiagnostics".into(),
                    lsp::PublishDiagnosticsParams {
                        uri: p.text_document.uri,
                        diagnostics: Vec::new(),
                        version: None,
                    },
                )));
            }
            "workspace/didChangeWatchedFiles" => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeWatchedFilesParams>(n.params)
                else {
                    return;
                };
                let relevant = p.changes.iter().any(|c| {
                    uri_to_path(&c.uri).is_some_and(|path| {
                        path.file_name().is_some_and(|f| f == "odp.toml")
                            || self
                                .workspaces
                                .values()
                                .any(|w| w.registry_path.as_deref() == Some(path.as_path()))
                    })
                });
                if relevant {
                    self.reload();
                }
            }
            "workspace/didChangeConfiguration" => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeConfigurationParams>(n.params)
                else {
                    return;
                };
                if let Some(reg) = p
                    .settings
                    .get("odp")
                    .and_then(|o| o.get("registry"))
                    .and_then(Value::as_str)
                {
                    self.registry_override = (!reg.is_empty()).then(|| reg.to_string());
                    self.reload();
                }
            }
            "$/cancelRequest" => {
                if let Ok(p) = serde_json::from_value::<lsp::CancelParams>(n.params) {
                    let id = match p.id {
                        lsp::NumberOrString::Number(n) => RequestId::from(n),
                        lsp::NumberOrString::String(s) => RequestId::from(s),
                    };
                    if !self.drafts.cancel_request(&id) {
                        self.cancelled.lock().expect("lock").insert(id);
                    }
                }
            }
            "window/workDoneProgress/cancel" => {
                if let Ok(p) = serde_json::from_value::<lsp::WorkDoneProgressCancelParams>(n.params)
                {
                    self.drafts.cancel_token(&p.token);
                }
            }
            _ => {}
        }
    }

    /// Applies a document's changes in order.
    fn did_change(&mut self, p: lsp::DidChangeTextDocumentParams) {
        let uri = p.text_document.uri;
        let encoding = self.encoding;
        let Some((_, doc)) = self.docs.get_mut(uri.as_str()) else {
            return;
        };
        let was_in_sync = doc.out_of_sync.is_none();
        for change in p.content_changes {
            doc.apply(change.range, &change.text, encoding);
        }
        doc.version = p.text_document.version;
        if was_in_sync && doc.out_of_sync.is_some() {
            self.lost_sync(&uri);
        } else {
            self.schedule_diagnostics(&uri);
        }
    }

    /// A change could not be applied: the text may differ from the client's, so its diagnostics are withdrawn
    /// (they would point at the wrong places) and the user is told how to recover.
    fn lost_sync(&mut self, uri: &lsp::Uri) {
        let Some((_, doc)) = self.docs.get(uri.as_str()) else {
            return;
        };
        let reason = doc.out_of_sync.as_ref().map(ToString::to_string);
        let name = uri_to_path(uri)
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

    /// Drops the loaded configurations and registries, and checks every open document again.
    fn reload(&mut self) {
        self.workspaces.clear();
        self.cache.lock().expect("cache lock").clear();
        let uris: Vec<lsp::Uri> = self.docs.values().map(|(u, _)| u.clone()).collect();
        for uri in uris {
            self.schedule_diagnostics(&uri);
        }
    }

    // ---- requests ---------------------------------------------------------------------------------------------

    fn on_request(&mut self, req: Request) {
        if req.method == "odp/debugText" {
            let uri = req
                .params
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let response = match (self.testing, self.docs.get(&uri)) {
                (true, Some((_, doc))) => {
                    // How the last analysis went (null while one runs): whether it re-parsed only the edited
                    // step and how many step bodies it reused.
                    let checks = doc.checks.try_lock().ok().map(
                        |c| json!({"reparsed": c.last_reparsed(), "reusedSteps": c.last_hits()}),
                    );
                    Response::new_ok(
                        req.id,
                        json!({
                            "text": doc.text(),
                            "version": doc.version,
                            "lastAnalysis": checks,
                            "outOfSync": doc.out_of_sync.as_ref().map(ToString::to_string),
                        }),
                    )
                }
                (false, _) => Response::new_err(
                    req.id,
                    ErrorCode::MethodNotFound as i32,
                    "odp/debugText is only available with initializationOptions.testing".into(),
                ),
                (true, None) => Response::new_err(
                    req.id,
                    ErrorCode::InvalidParams as i32,
                    format!("{uri} is not open"),
                ),
            };
            self.send(Message::Response(response));
            return;
        }
        if req.method == "workspace/executeCommand" {
            self.execute_command(req);
            return;
        }
        let uri = text_document_uri(&req.params);
        let snapshot = match &uri {
            Some(uri) => {
                let key = uri.as_str().to_string();
                let is_pipeline = match self.docs.remove(&key) {
                    // An out-of-sync text is answered like a document that is not open.
                    Some((u, d)) => {
                        let is = d.out_of_sync.is_none() && self.is_pipeline(&u, &d);
                        self.docs.insert(key, (u, d));
                        is
                    }
                    None => false,
                };
                if is_pipeline {
                    self.snapshot(uri)
                } else {
                    None
                }
            }
            None => None,
        };
        let sender = self.sender.clone();
        let cache = self.cache.clone();
        let cancelled = self.cancelled.clone();
        let encoding = self.encoding;
        let snippets = self.snippets;
        let job: Job = Box::new(move || {
            let id = req.id.clone();
            let method = req.method.clone();
            if cancelled.lock().expect("lock").remove(&id) {
                let _ = sender.send(Message::Response(Response::new_err(
                    id,
                    ErrorCode::RequestCanceled as i32,
                    "cancelled".into(),
                )));
                return;
            }
            let result = catch_unwind(AssertUnwindSafe(|| {
                handle_request(&req, snapshot.as_ref(), &cache, encoding, snippets)
            }));
            let response = match result {
                Ok(Ok(value)) => Response::new_ok(id.clone(), value),
                Ok(Err((code, message))) => Response::new_err(id.clone(), code, message),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    tracing::error!(method, what, "a request handler panicked");
                    Response::new_err(
                        id.clone(),
                        ErrorCode::InternalError as i32,
                        format!("internal error in {method}: {what}"),
                    )
                }
            };
            if cancelled.lock().expect("lock").remove(&id) {
                let _ = sender.send(Message::Response(Response::new_err(
                    id,
                    ErrorCode::RequestCanceled as i32,
                    "cancelled".into(),
                )));
                return;
            }
            let _ = sender.send(Message::Response(response));
        });
        let _ = self.jobs.send(job);
    }
}

// ---- drafts -------------------------------------------------------------------------------------------------------

impl Server {
    /// `workspace/executeCommand`: only `odp.generateDraft`, which drafts on its own thread (see draft.rs).
    fn execute_command(&mut self, req: Request) {
        let fail = |id: RequestId, code: ErrorCode, message: String| {
            Message::Response(Response::new_err(id, code as i32, message))
        };
        let params: lsp::ExecuteCommandParams = match serde_json::from_value(req.params.clone()) {
            Ok(p) => p,
            Err(e) => {
                self.send(fail(
                    req.id,
                    ErrorCode::InvalidParams,
                    format!("bad params: {e}"),
                ));
                return;
            }
        };
        if params.command != draft::COMMAND {
            self.send(fail(
                req.id,
                ErrorCode::InvalidParams,
                format!("unknown command `{}`", params.command),
            ));
            return;
        }
        let args = match draft::parse_args(&params.arguments) {
            Ok(a) => a,
            Err(e) => {
                self.send(fail(req.id, ErrorCode::InvalidParams, e));
                return;
            }
        };
        let target = match &args.uri {
            None => None,
            Some(uri) => match self.docs.get(uri.as_str()) {
                None => {
                    self.send(fail(
                        req.id,
                        ErrorCode::InvalidParams,
                        format!("{} is not open", uri.as_str()),
                    ));
                    return;
                }
                Some((_, doc)) if doc.out_of_sync.is_some() => {
                    self.send(fail(
                        req.id,
                        ErrorCode::RequestFailed,
                        format!(
                            "the server lost track of the text of {}; close and reopen it, then run the command again",
                            uri.as_str()
                        ),
                    ));
                    return;
                }
                Some((_, doc)) => Some(draft::Target {
                    uri: uri.clone(),
                    version: doc.version,
                    range: args
                        .range
                        .unwrap_or_else(|| draft::whole_document(&doc.rope, self.encoding)),
                }),
            },
        };
        let path = args.uri.as_ref().and_then(uri_to_path);
        let workspace = self.workspace_for(path.as_deref());
        let testing = self.testing;
        let env = |name: &str| (!testing).then(|| std::env::var(name).ok()).flatten();
        let settings = match draft::settings(&workspace.draft, &env) {
            Ok(s) => s,
            Err(e) => {
                self.send(fail(req.id, ErrorCode::RequestFailed, e));
                return;
            }
        };
        tracing::info!(model = %settings.describe(), "drafting a pipeline");
        let job = draft::Job {
            id: req.id,
            request: args.request,
            target,
            settings,
            registry: workspace.registry.clone(),
            section: workspace.draft.clone(),
            token: params.work_done_progress_params.work_done_token,
            create_token: self.progress_support,
        };
        let internal = self.internal_tx.clone();
        self.drafts.start(job, self.sender.clone(), move |done| {
            let _ = internal.send(Internal::Draft(done));
        });
    }

    /// A draft ended: answer the command, or ask the client to apply the edit if the document is unchanged.
    fn draft_done(&mut self, done: draft::DraftDone) {
        self.drafts.finished(&done.id);
        let outcome = match done.result {
            draft::DraftResult::Cancelled => {
                self.send(Message::Response(Response::new_err(
                    done.id,
                    ErrorCode::RequestCanceled as i32,
                    "the draft was cancelled".into(),
                )));
                return;
            }
            draft::DraftResult::Failed(message) => {
                self.send(Message::Response(Response::new_err(
                    done.id,
                    ErrorCode::RequestFailed as i32,
                    message,
                )));
                return;
            }
            draft::DraftResult::Done(outcome) => outcome,
        };
        let Some(target) = done.target else {
            self.send(Message::Response(Response::new_ok(
                done.id,
                draft::result_json(&outcome, true),
            )));
            return;
        };
        let current = self.docs.get(target.uri.as_str()).map(|(_, d)| d.version);
        if current != Some(target.version) {
            let mut response = Response::new_err(
                done.id,
                ErrorCode::ContentModified as i32,
                "the document changed while the draft was being written, so it was not applied; run the command again"
                    .into(),
            );
            if let Err(error) = response.response_result.as_mut() {
                error.data = Some(json!({"yaml": outcome.yaml}));
            }
            self.send(Message::Response(response));
            return;
        }
        if !self.apply_edit_support {
            let mut result = draft::result_json(&outcome, true);
            result["applied"] = json!(false);
            self.send(Message::Response(Response::new_ok(done.id, result)));
            return;
        }
        let mut result = draft::result_json(&outcome, false);
        result["applied"] = json!(true);
        let edit_id = self.drafts.edit_sent(done.id, result);
        self.send(Message::Request(Request::new(
            edit_id,
            "workspace/applyEdit".into(),
            draft::apply_edit_params(&target, &outcome.yaml),
        )));
    }

    /// Answers from the client to our requests: only `workspace/applyEdit` ones matter.
    fn on_response(&mut self, response: Response) {
        let Some((request, result)) = self.drafts.edit_answered(&response.id) else {
            return;
        };
        let answer = match response.response_result {
            Err(e) => Response::new_err(
                request,
                ErrorCode::RequestFailed as i32,
                format!("the editor did not apply the draft: {}", e.message),
            ),
            Ok(Value::Null) => Response::new_ok(request, result),
            Ok(v) => match serde_json::from_value::<lsp::ApplyWorkspaceEditResponse>(v) {
                Ok(r) if r.applied => Response::new_ok(request, result),
                Ok(r) => Response::new_err(
                    request,
                    ErrorCode::RequestFailed as i32,
                    format!(
                        "the editor did not apply the draft{}",
                        r.failure_reason
                            .map(|f| format!(": {f}"))
                            .unwrap_or_default()
                    ),
                ),
                Err(e) => Response::new_err(
                    request,
                    ErrorCode::RequestFailed as i32,
                    format!("the editor answered workspace/applyEdit strangely: {e}"),
                ),
            },
        };
        self.send(Message::Response(answer));
    }
}

fn text_document_uri(params: &Value) -> Option<lsp::Uri> {
    params
        .get("textDocument")
        .and_then(|t| t.get("uri"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn to_lsp_diagnostics(
    snapshot: &DocSnapshot,
    analysis: &Analysis,
    enc: Encoding,
) -> Vec<lsp::Diagnostic> {
    let rope = &snapshot.rope;
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(&format!("\nhelp: {help}"));
            }
            lsp::Diagnostic {
                range: range_to_lsp(rope, d.range, enc),
                severity: Some(match d.severity {
                    odp_analysis::Severity::Error => lsp::DiagnosticSeverity::ERROR,
                    odp_analysis::Severity::Warning => lsp::DiagnosticSeverity::WARNING,
                }),
                code: Some(lsp::NumberOrString::String(d.code.id().into())),
                code_description: d
                    .code
                    .doc_url()
                    .parse()
                    .ok()
                    .map(|href| lsp::CodeDescription { href }),
                source: Some("odp".into()),
                message,
                related_information: (!d.related.is_empty()).then(|| {
                    d.related
                        .iter()
                        .map(|r| lsp::DiagnosticRelatedInformation {
                            location: lsp::Location {
                                uri: snapshot.uri.clone(),
                                range: range_to_lsp(rope, r.range, enc),
                            },
                            message: r.message.clone(),
                        })
                        .collect()
                }),
                tags: None,
                data: Some(json!({"name": d.code.name()})),
            }
        })
        .collect()
}

type HandlerResult = Result<Value, (i32, String)>;

fn params<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, (i32, String)> {
    serde_json::from_value(req.params.clone()).map_err(|e| {
        (
            ErrorCode::InvalidParams as i32,
            format!("bad params for {}: {e}", req.method),
        )
    })
}

// lsp_types keys workspace edits by `Uri`, which clippy flags for interior mutability it never uses here.
#[allow(clippy::mutable_key_type)]
fn handle_request(
    req: &Request,
    snapshot: Option<&DocSnapshot>,
    cache: &Cache,
    enc: Encoding,
    snippets: bool,
) -> HandlerResult {
    let method = req.method.as_str();
    let Some(snap) = snapshot else {
        // Not a pipeline (or not open): nothing to offer.
        return Ok(match method {
            "textDocument/prepareRename" | "textDocument/hover" | "textDocument/definition" => {
                Value::Null
            }
            "textDocument/semanticTokens/full" => json!({"data": []}),
            "workspace/executeCommand" => {
                return Err((
                    ErrorCode::InvalidParams as i32,
                    "unknown command or document".into(),
                ));
            }
            m if m.starts_with("textDocument/") => json!([]),
            _ => {
                return Err((
                    ErrorCode::MethodNotFound as i32,
                    format!("unhandled method {method}"),
                ));
            }
        });
    };
    let analysis = snap.analysis(cache);
    let env = Environment::new(&snap.workspace.registry);
    let ide = Snapshot {
        text: snap.text(),
        analysis: &analysis,
        env: &env,
    };
    let rope = &snap.rope;
    let offset_of = |pos: lsp::Position| position_to_offset(rope, pos, enc);
    let to_range = |r: odp_analysis::TextRange| range_to_lsp(rope, r, enc);
    let ok = |v: Value| -> HandlerResult { Ok(v) };
    match method {
        "textDocument/completion" => {
            let p: lsp::CompletionParams = params(req)?;
            let items: Vec<lsp::CompletionItem> = ide
                .completions(offset_of(p.text_document_position.position))
                .into_iter()
                .map(|i| {
                    let (text, format) = if i.snippet && snippets {
                        (i.insert_text.clone(), lsp::InsertTextFormat::SNIPPET)
                    } else if i.snippet {
                        (
                            strip_snippet(&i.insert_text),
                            lsp::InsertTextFormat::PLAIN_TEXT,
                        )
                    } else {
                        (i.insert_text.clone(), lsp::InsertTextFormat::PLAIN_TEXT)
                    };
                    lsp::CompletionItem {
                        label: i.label.clone(),
                        kind: Some(match i.kind {
                            CompletionKind::Key => lsp::CompletionItemKind::PROPERTY,
                            CompletionKind::Method => lsp::CompletionItemKind::FUNCTION,
                            CompletionKind::Param => lsp::CompletionItemKind::FIELD,
                            CompletionKind::Value => lsp::CompletionItemKind::ENUM_MEMBER,
                            CompletionKind::Step => lsp::CompletionItemKind::VARIABLE,
                            CompletionKind::Input => lsp::CompletionItemKind::VARIABLE,
                            CompletionKind::Field => lsp::CompletionItemKind::FIELD,
                        }),
                        detail: i.detail.clone(),
                        documentation: i.documentation.as_ref().map(|d| {
                            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                                kind: lsp::MarkupKind::Markdown,
                                value: d.clone(),
                            })
                        }),
                        sort_text: Some(i.sort_text.clone()),
                        filter_text: Some(i.label.clone()),
                        insert_text_format: Some(format),
                        text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit {
                            range: to_range(i.replace),
                            new_text: text,
                        })),
                        ..Default::default()
                    }
                })
                .collect();
            ok(
                serde_json::to_value(lsp::CompletionResponse::List(lsp::CompletionList {
                    is_incomplete: false,
                    items,
                }))
                .expect("serializes"),
            )
        }
        "textDocument/hover" => {
            let p: lsp::HoverParams = params(req)?;
            let hover = ide
                .hover(offset_of(p.text_document_position_params.position))
                .map(|h| lsp::Hover {
                    contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                        kind: lsp::MarkupKind::Markdown,
                        value: h.markdown,
                    }),
                    range: Some(to_range(h.range)),
                });
            ok(serde_json::to_value(hover).expect("serializes"))
        }
        "textDocument/definition" => {
            let p: lsp::GotoDefinitionParams = params(req)?;
            let loc = ide
                .definition(offset_of(p.text_document_position_params.position))
                .map(|r| lsp::Location {
                    uri: snap.uri.clone(),
                    range: to_range(r),
                });
            ok(serde_json::to_value(loc).expect("serializes"))
        }
        "textDocument/references" => {
            let p: lsp::ReferenceParams = params(req)?;
            let locs: Vec<lsp::Location> = ide
                .references(
                    offset_of(p.text_document_position.position),
                    p.context.include_declaration,
                )
                .into_iter()
                .map(|r| lsp::Location {
                    uri: snap.uri.clone(),
                    range: to_range(r),
                })
                .collect();
            ok(serde_json::to_value(locs).expect("serializes"))
        }
        "textDocument/prepareRename" => {
            let p: lsp::TextDocumentPositionParams = params(req)?;
            match ide.prepare_rename(offset_of(p.position)) {
                Ok(r) => ok(
                    serde_json::to_value(lsp::PrepareRenameResponse::Range(to_range(r)))
                        .expect("serializes"),
                ),
                Err(message) => Err((ErrorCode::RequestFailed as i32, message)),
            }
        }
        "textDocument/rename" => {
            let p: lsp::RenameParams = params(req)?;
            match ide.rename(offset_of(p.text_document_position.position), &p.new_name) {
                Ok(edits) => {
                    let edits = edits
                        .into_iter()
                        .map(|e| lsp::TextEdit {
                            range: to_range(e.range),
                            new_text: e.new_text,
                        })
                        .collect();
                    let mut changes = HashMap::new();
                    changes.insert(snap.uri.clone(), edits);
                    ok(serde_json::to_value(lsp::WorkspaceEdit {
                        changes: Some(changes),
                        ..Default::default()
                    })
                    .expect("serializes"))
                }
                Err(message) => Err((ErrorCode::RequestFailed as i32, message)),
            }
        }
        "textDocument/codeAction" => {
            let p: lsp::CodeActionParams = params(req)?;
            let range = range_from_lsp(rope, p.range, enc);
            let lsp_diags = to_lsp_diagnostics(snap, &analysis, enc);
            let actions: Vec<lsp::CodeActionOrCommand> = ide
                .code_actions(range)
                .into_iter()
                .map(|a| {
                    let mut changes = HashMap::new();
                    changes.insert(
                        snap.uri.clone(),
                        a.edits
                            .iter()
                            .map(|e| lsp::TextEdit {
                                range: to_range(e.range),
                                new_text: e.new_text.clone(),
                            })
                            .collect(),
                    );
                    lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                        title: a.title,
                        kind: Some(lsp::CodeActionKind::QUICKFIX),
                        diagnostics: a
                            .diagnostic
                            .and_then(|i| lsp_diags.get(i).cloned())
                            .map(|d| vec![d]),
                        edit: Some(lsp::WorkspaceEdit {
                            changes: Some(changes),
                            ..Default::default()
                        }),
                        is_preferred: Some(a.preferred),
                        ..Default::default()
                    })
                })
                .chain(draft::code_actions(rope, &snap.uri, p.range, enc))
                .collect();
            ok(serde_json::to_value(actions).expect("serializes"))
        }
        "textDocument/documentSymbol" => {
            fn convert(
                s: odp_ide::Symbol,
                to_range: &dyn Fn(odp_analysis::TextRange) -> lsp::Range,
            ) -> lsp::DocumentSymbol {
                #[allow(deprecated)]
                lsp::DocumentSymbol {
                    name: s.name,
                    detail: s.detail,
                    kind: match s.kind {
                        SymbolKind::Pipeline => lsp::SymbolKind::MODULE,
                        SymbolKind::Section => lsp::SymbolKind::NAMESPACE,
                        SymbolKind::Step => lsp::SymbolKind::FUNCTION,
                        SymbolKind::Input => lsp::SymbolKind::VARIABLE,
                    },
                    tags: None,
                    deprecated: None,
                    range: to_range(s.range),
                    selection_range: to_range(s.selection_range),
                    children: Some(
                        s.children
                            .into_iter()
                            .map(|c| convert(c, to_range))
                            .collect(),
                    ),
                }
            }
            let symbols: Vec<lsp::DocumentSymbol> = ide
                .symbols()
                .into_iter()
                .map(|s| convert(s, &to_range))
                .collect();
            ok(serde_json::to_value(symbols).expect("serializes"))
        }
        "textDocument/foldingRange" => {
            let folds: Vec<lsp::FoldingRange> = ide
                .folds()
                .into_iter()
                .map(|f| lsp::FoldingRange {
                    start_line: f.start_line,
                    end_line: f.end_line,
                    kind: Some(match f.kind {
                        FoldKind::Region => lsp::FoldingRangeKind::Region,
                        FoldKind::Comment => lsp::FoldingRangeKind::Comment,
                    }),
                    ..Default::default()
                })
                .collect();
            ok(serde_json::to_value(folds).expect("serializes"))
        }
        "textDocument/semanticTokens/full" => {
            let mut data = Vec::new();
            let (mut prev_line, mut prev_start) = (0u32, 0u32);
            for t in ide.semantic_tokens() {
                let start = offset_to_position(rope, t.range.start(), enc);
                let end = offset_to_position(rope, t.range.end(), enc);
                if start.line != end.line {
                    continue;
                }
                let delta_line = start.line - prev_line;
                let delta_start = if delta_line == 0 {
                    start.character - prev_start
                } else {
                    start.character
                };
                data.push(lsp::SemanticToken {
                    delta_line,
                    delta_start,
                    length: end.character - start.character,
                    token_type: TokenKind::LEGEND
                        .iter()
                        .position(|k| *k == t.kind)
                        .unwrap_or(0) as u32,
                    token_modifiers_bitset: 0,
                });
                prev_line = start.line;
                prev_start = start.character;
            }
            ok(serde_json::to_value(lsp::SemanticTokens {
                result_id: None,
                data,
            })
            .expect("serializes"))
        }
        "odp/debugPanic" => panic!("debug panic requested"),
        _ => Err((
            ErrorCode::MethodNotFound as i32,
            format!("unhandled method {method}"),
        )),
    }
}

/// A snippet as plain text, for clients without snippet support: placeholders become their first choice or
/// nothing.
fn strip_snippet(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let mut inner = String::new();
            for n in chars.by_ref() {
                if n == '}' {
                    break;
                }
                inner.push(n);
            }
            // `1|a,b|` → `a`; `1:default` → `default`.
            if let Some((_, rest)) = inner.split_once('|') {
                out.push_str(rest.split([',', '|']).next().unwrap_or(""));
            } else if let Some((_, default)) = inner.split_once(':') {
                out.push_str(default);
            }
        } else {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
