//! Runs from the editor: `odp.runPipeline`, `odp.runStep` and `odp.cancelRun` on the engine `odp run` and the
//! kernel use (the shared wiring: configured services, else the built-in stubs inside the server), with progress
//! as `$/progress` and the results kept per document in memory, capped, for hovers, inlay hints and later runs.
//!
//! A run never blocks the main loop: it runs on the server's tokio runtime and reports back with
//! [`crate::global_state::Internal::RunDone`]; a new run of a document cancels the one before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use lsp_server::{Message, Notification, Request, RequestId};
use lsp_types as lsp;
use odp_exec::events::EventSink;
use odp_exec::{BoxFuture, Event, StepStatus};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub(crate) const RUN_PIPELINE: &str = "odp.runPipeline";
pub(crate) const RUN_STEP: &str = "odp.runStep";
pub(crate) const CANCEL_RUN: &str = "odp.cancelRun";
pub(crate) const SHOW_RESULT: &str = "odp.showResult";

/// How much of its results' JSON a document keeps; the oldest results go first. The server's memory stays bounded
/// whatever the services answer.
pub(crate) const MAX_RESULT_BYTES: usize = 16 << 20;

/// A step's last result.
#[derive(Clone, Debug)]
pub(crate) struct StepResult {
    pub(crate) status: StepStatus,
    pub(crate) attempts: u32,
    pub(crate) duration_ms: u64,
    pub(crate) error: Option<String>,
    pub(crate) value: Option<Arc<Value>>,
    /// The value's type, for completion after `{{step.` (worked out off the main loop, when the run ends).
    pub(crate) ty: Option<odp_analysis::Ty>,
    /// The step's text when it ran: a result whose step changed since (or whose inputs did) is stale.
    pub(crate) text: String,
    bytes: usize,
    seq: u64,
}

impl StepResult {
    /// `✓ 30 results · 12 ms`, `✗ HTTP 503 … after 3 attempts`.
    pub(crate) fn summary(&self) -> String {
        match self.status {
            StepStatus::Completed => {
                let what = match self.value.as_deref().and_then(|v| v.get("results")) {
                    Some(Value::Array(items)) => format!(
                        "{} result{}",
                        items.len(),
                        if items.len() == 1 { "" } else { "s" }
                    ),
                    _ => "done".to_string(),
                };
                format!("✓ {what} · {} ms", self.duration_ms)
            }
            StepStatus::Failed => format!(
                "✗ {} after {} attempt{}",
                self.error.as_deref().unwrap_or("failed"),
                self.attempts,
                if self.attempts == 1 { "" } else { "s" }
            ),
            StepStatus::Cancelled => "■ cancelled".to_string(),
            StepStatus::Skipped => "not run".to_string(),
        }
    }
}

/// The results of one document, by step name.
#[derive(Clone, Debug, Default)]
pub(crate) struct DocResults {
    pub(crate) steps: HashMap<String, StepResult>,
    bytes: usize,
    seq: u64,
}

impl DocResults {
    pub(crate) fn insert(&mut self, name: String, mut result: StepResult) {
        result.bytes = result
            .value
            .as_deref()
            .map_or(0, |v| serde_json::to_string(v).map_or(0, |s| s.len()));
        self.seq += 1;
        result.seq = self.seq;
        self.bytes += result.bytes;
        if let Some(old) = self.steps.insert(name, result) {
            self.bytes -= old.bytes;
        }
        // The oldest results leave first, until the document's results fit.
        while self.bytes > MAX_RESULT_BYTES {
            let Some(oldest) = self
                .steps
                .iter()
                .min_by_key(|(_, r)| r.seq)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            if let Some(r) = self.steps.remove(&oldest) {
                self.bytes -= r.bytes;
            }
        }
    }

    /// Changes whenever a result is added (a counter, never reused while the document is open).
    pub(crate) fn generation(&self) -> u64 {
        self.seq
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// A command's arguments: the document, the step (`odp.runStep`) and the inputs given.
#[derive(Debug)]
pub(crate) struct RunArgs {
    pub(crate) uri: lsp::Uri,
    pub(crate) step: Option<String>,
    pub(crate) inputs: Map<String, Value>,
}

/// `[uri]` / `[uri, {"inputs": {...}}]`, or with `with_step`: `[uri, step]` / `[uri, step, {"inputs": {...}}]`.
pub(crate) fn parse_args(arguments: &[Value], with_step: bool) -> Result<RunArgs, String> {
    let mut args = arguments.iter();
    let uri = args
        .next()
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or("the first argument is the document's URI")?;
    let step = if with_step {
        Some(
            args.next()
                .and_then(Value::as_str)
                .ok_or("the second argument is the step's name")?
                .to_string(),
        )
    } else {
        None
    };
    let inputs = match args.next() {
        None | Some(Value::Null) => Map::new(),
        Some(options) => match options.get("inputs") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(inputs)) => inputs.clone(),
            Some(_) => return Err("`inputs` is a mapping of input names to values".into()),
        },
    };
    Ok(RunArgs { uri, step, inputs })
}

/// Where a run's step events go: the `$/progress` of the run's work-done token and `window/logMessage` lines.
#[derive(Default)]
pub(crate) struct ProgressRouter {
    routes: Mutex<HashMap<Uuid, Route>>,
}

#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) sender: Sender<Message>,
    pub(crate) token: Option<lsp::ProgressToken>,
}

impl ProgressRouter {
    pub(crate) fn add(&self, run_id: Uuid, route: Route) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(run_id, route);
    }

    pub(crate) fn remove(&self, run_id: Uuid) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&run_id);
    }
}

