//! Test hooks, registered only with `initializationOptions.testing`: the server's view of a document, and
//! handlers that panic on purpose (to show that a panic answers an error and the server lives on).

use lsp_server::{ErrorCode, Message, Request, Response};
use lsp_types as lsp;
use serde_json::{Value, json};

use crate::dispatch::{DocContext, HandlerResult};
use crate::global_state::GlobalState;

/// `odp/debugText {uri}`: the text, version and out-of-sync state the server has for an open document, and how
/// its last analysis went.
pub(crate) enum DebugText {}

impl lsp::request::Request for DebugText {
    type Params = Value;
    type Result = Value;
    const METHOD: &'static str = "odp/debugText";
}

/// `odp/debugPanic {textDocument}`: a request handler that panics.
pub(crate) enum DebugPanic {}

impl lsp::request::Request for DebugPanic {
    type Params = Value;
    type Result = Value;
    const METHOD: &'static str = "odp/debugPanic";
}

/// `odp/debugPanicNotification`: a notification handler that panics.
pub(crate) enum DebugPanicNotification {}

impl lsp::notification::Notification for DebugPanicNotification {
    type Params = Value;
    const METHOD: &'static str = "odp/debugPanicNotification";
}

pub(crate) fn debug_text(state: &mut GlobalState, req: Request, params: Value) {
    let uri = params
        .get("uri")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let response = match state.docs.get(&uri) {
        Some((_, doc)) => {
            // How the last analysis went (null while one runs): whether it re-parsed only the edited step and how
            // many step bodies it reused.
            let checks = doc
                .checks
                .try_lock()
                .ok()
                .map(|c| json!({"reparsed": c.last_reparsed(), "reusedSteps": c.last_hits()}));
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
        None => Response::new_err(
            req.id,
            ErrorCode::InvalidParams as i32,
            format!("{uri} is not open"),
        ),
    };
    state.send(Message::Response(response));
}

pub(crate) fn debug_panic(_: &DocContext, _: Value) -> HandlerResult<Value> {
    panic!("debug panic requested")
}

pub(crate) fn debug_panic_notification(_: &mut GlobalState, _: Value) {
    panic!("debug panic requested")
}
