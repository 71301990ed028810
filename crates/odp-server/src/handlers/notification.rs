//! Notifications, applied on the main loop in the order they arrive, so edits can never be reordered.

use lsp_server::RequestId;
use lsp_types as lsp;
use serde_json::Value;

use crate::document::{ChangeError, Document};
use crate::from_proto;
use crate::global_state::GlobalState;

pub(crate) fn did_open(state: &mut GlobalState, p: lsp::DidOpenTextDocumentParams) {
    let doc = Document::new(
        &p.text_document.text,
        p.text_document.version,
        p.text_document.language_id,
    );
    let uri = p.text_document.uri;
    state
        .docs
        .insert(uri.as_str().to_string(), (uri.clone(), doc));
    state.schedule_diagnostics(&uri);
}

/// Applies a document's changes in order.
pub(crate) fn did_change(state: &mut GlobalState, p: lsp::DidChangeTextDocumentParams) {
    let uri = p.text_document.uri;
    let encoding = state.encoding;
    let Some((_, doc)) = state.docs.get_mut(uri.as_str()) else {
        return;
    };
    let was_in_sync = doc.out_of_sync.is_none();
    for change in p.content_changes {
        doc.apply(change.range, &change.text, encoding);
    }
    doc.version = p.text_document.version;
    if was_in_sync && doc.out_of_sync.is_some() {
        state.lost_sync(&uri);
    } else {
        state.schedule_diagnostics(&uri);
    }
}

/// A change that cannot be read may have changed the text in any way: its document is out of sync from now on.
pub(crate) fn did_change_unreadable(state: &mut GlobalState, params: &Value, e: serde_json::Error) {
    let Some(uri) = from_proto::text_document_uri(params) else {
        tracing::warn!("a didChange without a document: {e}");
        return;
    };
    if let Some((_, doc)) = state.docs.get_mut(uri.as_str())
        && doc.out_of_sync.is_none()
    {
        doc.out_of_sync = Some(ChangeError::Unreadable(e.to_string()));
        state.lost_sync(&uri);
    }
}

pub(crate) fn did_close(state: &mut GlobalState, p: lsp::DidCloseTextDocumentParams) {
    let key = p.text_document.uri.as_str().to_string();
    state.docs.remove(&key);
    state.results.remove(&key);
    if let Some(running) = state.running.remove(&key) {
        running.cancel.cancel();
    }
    state.latest.lock().expect("lock").remove(&key);
    state.cache.lock().expect("cache lock").remove(&key);
    state.notify::<lsp::notification::PublishDiagnostics>(lsp::PublishDiagnosticsParams {
        uri: p.text_document.uri,
        diagnostics: Vec::new(),
        version: None,
    });
}

/// `odp.toml` or a configured registry file changed: everything is loaded and checked again.
pub(crate) fn did_change_watched_files(
    state: &mut GlobalState,
    p: lsp::DidChangeWatchedFilesParams,
) {
    let relevant = p.changes.iter().any(|c| {
        from_proto::file_path(&c.uri).is_some_and(|path| {
            path.file_name().is_some_and(|f| f == "odp.toml") || state.is_registry_file(&path)
        })
    });
    if relevant {
        state.reload();
    }
}

/// The client's `odp.registry`, `odp.inlayHints.results` and `odp.inlayHints.types` settings.
pub(crate) fn did_change_configuration(
    state: &mut GlobalState,
    p: lsp::DidChangeConfigurationParams,
) {
    let hints = |name: &str| {
        p.settings
            .pointer(&format!("/odp/inlayHints/{name}"))
            .and_then(Value::as_bool)
    };
    let (results, types) = (hints("results"), hints("types"));
    if let Some(on) = results {
        state.result_hints = on;
    }
    if let Some(on) = types {
        state.type_hints = on;
    }
    if results.is_some() || types.is_some() {
        state.refresh_inlay_hints();
    }
    if let Some(registry) = p
        .settings
        .get("odp")
        .and_then(|o| o.get("registry"))
        .and_then(Value::as_str)
    {
        state.registry_override = (!registry.is_empty()).then(|| registry.to_string());
        state.reload();
    }
}

pub(crate) fn cancel_request(state: &mut GlobalState, p: lsp::CancelParams) {
    let id = match p.id {
        lsp::NumberOrString::Number(n) => RequestId::from(n),
        lsp::NumberOrString::String(s) => RequestId::from(s),
    };
    if state.drafts.cancel_request(&id) {
        return;
    }
    // A run's own request: the run stops, and its end answers the request as cancelled.
    if let Some(run) = state.running.values().find(|r| r.request == id) {
        run.cancel.cancel();
    }
    state.cancelled.lock().expect("lock").insert(id);
}

pub(crate) fn work_done_progress_cancel(
    state: &mut GlobalState,
    p: lsp::WorkDoneProgressCancelParams,
) {
    state.drafts.cancel_token(&p.token);
}
