//! The Jupyter side: the five channels over ZeroMQ (`jupyter-zmq-client` binds the sockets, signs what is sent
//! and checks the signature of what is received; `jupyter-protocol` has the message types), and the dispatch of
//! each request to the [`Session`].
//!
//! - shell: one request at a time, in order. Each gets `busy` on iopub first, then its outputs, then the reply,
//!   then `idle`. A handler that panics answers with an error reply; the kernel lives on.
//! - control: `kernel_info`, `interrupt` (cancels the running steps; the session keeps its state) and `shutdown`
//!   (also for restarts: the client starts a new process), answered even while a cell runs.
//! - iopub: one task publishes everything, in order; `flush` waits until what was queued is sent.
//! - heartbeat: echoes. stdin: bound, unused (cells never ask for input).
//!
//! Messages with a wrong or missing signature are dropped and logged, never answered.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};

use jupyter_protocol::{
    ClearOutput, CodeMirrorMode, CommClose, CommInfoReply, CompleteReply, DisplayData, ErrorOutput,
    ExecuteInput, ExecuteReply, ExecuteRequest, ExecuteResult, ExecutionCount, Header, HelpLink,
    HistoryEntry, HistoryReply, HistoryRequest, InspectReply, InterruptReply, IsCompleteReply,
    JupyterMessage, JupyterMessageContent, KernelInfoReply, LanguageInfo, Media, Payload,
    ReplyError, ReplyStatus, ShutdownReply, Status, StreamContent, Transient, UnknownMessage,
};
use jupyter_zmq_client::{
    Connection, ConnectionInfo, RawMessage, RuntimeError, create_kernel_control_connection,
    create_kernel_heartbeat_connection, create_kernel_iopub_connection,
    create_kernel_shell_connection, create_kernel_stdin_connection,
};
use odp_exec::{BoxFuture, Event, EventSink};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use zeromq::{SocketRecv, SocketSend};

use crate::session::{
    Begin, CellError, CellOutput, Completeness, HISTORY_SESSION, Output, Session, byte_to_char,
    char_to_byte,
};

// ---- iopub ------------------------------------------------------------------------------------------------------

enum IopubCommand {
    Send(Box<JupyterMessage>),
    Flush(oneshot::Sender<()>),
}

/// The iopub publisher: messages go out in the order they were queued.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<IopubCommand>,
}

