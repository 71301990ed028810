//! `initialize`, the worker threads and the main loop: it owns the [`GlobalState`], applies notifications in the
//! order they arrive, hands requests to the dispatcher, and publishes what workers and loaders send back.

use crossbeam_channel::{Receiver, select, unbounded};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use serde_json::Value;

use crate::dispatch::{NotificationDispatcher, RequestDispatcher};
use crate::global_state::{ClientSettings, GlobalState, Internal, Job};
use crate::handlers::{command, debug, format, hints, notification, request, run};
use crate::{ServerError, capabilities, from_proto};

/// Runs the server on a connection (stdio, or in memory for tests) until shutdown and exit.
pub fn run(connection: Connection) -> Result<(), ServerError> {
    let (id, params) = connection.initialize_start()?;
    let params: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let client = client_settings(&params);
    let result = lsp::InitializeResult {
        capabilities: capabilities::server_capabilities(client.encoding),
        server_info: Some(lsp::ServerInfo {
            name: "odp-lsp".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    connection.initialize_finish(id, serde_json::to_value(result).expect("serializes"))?;
    tracing::info!(encoding = ?client.encoding, snippets = client.snippets, "initialized");
    // Warm-up: the bundled registry (parsed, its params schemas compiled: about 4 ms) is loaded once per process;
    // load it now, off the main loop, so that the first workspace does not wait for it (BENCHMARKS.md).
    std::thread::spawn(|| {
        let started = std::time::Instant::now();
        odp_analysis::Registry::bundled();
        tracing::debug!(
            micros = started.elapsed().as_micros() as u64,
            "bundled registry loaded (warm-up)"
        );
    });

    let (internal_tx, internal_rx) = unbounded();
    let (jobs_tx, jobs_rx) = unbounded::<Job>();
    crate::heap::raise_trim_threshold();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let rx = jobs_rx.clone();
            std::thread::spawn(move || {
                crate::heap::warm_this_threads_heap();
                for job in rx {
                    job();
                }
            })
        })
        .collect();
    let mut state = GlobalState::new(connection.sender.clone(), internal_tx, jobs_tx, client);
    state.register_watchers(&params);
    let result = main_loop(&mut state, &connection.receiver, &internal_rx);
    state.stop_runs();
    drop(state);
    // Workers finish their jobs; a workspace loader still waiting on a registry URL is not waited for.
    for w in workers {
        let _ = w.join();
    }
    result
}

fn client_settings(params: &lsp::InitializeParams) -> ClientSettings {
    let options = params.initialization_options.clone().unwrap_or(Value::Null);
    let flag = |name: &str| options.get(name).and_then(Value::as_bool).unwrap_or(false);
    #[allow(deprecated)]
    let root = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| from_proto::file_path(&f.uri))
        .or_else(|| params.root_uri.as_ref().and_then(from_proto::file_path));
    let caps = &params.capabilities;
    ClientSettings {
        encoding: capabilities::negotiate_encoding(params),
        snippets: caps
            .text_document
            .as_ref()
            .and_then(|t| t.completion.as_ref())
            .and_then(|c| c.completion_item.as_ref())
            .and_then(|i| i.snippet_support)
            .unwrap_or(false),
        registry_override: options
            .get("registry")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        root,
        testing: flag("testing"),
        result_hints: options
            .pointer("/inlayHints/results")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        type_hints: options
            .pointer("/inlayHints/types")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        label_offsets: caps
            .text_document
            .as_ref()
            .and_then(|t| t.signature_help.as_ref())
            .and_then(|s| s.signature_information.as_ref())
            .and_then(|s| s.parameter_information.as_ref())
            .and_then(|p| p.label_offset_support)
            .unwrap_or(false),
        progress_support: caps
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
        apply_edit_support: caps
            .workspace
            .as_ref()
            .and_then(|w| w.apply_edit)
            .unwrap_or(false),
        refresh_support: (
            caps.workspace
                .as_ref()
                .and_then(|w| w.code_lens.as_ref())
                .and_then(|c| c.refresh_support)
                .unwrap_or(false),
            caps.workspace
                .as_ref()
                .and_then(|w| w.inlay_hint.as_ref())
                .and_then(|c| c.refresh_support)
                .unwrap_or(false),
        ),
    }
}

