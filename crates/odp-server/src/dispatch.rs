//! The typed dispatcher: one line registers a handler for an LSP request or notification type. It reads the params
//! once, answers a panic or an error of a handler with an error response (the server lives on), honours
//! `$/cancelRequest`, and answers for documents that are not pipelines, so no handler repeats any of it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use odp_analysis::{Analysis, Environment, TextRange};
use odp_syntax::PositionEncoding;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::global_state::{GlobalState, Job, RequestTarget};
use crate::snapshot::DocSnapshot;
use crate::{from_proto, to_proto};

/// Why a handler could not answer: an LSP error code and a message.
#[derive(Debug)]
pub(crate) struct HandlerError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl HandlerError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> HandlerError {
        HandlerError {
            code,
            message: message.into(),
        }
    }
}

pub(crate) type HandlerResult<T> = Result<T, HandlerError>;

/// What a request handler answers from: one document version, its analysis, and how positions are counted.
pub(crate) struct DocContext<'a> {
    pub(crate) snap: &'a DocSnapshot,
    pub(crate) analysis: Arc<Analysis>,
    pub(crate) env: Environment<'a>,
    pub(crate) encoding: PositionEncoding,
    pub(crate) snippets: bool,
    pub(crate) label_offsets: bool,
}

impl DocContext<'_> {
    pub(crate) fn ide(&self) -> odp_ide::Snapshot<'_> {
        odp_ide::Snapshot {
            text: self.snap.text(),
            analysis: &self.analysis,
            env: &self.env,
        }
    }

    pub(crate) fn offset(&self, position: lsp::Position) -> usize {
        from_proto::offset(&self.snap.rope, position, self.encoding)
    }

    pub(crate) fn range(&self, range: TextRange) -> lsp::Range {
        to_proto::range(&self.snap.rope, range, self.encoding)
    }

    pub(crate) fn location(&self, range: TextRange) -> lsp::Location {
        to_proto::location(&self.snap.uri, &self.snap.rope, range, self.encoding)
    }
}

/// Dispatches one request to the handler registered for its method.
pub(crate) struct RequestDispatcher<'a> {
    req: Option<Request>,
    state: &'a mut GlobalState,
}

impl<'a> RequestDispatcher<'a> {
    pub(crate) fn new(req: Request, state: &'a mut GlobalState) -> Self {
        RequestDispatcher {
            req: Some(req),
            state,
        }
    }

    fn take<R: lsp::request::Request>(&mut self) -> Option<Request> {
        self.req.take_if(|r| r.method == R::METHOD)
    }

    /// A request about one document, answered on a worker thread against a snapshot of it. For a document that
    /// is not an open pipeline the answer is "nothing"; while its workspace loads, the request waits for it.
    pub(crate) fn on<R>(
        &mut self,
        handler: fn(&DocContext, R::Params) -> HandlerResult<R::Result>,
    ) -> &mut Self
    where
        R: lsp::request::Request,
        R::Params: DeserializeOwned + Send + 'static,
        R::Result: Serialize,
    {
        let Some(req) = self.take::<R>() else {
            return self;
        };
        let target = match from_proto::text_document_uri(&req.params) {
            Some(uri) => self.state.request_target(&uri),
            None => RequestTarget::Nothing,
        };
        let snapshot = match target {
            RequestTarget::Wait => {
                self.state.deferred.push(req);
                return self;
            }
            RequestTarget::Nothing => None,
            RequestTarget::Snapshot(snapshot) => Some(snapshot),
        };
        let (cache, encoding, snippets, label_offsets) = (
            self.state.cache.clone(),
            self.state.encoding,
            self.state.snippets,
            self.state.label_offsets,
        );
        self.spawn(req, move |req| {
            let Some(snap) = snapshot else {
                return Ok(nothing_to_offer(&req));
            };
            let params: R::Params = read_params(&req)?;
            let live = snap.live_types();
            let ctx = DocContext {
                snap: &snap,
                analysis: snap.analysis(&cache),
                env: Environment {
                    live: &live,
                    ..Environment::new(&snap.workspace.registry)
                },
                encoding,
                snippets,
                label_offsets,
            };
            let result = handler(&ctx, params)?;
            Ok(serde_json::to_value(result).expect("LSP results serialize"))
        });
        self
    }