impl Iopub {
    fn spawn(mut conn: jupyter_zmq_client::KernelIoPubConnection) -> Iopub {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(cmd) = rx.recv().await {
                match cmd {
                    IopubCommand::Send(msg) => {
                        if let Err(e) = conn.send(*msg).await {
                            tracing::error!(error = %e, "cannot publish on iopub");
                        }
                    }
                    IopubCommand::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Iopub { tx }
    }

    pub fn send(&self, mut msg: JupyterMessage) {
        msg.header.username = "odp".into();
        let _ = self.tx.send(IopubCommand::Send(Box::new(msg)));
    }

    /// Waits until every message queued so far is sent.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(IopubCommand::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

// ---- progress ---------------------------------------------------------------------------------------------------

/// Step events as lines on the running cell's stdout.
pub struct ProgressSink {
    iopub: Iopub,
    /// Shared, not copied per event: the request holds the whole cell, which may be long.
    parent: Mutex<Option<Arc<JupyterMessage>>>,
}

impl ProgressSink {
    fn set_parent(&self, parent: Option<Arc<JupyterMessage>>) {
        *self.parent.lock().unwrap_or_else(|e| e.into_inner()) = parent;
    }
}

impl EventSink for ProgressSink {
    fn emit(&self, event: Event) {
        let parent = self
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let (Some(parent), Some(line)) = (parent, odp_exec::events::progress_line(&event)) {
            self.iopub
                .send(StreamContent::stdout(&format!("{line}\n")).as_child_of(&parent));
        }
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

// ---- reading messages -------------------------------------------------------------------------------------------

/// A received message; `problem` says why its content could not be read (it is answered with an error).
pub struct Incoming {
    pub msg: JupyterMessage,
    pub problem: Option<String>,
}

/// Fills in what some clients leave out (jupyter_client's `history()` sends only the fields it was given).
fn normalize(msg_type: &str, content: &mut Value) {
    let Some(map) = content.as_object_mut() else {
        return;
    };
    let mut default = |k: &str, v: Value| {
        if map.get(k).is_none_or(Value::is_null) {
            map.insert(k.to_string(), v);
        }
    };
    match msg_type {
        "history_request" => {
            default("output", json!(false));
            default("raw", json!(true));
            default("hist_access_type", json!("tail"));
            default("n", json!(0));
            default("unique", json!(false));
            default("pattern", json!("*"));
            default("start", json!(0));
            default("stop", json!(0));
        }
        "execute_request" => {
            default("silent", json!(false));
            default("store_history", json!(true));
            default("user_expressions", json!({}));
        }
        "shutdown_request" => default("restart", json!(false)),
        "complete_request" | "inspect_request" => default("cursor_pos", json!(0)),
        _ => {}
    }
}

/// Decodes a raw message whose signature was checked.
pub fn decode(raw: RawMessage) -> Result<Incoming, String> {
    if raw.jparts.len() < 4 {
        return Err(format!("{} JSON frames, expected 4", raw.jparts.len()));
    }
    let header: Header =
        serde_json::from_slice(&raw.jparts[0]).map_err(|e| format!("bad header: {e}"))?;
    let parent_header: Option<Header> = serde_json::from_slice(&raw.jparts[1]).ok();
    let metadata: Value = serde_json::from_slice(&raw.jparts[2]).unwrap_or_else(|_| json!({}));
    let mut content: Value =
        serde_json::from_slice(&raw.jparts[3]).map_err(|e| format!("bad content: {e}"))?;
    normalize(&header.msg_type, &mut content);
    let (content, problem) =
        match JupyterMessageContent::from_type_and_content(&header.msg_type, content.clone()) {
            Ok(c) => (c, None),
            Err(e) => (
                JupyterMessageContent::UnknownMessage(UnknownMessage {
                    msg_type: header.msg_type.clone(),
                    content,
                }),
                Some(format!("cannot read a `{}`: {e}", header.msg_type)),
            ),
        };
    Ok(Incoming {
        msg: JupyterMessage {
            zmq_identities: raw.zmq_identities,
            header,
            parent_header,
            metadata,
            content,
            buffers: raw.jparts[4..].to_vec(),
            channel: None,
        },
        problem,
    })
}

/// Reads the next message of a channel. A message with a bad signature or broken frames is logged and dropped
/// (`Ok(None)`); `Err` is a socket error.
async fn read<S: SocketRecv>(
    conn: &mut Connection<S>,
    channel: &str,
) -> Result<Option<Incoming>, zeromq::ZmqError> {
    let multipart = conn.socket.recv().await?;
    let raw = match RawMessage::from_multipart(multipart, &conn.mac) {
        Ok(raw) => raw,
        Err(RuntimeError::VerifyError(_)) => {
            tracing::warn!(
                channel,
                "rejected a message with a wrong signature (HMAC-SHA256 does not match the connection key)"
            );
            return Ok(None);
        }
        Err(RuntimeError::DecodeError(_)) => {
            tracing::warn!(
                channel,
                "rejected a message with a malformed signature (not hex)"
            );
            return Ok(None);
        }
        Err(e) => {
            tracing::warn!(channel, error = %e, "rejected a malformed message");
            return Ok(None);
        }
    };
    match decode(raw) {
        Ok(incoming) => Ok(Some(incoming)),
        Err(e) => {
            tracing::warn!(channel, error = %e, "rejected a message that cannot be read");
            Ok(None)
        }
    }
}

// ---- replies ----------------------------------------------------------------------------------------------------

fn reply_error(e: &CellError) -> Option<Box<ReplyError>> {
    Some(Box::new(ReplyError {
        ename: e.ename.clone(),
        evalue: e.evalue.clone(),
        traceback: e.traceback.clone(),
    }))
}

/// An error reply to a request whose content could not be read or whose type is unknown.
fn generic_error_reply(msg: &JupyterMessage, ename: &str, evalue: &str) -> Option<JupyterMessage> {
    let msg_type = &msg.header.msg_type;
    let reply_type = msg_type.strip_suffix("_request")?;
    Some(JupyterMessage::new(
        JupyterMessageContent::UnknownMessage(UnknownMessage {
            msg_type: format!("{reply_type}_reply"),
            content: json!({
                "status": "error",
                "ename": ename,
                "evalue": evalue,
                "traceback": [format!("{ename}: {evalue}")],
            }),
        }),
        Some(msg),
    ))
}

fn media(bundle: Map<String, Value>) -> Media {
    let plain = bundle
        .get("text/plain")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_json::from_value(Value::Object(bundle))
        .unwrap_or_else(|_| Media::new(vec![jupyter_protocol::MediaType::Plain(plain)]))
}

/// The execute reply's payloads: pages (`%explain`), then the next cell's text (`%%draft`).
pub fn payloads(out: &CellOutput) -> Vec<Payload> {
    let mut payload: Vec<Payload> = out
        .pages
        .iter()
        .map(|page| Payload::Page {
            data: media(page.clone()),
            start: 0,
        })
        .collect();
    if let Some(text) = &out.next_input {
        payload.push(Payload::SetNextInput {
            text: text.clone(),
            replace: false,
        });
    }
    payload
}

/// Runs a handler, turning a panic into an error.
fn isolate<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, CellError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(what, %message, "a handler panicked");
        CellError::new(
            "InternalError",
            format!("odp kernel bug while handling {what}: {message} (the kernel goes on)"),
        )
    })
}

// ---- the kernel -------------------------------------------------------------------------------------------------

/// What the kernel needs besides its sockets.
pub struct Setup {
    pub session: Session,
    pub config: odp_workspace::LoadedConfig,
    pub options: crate::services::ServiceOptions,
}

struct Kernel {
    session: Mutex<Session>,
    /// The running cell's cancellation.
    current: Mutex<Option<CancellationToken>>,
    iopub: Iopub,
    progress: Arc<ProgressSink>,
    /// The engine, the configured sinks and the built-in stubs, as `odp run` has them.
    services: Arc<odp_exec::wiring::Services>,
    /// Where cells' steps run: the services' engine, or a Temporal cluster (`--engine temporal`).
    engine: Arc<dyn odp_exec::Engine>,
    banner: String,
    shutdown: CancellationToken,
    /// A note for the first cell that runs steps (the built-in stubs are in use), taken when shown.
    services_note: Mutex<Option<String>>,
    /// `odp.toml`'s `[draft]` section, for `%%draft` (the model itself comes from the environment).
    draft_section: odp_workspace::DraftSection,
}

pub fn kernel_info(banner: &str) -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: "5.3".into(),
        implementation: "odp-kernel".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "odp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mimetype: Some("text/x-yaml".into()),
            file_extension: Some(".yaml".into()),
            pygments_lexer: Some("yaml".into()),
            codemirror_mode: Some(CodeMirrorMode::Simple("yaml".into())),
            nbconvert_exporter: None,
        },
        banner: banner.into(),
        help_links: vec![HelpLink {
            text: "The ODP pipeline language".into(),
            url: format!(
                "{}/blob/main/docs/language.md",
                env!("CARGO_PKG_REPOSITORY")
            ),
        }],
        debugger: false,
        error: None,
    }
}