impl EventSink for ProgressRouter {
    fn emit(&self, event: Event) {
        let Some(line) = odp_exec::events::progress_line(&event) else {
            return;
        };
        let route = self
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&event.run_id)
            .cloned();
        if let Some(route) = route {
            report(&route, &line);
            log(
                &route.sender,
                lsp::MessageType::INFO,
                format!("odp: {line}"),
            );
        }
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

pub(crate) fn progress(route: &Route, value: lsp::WorkDoneProgress) {
    if let Some(token) = &route.token {
        let _ = route.sender.send(Message::Notification(Notification::new(
            "$/progress".into(),
            lsp::ProgressParams {
                token: token.clone(),
                value: lsp::ProgressParamsValue::WorkDone(value),
            },
        )));
    }
}

fn report(route: &Route, line: &str) {
    progress(
        route,
        lsp::WorkDoneProgress::Report(lsp::WorkDoneProgressReport {
            message: Some(line.to_string()),
            ..Default::default()
        }),
    );
}

pub(crate) fn log(sender: &Sender<Message>, typ: lsp::MessageType, message: String) {
    let _ = sender.send(Message::Notification(Notification::new(
        "window/logMessage".into(),
        lsp::LogMessageParams { typ, message },
    )));
}

/// Asks the client for a work-done token (when it takes them) and returns it.
pub(crate) fn create_token(
    sender: &Sender<Message>,
    supported: bool,
    run_id: Uuid,
) -> Option<lsp::ProgressToken> {
    if !supported {
        return None;
    }
    let token = lsp::ProgressToken::String(format!("odp-run-{run_id}"));
    let _ = sender.send(Message::Request(Request::new(
        RequestId::from(format!("odp-run-progress-{run_id}")),
        "window/workDoneProgress/create".into(),
        lsp::WorkDoneProgressCreateParams {
            token: token.clone(),
        },
    )));
    Some(token)
}

/// A run under way, by document.
pub(crate) struct Running {
    pub(crate) run_id: Uuid,
    pub(crate) cancel: CancellationToken,
    /// The command's request: `$/cancelRequest` of it stops the run.
    pub(crate) request: RequestId,
}

/// What a finished run sends back to the main loop.
pub(crate) struct RunDone {
    pub(crate) uri: lsp::Uri,
    pub(crate) request: RequestId,
    pub(crate) run_id: Uuid,
    pub(crate) result: Result<RunReport, (lsp_server::ErrorCode, String, Option<Value>)>,
}

/// A run's outcome with each step's text when it ran.
pub(crate) struct RunReport {
    pub(crate) outcome: odp_exec::RunOutcome,
    pub(crate) texts: HashMap<String, String>,
    pub(crate) stubbed: bool,
}

impl RunReport {
    /// The command's answer: the run's status and each step's, without the results (they are in the editor's
    /// hovers and hints, and in `odp.showResult`).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "runId": self.outcome.run_id.to_string(),
            "status": self.outcome.status,
            "durationMs": self.outcome.duration_ms,
            "error": self.outcome.error,
            "stubbed": self.stubbed,
            "steps": self.outcome.steps.iter().map(|s| json!({
                "name": s.name,
                "status": s.status,
                "attempts": s.attempts,
                "durationMs": s.duration_ms,
                "error": s.error,
            })).collect::<Vec<_>>(),
        })
    }

    /// The results to keep, by step name.
    pub(crate) fn results(&self) -> Vec<(String, StepResult)> {
        self.outcome
            .steps
            .iter()
            .filter(|s| s.status != StepStatus::Skipped)
            .map(|s| {
                (
                    s.name.clone(),
                    StepResult {
                        status: s.status,
                        attempts: s.attempts,
                        duration_ms: s.duration_ms,
                        error: s.error.clone(),
                        value: self.outcome.results.get(&s.name).cloned().map(Arc::new),
                        ty: self
                            .outcome
                            .results
                            .get(&s.name)
                            .map(odp_analysis::Ty::of_value),
                        text: self.texts.get(&s.name).cloned().unwrap_or_default(),
                        bytes: 0,
                        seq: 0,
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(size: usize) -> StepResult {
        StepResult {
            status: StepStatus::Completed,
            attempts: 1,
            duration_ms: 1,
            error: None,
            value: Some(Arc::new(json!({"results": ["x".repeat(size)]}))),
            ty: None,
            text: String::new(),
            bytes: 0,
            seq: 0,
        }
    }

    #[test]
    fn a_documents_results_stay_under_the_cap_oldest_first() {
        let mut results = DocResults::default();
        for i in 0..5 {
            results.insert(format!("s{i}"), result(6 << 20));
        }
        assert!(results.bytes() <= MAX_RESULT_BYTES, "{}", results.bytes());
        let mut kept: Vec<&str> = results.steps.keys().map(String::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["s3", "s4"]);
        // A result replaced in place counts once.
        results.insert("s4".into(), result(10));
        assert!(results.bytes() < 7 << 20);
    }

    #[test]
    fn arguments_name_the_document_the_step_and_the_inputs() {
        let args = parse_args(
            &[
                json!("file:///a.odp.yaml"),
                json!("tweets"),
                json!({"inputs": {"q": "rust"}}),
            ],
            true,
        )
        .unwrap();
        assert_eq!(args.uri.as_str(), "file:///a.odp.yaml");
        assert_eq!(args.step.as_deref(), Some("tweets"));
        assert_eq!(args.inputs["q"], "rust");
        assert!(parse_args(&[json!(1)], false).is_err());
        assert!(parse_args(&[json!("file:///a"), json!({"inputs": 3})], false).is_err());
    }
}