    /// A request the main loop answers itself (it reads or changes the state); the handler sends the response,
    /// now or later (a draft answers when it ends).
    pub(crate) fn on_sync<R>(
        &mut self,
        handler: fn(&mut GlobalState, Request, R::Params),
    ) -> &mut Self
    where
        R: lsp::request::Request,
        R::Params: DeserializeOwned,
    {
        let Some(req) = self.take::<R>() else {
            return self;
        };
        let state = &mut *self.state;
        match read_params::<R::Params>(&req) {
            Err(e) => state.send(Message::Response(Response::new_err(
                req.id,
                e.code as i32,
                e.message,
            ))),
            Ok(params) => {
                let (id, method) = (req.id.clone(), req.method.clone());
                if catch_unwind(AssertUnwindSafe(|| handler(state, req, params))).is_err() {
                    tracing::error!(method, "a request handler panicked");
                    state.send(Message::Response(Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        format!("internal error in {method}"),
                    )));
                }
            }
        }
        self
    }

    /// Answers a request nobody registered for.
    pub(crate) fn finish(&mut self) {
        if let Some(req) = self.req.take() {
            let message = format!("unhandled method {}", req.method);
            self.state.send(Message::Response(Response::new_err(
                req.id,
                ErrorCode::MethodNotFound as i32,
                message,
            )));
        }
    }

    fn spawn(
        &mut self,
        req: Request,
        answer: impl FnOnce(Request) -> HandlerResult<Value> + Send + 'static,
    ) {
        spawn(self.state, req, answer);
    }
}

/// Runs `answer` on a worker: a cancelled request is answered as cancelled, a panic as an internal error. For
/// handlers of the main loop whose work is a document's analysis (`odp.showGraph`).
pub(crate) fn spawn(
    state: &GlobalState,
    req: Request,
    answer: impl FnOnce(Request) -> HandlerResult<Value> + Send + 'static,
) {
    let (sender, cancelled) = (state.sender.clone(), state.cancelled.clone());
    let job: Job = Box::new(move || {
        let (id, method) = (req.id.clone(), req.method.clone());
        let cancelled_now = || cancelled.lock().expect("lock").remove(&id);
        if cancelled_now() {
            let _ = sender.send(Message::Response(Response::new_err(
                id,
                ErrorCode::RequestCanceled as i32,
                "cancelled".into(),
            )));
            return;
        }
        let response = match catch_unwind(AssertUnwindSafe(|| answer(req))) {
            Ok(Ok(value)) => Response::new_ok(id.clone(), value),
            Ok(Err(e)) => Response::new_err(id.clone(), e.code as i32, e.message),
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
        if cancelled_now() {
            let _ = sender.send(Message::Response(Response::new_err(
                id,
                ErrorCode::RequestCanceled as i32,
                "cancelled".into(),
            )));
            return;
        }
        let _ = sender.send(Message::Response(response));
    });
    let _ = state.jobs.send(job);
}

fn read_params<P: DeserializeOwned>(req: &Request) -> HandlerResult<P> {
    serde_json::from_value(req.params.clone()).map_err(|e| {
        HandlerError::new(
            ErrorCode::InvalidParams,
            format!("bad params for {}: {e}", req.method),
        )
    })
}

/// The answer for a document that is not an open pipeline.
fn nothing_to_offer(req: &Request) -> Value {
    match req.method.as_str() {
        "textDocument/prepareRename"
        | "textDocument/hover"
        | "textDocument/definition"
        | "textDocument/signatureHelp" => Value::Null,
        // A resolve request answers with what it was given.
        "inlayHint/resolve" => req.params.clone(),
        "textDocument/semanticTokens/full" => json!({"data": []}),
        _ => json!([]),
    }
}

/// Dispatches one notification to the handler registered for its method. A handler's panic is logged and the
/// server reads on.
pub(crate) struct NotificationDispatcher<'a> {
    not: Option<Notification>,
    state: &'a mut GlobalState,
}

impl<'a> NotificationDispatcher<'a> {
    pub(crate) fn new(not: Notification, state: &'a mut GlobalState) -> Self {
        NotificationDispatcher {
            not: Some(not),
            state,
        }
    }

    pub(crate) fn on<N>(&mut self, handler: fn(&mut GlobalState, N::Params)) -> &mut Self
    where
        N: lsp::notification::Notification,
        N::Params: DeserializeOwned,
    {
        self.on_or::<N>(handler, |_, _, e| {
            tracing::warn!("{}: unreadable params: {e}", N::METHOD);
        })
    }

    /// As [`NotificationDispatcher::on`], with `unreadable` handling params that cannot be read.
    pub(crate) fn on_or<N>(
        &mut self,
        handler: fn(&mut GlobalState, N::Params),
        unreadable: fn(&mut GlobalState, &Value, serde_json::Error),
    ) -> &mut Self
    where
        N: lsp::notification::Notification,
        N::Params: DeserializeOwned,
    {
        let Some(not) = self.not.take_if(|n| n.method == N::METHOD) else {
            return self;
        };
        let state = &mut *self.state;
        let handled = catch_unwind(AssertUnwindSafe(|| {
            match serde_json::from_value::<N::Params>(not.params.clone()) {
                Ok(params) => handler(state, params),
                Err(e) => unreadable(state, &not.params, e),
            }
        }));
        if handled.is_err() {
            tracing::error!(method = N::METHOD, "a notification handler panicked");
        }
        self
    }

    /// Notifications nobody registered for are left alone (`$/` ones may be ignored, says LSP).
    pub(crate) fn finish(&mut self) {
        if let Some(not) = self.not.take() {
            tracing::debug!(method = not.method, "notification not handled");
        }
    }
}