impl Kernel {
    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn interrupt(&self) {
        if let Some(token) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            token.cancel();
        }
    }

    fn publish_outputs(&self, parent: &JupyterMessage, out: &CellOutput, count: usize) {
        let last_result = out
            .outputs
            .iter()
            .rposition(|o| matches!(o, Output::Result(_)));
        for (i, output) in out.outputs.iter().enumerate() {
            let msg = match output {
                Output::Stdout(text) => StreamContent::stdout(text).as_child_of(parent),
                Output::Stderr(text) => StreamContent::stderr(text).as_child_of(parent),
                Output::Result(bundle) if Some(i) == last_result => ExecuteResult {
                    execution_count: ExecutionCount::new(count),
                    data: media(bundle.clone()),
                    metadata: Map::new(),
                    transient: Some(Transient::default()),
                }
                .as_child_of(parent),
                Output::Result(bundle) | Output::Display(bundle) => DisplayData {
                    data: media(bundle.clone()),
                    metadata: Map::new(),
                    transient: Some(Transient::default()),
                }
                .as_child_of(parent),
                Output::Clear => ClearOutput { wait: false }.as_child_of(parent),
            };
            self.iopub.send(msg);
        }
        if let Some(e) = &out.error {
            self.iopub.send(
                ErrorOutput {
                    ename: e.ename.clone(),
                    evalue: e.evalue.clone(),
                    traceback: e.traceback.clone(),
                }
                .as_child_of(parent),
            );
        }
    }

    async fn execute(
        &self,
        parent: &JupyterMessage,
        req: &ExecuteRequest,
    ) -> (JupyterMessage, bool) {
        let silent = req.silent;
        let store = req.store_history && !silent;
        let count = self.session().start_cell(store);
        if !silent {
            self.iopub.send(
                ExecuteInput {
                    code: req.code.clone(),
                    execution_count: ExecutionCount::new(count),
                }
                .as_child_of(parent),
            );
        }
        let begin = isolate("execute_request", || self.session().begin(&req.code, count));
        let out = match begin {
            Err(e) => CellOutput {
                error: Some(e),
                ..CellOutput::default()
            },
            Ok(Begin::Done(out)) => out,
            Ok(Begin::Draft(job)) => self.draft(parent, job, count, silent).await,
            Ok(Begin::Run(mut job)) => 'run: {
                let mut before = CellOutput {
                    outputs: job.before.clone(),
                    ..CellOutput::default()
                };
                let note = self
                    .services_note
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if let Some(note) = note {
                    // On stdout: a notice, not a problem (JupyterLab draws stderr as a pink error box).
                    before.outputs.insert(0, Output::Stdout(note));
                }
                if !silent {
                    self.publish_outputs(parent, &before, count);
                    self.progress.set_parent(Some(Arc::new(parent.clone())));
                }
                if let Err(e) = self
                    .services
                    .check_steps(job.sources.iter().chain(&job.transforms))
                {
                    let out = CellOutput {
                        error: Some(CellError {
                            ename: "ConfigError".into(),
                            evalue: e.to_string(),
                            traceback: vec![format!("ConfigError: {e}")],
                        }),
                        ..CellOutput::default()
                    };
                    break 'run out;
                }
                let token = CancellationToken::new();
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
                let lost_before = self.services.events.lost();
                // The engine flushes its sinks when the run ends: the cell's events are delivered or kept before
                // its reply, so a loss shows on the cell that had it.
                let outcome = job.run(self.engine.as_ref(), token).await;
                let lost = self.services.events.lost().saturating_sub(lost_before);
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.progress.set_parent(None);
                let mut out = match isolate("execute_request", || {
                    self.session().finish(job, &outcome, count)
                }) {
                    Ok(out) => out,
                    Err(e) => CellOutput {
                        error: Some(e),
                        ..CellOutput::default()
                    },
                };
                if lost > 0 {
                    out.outputs.push(Output::Stderr(format!(
                        "odp: {lost} lifecycle event{} of this cell could be neither delivered nor kept (the kernel's log says why)\n",
                        if lost == 1 { "" } else { "s" }
                    )));
                }
                out
            }
        };
        if !silent {
            self.publish_outputs(parent, &out, count);
        }
        let result_text = out.result_text();
        self.session()
            .end_cell(count, &req.code, result_text, store);
        let payload = payloads(&out);
        let failed = out.error.is_some();
        // A failure and an interrupt alike abort the executions queued behind this one (as ipykernel does): Stop
        // during "Run All" stops the notebook, not only the running cell.
        let aborts_queue = failed;
        let reply = ExecuteReply {
            status: if failed {
                ReplyStatus::Error
            } else {
                ReplyStatus::Ok
            },
            execution_count: ExecutionCount::new(count),
            payload,
            user_expressions: Some(HashMap::new()),
            error: out.error.as_ref().and_then(reply_error),
        }
        .as_child_of(parent);
        (reply, aborts_queue)
    }

    /// A `%%draft` cell: progress on stdout while the model works, the draft as the next cell. An interrupt drops
    /// the draft (cancelling its request).
    async fn draft(
        &self,
        parent: &JupyterMessage,
        job: crate::draft::DraftJob,
        count: usize,
        silent: bool,
    ) -> CellOutput {
        if !silent {
            self.publish_outputs(parent, &job.before, count);
        }
        // The magics' outputs before `%%draft` are shown already; their pages go with the reply.
        let pages = job.before.pages.clone();
        let registry = self.session().registry().clone();
        let drafter = match crate::draft::drafter(&self.draft_section, registry, &job) {
            Ok(d) => d,
            Err(e) => {
                return CellOutput {
                    pages,
                    error: Some(e),
                    ..CellOutput::default()
                };
            }
        };
        let token = CancellationToken::new();
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        let iopub = self.iopub.clone();
        let progress_parent = parent.clone();
        let progress = move |line: String| {
            if !silent {
                iopub.send(StreamContent::stdout(&line).as_child_of(&progress_parent));
            }
        };
        let out = crate::draft::run(&drafter, &job, &progress, token).await;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        CellOutput { pages, ..out }
    }

    fn complete(&self, parent: &JupyterMessage, code: &str, cursor_pos: usize) -> JupyterMessage {
        let cursor = char_to_byte(code, cursor_pos);
        match isolate("complete_request", || self.session().complete(code, cursor)) {
            Ok(c) => {
                let start = byte_to_char(code, c.start);
                let end = byte_to_char(code, c.end);
                let types: Vec<Value> = c
                    .types
                    .iter()
                    .map(|(text, ty, detail)| {
                        json!({"start": start, "end": end, "text": text, "type": ty, "signature": detail})
                    })
                    .collect();
                let mut metadata = Map::new();
                metadata.insert("_jupyter_types_experimental".into(), Value::Array(types));
                CompleteReply {
                    matches: c.matches,
                    cursor_start: start,
                    cursor_end: end,
                    metadata,
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(parent)
            }
            Err(e) => CompleteReply {
                matches: Vec::new(),
                cursor_start: cursor_pos,
                cursor_end: cursor_pos,
                metadata: Map::new(),
                status: ReplyStatus::Error,
                error: reply_error(&e),
            }
            .as_child_of(parent),
        }
    }

    fn inspect(&self, parent: &JupyterMessage, code: &str, cursor_pos: usize) -> JupyterMessage {
        let cursor = char_to_byte(code, cursor_pos);
        match isolate("inspect_request", || self.session().inspect(code, cursor)) {
            Ok(found) => {
                let mut data = Map::new();
                if let Some(md) = &found {
                    data.insert("text/plain".into(), Value::String(md.clone()));
                    data.insert("text/markdown".into(), Value::String(md.clone()));
                }
                InspectReply {
                    found: found.is_some(),
                    data: media(data),
                    metadata: Map::new(),
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(parent)
            }
            Err(e) => InspectReply {
                found: false,
                data: Media::default(),
                metadata: Map::new(),
                status: ReplyStatus::Error,
                error: reply_error(&e),
            }
            .as_child_of(parent),
        }
    }

    fn history(&self, parent: &JupyterMessage, req: &HistoryRequest) -> JupyterMessage {
        let result = isolate("history_request", || {
            let session = self.session();
            let items = session.history();
            let (selected, output): (Vec<_>, bool) = match req {
                HistoryRequest::Tail { n, output, .. } => {
                    let n = (*n).max(0) as usize;
                    let skip = if n == 0 {
                        0
                    } else {
                        items.len().saturating_sub(n)
                    };
                    (items.iter().skip(skip).collect(), *output)
                }
                HistoryRequest::Range {
                    start,
                    stop,
                    output,
                    ..
                } => {
                    let (start, stop) = (*start as i64, *stop as i64);
                    (
                        items
                            .iter()
                            .filter(|i| {
                                let line = i.line as i64;
                                line >= start && (stop <= 0 || line < stop)
                            })
                            .collect(),
                        *output,
                    )
                }
                HistoryRequest::Search {
                    pattern,
                    unique,
                    output,
                    n,
                    ..
                } => {
                    let mut found: Vec<_> = items
                        .iter()
                        .filter(|i| crate::session::glob_match(pattern, &i.input))
                        .collect();
                    if *unique {
                        let mut seen = std::collections::HashSet::new();
                        let mut kept: Vec<_> = found
                            .into_iter()
                            .rev()
                            .filter(|i| seen.insert(i.input.clone()))
                            .collect();
                        kept.reverse();
                        found = kept;
                    }
                    let n = (*n).max(0) as usize;
                    if n > 0 && found.len() > n {
                        found = found.split_off(found.len() - n);
                    }
                    (found, *output)
                }
            };
            selected
                .into_iter()
                .map(|i| {
                    if output {
                        HistoryEntry::InputOutput(
                            HISTORY_SESSION,
                            i.line,
                            (i.input.clone(), i.output.clone()),
                        )
                    } else {
                        HistoryEntry::Input(HISTORY_SESSION, i.line, i.input.clone())
                    }
                })
                .collect::<Vec<_>>()
        });
        match result {
            Ok(history) => HistoryReply {
                history,
                status: ReplyStatus::Ok,
                error: None,
            }
            .as_child_of(parent),
            Err(e) => HistoryReply {
                history: Vec::new(),
                status: ReplyStatus::Error,
                error: reply_error(&e),
            }
            .as_child_of(parent),
        }
    }

    /// Handles one shell request: `busy`, outputs, the reply, `idle`. Returns whether an execution failed (queued
    /// executions are then aborted).
    async fn shell_request<S: SocketSend>(
        &self,
        shell: &mut Connection<S>,
        incoming: Incoming,
    ) -> bool {
        let (msg, reply, failed) = self.answer(incoming).await;
        self.send_reply(shell, &msg, reply).await;
        failed
    }

    /// Works out a shell request's reply (`busy` and the outputs go out meanwhile); whether an execution failed.
    async fn answer(&self, incoming: Incoming) -> (JupyterMessage, Option<JupyterMessage>, bool) {
        let msg = incoming.msg;
        self.iopub.send(Status::busy().as_child_of(&msg));
        let mut failed = false;
        let reply: Option<JupyterMessage> = if let Some(problem) = &incoming.problem {
            tracing::warn!(%problem, "cannot read a request");
            generic_error_reply(&msg, "BadRequest", problem)
        } else {
            match &msg.content {
                JupyterMessageContent::KernelInfoRequest(_) => {
                    Some(kernel_info(&self.banner).as_child_of(&msg))
                }
                JupyterMessageContent::ExecuteRequest(req) => {
                    let (reply, f) = self.execute(&msg, req).await;
                    failed = f && req.stop_on_error;
                    Some(reply)
                }
                JupyterMessageContent::CompleteRequest(req) => {
                    Some(self.complete(&msg, &req.code, req.cursor_pos))
                }
                JupyterMessageContent::InspectRequest(req) => {
                    Some(self.inspect(&msg, &req.code, req.cursor_pos))
                }
                JupyterMessageContent::IsCompleteRequest(req) => {
                    let reply = match isolate("is_complete_request", || {
                        self.session().is_complete(&req.code)
                    }) {
                        Ok((Completeness::Complete, _)) => IsCompleteReply::complete(),
                        Ok((Completeness::Incomplete, indent)) => {
                            IsCompleteReply::incomplete(indent)
                        }
                        Ok((Completeness::Invalid, _)) => IsCompleteReply::invalid(),
                        Err(_) => IsCompleteReply::unknown(),
                    };
                    Some(reply.as_child_of(&msg))
                }
                JupyterMessageContent::HistoryRequest(req) => Some(self.history(&msg, req)),
                JupyterMessageContent::CommInfoRequest(_) => Some(
                    CommInfoReply {
                        status: ReplyStatus::Ok,
                        comms: HashMap::new(),
                        error: None,
                    }
                    .as_child_of(&msg),
                ),
                JupyterMessageContent::ShutdownRequest(req) => {
                    self.interrupt();
                    self.shutdown.cancel();
                    Some(
                        ShutdownReply {
                            restart: req.restart,
                            status: ReplyStatus::Ok,
                            error: None,
                        }
                        .as_child_of(&msg),
                    )
                }
                JupyterMessageContent::InterruptRequest(_) => {
                    self.interrupt();
                    Some(InterruptReply::new().as_child_of(&msg))
                }
                JupyterMessageContent::CommOpen(open) => {
                    // No comm targets: close it right away, as the protocol asks.
                    self.iopub.send(
                        CommClose {
                            comm_id: open.comm_id.clone(),
                            data: Map::new(),
                        }
                        .as_child_of(&msg),
                    );
                    None
                }
                JupyterMessageContent::CommMsg(_) | JupyterMessageContent::CommClose(_) => None,
                _ => generic_error_reply(
                    &msg,
                    "UnknownRequest",
                    &format!("the odp kernel does not handle `{}`", msg.header.msg_type),
                ),
            }
        };
        (msg, reply, failed)
    }

    /// Sends a request's reply, after the outputs already queued on iopub, then `idle`.
    async fn send_reply<S: SocketSend>(
        &self,
        shell: &mut Connection<S>,
        msg: &JupyterMessage,
        reply: Option<JupyterMessage>,
    ) {
        if let Some(mut reply) = reply {
            reply.header.username = "odp".into();
            self.iopub.flush().await;
            if let Err(e) = shell.send(reply).await {
                tracing::error!(error = %e, "cannot send a shell reply");
            }
        }
        self.iopub.send(Status::idle().as_child_of(msg));
    }

    /// Answers an execute request that was queued behind a failed one.
    async fn abort<S: SocketSend>(&self, shell: &mut Connection<S>, msg: &JupyterMessage) {
        self.iopub.send(Status::busy().as_child_of(msg));
        // `{"status": "aborted"}` and nothing else, as ipykernel sends it: with an execution count, JupyterLab
        // would show the aborted cell as if it had run (`[7]:`) instead of `[ ]:`.
        let mut reply = JupyterMessage::new(
            JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: "execute_reply".into(),
                content: json!({"status": "aborted"}),
            }),
            Some(msg),
        );
        reply.header.username = "odp".into();
        self.iopub.flush().await;
        if let Err(e) = shell.send(reply).await {
            tracing::error!(error = %e, "cannot send a shell reply");
        }
        self.iopub.send(Status::idle().as_child_of(msg));
    }

    async fn control_loop(
        self: Arc<Self>,
        mut control: jupyter_zmq_client::KernelControlConnection,
    ) {
        loop {
            let incoming = tokio::select! {
                r = read(&mut control, "control") => r,
                _ = self.shutdown.cancelled() => return,
            };
            let incoming = match incoming {
                Ok(Some(i)) => i,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "the control socket failed");
                    return;
                }
            };
            let msg = incoming.msg;
            self.iopub.send(Status::busy().as_child_of(&msg));
            let mut stop = false;
            let reply = if let Some(problem) = &incoming.problem {
                generic_error_reply(&msg, "BadRequest", problem)
            } else {
                match &msg.content {
                    JupyterMessageContent::KernelInfoRequest(_) => {
                        Some(kernel_info(&self.banner).as_child_of(&msg))
                    }
                    JupyterMessageContent::InterruptRequest(_) => {
                        self.interrupt();
                        Some(InterruptReply::new().as_child_of(&msg))
                    }
                    JupyterMessageContent::ShutdownRequest(req) => {
                        self.interrupt();
                        stop = true;
                        Some(
                            ShutdownReply {
                                restart: req.restart,
                                status: ReplyStatus::Ok,
                                error: None,
                            }
                            .as_child_of(&msg),
                        )
                    }
                    _ => generic_error_reply(
                        &msg,
                        "UnknownRequest",
                        &format!(
                            "the odp kernel does not handle `{}` on control",
                            msg.header.msg_type
                        ),
                    ),
                }
            };
            if let Some(mut reply) = reply {
                reply.header.username = "odp".into();
                self.iopub.flush().await;
                if let Err(e) = control.send(reply).await {
                    tracing::error!(error = %e, "cannot send a control reply");
                }
            }
            self.iopub.send(Status::idle().as_child_of(&msg));
            if stop {
                self.iopub.flush().await;
                self.shutdown.cancel();
                return;
            }
        }
    }
}