fn main_loop(
    state: &mut GlobalState,
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
                    Message::Request(req) => on_request(state, req),
                    Message::Notification(n) if n.method == "exit" => return Ok(()),
                    Message::Notification(n) => on_notification(state, n),
                    Message::Response(response) => command::on_response(state, response),
                }
            }
            recv(internal) -> msg => match msg {
                Ok(Internal::Publish { uri, version, diagnostics }) => {
                    state.publish(uri, version, diagnostics);
                }
                Ok(Internal::Draft(done)) => command::draft_done(state, done),
                Ok(Internal::Run(done)) => run::run_done(state, done),
                Ok(Internal::WorkspaceLoaded { key, generation, workspace, messages }) => {
                    state.workspace_loaded(key, generation, workspace, messages);
                    // The requests that waited for it; those whose workspace is still loading wait again.
                    for req in std::mem::take(&mut state.deferred) {
                        on_request(state, req);
                    }
                }
                Err(_) => {}
            }
        }
    }
}

/// Every request the server answers: one line each.
fn on_request(state: &mut GlobalState, req: Request) {
    use lsp::request::*;
    if state.shutdown {
        state.send(Message::Response(Response::new_err(
            req.id,
            ErrorCode::InvalidRequest as i32,
            "the server is shutting down".into(),
        )));
        return;
    }
    if req.method == Shutdown::METHOD {
        state.shutdown = true;
        state.drafts.cancel_all();
        // Every request gets an answer: those still waiting for a workspace too.
        for waiting in std::mem::take(&mut state.deferred) {
            state.send(Message::Response(Response::new_err(
                waiting.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            )));
        }
        state.send(Message::Response(Response::new_ok(req.id, ())));
        return;
    }
    let testing = state.testing;
    let mut d = RequestDispatcher::new(req, state);
    d.on::<Completion>(request::completion)
        .on::<HoverRequest>(request::hover)
        .on::<GotoDefinition>(request::definition)
        .on::<References>(request::references)
        .on::<PrepareRenameRequest>(request::prepare_rename)
        .on::<Rename>(request::rename)
        .on::<CodeActionRequest>(request::code_action)
        .on::<DocumentSymbolRequest>(request::document_symbol)
        .on::<FoldingRangeRequest>(request::folding_range)
        .on::<SemanticTokensFullRequest>(request::semantic_tokens_full)
        .on::<Formatting>(format::formatting)
        .on::<RangeFormatting>(format::range_formatting)
        .on::<CodeLensRequest>(run::code_lens)
        .on::<InlayHintRequest>(hints::inlay_hint)
        .on::<InlayHintResolveRequest>(hints::inlay_hint_resolve)
        .on::<SignatureHelpRequest>(request::signature_help)
        .on_sync::<ExecuteCommand>(command::execute_command);
    if testing {
        d.on_sync::<debug::DebugText>(debug::debug_text)
            .on::<debug::DebugPanic>(debug::debug_panic);
    }
    d.finish();
}

/// Every notification the server acts on: one line each.
fn on_notification(state: &mut GlobalState, n: Notification) {
    use lsp::notification::*;
    let testing = state.testing;
    let mut d = NotificationDispatcher::new(n, state);
    d.on::<DidOpenTextDocument>(notification::did_open)
        .on_or::<DidChangeTextDocument>(
            notification::did_change,
            notification::did_change_unreadable,
        )
        .on::<DidCloseTextDocument>(notification::did_close)
        .on::<DidChangeWatchedFiles>(notification::did_change_watched_files)
        .on::<DidChangeConfiguration>(notification::did_change_configuration)
        .on::<Cancel>(notification::cancel_request)
        .on::<WorkDoneProgressCancel>(notification::work_done_progress_cancel);
    if testing {
        d.on::<debug::DebugPanicNotification>(debug::debug_panic_notification);
    }
    d.finish();
}