/// Serves a kernel on the connection's sockets until a shutdown request.
pub async fn serve(info: ConnectionInfo, setup: Setup) -> anyhow::Result<()> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let iopub_conn = create_kernel_iopub_connection(&info, &session_id).await?;
    let shell = create_kernel_shell_connection(&info, &session_id).await?;
    let control = create_kernel_control_connection(&info, &session_id).await?;
    let _stdin = create_kernel_stdin_connection(&info, &session_id).await?;
    let mut heartbeat = create_kernel_heartbeat_connection(&info).await?;
    tracing::info!(
        shell = info.shell_port,
        iopub = info.iopub_port,
        control = info.control_port,
        "odp kernel listening"
    );

    let iopub = Iopub::spawn(iopub_conn);
    iopub.send(JupyterMessage::new(Status::starting(), None));
    tokio::spawn(async move {
        loop {
            let Ok(ping) = heartbeat.socket.recv().await else {
                break;
            };
            if heartbeat.socket.send(ping).await.is_err() {
                break;
            }
        }
    });

    let progress = Arc::new(ProgressSink {
        iopub: iopub.clone(),
        parent: Mutex::new(None),
    });
    let mut session = setup.session;
    let services = crate::services::start(
        &setup.config,
        session.registry().clone(),
        &setup.options,
        progress.clone(),
    )
    .await?;
    let services = Arc::new(services);
    let engine: Arc<dyn odp_exec::Engine> = match &setup.options.temporal {
        None => services.engine.clone(),
        Some(settings) => Arc::new(odp_temporal::TemporalEngine::new(
            odp_temporal::connect(settings).await?,
            settings.clone(),
            services.events.clone(),
            progress.clone(),
            setup.options.concurrency,
        )),
    };
    let description = match &setup.options.temporal {
        None => services.description.clone(),
        Some(t) => format!(
            "on Temporal at {} (task queue `{}`): the workers' services",
            t.address, t.task_queue
        ),
    };
    tracing::info!(services = %description, "odp kernel services");
    session.services = description.clone();
    let note = services
        .stubs
        .as_ref()
        .map(|s| format!("odp: {}\n", odp_exec::wiring::stubs_notice(&s.base_url())));
    let banner = format!(
        "odp kernel {} — ODP pipeline steps in YAML, cell by cell ({} registry methods).\nServices: {}.\n%help lists the magics.",
        env!("CARGO_PKG_VERSION"),
        session.registry().methods().len(),
        description
    );
    let kernel = Arc::new(Kernel {
        session: Mutex::new(session),
        current: Mutex::new(None),
        iopub: iopub.clone(),
        progress,
        services: services.clone(),
        engine,
        banner,
        shutdown: CancellationToken::new(),
        services_note: Mutex::new(note),
        draft_section: setup.config.config.draft.clone(),
    });
    tokio::spawn(kernel.clone().control_loop(control));

    // SIGINT (a kernelspec with `interrupt_mode: signal`, or Ctrl-C in a terminal) interrupts like a message.
    {
        let kernel = kernel.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                kernel.interrupt();
            }
        });
    }

    let (shell_send, mut shell_recv) = shell.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Incoming>();
    tokio::spawn(async move {
        loop {
            match read(&mut shell_recv, "shell").await {
                Ok(Some(incoming)) => {
                    if tx.send(incoming).is_err() {
                        break;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the shell socket failed");
                    break;
                }
            }
        }
    });
    let mut shell_send = shell_send;
    loop {
        let incoming = tokio::select! {
            m = rx.recv() => match m { Some(m) => m, None => break },
            _ = kernel.shutdown.cancelled() => break,
        };
        let (msg, reply, failed) = kernel.answer(incoming).await;
        // Like ipykernel: the executions queued behind a failed one are aborted, other requests answered. Requests
        // sent before the client saw the error may still be on their way from the socket reader: give it a moment
        // to hand them over (ipykernel's `stop_on_error_timeout`, kept short), and take them before the reply goes
        // out, so that nothing sent after the client saw the error is aborted.
        let mut queued = Vec::new();
        if failed {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            while let Ok(next) = rx.try_recv() {
                queued.push(next);
            }
        }
        if failed {
            tracing::debug!(
                queued = queued.len(),
                "an execution failed: aborting the executions queued behind it"
            );
        }
        kernel.send_reply(&mut shell_send, &msg, reply).await;
        for next in queued {
            if next.problem.is_none()
                && matches!(next.msg.content, JupyterMessageContent::ExecuteRequest(_))
            {
                kernel.abort(&mut shell_send, &next.msg).await;
            } else {
                kernel.shell_request(&mut shell_send, next).await;
            }
        }
        if kernel.shutdown.is_cancelled() {
            break;
        }
    }
    iopub.flush().await;
    kernel.services.events.flush().await;
    drop(kernel);
    // The control loop and the signal task hold the kernel too: the stubs stop with the process if they do.
    if let Ok(services) = Arc::try_unwrap(services) {
        services.shutdown().await;
    }
    Ok(())
}
